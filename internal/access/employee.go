package access

import (
	"context"
	"fmt"
	"slices"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/apperr"
)

// Facts are what decides which employees a user may see (DESIGN.md §4), gathered once per
// request or job by the SQL function access_facts; org.LoadPrincipal reads them with the user.
// A blocked user has none and sees nobody. The blacklist is not among them: every query reads
// it live, so an entry takes effect at once.
type Facts struct {
	AllEmployers []uuid.UUID // employees.all: every employee of these employers (his reach)
	Reach        []uuid.UUID // employers in his reach
	Departments  []uuid.UUID // linked departments
	Employees    []uuid.UUID // linked employees
	Delegated    []uuid.UUID // employees delegated to him now
}

// visibleArgs appends p's user id and facts to args and returns the argument list of the SQL
// functions that apply them, as placeholders.
func visibleArgs(p Principal, args []any) (string, []any) {
	n := len(args)
	args = append(args, [16]byte(p.UserID), binaryIDs(p.Facts.AllEmployers), binaryIDs(p.Facts.Reach),
		binaryIDs(p.Facts.Departments), binaryIDs(p.Facts.Employees), binaryIDs(p.Facts.Delegated))
	return fmt.Sprintf("$%d, $%d, $%d, $%d, $%d, $%d", n+1, n+2, n+3, n+4, n+5, n+6), args
}

// binaryIDs converts ids for pgx: a uuid.UUID goes through its text form (Value), about 0.35 ms
// per query for the facts; [16]byte values are sent in binary.
func binaryIDs(ids []uuid.UUID) [][16]byte {
	b := make([][16]byte, len(ids))
	for i, id := range ids {
		b[i] = id
	}
	return b
}

// VisibleEmployees returns a FROM item holding the employees p may see (SQL function
// visible_employees), with its arguments appended to args. Every list query and CanSeeEmployee
// read it, so a list never shows what a detail page refuses. For a user whose facts hold
// delegated employees only (a coach) it is visible_delegated, the same rule with the other
// facts empty, which looks those employees up by primary key instead of testing every
// employee of the tenant against them.
func VisibleEmployees(p Principal, args []any) (string, []any) {
	if delegatedOnly(p.Facts) {
		n := len(args)
		args = append(args, [16]byte(p.UserID), binaryIDs(p.Facts.Delegated))
		return fmt.Sprintf("visible_delegated($%d, $%d)", n+1, n+2), args
	}
	params, args := visibleArgs(p, args)
	return "visible_employees(" + params + ")", args
}

// delegatedOnly reports whether facts let a user see employees through delegations alone: no
// employer he sees whole, no linked department or employee (reach alone shows nobody).
func delegatedOnly(f Facts) bool {
	return len(f.AllEmployers) == 0 && len(f.Departments) == 0 && len(f.Employees) == 0
}

// VisibleEmployeeSearch returns a FROM item holding, in the order a search shows them, the ids
// of the first limit employees p may see each of whose words the query's words start (a word
// of his first name, name prefix, last name, personnel number or BSN; split as the SQL function
// search_words splits), narrowed to employerID and departmentID when they are set: the SQL
// function visible_employee_search, which applies the rule of visible_employees to the rows of
// the search index it walks. Its one column is the id; WITH ORDINALITY numbers the order. The
// query, filters and limit and then p's facts are appended to args.
func VisibleEmployeeSearch(p Principal, query string, employerID, departmentID *uuid.UUID, limit int, args []any) (string, []any) {
	n := len(args)
	args = append(args, query, optionalID(employerID), optionalID(departmentID), limit)
	params, args := visibleArgs(p, args)
	return fmt.Sprintf("visible_employee_search($%d, $%d, $%d, $%d, %s)", n+1, n+2, n+3, n+4, params), args
}

// optionalID is id in binary for pgx, or NULL.
func optionalID(id *uuid.UUID) *[16]byte {
	if id == nil {
		return nil
	}
	b := [16]byte(*id)
	return &b
}

// VisibleEmployeeCount returns an SQL expression for how many employees p may see, with its
// arguments appended to args: the SQL function visible_employee_count, which adds up index
// ranges rather than testing every employee.
func VisibleEmployeeCount(p Principal, args []any) (string, []any) {
	params, args := visibleArgs(p, args)
	return "visible_employee_count(" + params + ")", args
}

// DelegatedNow returns an SQL condition on a dossier_delegations alias d and an employees
// alias e (d's employee) that holds when d is p's delegation running now and lets p see e: the
// delegation arm of visible_employees (DESIGN.md §4), tested on the delegation row itself: e
// is in p's reach unless p is a coach (whose reach the delegations are), and not on p's
// blacklist. A user without delegated employees in his facts (none, or blocked) has none. The
// arguments are appended to args. A list that starts from the user's own delegations (the
// coach's "Mijn cliënten") reads them by index with it, instead of testing each against the
// ids in his facts; a delegation is tested as it stands when the list is read, so one ended
// since the facts were loaded is gone already.
func DelegatedNow(p Principal, d, e string, args []any) (string, []any) {
	if len(p.Facts.Delegated) == 0 {
		return "false", args
	}
	args = append(args, [16]byte(p.UserID))
	user := len(args)
	cond := fmt.Sprintf("%[1]s.user_id = $%[3]d AND %[1]s.employee_id = %[2]s.id AND %[1]s.valid_from <= now() AND (%[1]s.ended_at IS NULL OR %[1]s.ended_at > now())"+
		" AND NOT EXISTS (SELECT 1 FROM user_blacklist b WHERE b.user_id = $%[3]d AND b.employee_id = %[2]s.id)", d, e, user)
	if p.Kind != KindCoach {
		args = append(args, binaryIDs(p.Facts.Reach))
		cond += fmt.Sprintf(" AND %s.employer_id = ANY ($%d)", e, len(args))
	}
	return "(" + cond + ")", args
}

// TenantEmployeeCount is an SQL expression for how many employees the tenant has, from the
// counts visible_employee_count adds up. It is no access decision: it tells how large a part
// of the tenant a viewer sees, for choosing how to ask for a page.
const TenantEmployeeCount = "(SELECT coalesce(sum(c.n), 0) FROM employee_counts c)"

// CanSeeEmployee returns nil when p may see the employee's dossier; ENOTFOUND when the employee is
// outside p's access (or absent), EFORBIDDEN when visible but p lacks employee_dossier.view. It
// asks the SQL function can_see_employee, which applies visible_employees to the one employee
// with a plan kept for the connection.
func CanSeeEmployee(ctx context.Context, tx pgx.Tx, p Principal, employeeID uuid.UUID) error {
	params, args := visibleArgs(p, []any{employeeID})
	var ok bool
	if err := tx.QueryRow(ctx, "SELECT can_see_employee($1, "+params+")", args...).Scan(&ok); err != nil {
		return fmt.Errorf("can see employee %s: %w", employeeID, err)
	}
	if !ok {
		return apperr.New(apperr.ENOTFOUND, "error.not_found")
	}
	if !p.Has(EmployeeDossierView) {
		return apperr.New(apperr.EFORBIDDEN, "error.forbidden")
	}
	return nil
}

// CanSeeEmployer returns nil when the employer is in p's reach: every employer for provider
// users, their own employers for employer users, none for coaches. ENOTFOUND otherwise.
func CanSeeEmployer(p Principal, employerID uuid.UUID) error {
	if !slices.Contains(p.Facts.Reach, employerID) {
		return apperr.New(apperr.ENOTFOUND, "error.not_found")
	}
	return nil
}

// CanSeeDossier returns nil when p may see the dossier a document is added to: with employeeID
// set, that employee's (as CanSeeEmployee: ENOTFOUND outside his access, EFORBIDDEN without
// employee_dossier.view), otherwise employerID's (as CanSeeEmployer: ENOTFOUND outside his
// reach). What he may do with the dossier's documents is decided per category (CanUpload,
// CanReadDocument).
func CanSeeDossier(ctx context.Context, tx pgx.Tx, p Principal, employerID uuid.UUID, employeeID *uuid.UUID) error {
	if employeeID != nil {
		return CanSeeEmployee(ctx, tx, p, *employeeID)
	}
	return CanSeeEmployer(p, employerID)
}

// Require returns EFORBIDDEN unless p holds r.
func Require(p Principal, r Right) error {
	if !p.Has(r) {
		return apperr.New(apperr.EFORBIDDEN, "error.forbidden")
	}
	return nil
}

// ManageOrganisation returns nil when p may create and edit employers, departments and employees:
// provider users who manage users (the application administrators). EFORBIDDEN otherwise.
func ManageOrganisation(p Principal) error {
	if p.Kind != KindProvider || !p.Has(UsersManage) {
		return apperr.New(apperr.EFORBIDDEN, "error.forbidden")
	}
	return nil
}

// CanListEmployees returns nil when p may open the employee list (which shows only the
// employees he can see): he holds employee_dossier.view. EFORBIDDEN otherwise.
func CanListEmployees(p Principal) error { return Require(p, EmployeeDossierView) }

// SeesOnlyDelegated reports whether p reaches employees only through dossier delegations
// (coach users): he has no employer or employee lists, only the clients delegated to him.
func SeesOnlyDelegated(p Principal) bool { return p.Kind == KindCoach }

// CanManageEmployer returns nil when p may change an employer and its departments: the
// employer is in his reach (ENOTFOUND otherwise, before any right is looked at, so a user
// learns nothing of employers he cannot see) and he may manage the organisation (EFORBIDDEN).
func CanManageEmployer(p Principal, employerID uuid.UUID) error {
	if err := CanSeeEmployer(p, employerID); err != nil {
		return err
	}
	return ManageOrganisation(p)
}

// CaseDataWrite is the right to add to and change an employee's case data (absences, reports,
// decisions, trajectories and tasks, agenda) in a dossier he can see. The catalogue has no right
// of its own for case data: adding to a dossier is what documents.upload ("Documenten
// toevoegen") grants, and every role that works in dossiers has it, coaches included (they
// complete guidance tasks). Medical parts also need medical.view.
const CaseDataWrite = DocumentsUpload
