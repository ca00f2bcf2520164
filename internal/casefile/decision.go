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

// DecisionKinds is the fixed list of decision types, in display order: sickness benefit (ZW),
// the WIA assessment and its two outcomes WGA and IVA, and anything else.
var DecisionKinds = []string{"ZW", "WIA", "WGA", "IVA", "other"}

// DefaultIssuer is the body that issues most decisions.
const DefaultIssuer = "UWV"

// Decision is a decision about an employee by a benefits body (beschikking), e.g. the UWV's.
type Decision struct {
	ID         uuid.UUID
	EmployeeID uuid.UUID
	EmployerID uuid.UUID
	Kind       string
	Date       time.Time
	Outcome    string
	Issuer     string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

func (d *Decision) validate(fields map[string]string) {
	d.Outcome, d.Issuer = strings.TrimSpace(d.Outcome), strings.TrimSpace(d.Issuer)
	if d.Issuer == "" {
		d.Issuer = DefaultIssuer
	}
	if !slices.Contains(DecisionKinds, d.Kind) {
		setOnce(fields, "kind", "error.choose")
	}
	if d.Date.IsZero() {
		setOnce(fields, "decision_date", "error.required")
	}
}

const decisionColumns = `d.id, d.employee_id, d.employer_id, d.kind, d.decision_date, d.outcome, d.issuer,
	d.created_at, d.updated_at`

// FindDecisions returns the employee's decisions, newest decision date first.
func FindDecisions(ctx context.Context, tx pgx.Tx, employeeID uuid.UUID) ([]Decision, error) {
	list, err := database.FindAll[Decision](ctx, tx, "decisions", "SELECT "+decisionColumns+` FROM decisions d WHERE d.employee_id = $1
		ORDER BY d.decision_date DESC, d.id DESC`, employeeID)
	if err != nil {
		return nil, err
	}
	return list, nil
}

// FindDecisionByID returns one of the employee's decisions; ENOTFOUND when it does not exist or is
// another employee's.
func FindDecisionByID(ctx context.Context, tx pgx.Tx, employeeID, id uuid.UUID) (Decision, error) {
	return database.FindOne[Decision](ctx, tx, "decision", "SELECT "+decisionColumns+
		" FROM decisions d WHERE d.id = $1 AND d.employee_id = $2", id, employeeID)
}

// CreateDecision stores a decision in the employee's dossier and audits it (case.created); an
// empty issuer is the UWV. ed must see the employee and hold access.CaseDataWrite (ENOTFOUND,
// EFORBIDDEN as mayChangeEmployee). EINVALID on an unknown type or a missing date (parseErrs:
// errors the form found already), ENOTFOUND when the employee does not exist.
func CreateDecision(ctx context.Context, tx pgx.Tx, ed access.Editor, employeeID uuid.UUID, d Decision, parseErrs map[string]string) (Decision, error) {
	employerID, err := mayChangeEmployee(ctx, tx, ed, employeeID, access.CanWriteCaseData)
	if err != nil {
		return Decision{}, err
	}
	fields := cloneFields(parseErrs)
	d.validate(fields)
	if err := invalid(fields); err != nil {
		return Decision{}, err
	}
	d.ID, d.EmployeeID = uuid.Must(uuid.NewV7()), employeeID
	err = tx.QueryRow(ctx, `INSERT INTO decisions (tenant_id, id, employee_id, employer_id, kind, decision_date,
		outcome, issuer, created_by)
		SELECT app_tenant(), $1, e.id, e.employer_id, $3, $4, $5, $6, $7 FROM employees e WHERE e.id = $2
		RETURNING employer_id, created_at, updated_at`, d.ID, employeeID, d.Kind, d.Date, d.Outcome, d.Issuer, userOf(ed.Principal)).
		Scan(&d.EmployerID, &d.CreatedAt, &d.UpdatedAt)
	if database.IsNoRows(err) {
		return Decision{}, apperr.New(apperr.ENOTFOUND, "error.not_found")
	} else if err != nil {
		return Decision{}, fmt.Errorf("create decision: %w", err)
	}
	return d, auditCase(ctx, tx, ed, audit.CaseCreated, "decision", d.ID, employeeID, employerID, nil)
}

// UpdateDecision changes one of the employee's decisions and audits it (case.updated).
// ENOTFOUND, EFORBIDDEN as CreateDecision; ENOTFOUND when the decision is not the employee's;
// EINVALID.
func UpdateDecision(ctx context.Context, tx pgx.Tx, ed access.Editor, employeeID uuid.UUID, d Decision, parseErrs map[string]string) (Decision, error) {
	employerID, err := mayChangeEmployee(ctx, tx, ed, employeeID, access.CanWriteCaseData)
	if err != nil {
		return Decision{}, err
	}
	if _, err := FindDecisionByID(ctx, tx, employeeID, d.ID); err != nil {
		return Decision{}, err
	}
	fields := cloneFields(parseErrs)
	d.validate(fields)
	if err := invalid(fields); err != nil {
		return Decision{}, err
	}
	_, err = tx.Exec(ctx, `UPDATE decisions SET kind = $3, decision_date = $4, outcome = $5, issuer = $6,
		updated_at = now() WHERE id = $1 AND employee_id = $2`, d.ID, employeeID, d.Kind, d.Date, d.Outcome, d.Issuer)
	if err != nil {
		return Decision{}, fmt.Errorf("update decision: %w", err)
	}
	if err := auditCase(ctx, tx, ed, audit.CaseUpdated, "decision", d.ID, employeeID, employerID, nil); err != nil {
		return Decision{}, err
	}
	return FindDecisionByID(ctx, tx, employeeID, d.ID)
}

// DeleteDecision deletes one of the employee's decisions, audits it (case.deleted, with its
// type and date) and returns it as it was. ed must see the employee and may delete case data
// (access.CanDeleteCaseData): ENOTFOUND, EFORBIDDEN as mayChangeEmployee. ENOTFOUND when the
// decision is not the employee's.
func DeleteDecision(ctx context.Context, tx pgx.Tx, ed access.Editor, employeeID, id uuid.UUID) (Decision, error) {
	employerID, err := mayChangeEmployee(ctx, tx, ed, employeeID, access.CanDeleteCaseData)
	if err != nil {
		return Decision{}, err
	}
	d, err := FindDecisionByID(ctx, tx, employeeID, id)
	if err != nil {
		return Decision{}, err
	}
	if _, err := tx.Exec(ctx, "DELETE FROM decisions WHERE id = $1 AND employee_id = $2", id, employeeID); err != nil {
		return Decision{}, fmt.Errorf("delete decision: %w", err)
	}
	return d, auditCase(ctx, tx, ed, audit.CaseDeleted, "decision", id, employeeID, employerID,
		map[string]any{"kind": d.Kind, "decision_date": auditDay(&d.Date)})
}
