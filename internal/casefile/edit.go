package casefile

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/audit"
)

// Every mutation of this package takes the acting user as an access.Editor, asks access
// whether he may make the change before it touches anything, and writes its case.* event
// (audit.CaseCreated, CaseUpdated, CaseDeleted) in the same transaction, signed by the editor's
// Actor (STYLE.md, Database). A caller cannot forget the check or the event.
//
// The system (access.System: the demo loader, jobs) changes case data on nobody's behalf and is
// not refused (access.Editor.Allow); its Principal is the zero Principal, so it still reads and
// writes no medical parts (access.CanReadMedical). The zero Editor is nobody and is refused.

// mayChangeEmployee checks that ed may make a change of the employee's dossier whose right rule
// decides (access.CanWriteCaseData, access.CanDeleteCaseData, access.ManageOrganisation,
// access.CanDeleteContract): he can see the employee (access.CanSeeEmployee: ENOTFOUND outside
// his access, EFORBIDDEN without employee_dossier.view) and rule lets him (EFORBIDDEN). It
// returns the employee's employer; ENOTFOUND when the employee does not exist.
func mayChangeEmployee(ctx context.Context, tx pgx.Tx, ed access.Editor, employeeID uuid.UUID,
	rule func(access.Principal) error) (uuid.UUID, error) {
	if err := ed.Allow(access.CanSeeEmployee(ctx, tx, ed.Principal, employeeID)); err != nil {
		return uuid.Nil, err
	}
	if err := ed.Allow(rule(ed.Principal)); err != nil {
		return uuid.Nil, err
	}
	return employerOfEmployee(ctx, tx, employeeID)
}

// mayChangeEmployer checks that ed may change the employer's contracts as rule decides
// (access.CanWriteEmployerContracts, access.CanDeleteEmployerContracts: ENOTFOUND outside his
// reach, EFORBIDDEN without the right).
func mayChangeEmployer(ed access.Editor, employerID uuid.UUID, rule func(access.Principal, uuid.UUID) error) error {
	return ed.Allow(rule(ed.Principal, employerID))
}

// mayManageInterventions checks that ed may change the intervention providers and programmes:
// interventions.manage (EFORBIDDEN).
func mayManageInterventions(ed access.Editor) error {
	return ed.Allow(access.Require(ed.Principal, access.InterventionsManage))
}

// auditCase writes the one case.* event of a change of the employee's case data.
func auditCase(ctx context.Context, tx pgx.Tx, ed access.Editor, action, subjectType string,
	subjectID, employeeID, employerID uuid.UUID, details map[string]any) error {
	return audit.Write(ctx, tx, ed.Actor, audit.Event{Action: action, SubjectType: subjectType,
		SubjectID: &subjectID, EmployeeID: &employeeID, EmployerID: &employerID, Details: details})
}

// auditDay formats a date for audit details; nil is "".
func auditDay(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.Format(time.DateOnly)
}
