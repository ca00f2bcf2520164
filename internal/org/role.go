package org

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/database"
)

// Role is a named set of rights for users of one kind, per tenant.
type Role struct {
	ID     uuid.UUID
	Name   string
	Kind   access.Kind
	Rights []access.Right
}

// DefaultRoles are the roles every new tenant starts with.
func DefaultRoles() []Role {
	r := func(name string, kind access.Kind, rights ...access.Right) Role {
		return Role{Name: name, Kind: kind, Rights: rights}
	}
	return []Role{
		// A copy: validate sorts a role's rights in place, and must not sort the catalogue.
		r("Beheerder", access.KindProvider, slices.Clone(access.Catalogue)...),
		r("Casemanager", access.KindProvider, access.EmployerDossierView, access.EmployeeDossierView,
			access.DocumentsUpload, access.EmployeesAll, access.EmployeeExportCreate, access.FullDossierGenerate,
			access.DelegationsGrant),
		r("Bedrijfsarts", access.KindProvider, access.EmployerDossierView, access.EmployeeDossierView,
			access.DocumentsUpload, access.MedicalView, access.EmployeesAll, access.EmployeeExportCreate),
		r("HR-medewerker", access.KindEmployer, access.EmployerDossierView, access.EmployeeDossierView,
			access.DocumentsUpload, access.EmployeesAll, access.FullDossierGenerate, access.EmployeeExportCreate),
		r("Leidinggevende", access.KindEmployer, access.EmployeeDossierView, access.DocumentsUpload),
		r("Coach", access.KindCoach, access.EmployeeDossierView, access.DocumentsUpload, access.DelegationsReceive),
	}
}

func (r *Role) validate() error {
	r.Name = strings.TrimSpace(r.Name)
	fields := map[string]string{}
	if r.Name == "" {
		fields["name"] = "error.required"
	}
	if !r.Kind.Valid() {
		fields["kind"] = "error.choose"
	}
	for _, x := range r.Rights {
		if !x.Valid() {
			fields["rights"] = "error.choose"
		}
		if x.Valid() && !slices.Contains(access.Holdable(r.Kind), x) {
			fields["rights"] = "role.error.provider_only"
		}
	}
	if len(fields) > 0 {
		return apperr.Invalid(fields)
	}
	slices.Sort(r.Rights)
	r.Rights = slices.Compact(r.Rights)
	if r.Rights == nil {
		r.Rights = []access.Right{} // a role may hold no rights yet; the column is NOT NULL
	}
	return nil
}

// createRole stores a new role. EINVALID on a bad name, kind or right; ECONFLICT on a taken name.
// It checks no right and writes no event: CreateRole does both around it, and a new tenant's
// default roles are made with it, before the tenant has anyone to record them.
func createRole(ctx context.Context, tx pgx.Tx, r Role) (Role, error) {
	if err := r.validate(); err != nil {
		return Role{}, err
	}
	r.ID = uuid.Must(uuid.NewV7())
	_, err := tx.Exec(ctx, "INSERT INTO roles (tenant_id, id, name, kind, rights) VALUES (app_tenant(), $1, $2, $3, $4)",
		r.ID, r.Name, r.Kind, r.Rights)
	if err != nil {
		return Role{}, fmt.Errorf("create role: %w", err)
	}
	return r, nil
}

// CreateRole stores a new role made by ed, who records it (role.created). EFORBIDDEN unless
// he holds roles.manage; further errors as createRole.
func CreateRole(ctx context.Context, tx pgx.Tx, ed access.Editor, r Role) (Role, error) {
	if err := ed.Allow(access.Require(ed.Principal, access.RolesManage)); err != nil {
		return Role{}, err
	}
	r, err := createRole(ctx, tx, r)
	if err != nil {
		return Role{}, err
	}
	return r, audit.Write(ctx, tx, ed.Actor, audit.Event{Action: audit.RoleCreated, SubjectType: "role", SubjectID: &r.ID,
		Details: map[string]any{"name": r.Name, "kind": r.Kind, "rights": r.Rights}})
}

// UpdateRole replaces a role's name and rights, its kind staying, and records the change,
// before and after (role.updated). EFORBIDDEN unless ed holds roles.manage; ENOTFOUND,
// EINVALID, ECONFLICT.
func UpdateRole(ctx context.Context, tx pgx.Tx, ed access.Editor, r Role) (Role, error) {
	if err := ed.Allow(access.Require(ed.Principal, access.RolesManage)); err != nil {
		return Role{}, err
	}
	old, err := FindRoleByID(ctx, tx, r.ID)
	if err != nil {
		return Role{}, err
	}
	r.Kind = old.Kind
	if err := r.validate(); err != nil {
		return Role{}, err
	}
	if _, err := tx.Exec(ctx, "UPDATE roles SET name = $2, rights = $3 WHERE id = $1", r.ID, r.Name, r.Rights); err != nil {
		return Role{}, fmt.Errorf("update role: %w", err)
	}
	return r, audit.Write(ctx, tx, ed.Actor, audit.Event{Action: audit.RoleUpdated, SubjectType: "role", SubjectID: &r.ID,
		Details: map[string]any{"before": map[string]any{"name": old.Name, "rights": old.Rights},
			"after": map[string]any{"name": r.Name, "rights": r.Rights}}})
}

// FindRoles lists the tenant's roles by kind and name.
func FindRoles(ctx context.Context, tx pgx.Tx) ([]Role, error) {
	return database.FindAll[Role](ctx, tx, "roles", "SELECT id, name, kind, rights FROM roles ORDER BY kind, name")
}

// FindRoleByID returns one role, or ENOTFOUND.
func FindRoleByID(ctx context.Context, tx pgx.Tx, id uuid.UUID) (Role, error) {
	return database.FindOne[Role](ctx, tx, "role", "SELECT id, name, kind, rights FROM roles WHERE id = $1", id)
}

// FindRoleByName returns the role with that name, or ENOTFOUND.
func FindRoleByName(ctx context.Context, tx pgx.Tx, name string) (Role, error) {
	return database.FindOne[Role](ctx, tx, "role", "SELECT id, name, kind, rights FROM roles WHERE name = $1", name)
}
