package casefile

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

// AbsenceCauses is the fixed list of cause classifications of an absence, in display order.
// The cause is medical: only users with medical.view see or change it. "" is "not classified".
var AbsenceCauses = []string{"disease", "work_related", "accident", "pregnancy", "organ_donation", "psychological", "other"}

// Absence is one period of sickness absence of an employee (verzuimmelding).
type Absence struct {
	ID             uuid.UUID
	EmployeeID     uuid.UUID
	EmployerID     uuid.UUID // the employee's employer when the absence was reported
	FirstSickDay   time.Time
	RecoveryDate   *time.Time // nil while the employee is absent
	ExpectedReturn *time.Time
	// Cause is medical: "" for viewers without medical.view, whatever is stored.
	Cause     string
	Notes     string
	CreatedAt time.Time
	UpdatedAt time.Time
	CreatedBy *uuid.UUID
	// Percentages are the absence percentage and its changes, oldest first; the first starts on
	// the first sick day.
	Percentages []AbsencePercentage
}

// Percentage returns the absence percentage on day, or -1 before the first sick day.
func (a Absence) Percentage(day time.Time) int {
	pct := -1
	for _, p := range a.Percentages {
		if !p.FromDate.After(day) {
			pct = p.Percentage
		}
	}
	return pct
}

// Current returns the latest absence percentage (-1 when none is known).
func (a Absence) Current() int {
	if len(a.Percentages) == 0 {
		return -1
	}
	return a.Percentages[len(a.Percentages)-1].Percentage
}

// AbsencePercentage is the absence percentage of an absence from a date on.
type AbsencePercentage struct {
	ID         uuid.UUID
	AbsenceID  uuid.UUID
	FromDate   time.Time
	Percentage int
}

// validPercentage reports whether p is a percentage an absence can have.
func validPercentage(p int) bool { return p >= 0 && p <= 100 }

// validate checks the fields an editor fills in; fields holds the message keys found so far
// (form parse errors) and is extended.
func (a *Absence) validate(fields map[string]string) {
	a.Notes = strings.TrimSpace(a.Notes)
	if a.FirstSickDay.IsZero() {
		setOnce(fields, "first_sick_day", "error.required")
	}
	if a.RecoveryDate != nil && !a.FirstSickDay.IsZero() && a.RecoveryDate.Before(a.FirstSickDay) {
		setOnce(fields, "recovery_date", "absence.error.recovery_before_start")
	}
	if a.ExpectedReturn != nil && !a.FirstSickDay.IsZero() && a.ExpectedReturn.Before(a.FirstSickDay) {
		setOnce(fields, "expected_return", "absence.error.return_before_start")
	}
	if a.Cause != "" && !slices.Contains(AbsenceCauses, a.Cause) {
		setOnce(fields, "cause", "error.choose")
	}
}

// setOnce records a field error unless the field has one already (a parse error says more).
func setOnce(fields map[string]string, name, key string) {
	if _, ok := fields[name]; !ok {
		fields[name] = key
	}
}

func invalid(fields map[string]string) error {
	if len(fields) == 0 {
		return nil
	}
	return apperr.Invalid(fields)
}

const absenceColumns = `a.id, a.employee_id, a.employer_id, a.first_sick_day, a.recovery_date, a.expected_return,
	CASE WHEN $2::boolean THEN a.cause ELSE '' END, a.notes, a.created_at, a.updated_at, a.created_by`

func scanAbsence(row pgx.CollectableRow) (Absence, error) {
	var a Absence
	err := row.Scan(&a.ID, &a.EmployeeID, &a.EmployerID, &a.FirstSickDay, &a.RecoveryDate, &a.ExpectedReturn,
		&a.Cause, &a.Notes, &a.CreatedAt, &a.UpdatedAt, &a.CreatedBy)
	return a, err
}

// FindAbsences returns the absences of an employee, newest first sick day first, each with its
// percentages. The cause is empty unless viewer has medical.view.
func FindAbsences(ctx context.Context, tx pgx.Tx, viewer access.Principal, employeeID uuid.UUID) ([]Absence, error) {
	rows, err := tx.Query(ctx, "SELECT "+absenceColumns+` FROM absences a WHERE a.employee_id = $1
		ORDER BY a.first_sick_day DESC, a.id DESC`, employeeID, access.CanReadMedical(viewer))
	if err != nil {
		return nil, fmt.Errorf("find absences: %w", err)
	}
	list, err := pgx.CollectRows(rows, scanAbsence)
	if err != nil {
		return nil, fmt.Errorf("find absences: %w", err)
	}
	pcts, err := findPercentages(ctx, tx, "employee_id", employeeID)
	if err != nil {
		return nil, err
	}
	for i := range list {
		list[i].Percentages = pcts[list[i].ID]
	}
	return list, nil
}

// FindAbsenceByID returns one absence of the employee with its percentages; ENOTFOUND when it
// does not exist or belongs to another employee. The cause is empty unless viewer has
// medical.view.
func FindAbsenceByID(ctx context.Context, tx pgx.Tx, viewer access.Principal, employeeID, id uuid.UUID) (Absence, error) {
	rows, err := tx.Query(ctx, "SELECT "+absenceColumns+" FROM absences a WHERE a.id = $1 AND a.employee_id = $3",
		id, access.CanReadMedical(viewer), employeeID)
	if err != nil {
		return Absence{}, fmt.Errorf("find absence: %w", err)
	}
	a, err := pgx.CollectExactlyOneRow(rows, scanAbsence)
	if database.IsNoRows(err) {
		return Absence{}, apperr.New(apperr.ENOTFOUND, "error.not_found")
	} else if err != nil {
		return Absence{}, fmt.Errorf("find absence: %w", err)
	}
	pcts, err := findPercentages(ctx, tx, "absence_id", id)
	a.Percentages = pcts[id]
	return a, err
}

// findPercentages returns the percentages where column (absence_id or employee_id) is id, per
// absence, oldest first.
func findPercentages(ctx context.Context, tx pgx.Tx, column string, id uuid.UUID) (map[uuid.UUID][]AbsencePercentage, error) {
	list, err := database.FindAll[AbsencePercentage](ctx, tx, "absence percentages", `SELECT id, absence_id, from_date, percentage FROM absence_percentages
		WHERE `+column+` = $1 ORDER BY absence_id, from_date`, id)
	if err != nil {
		return nil, err
	}
	out := map[uuid.UUID][]AbsencePercentage{}
	for _, p := range list {
		out[p.AbsenceID] = append(out[p.AbsenceID], p)
	}
	return out, nil
}

// NewAbsence is what CreateAbsence needs: the absence and its first percentage, and the field
// errors the form already found (parse errors), if any.
type NewAbsence struct {
	Absence    Absence
	Percentage int
	Fields     map[string]string
}

// CreateAbsence reports an absence of the employee with its first percentage (from the first sick
// day), audits it (case.created) and returns it. The employer is the employee's. ed must see the
// employee and hold access.CaseDataWrite (ENOTFOUND, EFORBIDDEN as mayChangeEmployee). The cause
// is stored only when ed has medical.view (EFORBIDDEN otherwise). EINVALID with field errors on
// bad input (a recovery date before the first sick day, a percentage outside 0–100); ENOTFOUND
// when the employee does not exist.
func CreateAbsence(ctx context.Context, tx pgx.Tx, ed access.Editor, employeeID uuid.UUID, n NewAbsence) (Absence, error) {
	if _, err := mayChangeEmployee(ctx, tx, ed, employeeID, access.CanWriteCaseData); err != nil {
		return Absence{}, err
	}
	by := ed.Principal
	a := n.Absence
	if a.Cause != "" && !access.CanReadMedical(by) {
		return Absence{}, apperr.New(apperr.EFORBIDDEN, "error.forbidden")
	}
	fields := cloneFields(n.Fields)
	a.validate(fields)
	if !validPercentage(n.Percentage) {
		setOnce(fields, "percentage", "absence.error.percentage")
	}
	if err := invalid(fields); err != nil {
		return Absence{}, err
	}
	a.ID, a.EmployeeID, a.CreatedBy = uuid.Must(uuid.NewV7()), employeeID, userOf(by)
	err := tx.QueryRow(ctx, `INSERT INTO absences (tenant_id, id, employee_id, employer_id, first_sick_day,
		recovery_date, expected_return, cause, notes, created_by)
		SELECT app_tenant(), $1, e.id, e.employer_id, $3, $4, $5, $6, $7, $8 FROM employees e WHERE e.id = $2
		RETURNING employer_id, created_at, updated_at`,
		a.ID, employeeID, a.FirstSickDay, a.RecoveryDate, a.ExpectedReturn, a.Cause, a.Notes, a.CreatedBy).
		Scan(&a.EmployerID, &a.CreatedAt, &a.UpdatedAt)
	if database.IsNoRows(err) {
		return Absence{}, apperr.New(apperr.ENOTFOUND, "error.not_found")
	} else if err != nil {
		return Absence{}, fmt.Errorf("create absence: %w", err)
	}
	p, err := insertPercentage(ctx, tx, by, a, a.FirstSickDay, n.Percentage)
	if err != nil {
		return Absence{}, err
	}
	a.Percentages = []AbsencePercentage{p}
	return a, auditCase(ctx, tx, ed, audit.CaseCreated, "absence", a.ID, employeeID, a.EmployerID, nil)
}

func insertPercentage(ctx context.Context, tx pgx.Tx, by access.Principal, a Absence, from time.Time, pct int) (AbsencePercentage, error) {
	p := AbsencePercentage{ID: uuid.Must(uuid.NewV7()), AbsenceID: a.ID, FromDate: from, Percentage: pct}
	_, err := tx.Exec(ctx, `INSERT INTO absence_percentages (tenant_id, id, absence_id, employee_id, employer_id,
		from_date, percentage, created_by) VALUES (app_tenant(), $1, $2, $3, $4, $5, $6, $7)`,
		p.ID, a.ID, a.EmployeeID, a.EmployerID, from, pct, userOf(by))
	if err != nil {
		return AbsencePercentage{}, fmt.Errorf("create absence percentage: %w", err)
	}
	return p, nil
}

// UpdateAbsence changes the dates, notes and (only when ed has medical.view; otherwise the stored
// cause stays) the cause of the employee's absence a.ID and audits it (case.updated). When the
// first sick day moves, the first percentage moves with it; EINVALID when a later percentage
// change would then start on or before it. ENOTFOUND, EFORBIDDEN as CreateAbsence; EINVALID.
func UpdateAbsence(ctx context.Context, tx pgx.Tx, ed access.Editor, employeeID uuid.UUID, a Absence, parseErrs map[string]string) (Absence, error) {
	employerID, err := mayChangeEmployee(ctx, tx, ed, employeeID, access.CanWriteCaseData)
	if err != nil {
		return Absence{}, err
	}
	by := ed.Principal
	old, err := FindAbsenceByID(ctx, tx, by, employeeID, a.ID)
	if err != nil {
		return Absence{}, err
	}
	medical := access.CanReadMedical(by)
	if !medical {
		if a.Cause != "" {
			return Absence{}, apperr.New(apperr.EFORBIDDEN, "error.forbidden")
		}
	}
	fields := cloneFields(parseErrs)
	a.validate(fields)
	if len(fields) == 0 && !a.FirstSickDay.Equal(old.FirstSickDay) && len(old.Percentages) > 1 &&
		!old.Percentages[1].FromDate.After(a.FirstSickDay) {
		fields["first_sick_day"] = "absence.error.start_after_change"
	}
	if err := invalid(fields); err != nil {
		return Absence{}, err
	}
	err = tx.QueryRow(ctx, `UPDATE absences SET first_sick_day = $3, recovery_date = $4, expected_return = $5,
		cause = CASE WHEN $6::boolean THEN $7 ELSE cause END, notes = $8, updated_at = now()
		WHERE id = $1 AND employee_id = $2 RETURNING updated_at`,
		a.ID, employeeID, a.FirstSickDay, a.RecoveryDate, a.ExpectedReturn, medical, a.Cause, a.Notes).Scan(&a.UpdatedAt)
	if err != nil {
		return Absence{}, fmt.Errorf("update absence: %w", err)
	}
	if !a.FirstSickDay.Equal(old.FirstSickDay) && len(old.Percentages) > 0 {
		first := old.Percentages[0]
		if _, err := tx.Exec(ctx, "UPDATE absence_percentages SET from_date = $2, updated_at = now() WHERE id = $1",
			first.ID, a.FirstSickDay); err != nil {
			return Absence{}, fmt.Errorf("move first absence percentage: %w", err)
		}
	}
	if err := auditCase(ctx, tx, ed, audit.CaseUpdated, "absence", a.ID, employeeID, employerID, nil); err != nil {
		return Absence{}, err
	}
	return FindAbsenceByID(ctx, tx, by, employeeID, a.ID)
}

// SetAbsencePercentage records that the employee's absence has percentage pct from the date on
// (a change of the absence percentage); a change on a date that has one already replaces it.
// The percentage is part of the absence: the change is audited as one of the absence
// (case.updated). EINVALID when pct is outside 0–100 or from is before the first sick day or
// after the recovery date; ENOTFOUND when the absence is not the employee's; ENOTFOUND,
// EFORBIDDEN as CreateAbsence.
func SetAbsencePercentage(ctx context.Context, tx pgx.Tx, ed access.Editor, employeeID, absenceID uuid.UUID, from *time.Time, pct int, parseErrs map[string]string) (AbsencePercentage, error) {
	employerID, err := mayChangeEmployee(ctx, tx, ed, employeeID, access.CanWriteCaseData)
	if err != nil {
		return AbsencePercentage{}, err
	}
	a, err := FindAbsenceByID(ctx, tx, ed.Principal, employeeID, absenceID)
	if err != nil {
		return AbsencePercentage{}, err
	}
	fields := cloneFields(parseErrs)
	switch {
	case from == nil:
		setOnce(fields, "from_date", "error.required")
	case from.Before(a.FirstSickDay):
		setOnce(fields, "from_date", "absence.error.change_before_start")
	case a.RecoveryDate != nil && from.After(*a.RecoveryDate):
		setOnce(fields, "from_date", "absence.error.change_after_recovery")
	}
	if !validPercentage(pct) {
		setOnce(fields, "percentage", "absence.error.percentage")
	}
	if err := invalid(fields); err != nil {
		return AbsencePercentage{}, err
	}
	p, err := setPercentage(ctx, tx, ed.Principal, a, *from, pct)
	if err != nil {
		return AbsencePercentage{}, err
	}
	return p, auditCase(ctx, tx, ed, audit.CaseUpdated, "absence", absenceID, employeeID, employerID, nil)
}

// setPercentage replaces the absence's percentage change on from, or adds one.
func setPercentage(ctx context.Context, tx pgx.Tx, by access.Principal, a Absence, from time.Time, pct int) (AbsencePercentage, error) {
	for _, p := range a.Percentages {
		if p.FromDate.Equal(from) {
			p.Percentage = pct
			_, err := tx.Exec(ctx, "UPDATE absence_percentages SET percentage = $2, updated_at = now() WHERE id = $1", p.ID, pct)
			if err != nil {
				return AbsencePercentage{}, fmt.Errorf("update absence percentage: %w", err)
			}
			return p, nil
		}
	}
	return insertPercentage(ctx, tx, by, a, from, pct)
}

// FindAbsenceToDelete returns the employee's absence that by is about to delete, locked until
// the transaction ends. A classified cause is medical: without medical.view by cannot see it
// and may not destroy it (EFORBIDDEN). ENOTFOUND when the absence is not the employee's.
func FindAbsenceToDelete(ctx context.Context, tx pgx.Tx, by access.Principal, employeeID, id uuid.UUID) (Absence, error) {
	var medical bool
	err := tx.QueryRow(ctx, "SELECT cause <> '' FROM absences WHERE id = $1 AND employee_id = $2 FOR UPDATE",
		id, employeeID).Scan(&medical)
	if database.IsNoRows(err) {
		return Absence{}, apperr.New(apperr.ENOTFOUND, "error.not_found")
	} else if err != nil {
		return Absence{}, fmt.Errorf("find absence to delete: %w", err)
	}
	if medical && !access.CanReadMedical(by) {
		return Absence{}, apperr.New(apperr.EFORBIDDEN, "error.forbidden")
	}
	return FindAbsenceByID(ctx, tx, by, employeeID, id)
}

// DeleteAbsence deletes the employee's absence with its percentages, audits it (case.deleted,
// with its first sick day and how many percentages went) and returns it as it was. ed must see
// the employee and may delete case data (access.CanDeleteCaseData): ENOTFOUND, EFORBIDDEN as
// mayChangeEmployee. ENOTFOUND and EFORBIDDEN as FindAbsenceToDelete.
func DeleteAbsence(ctx context.Context, tx pgx.Tx, ed access.Editor, employeeID, id uuid.UUID) (Absence, error) {
	employerID, err := mayChangeEmployee(ctx, tx, ed, employeeID, access.CanDeleteCaseData)
	if err != nil {
		return Absence{}, err
	}
	a, err := FindAbsenceToDelete(ctx, tx, ed.Principal, employeeID, id)
	if err != nil {
		return Absence{}, err
	}
	// The percentages go with it (ON DELETE CASCADE), each recorded as a delete in changes.
	if _, err := tx.Exec(ctx, "DELETE FROM absences WHERE id = $1", id); err != nil {
		return Absence{}, fmt.Errorf("delete absence: %w", err)
	}
	return a, auditCase(ctx, tx, ed, audit.CaseDeleted, "absence", id, employeeID, employerID,
		map[string]any{"first_sick_day": auditDay(&a.FirstSickDay), "percentages": len(a.Percentages)})
}

func userOf(p access.Principal) *uuid.UUID {
	if p.UserID == uuid.Nil {
		return nil
	}
	id := p.UserID
	return &id
}

func cloneFields(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
