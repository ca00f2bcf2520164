package org

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/database"
)

// ProductFullDossier is the product that enables full-dossier bundles for an employer.
const ProductFullDossier = "970 Dossiervorming extended"

// Products lists the products an employer can have enabled.
var Products = []string{ProductFullDossier}

// Employer is a client organisation of the tenant (werkgever).
type Employer struct {
	ID             uuid.UUID
	Name           string
	EmployerNumber string
	GroupID        *uuid.UUID
	GroupName      string
	Products       []string
	// EmployeeCount is how many of its employees the viewer sees, by the rule of the employee
	// list: FindEmployers and EmployeeCounts fill it; 0 where no viewer is given.
	EmployeeCount int
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// HasProduct reports whether product p is enabled for the employer.
func (e Employer) HasProduct(p string) bool { return slices.Contains(e.Products, p) }

func (e *Employer) validate() error {
	e.Name = strings.TrimSpace(e.Name)
	e.EmployerNumber = strings.TrimSpace(e.EmployerNumber)
	fields := map[string]string{}
	if e.Name == "" {
		fields["name"] = "error.required"
	}
	if e.EmployerNumber == "" {
		fields["employer_number"] = "error.required"
	}
	for _, p := range e.Products {
		if !slices.Contains(Products, p) {
			fields["products"] = "error.choose"
		}
	}
	if len(fields) > 0 {
		return apperr.Invalid(fields)
	}
	if e.Products == nil {
		e.Products = []string{}
	}
	return nil
}

// employerColumns are an employer's columns, with count as its EmployeeCount.
func employerColumns(count string) string {
	return "r.id, r.name, r.employer_number, r.group_id, coalesce(g.name, ''), r.products, " + count + ", r.created_at, r.updated_at"
}

const employerFrom = ` FROM employers r LEFT JOIN employer_groups g ON g.id = r.group_id `

// FindEmployers lists the employers in p's reach, by name, each with how many of its employees
// p sees (the same rule as the employee list, so a count never reveals an employee he was cut
// off from).
func FindEmployers(ctx context.Context, tx pgx.Tx, p access.Principal) ([]Employer, error) {
	visible, args := access.VisibleEmployees(p, []any{p.Facts.Reach})
	return database.FindAll[Employer](ctx, tx, "employers", "SELECT "+employerColumns("coalesce(v.n, 0)")+employerFrom+
		"LEFT JOIN (SELECT e.employer_id, count(*) AS n FROM "+visible+" e GROUP BY e.employer_id) v ON v.employer_id = r.id "+
		"WHERE r.id = ANY ($1) ORDER BY lower(r.name), r.id", args...)
}

// EmployeeCounts returns how many employees of the employer p sees, in all and per department
// (uuid.Nil for those in none), by the rule of the employee list.
func EmployeeCounts(ctx context.Context, tx pgx.Tx, p access.Principal, employerID uuid.UUID) (int, map[uuid.UUID]int, error) {
	visible, args := access.VisibleEmployees(p, []any{employerID})
	rows, err := tx.Query(ctx, "SELECT coalesce(e.department_id, '00000000-0000-0000-0000-000000000000'), count(*) FROM "+
		visible+" e WHERE e.employer_id = $1 GROUP BY 1", args...)
	if err != nil {
		return 0, nil, fmt.Errorf("count employees of %s: %w", employerID, err)
	}
	total, byDepartment := 0, map[uuid.UUID]int{}
	var department uuid.UUID
	var n int
	_, err = pgx.ForEachRow(rows, []any{&department, &n}, func() error {
		byDepartment[department] = n
		total += n
		return nil
	})
	if err != nil {
		return 0, nil, fmt.Errorf("count employees of %s: %w", employerID, err)
	}
	return total, byDepartment, nil
}

// FindAllEmployers lists every employer of the tenant, for administrators' choices.
func FindAllEmployers(ctx context.Context, tx pgx.Tx) ([]Employer, error) {
	return database.FindAll[Employer](ctx, tx, "employers", "SELECT "+employerColumns("0")+employerFrom+" ORDER BY lower(r.name), r.id")
}

// FindEmployerByID returns one employer, or ENOTFOUND. It does not check access.
func FindEmployerByID(ctx context.Context, tx pgx.Tx, id uuid.UUID) (Employer, error) {
	return database.FindOne[Employer](ctx, tx, "employer", "SELECT "+employerColumns("0")+employerFrom+" WHERE r.id = $1", id)
}

// checkGroup makes sure the employer's group, if any, exists.
func checkGroup(ctx context.Context, tx pgx.Tx, e Employer) error {
	if e.GroupID == nil {
		return nil
	}
	var found bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT FROM employer_groups WHERE id = $1)", *e.GroupID).Scan(&found); err != nil {
		return fmt.Errorf("find employer group: %w", err)
	}
	if !found {
		return apperr.Invalid(map[string]string{"group_id": "error.choose"})
	}
	return nil
}

// createEmployer stores a new employer. EINVALID on missing fields or an unknown group,
// ECONFLICT on a taken number. It checks no right and writes no event: CreateEmployer does
// both around it.
func createEmployer(ctx context.Context, tx pgx.Tx, e Employer) (Employer, error) {
	if err := e.validate(); err != nil {
		return Employer{}, err
	}
	if err := checkGroup(ctx, tx, e); err != nil {
		return Employer{}, err
	}
	e.ID = uuid.Must(uuid.NewV7())
	_, err := tx.Exec(ctx, `INSERT INTO employers (tenant_id, id, name, employer_number, group_id, products)
		VALUES (app_tenant(), $1, $2, $3, $4, $5)`, e.ID, e.Name, e.EmployerNumber, e.GroupID, e.Products)
	if err != nil {
		return Employer{}, fmt.Errorf("create employer: %w", err)
	}
	return e, nil
}

// CreateEmployer stores a new employer made by ed, who records it (employer.created).
// EFORBIDDEN unless he may manage the organisation (access.ManageOrganisation); further errors
// as createEmployer.
func CreateEmployer(ctx context.Context, tx pgx.Tx, ed access.Editor, e Employer) (Employer, error) {
	if err := ed.Allow(access.ManageOrganisation(ed.Principal)); err != nil {
		return Employer{}, err
	}
	e, err := createEmployer(ctx, tx, e)
	if err != nil {
		return Employer{}, err
	}
	return e, writeEmployer(ctx, tx, ed, audit.EmployerCreated, e)
}

// writeEmployer records a change of an employer with its fields.
func writeEmployer(ctx context.Context, tx pgx.Tx, ed access.Editor, action string, e Employer) error {
	return audit.Write(ctx, tx, ed.Actor, audit.Event{Action: action, SubjectType: "employer", SubjectID: &e.ID, EmployerID: &e.ID,
		Details: map[string]any{"name": e.Name, "employer_number": e.EmployerNumber, "products": e.Products}})
}

// UpdateEmployer replaces an employer's fields and records it (employer.updated). ENOTFOUND
// when the employer is absent or outside ed's reach, EFORBIDDEN unless he may manage it
// (access.CanManageEmployer); EINVALID, ECONFLICT.
func UpdateEmployer(ctx context.Context, tx pgx.Tx, ed access.Editor, e Employer) (Employer, error) {
	if err := ed.Allow(access.CanManageEmployer(ed.Principal, e.ID)); err != nil {
		return Employer{}, err
	}
	if err := e.validate(); err != nil {
		return Employer{}, err
	}
	if err := checkGroup(ctx, tx, e); err != nil {
		return Employer{}, err
	}
	tag, err := tx.Exec(ctx, `UPDATE employers SET name = $2, employer_number = $3, group_id = $4, products = $5,
		updated_at = now() WHERE id = $1`, e.ID, e.Name, e.EmployerNumber, e.GroupID, e.Products)
	if err != nil {
		return Employer{}, fmt.Errorf("update employer: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return Employer{}, apperr.New(apperr.ENOTFOUND, "error.not_found")
	}
	return e, writeEmployer(ctx, tx, ed, audit.EmployerUpdated, e)
}

// EmployerGroup groups employers, for example under one holding.
type EmployerGroup struct {
	ID   uuid.UUID
	Name string
}

// FindEmployerGroups lists the tenant's employer groups by name.
func FindEmployerGroups(ctx context.Context, tx pgx.Tx) ([]EmployerGroup, error) {
	return database.FindAll[EmployerGroup](ctx, tx, "employer groups", "SELECT id, name FROM employer_groups ORDER BY lower(name)")
}

// CreateEmployerGroup stores a new group made by ed, who records it (employer_group.created).
// EFORBIDDEN unless he may manage the organisation (access.ManageOrganisation); EINVALID on an
// empty name, ECONFLICT on a taken one.
func CreateEmployerGroup(ctx context.Context, tx pgx.Tx, ed access.Editor, name string) (EmployerGroup, error) {
	if err := ed.Allow(access.ManageOrganisation(ed.Principal)); err != nil {
		return EmployerGroup{}, err
	}
	g := EmployerGroup{ID: uuid.Must(uuid.NewV7()), Name: strings.TrimSpace(name)}
	if g.Name == "" {
		return EmployerGroup{}, apperr.Invalid(map[string]string{"name": "error.required"})
	}
	if _, err := tx.Exec(ctx, "INSERT INTO employer_groups (tenant_id, id, name) VALUES (app_tenant(), $1, $2)", g.ID, g.Name); err != nil {
		return EmployerGroup{}, fmt.Errorf("create employer group: %w", err)
	}
	return g, audit.Write(ctx, tx, ed.Actor, audit.Event{Action: audit.EmployerGroupCreated, SubjectType: "employer_group",
		SubjectID: &g.ID, Details: map[string]any{"name": g.Name}})
}

// Department is a part of an employer (afdeling).
type Department struct {
	ID            uuid.UUID
	EmployerID    uuid.UUID
	Name          string
	Code          string
	EmployeeCount int // the department's employees the viewer sees (EmployeeCounts); 0 where no viewer is given
}

func (d *Department) validate() error {
	d.Name = strings.TrimSpace(d.Name)
	d.Code = strings.TrimSpace(d.Code)
	if d.Name == "" {
		return apperr.Invalid(map[string]string{"name": "error.required"})
	}
	return nil
}

const departmentColumns = `d.id, d.employer_id, d.name, d.code, 0`

// FindDepartments lists an employer's departments by name.
func FindDepartments(ctx context.Context, tx pgx.Tx, employerID uuid.UUID) ([]Department, error) {
	return database.FindAll[Department](ctx, tx, "departments", "SELECT "+departmentColumns+" FROM departments d WHERE d.employer_id = $1 ORDER BY lower(d.name)", employerID)
}

// FindDepartmentByID returns one department, or ENOTFOUND.
func FindDepartmentByID(ctx context.Context, tx pgx.Tx, id uuid.UUID) (Department, error) {
	return database.FindOne[Department](ctx, tx, "department", "SELECT "+departmentColumns+" FROM departments d WHERE d.id = $1", id)
}

// createDepartment stores a new department. EINVALID, ECONFLICT on a name taken at the employer.
// It checks no right and writes no event: CreateDepartment does both around it.
func createDepartment(ctx context.Context, tx pgx.Tx, d Department) (Department, error) {
	if err := d.validate(); err != nil {
		return Department{}, err
	}
	d.ID = uuid.Must(uuid.NewV7())
	_, err := tx.Exec(ctx, "INSERT INTO departments (tenant_id, id, employer_id, name, code) VALUES (app_tenant(), $1, $2, $3, $4)",
		d.ID, d.EmployerID, d.Name, d.Code)
	if err != nil {
		return Department{}, fmt.Errorf("create department: %w", err)
	}
	return d, nil
}

// CreateDepartment stores a new department of d.EmployerID made by ed, who records it
// (department.saved). ENOTFOUND when the employer is absent or outside ed's reach, EFORBIDDEN
// unless he may manage it (access.CanManageEmployer); further errors as createDepartment.
func CreateDepartment(ctx context.Context, tx pgx.Tx, ed access.Editor, d Department) (Department, error) {
	if err := ed.Allow(access.CanManageEmployer(ed.Principal, d.EmployerID)); err != nil {
		return Department{}, err
	}
	if _, err := FindEmployerByID(ctx, tx, d.EmployerID); err != nil {
		return Department{}, err
	}
	d, err := createDepartment(ctx, tx, d)
	if err != nil {
		return Department{}, err
	}
	return d, writeDepartment(ctx, tx, ed, d, map[string]any{"name": d.Name})
}

func writeDepartment(ctx context.Context, tx pgx.Tx, ed access.Editor, d Department, details map[string]any) error {
	return audit.Write(ctx, tx, ed.Actor, audit.Event{Action: audit.DepartmentSaved, SubjectType: "department",
		SubjectID: &d.ID, EmployerID: &d.EmployerID, Details: details})
}

// UpdateDepartment renames a department and sets its code, and records it (department.saved);
// its employer stays. ENOTFOUND for an unknown department, or one whose employer is outside
// ed's reach; EFORBIDDEN unless he may manage the employer (access.CanManageEmployer); EINVALID,
// ECONFLICT.
func UpdateDepartment(ctx context.Context, tx pgx.Tx, ed access.Editor, d Department) (Department, error) {
	old, err := FindDepartmentByID(ctx, tx, d.ID)
	if err != nil {
		return Department{}, err
	}
	if err := ed.Allow(access.CanManageEmployer(ed.Principal, old.EmployerID)); err != nil {
		return Department{}, err
	}
	d.EmployerID, d.EmployeeCount = old.EmployerID, old.EmployeeCount
	if err := d.validate(); err != nil {
		return Department{}, err
	}
	if _, err := tx.Exec(ctx, "UPDATE departments SET name = $2, code = $3 WHERE id = $1", d.ID, d.Name, d.Code); err != nil {
		return Department{}, fmt.Errorf("update department: %w", err)
	}
	return d, writeDepartment(ctx, tx, ed, d, map[string]any{"name": d.Name, "code": d.Code})
}

// Provider is an external intervention provider (interventieprovider) whose coaches may receive
// time-bound access to dossiers.
type Provider struct {
	ID   uuid.UUID
	Name string
}

// FindProviders lists the tenant's intervention providers by name.
func FindProviders(ctx context.Context, tx pgx.Tx) ([]Provider, error) {
	return database.FindAll[Provider](ctx, tx, "providers", "SELECT id, name FROM intervention_providers ORDER BY lower(name)")
}
