package org_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/database/dbtest"
	"github.com/dossierkast/dossierkast/internal/org"
)

func TestValidBSN(t *testing.T) {
	t.Parallel()
	for bsn, want := range map[string]bool{
		"111222333": true, "123456782": true, "111222334": false, "12345678": false, "1234567890": false,
		"12345678a": false, "000000000": false, "123456789": false,
	} {
		if got := org.ValidBSN(bsn); got != want {
			t.Errorf("ValidBSN(%q) = %v, want %v", bsn, got, want)
		}
	}
}

func TestCreateTenantGivesDefaultRoles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.New(t)
	tenant, err := org.CreateTenant(ctx, db.Pool, "Arbo Noord", false)
	if err != nil {
		t.Fatal(err)
	}
	var roles []org.Role
	err = database.InTenant(ctx, db.Pool, tenant.ID, func(tx pgx.Tx) (err error) {
		roles, err = org.FindRoles(ctx, tx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(roles) != len(org.DefaultRoles()) {
		t.Fatalf("roles = %d, want %d", len(roles), len(org.DefaultRoles()))
	}
	for _, r := range roles {
		if r.Name == "Beheerder" && len(r.Rights) != len(access.Catalogue) {
			t.Errorf("Beheerder has %d rights, want all %d", len(r.Rights), len(access.Catalogue))
		}
		if r.Kind != access.KindProvider && (access.Principal{Kind: r.Kind, Rights: r.Rights}).Has(access.FullDossierDelete) {
			t.Errorf("role %s of kind %s holds a provider-only right", r.Name, r.Kind)
		}
	}
	if _, err := org.CreateTenant(ctx, db.Pool, "  ", false); apperr.CodeOf(err) != apperr.EINVALID {
		t.Errorf("empty tenant name: err = %v, want EINVALID", err)
	}
}

func TestEmployeeRules(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.New(t)
	tenant, err := org.CreateTenant(ctx, db.Pool, "Arbo Zuid", false)
	if err != nil {
		t.Fatal(err)
	}
	err = database.InTenant(ctx, db.Pool, tenant.ID, func(tx pgx.Tx) error {
		a, err := org.CreateEmployer(ctx, tx, access.System(audit.Actor{}), org.Employer{Name: "A", EmployerNumber: "1"})
		if err != nil {
			return err
		}
		b, err := org.CreateEmployer(ctx, tx, access.System(audit.Actor{}), org.Employer{Name: "B", EmployerNumber: "2"})
		if err != nil {
			return err
		}
		if _, err := org.CreateEmployer(ctx, tx, access.System(audit.Actor{}), org.Employer{Name: "D", EmployerNumber: "4", Products: []string{"999 Onbekend"}}); apperr.CodeOf(err) != apperr.EINVALID {
			t.Errorf("unknown product: err = %v, want EINVALID", err)
		}
		deptB, err := org.CreateDepartment(ctx, tx, access.System(audit.Actor{}), org.Department{EmployerID: b.ID, Name: "Magazijn"})
		if err != nil {
			return err
		}
		for name, e := range map[string]org.Employee{
			"BadBSN":          {EmployerID: a.ID, PersonnelNumber: "1", LastName: "Jansen", BSN: "123456789"},
			"BadPostalCode":   {EmployerID: a.ID, PersonnelNumber: "1", LastName: "Jansen", PostalCode: "12345"},
			"NoLastName":      {EmployerID: a.ID, PersonnelNumber: "1"},
			"OtherDepartment": {EmployerID: a.ID, PersonnelNumber: "1", LastName: "Jansen", DepartmentID: &deptB.ID},
			"NoEmployer":      {PersonnelNumber: "1", LastName: "Jansen"},
		} {
			if _, err := org.CreateEmployee(ctx, tx, access.System(audit.Actor{}), e); apperr.CodeOf(err) != apperr.EINVALID {
				t.Errorf("%s: err = %v, want EINVALID", name, err)
			}
		}
		e, err := org.CreateEmployee(ctx, tx, access.System(audit.Actor{}), org.Employee{EmployerID: a.ID, PersonnelNumber: "7", LastName: "Berg",
			NamePrefix: "van den", FirstName: "Anna", BSN: "111222333", PostalCode: "1234 ab"})
		if err != nil {
			return err
		}
		got, err := org.FindEmployeeByID(ctx, tx, e.ID)
		if err != nil {
			return err
		}
		if got.FullName() != "Anna van den Berg" || got.SortName() != "Berg, Anna van den" || got.PostalCode != "1234 AB" {
			t.Errorf("got %q / %q / %q", got.FullName(), got.SortName(), got.PostalCode)
		}
		if _, err := org.FindEmployeeByID(ctx, tx, uuid.Must(uuid.NewV7())); apperr.CodeOf(err) != apperr.ENOTFOUND {
			t.Errorf("unknown employee: err = %v, want ENOTFOUND", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A unique violation aborts its transaction; InTenant reports it as ECONFLICT.
	err = database.InTenant(ctx, db.Pool, tenant.ID, func(tx pgx.Tx) error {
		_, err := org.CreateEmployer(ctx, tx, access.System(audit.Actor{}), org.Employer{Name: "C", EmployerNumber: "1"})
		return err
	})
	if apperr.CodeOf(err) != apperr.ECONFLICT {
		t.Errorf("duplicate employer number: err = %v, want ECONFLICT", err)
	}
}
