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

// Expertises is the fixed list of expertises a report is written from (deskundigheid), in
// display order.
var Expertises = []string{"bedrijfsarts", "arbeidsdeskundige", "casemanager", "re-integratiedeskundige", "werkgever"}

// Report is a note in an employee's dossier (rapportage). Hidden and medical reports exist only
// for viewers with medical.view: every read filters them out in SQL for anyone else.
type Report struct {
	ID         uuid.UUID
	EmployeeID uuid.UUID
	EmployerID uuid.UUID
	AuthorID   *uuid.UUID
	AuthorName string // "" when the author's account is gone
	Body       string
	Expertise  string
	Hidden     bool
	Medical    bool
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

func (r *Report) validate(fields map[string]string) {
	r.Body = strings.TrimSpace(r.Body)
	if r.Body == "" {
		setOnce(fields, "body", "error.required")
	}
	if !slices.Contains(Expertises, r.Expertise) {
		setOnce(fields, "expertise", "error.choose")
	}
}

// checkFlags refuses a hidden or medical report from someone who could not read it back.
func (r Report) checkFlags(by access.Principal) error {
	if (r.Hidden || r.Medical) && !access.CanReadMedical(by) {
		return apperr.New(apperr.EFORBIDDEN, "error.forbidden")
	}
	return nil
}

const reportColumns = `r.id, r.employee_id, r.employer_id, r.author_id, coalesce(u.name, ''), r.body, r.expertise,
	r.hidden, r.medical, r.created_at, r.updated_at`

// reportVisible is the filter every read of reports applies: $2 is whether the viewer has
// medical.view.
const reportVisible = ` AND ($2::boolean OR NOT (r.hidden OR r.medical))`

// FindReports returns the employee's reports viewer may read, newest first: without medical.view
// no hidden and no medical report is returned.
func FindReports(ctx context.Context, tx pgx.Tx, viewer access.Principal, employeeID uuid.UUID) ([]Report, error) {
	list, err := database.FindAll[Report](ctx, tx, "reports", "SELECT "+reportColumns+` FROM reports r LEFT JOIN users u ON u.id = r.author_id
		WHERE r.employee_id = $1`+reportVisible+` ORDER BY r.created_at DESC, r.id DESC`,
		employeeID, access.CanReadMedical(viewer))
	if err != nil {
		return nil, err
	}
	return list, nil
}

// FindReportByID returns one of the employee's reports; ENOTFOUND when it does not exist, is
// another employee's, or is hidden or medical and viewer lacks medical.view.
func FindReportByID(ctx context.Context, tx pgx.Tx, viewer access.Principal, employeeID, id uuid.UUID) (Report, error) {
	return database.FindOne[Report](ctx, tx, "report", "SELECT "+reportColumns+` FROM reports r
		LEFT JOIN users u ON u.id = r.author_id WHERE r.id = $1`+reportVisible+` AND r.employee_id = $3`,
		id, access.CanReadMedical(viewer), employeeID)
}

// CreateReport stores a report by ed (its author) in the employee's dossier and audits it
// (case.created). ed must see the employee and hold access.CaseDataWrite (ENOTFOUND, EFORBIDDEN
// as mayChangeEmployee). EINVALID on an empty text or an unknown expertise (parseErrs: errors
// the form found already), EFORBIDDEN for a hidden or medical report from someone without
// medical.view, ENOTFOUND when the employee does not exist.
func CreateReport(ctx context.Context, tx pgx.Tx, ed access.Editor, employeeID uuid.UUID, r Report, parseErrs map[string]string) (Report, error) {
	employerID, err := mayChangeEmployee(ctx, tx, ed, employeeID, access.CanWriteCaseData)
	if err != nil {
		return Report{}, err
	}
	by := ed.Principal
	if err := r.checkFlags(by); err != nil {
		return Report{}, err
	}
	fields := cloneFields(parseErrs)
	r.validate(fields)
	if err := invalid(fields); err != nil {
		return Report{}, err
	}
	r.ID, r.EmployeeID, r.AuthorID = uuid.Must(uuid.NewV7()), employeeID, userOf(by)
	err = tx.QueryRow(ctx, `INSERT INTO reports (tenant_id, id, employee_id, employer_id, author_id, body,
		expertise, hidden, medical, created_by)
		SELECT app_tenant(), $1, e.id, e.employer_id, $3, $4, $5, $6, $7, $3 FROM employees e WHERE e.id = $2
		RETURNING employer_id`, r.ID, employeeID, r.AuthorID, r.Body, r.Expertise, r.Hidden, r.Medical).Scan(&r.EmployerID)
	if database.IsNoRows(err) {
		return Report{}, apperr.New(apperr.ENOTFOUND, "error.not_found")
	} else if err != nil {
		return Report{}, fmt.Errorf("create report: %w", err)
	}
	if err := auditCase(ctx, tx, ed, audit.CaseCreated, "report", r.ID, employeeID, employerID, nil); err != nil {
		return Report{}, err
	}
	return FindReportByID(ctx, tx, by, employeeID, r.ID)
}

// UpdateReport changes the text, expertise and flags of one of the employee's reports and audits
// it (case.updated); the author stays. ENOTFOUND, EFORBIDDEN as CreateReport; ENOTFOUND when ed
// may not read the report, EFORBIDDEN when he would make it hidden or medical without
// medical.view, EINVALID on bad fields.
func UpdateReport(ctx context.Context, tx pgx.Tx, ed access.Editor, employeeID uuid.UUID, r Report, parseErrs map[string]string) (Report, error) {
	employerID, err := mayChangeEmployee(ctx, tx, ed, employeeID, access.CanWriteCaseData)
	if err != nil {
		return Report{}, err
	}
	by := ed.Principal
	if _, err := FindReportByID(ctx, tx, by, employeeID, r.ID); err != nil {
		return Report{}, err
	}
	if err := r.checkFlags(by); err != nil {
		return Report{}, err
	}
	fields := cloneFields(parseErrs)
	r.validate(fields)
	if err := invalid(fields); err != nil {
		return Report{}, err
	}
	_, err = tx.Exec(ctx, `UPDATE reports SET body = $3, expertise = $4, hidden = $5, medical = $6, updated_at = now()
		WHERE id = $1 AND employee_id = $2`, r.ID, employeeID, r.Body, r.Expertise, r.Hidden, r.Medical)
	if err != nil {
		return Report{}, fmt.Errorf("update report: %w", err)
	}
	if err := auditCase(ctx, tx, ed, audit.CaseUpdated, "report", r.ID, employeeID, employerID, nil); err != nil {
		return Report{}, err
	}
	return FindReportByID(ctx, tx, by, employeeID, r.ID)
}

// DeleteReport deletes one of the employee's reports, audits it (case.deleted, with its
// expertise and flags) and returns it as it was. ed must see the employee and may delete case
// data (access.CanDeleteCaseData): ENOTFOUND, EFORBIDDEN as mayChangeEmployee. ENOTFOUND when
// the report does not exist, is another employee's, or is hidden or medical and ed lacks
// medical.view (what he may not read he cannot delete).
func DeleteReport(ctx context.Context, tx pgx.Tx, ed access.Editor, employeeID, id uuid.UUID) (Report, error) {
	employerID, err := mayChangeEmployee(ctx, tx, ed, employeeID, access.CanDeleteCaseData)
	if err != nil {
		return Report{}, err
	}
	r, err := FindReportByID(ctx, tx, ed.Principal, employeeID, id)
	if err != nil {
		return Report{}, err
	}
	if _, err := tx.Exec(ctx, "DELETE FROM reports WHERE id = $1 AND employee_id = $2", id, employeeID); err != nil {
		return Report{}, fmt.Errorf("delete report: %w", err)
	}
	return r, auditCase(ctx, tx, ed, audit.CaseDeleted, "report", id, employeeID, employerID,
		map[string]any{"expertise": r.Expertise, "hidden": r.Hidden, "medical": r.Medical})
}
