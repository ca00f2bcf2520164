package org_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/database/dbtest"
	"github.com/dossierkast/dossierkast/internal/org"
)

// TestChangesCheckAndAudit: every change of the organisation asks its rule itself, through
// the access engine, and records itself in the transaction of the change; a refused one
// records nothing. Each change runs as each editor in a transaction that is rolled back.
func TestChangesCheckAndAudit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.New(t)
	tenant, err := org.CreateTenant(ctx, db.Pool, "Arbo Oost", false)
	if err != nil {
		t.Fatal(err)
	}
	var (
		home, other  org.Employer
		dept         org.Department
		employee     org.Employee
		target       org.User
		role         org.Role
		users        = map[string]uuid.UUID{}
		hr, beheer   org.Role
		principals   = map[string]access.Principal{}
		employerUser = org.UserInput{Email: "hr@oost.test", Name: "HR Elders", Kind: access.KindEmployer}
	)
	inTenant := func(fn func(tx pgx.Tx) error) {
		t.Helper()
		if err := database.InTenant(ctx, db.Pool, tenant.ID, fn); err != nil {
			t.Fatal(err)
		}
	}
	inTenant(func(tx pgx.Tx) (err error) {
		if home, err = org.CreateEmployer(ctx, tx, access.System(audit.Actor{}), org.Employer{Name: "Thuis B.V.", EmployerNumber: "1"}); err != nil {
			return err
		}
		if other, err = org.CreateEmployer(ctx, tx, access.System(audit.Actor{}), org.Employer{Name: "Elders B.V.", EmployerNumber: "2"}); err != nil {
			return err
		}
		if dept, err = org.CreateDepartment(ctx, tx, access.System(audit.Actor{}), org.Department{EmployerID: home.ID, Name: "Magazijn"}); err != nil {
			return err
		}
		if employee, err = org.CreateEmployee(ctx, tx, access.System(audit.Actor{}), org.Employee{EmployerID: home.ID, PersonnelNumber: "1", LastName: "Jansen"}); err != nil {
			return err
		}
		if role, err = org.CreateRole(ctx, tx, access.System(audit.Actor{}), org.Role{Name: "Lezer", Kind: access.KindProvider}); err != nil {
			return err
		}
		if beheer, err = org.FindRoleByName(ctx, tx, "Beheerder"); err != nil {
			return err
		}
		if hr, err = org.FindRoleByName(ctx, tx, "HR-medewerker"); err != nil {
			return err
		}
		cm, err := org.FindRoleByName(ctx, tx, "Casemanager")
		if err != nil {
			return err
		}
		if target, err = org.CreateUser(ctx, tx, access.System(audit.Actor{}), org.UserInput{Email: "doel@oost.test", Name: "Doel", Kind: access.KindProvider,
			RoleID: role.ID}, "not-a-hash"); err != nil {
			return err
		}
		employerUser.RoleID, employerUser.EmployerIDs = hr.ID, []uuid.UUID{other.ID}
		for name, in := range map[string]org.UserInput{
			"Beheerder":   {Email: "beheerder@oost.test", Name: "Beheerder", Kind: access.KindProvider, RoleID: beheer.ID},
			"Casemanager": {Email: "cm@oost.test", Name: "Casemanager", Kind: access.KindProvider, RoleID: cm.ID},
			// An employer user of the other employer: the home employer is outside his reach.
			"OtherEmployer": employerUser,
		} {
			u, err := org.CreateUser(ctx, tx, access.System(audit.Actor{}), in, "not-a-hash")
			if err != nil {
				return err
			}
			users[name] = u.ID
		}
		return nil
	})
	inTenant(func(tx pgx.Tx) error {
		for name, id := range users {
			_, p, err := org.LoadPrincipal(ctx, tx, tenant.ID, id)
			if err != nil {
				return err
			}
			principals[name] = p
		}
		return nil
	})
	editor := func(name string) access.Editor {
		id := users[name]
		return access.Editor{Principal: principals[name], Actor: audit.Actor{UserID: &id}}
	}

	// refused: the code each editor but the administrator and the system gets.
	type refused struct{ nobody, casemanager, otherEmployer apperr.Code }
	forbidden := refused{apperr.EFORBIDDEN, apperr.EFORBIDDEN, apperr.EFORBIDDEN}
	// A change of one employer hides it from an editor outside his reach.
	employerScoped := refused{apperr.ENOTFOUND, apperr.EFORBIDDEN, apperr.ENOTFOUND}
	changes := []struct {
		name    string
		action  string
		refused refused
		fn      func(tx pgx.Tx, ed access.Editor) error
	}{
		{"CreateEmployer", audit.EmployerCreated, forbidden, func(tx pgx.Tx, ed access.Editor) error {
			_, err := org.CreateEmployer(ctx, tx, ed, org.Employer{Name: "Nieuw B.V.", EmployerNumber: "3"})
			return err
		}},
		{"UpdateEmployer", audit.EmployerUpdated, employerScoped, func(tx pgx.Tx, ed access.Editor) error {
			e := home
			e.Name = "Thuis Holding B.V."
			_, err := org.UpdateEmployer(ctx, tx, ed, e)
			return err
		}},
		{"CreateDepartment", audit.DepartmentSaved, employerScoped, func(tx pgx.Tx, ed access.Editor) error {
			_, err := org.CreateDepartment(ctx, tx, ed, org.Department{EmployerID: home.ID, Name: "Kantoor"})
			return err
		}},
		{"UpdateDepartment", audit.DepartmentSaved, employerScoped, func(tx pgx.Tx, ed access.Editor) error {
			_, err := org.UpdateDepartment(ctx, tx, ed, org.Department{ID: dept.ID, Name: "Opslag", Code: "OP"})
			return err
		}},
		{"CreateEmployee", audit.EmployeeCreated, forbidden, func(tx pgx.Tx, ed access.Editor) error {
			_, err := org.CreateEmployee(ctx, tx, ed, org.Employee{EmployerID: home.ID, PersonnelNumber: "2", LastName: "Bakker"})
			return err
		}},
		// The employee is outside the reach of nobody and of the other employer's user.
		{"UpdateEmployee", audit.EmployeeUpdated, employerScoped, func(tx pgx.Tx, ed access.Editor) error {
			e := employee
			e.FirstName = "Jan"
			_, err := org.UpdateEmployee(ctx, tx, ed, e)
			return err
		}},
		{"CreateUser", audit.UserCreated, forbidden, func(tx pgx.Tx, ed access.Editor) error {
			_, err := org.CreateUser(ctx, tx, ed, org.UserInput{Email: "nieuw@oost.test", Name: "Nieuw",
				Kind: access.KindProvider, RoleID: role.ID}, "not-a-hash")
			return err
		}},
		{"UpdateUser", audit.UserUpdated, forbidden, func(tx pgx.Tx, ed access.Editor) error {
			_, err := org.UpdateUser(ctx, tx, ed, target.ID, org.UserInput{Email: target.Email, Name: "Doel Anders",
				Kind: access.KindProvider, RoleID: role.ID})
			return err
		}},
		{"BlockUser", audit.UserBlocked, forbidden, func(tx pgx.Tx, ed access.Editor) error {
			return org.SetUserStatus(ctx, tx, ed, target.ID, org.StatusBlocked)
		}},
		{"UnblockUser", audit.UserUnblocked, forbidden, func(tx pgx.Tx, ed access.Editor) error {
			return org.SetUserStatus(ctx, tx, ed, target.ID, org.StatusActive)
		}},
		{"CreateRole", audit.RoleCreated, forbidden, func(tx pgx.Tx, ed access.Editor) error {
			_, err := org.CreateRole(ctx, tx, ed, org.Role{Name: "Nieuw", Kind: access.KindProvider, Rights: []access.Right{access.EmployeeDossierView}})
			return err
		}},
		{"UpdateRole", audit.RoleUpdated, forbidden, func(tx pgx.Tx, ed access.Editor) error {
			_, err := org.UpdateRole(ctx, tx, ed, org.Role{ID: role.ID, Name: "Lezer plus", Rights: []access.Right{access.EmployeeDossierView}})
			return err
		}},
	}
	for _, ch := range changes {
		editors := []struct {
			name string
			ed   access.Editor
			code apperr.Code // "" for a change that is made
		}{
			{"Nobody", access.Editor{}, ch.refused.nobody},
			{"Casemanager", editor("Casemanager"), ch.refused.casemanager},
			{"OtherEmployer", editor("OtherEmployer"), ch.refused.otherEmployer},
			{"Beheerder", editor("Beheerder"), ""},
			{"System", access.System(audit.Actor{IP: "192.0.2.7"}), ""},
		}
		for _, e := range editors {
			t.Run(ch.name+"/"+e.name, func(t *testing.T) {
				events, got := rolledBack(t, ctx, db, tenant.ID, func(tx pgx.Tx) error { return ch.fn(tx, e.ed) })
				if e.code == "" && got != nil || e.code != "" && apperr.CodeOf(got) != e.code {
					t.Fatalf("error %v, want code %q", got, e.code)
				}
				want := []auditRow{}
				if e.code == "" {
					want = append(want, auditRow{Action: ch.action, UserID: e.ed.Actor.UserID})
				}
				if diff := cmp.Diff(want, events); diff != "" {
					t.Errorf("audit events (-want +got):\n%s", diff)
				}
			})
		}
	}

	t.Run("BlockSelf", func(t *testing.T) {
		events, got := rolledBack(t, ctx, db, tenant.ID, func(tx pgx.Tx) error {
			return org.SetUserStatus(ctx, tx, editor("Beheerder"), users["Beheerder"], org.StatusBlocked)
		})
		if apperr.CodeOf(got) != apperr.EINVALID || len(events) != 0 {
			t.Errorf("blocking oneself: error %v, events %v; want EINVALID and none", got, events)
		}
	})
	t.Run("UnknownDepartment", func(t *testing.T) {
		events, got := rolledBack(t, ctx, db, tenant.ID, func(tx pgx.Tx) error {
			_, err := org.UpdateDepartment(ctx, tx, editor("Beheerder"), org.Department{ID: uuid.New(), Name: "X"})
			return err
		})
		if apperr.CodeOf(got) != apperr.ENOTFOUND || len(events) != 0 {
			t.Errorf("unknown department: error %v, events %v; want ENOTFOUND and none", got, events)
		}
	})
}

// auditRow is an audit event as TestChangesCheckAndAudit compares it.
type auditRow struct {
	Action string
	UserID *uuid.UUID
}

// rolledBack runs fn in a tenant transaction that is rolled back, and returns the audit events
// written in it and fn's error.
func rolledBack(t *testing.T, ctx context.Context, db dbtest.DB, tenantID uuid.UUID, fn func(tx pgx.Tx) error) ([]auditRow, error) {
	t.Helper()
	var got error
	var events []auditRow
	rollback := errors.New("rollback")
	err := database.InTenant(ctx, db.Pool, tenantID, func(tx pgx.Tx) error {
		got = fn(tx)
		// now() is when the transaction began: the events written before it are left out.
		rows, err := tx.Query(ctx, "SELECT action, user_id FROM audit_events WHERE at >= now() ORDER BY at, id")
		if err != nil {
			return err
		}
		if events, err = pgx.CollectRows(rows, pgx.RowToStructByPos[auditRow]); err != nil {
			return err
		}
		return rollback
	})
	if !errors.Is(err, rollback) {
		t.Fatal(err)
	}
	if events == nil {
		events = []auditRow{}
	}
	return events, got
}
