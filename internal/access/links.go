package access

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/database"
)

// This file keeps the facts behind a user's access that administrators set by hand (DESIGN.md §4):
// departments and employees linked to him, and the employees he has no access to ("Geen
// toegang tot", the blacklist). Its rules:
//
//   - Links stay within the user's reach: employer users get links to their employers'
//     departments and employees only; coaches get no links at all (their access comes from
//     delegations). Provider users may be linked to anything in the tenant.
//   - An employee is never both individually linked and blacklisted; moving him from one column
//     to the other is one change (MoveEmployee).
//   - An individual link cannot be removed while the user is linked to the employee's department:
//     he would keep seeing the employee through the department, so the removal would mislead.
//     The blacklist, which always wins, is the one way to cut such an employee off.
//   - An administrator hands out access only within his own reach, and sees only that part of
//     another user's links.
//
// Every change writes its audit event in the caller's transaction; a request that changes
// nothing (a form sent twice) writes none.

// Column is where an employee stands for a user on the links screen.
type Column string

// The columns. ColumnNone: neither linked nor blacklisted (he may still see the employee through a
// department, employees.all or a delegation).
const (
	ColumnNone        Column = "none"
	ColumnLinked      Column = "linked"
	ColumnBlacklisted Column = "blacklisted"
)

// MaxReasonLength is the longest blacklist reason, in characters.
const MaxReasonLength = 500

// defaultLinkPageSize is a column's page when a filter sets no limit.
const defaultLinkPageSize = 25

// DepartmentEntry is a department as a row of the links screen.
type DepartmentEntry struct {
	ID            uuid.UUID
	Name          string
	Code          string
	EmployerID    uuid.UUID
	EmployerName  string
	EmployeeCount int        // employees in the department the editor sees; 0 for a candidate
	LinkedAt      *time.Time // nil for a candidate
}

// EmployeeEntry is an employee as a row of the links screen: linked, blacklisted or a candidate.
type EmployeeEntry struct {
	ID              uuid.UUID
	PersonnelNumber string
	FirstName       string
	NamePrefix      string
	LastName        string
	EmployerID      uuid.UUID
	EmployerName    string
	DepartmentID    *uuid.UUID
	DepartmentName  string
	// DepartmentLinked: the user is linked to the employee's department, so he sees the
	// employee without an individual link, and such a link cannot be removed.
	DepartmentLinked bool
	Reason           string     // blacklist entries: why
	At               *time.Time // when linked or blacklisted; nil for a candidate
}

// FullName is the name as Dutch lists show it: first name, prefix, last name.
func (e EmployeeEntry) FullName() string {
	return strings.Join(strings.Fields(e.FirstName+" "+e.NamePrefix+" "+e.LastName), " ")
}

// LinkFilter selects a page of one column of a user's links screen.
type LinkFilter struct {
	Editor Principal // must hold access.manage; rows outside his reach are left out
	UserID uuid.UUID // whose links
	Query  string    // words that must all occur (names, personnel number; departments: name, code, employer)
	Offset int
	Limit  int // 0: 25
}

func (f LinkFilter) page() (limit, offset int) {
	if f.Limit <= 0 {
		return defaultLinkPageSize, max(f.Offset, 0)
	}
	return f.Limit, max(f.Offset, 0)
}

// scope is what an editor may do to one user's links.
type scope struct {
	kind Kind
	// links: the employers whose departments and employees may be linked, the user's reach
	// within the editor's. Empty for coaches.
	links []uuid.UUID
	// blacklist: the employers whose employees may be put on the blacklist. For a coach, whose
	// reach is made by delegations that may come at any time, the editor's whole reach.
	blacklist []uuid.UUID
}

// loadScope checks that the editor may manage links (EFORBIDDEN) and that the user exists in the
// tenant (ENOTFOUND), and returns what the editor may link. With lock, it locks the user's row
// until the transaction ends, so two administrators changing the same user's links take turns
// and each sees the other's result: the rules above hold under concurrency.
func loadScope(ctx context.Context, tx pgx.Tx, editor Principal, userID uuid.UUID, lock bool) (scope, error) {
	if err := CanManageLinks(editor); err != nil {
		return scope{}, err
	}
	q := "SELECT kind FROM users WHERE id = $1"
	if lock {
		q += " FOR NO KEY UPDATE"
	}
	var s scope
	if err := tx.QueryRow(ctx, q, userID).Scan(&s.kind); err != nil {
		if database.IsNoRows(err) {
			return scope{}, apperr.New(apperr.ENOTFOUND, "error.not_found")
		}
		return scope{}, fmt.Errorf("find user %s: %w", userID, err)
	}
	var reach []uuid.UUID
	switch s.kind {
	case KindProvider:
		reach = editor.Facts.Reach // every employer of the tenant is his
	case KindEmployer:
		rows, err := tx.Query(ctx, "SELECT employer_id FROM user_employers WHERE user_id = $1", userID)
		if err != nil {
			return scope{}, fmt.Errorf("find employers of user %s: %w", userID, err)
		}
		if reach, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID]); err != nil {
			return scope{}, fmt.Errorf("find employers of user %s: %w", userID, err)
		}
	}
	for _, id := range reach {
		if slices.Contains(editor.Facts.Reach, id) {
			s.links = append(s.links, id)
		}
	}
	s.blacklist = s.links
	if !Linkable(s.kind) {
		s.blacklist = editor.Facts.Reach
	}
	return s, nil
}

// employeeState is one employee as a change needs to know him, for one user.
type employeeState struct {
	employerID       uuid.UUID
	name             string
	departmentID     *uuid.UUID
	departmentName   string
	departmentLinked bool
	linked           bool
	blacklisted      bool
}

func (st employeeState) column() Column {
	switch {
	case st.blacklisted:
		return ColumnBlacklisted
	case st.linked:
		return ColumnLinked
	}
	return ColumnNone
}

// findEmployeeState reads an employee and where he stands for the user. ENOTFOUND when the
// employee is absent or outside the editor's reach: the editor learns nothing of him.
func findEmployeeState(ctx context.Context, tx pgx.Tx, editor Principal, userID, employeeID uuid.UUID) (employeeState, error) {
	var st employeeState
	err := tx.QueryRow(ctx, `
		SELECT e.employer_id, concat_ws(' ', nullif(e.first_name, ''), nullif(e.name_prefix, ''), e.last_name),
			e.department_id, coalesce(d.name, ''),
			EXISTS (SELECT 1 FROM user_department_links dl WHERE dl.user_id = $1 AND dl.department_id = e.department_id),
			EXISTS (SELECT 1 FROM user_employee_links l WHERE l.user_id = $1 AND l.employee_id = e.id),
			EXISTS (SELECT 1 FROM user_blacklist b WHERE b.user_id = $1 AND b.employee_id = e.id)
		FROM employees e LEFT JOIN departments d ON d.id = e.department_id
		WHERE e.id = $2 AND e.employer_id = ANY ($3)`, userID, employeeID, editor.Facts.Reach).
		Scan(&st.employerID, &st.name, &st.departmentID, &st.departmentName, &st.departmentLinked, &st.linked, &st.blacklisted)
	if database.IsNoRows(err) {
		return employeeState{}, apperr.New(apperr.ENOTFOUND, "error.not_found")
	}
	if err != nil {
		return employeeState{}, fmt.Errorf("find employee %s: %w", employeeID, err)
	}
	return st, nil
}

// departmentState is one department as a change needs to know it, for one user.
type departmentState struct {
	employerID uuid.UUID
	name       string
	linked     bool
}

// findDepartmentState reads a department and whether the user is linked to it. ENOTFOUND when
// absent or outside the editor's reach.
func findDepartmentState(ctx context.Context, tx pgx.Tx, editor Principal, userID, departmentID uuid.UUID) (departmentState, error) {
	var st departmentState
	err := tx.QueryRow(ctx, `
		SELECT d.employer_id, d.name,
			EXISTS (SELECT 1 FROM user_department_links l WHERE l.user_id = $1 AND l.department_id = d.id)
		FROM departments d WHERE d.id = $2 AND d.employer_id = ANY ($3)`, userID, departmentID, editor.Facts.Reach).
		Scan(&st.employerID, &st.name, &st.linked)
	if database.IsNoRows(err) {
		return departmentState{}, apperr.New(apperr.ENOTFOUND, "error.not_found")
	}
	if err != nil {
		return departmentState{}, fmt.Errorf("find department %s: %w", departmentID, err)
	}
	return st, nil
}

// CanManageLinks returns nil when p may open a user's links screen, change his links and
// blacklist, and see the delegations of the dossiers in his reach: access.manage. EFORBIDDEN
// otherwise. Every list and change of this file asks it again, and bounds itself by p's reach.
func CanManageLinks(p Principal) error { return Require(p, AccessManage) }

// LinksAddNothing reports whether links cannot widen what a user holding rights sees: he holds
// employees.all, so he sees every employee in his reach already, and only his blacklist narrows
// it. The links screen says so instead of offering links that change nothing.
func LinksAddNothing(rights []Right) bool { return slices.Contains(rights, EmployeesAll) }

// Linkable reports whether users of kind k can be linked to departments and employees: coaches
// reach only their delegated clients, so links would give them nothing (they can still be
// blacklisted).
func Linkable(k Kind) bool { return k != KindCoach }

// canLink refuses links for coaches and outside the user's reach.
func (s scope) canLink(employerID uuid.UUID) error {
	if !Linkable(s.kind) {
		return apperr.New(apperr.EINVALID, "user.access.error.coach")
	}
	if !slices.Contains(s.links, employerID) {
		return apperr.New(apperr.EINVALID, "user.access.error.out_of_reach")
	}
	return nil
}

// write records one change of a user's access.
func (ed Editor) write(ctx context.Context, tx pgx.Tx, action string, userID uuid.UUID, employeeID *uuid.UUID,
	employerID uuid.UUID, details map[string]any) error {
	return audit.Write(ctx, tx, ed.Actor, audit.Event{Action: action, SubjectType: "user", SubjectID: &userID,
		EmployeeID: employeeID, EmployerID: &employerID, Details: details})
}

func employeeDetails(st employeeState, before, after Column) map[string]any {
	d := map[string]any{"before": before, "after": after}
	if st.departmentID != nil {
		d["department_id"] = *st.departmentID
		d["department_linked"] = st.departmentLinked
	}
	return d
}

// LinkDepartment links the user to a department, so he sees its employees (his blacklist
// still wins). Linking a linked department changes nothing. EFORBIDDEN without access.manage;
// ENOTFOUND for an unknown user, or a department absent or outside the editor's reach; EINVALID
// for a coach or a department outside the user's reach.
func LinkDepartment(ctx context.Context, tx pgx.Tx, ed Editor, userID, departmentID uuid.UUID) error {
	s, err := loadScope(ctx, tx, ed.Principal, userID, true)
	if err != nil {
		return err
	}
	d, err := findDepartmentState(ctx, tx, ed.Principal, userID, departmentID)
	if err != nil {
		return err
	}
	if err := s.canLink(d.employerID); err != nil {
		return err
	}
	if d.linked {
		return nil
	}
	if _, err := tx.Exec(ctx, `INSERT INTO user_department_links (tenant_id, user_id, department_id, created_by)
		VALUES (app_tenant(), $1, $2, $3)`, userID, departmentID, ed.Principal.UserID); err != nil {
		return fmt.Errorf("link department %s: %w", departmentID, err)
	}
	return ed.write(ctx, tx, audit.AccessDepartmentLinked, userID, nil, d.employerID, map[string]any{
		"department_id": departmentID, "department": d.name, "before": ColumnNone, "after": ColumnLinked})
}

// UnlinkDepartment removes the user's link to a department. Removing a link that is not there
// changes nothing. EFORBIDDEN, ENOTFOUND as LinkDepartment.
func UnlinkDepartment(ctx context.Context, tx pgx.Tx, ed Editor, userID, departmentID uuid.UUID) error {
	if _, err := loadScope(ctx, tx, ed.Principal, userID, true); err != nil {
		return err
	}
	d, err := findDepartmentState(ctx, tx, ed.Principal, userID, departmentID)
	if err != nil {
		return err
	}
	if !d.linked {
		return nil
	}
	if _, err := tx.Exec(ctx, "DELETE FROM user_department_links WHERE user_id = $1 AND department_id = $2",
		userID, departmentID); err != nil {
		return fmt.Errorf("unlink department %s: %w", departmentID, err)
	}
	return ed.write(ctx, tx, audit.AccessDepartmentUnlinked, userID, nil, d.employerID, map[string]any{
		"department_id": departmentID, "department": d.name, "before": ColumnLinked, "after": ColumnNone})
}

// LinkEmployee links the user to one employee. Linking a linked employee changes nothing.
// EFORBIDDEN without access.manage; ENOTFOUND for an unknown user, or an employee absent or
// outside the editor's reach; EINVALID for a coach, an employee outside the user's reach, or one
// on his blacklist (move him with MoveEmployee instead).
func LinkEmployee(ctx context.Context, tx pgx.Tx, ed Editor, userID, employeeID uuid.UUID) error {
	s, err := loadScope(ctx, tx, ed.Principal, userID, true)
	if err != nil {
		return err
	}
	st, err := findEmployeeState(ctx, tx, ed.Principal, userID, employeeID)
	if err != nil {
		return err
	}
	if err := s.canLink(st.employerID); err != nil {
		return err
	}
	switch st.column() {
	case ColumnLinked:
		return nil
	case ColumnBlacklisted:
		return apperr.New(apperr.EINVALID, "user.access.error.link_blacklisted", st.name)
	}
	if err := insertEmployeeLink(ctx, tx, ed, userID, employeeID); err != nil {
		return err
	}
	return ed.write(ctx, tx, audit.AccessEmployeeLinked, userID, &employeeID, st.employerID,
		employeeDetails(st, ColumnNone, ColumnLinked))
}

// UnlinkEmployee removes the user's individual link to an employee. Removing a link that is not
// there changes nothing. EINVALID, with a message that points to the blacklist, while the user
// is linked to the employee's department. EFORBIDDEN, ENOTFOUND as LinkEmployee.
func UnlinkEmployee(ctx context.Context, tx pgx.Tx, ed Editor, userID, employeeID uuid.UUID) error {
	if _, err := loadScope(ctx, tx, ed.Principal, userID, true); err != nil {
		return err
	}
	st, err := findEmployeeState(ctx, tx, ed.Principal, userID, employeeID)
	if err != nil {
		return err
	}
	if !st.linked {
		return nil
	}
	if st.departmentLinked {
		return apperr.New(apperr.EINVALID, "user.access.error.unlink_under_department", st.name, st.departmentName)
	}
	if err := deleteEmployeeLink(ctx, tx, userID, employeeID); err != nil {
		return err
	}
	return ed.write(ctx, tx, audit.AccessEmployeeUnlinked, userID, &employeeID, st.employerID,
		employeeDetails(st, ColumnLinked, ColumnNone))
}

// BlacklistEmployee puts an employee on the user's blacklist ("Geen toegang tot"), with an
// optional reason: from then on the user cannot see him, whatever else would let him. Entering
// an employee already there changes nothing (the first reason stays). EFORBIDDEN without
// access.manage; ENOTFOUND for an unknown user, or an employee absent or outside the editor's
// reach; EINVALID for an employee outside the user's reach (for a coach: the editor's), one
// individually linked (move him with MoveEmployee instead), or a reason longer than
// MaxReasonLength.
func BlacklistEmployee(ctx context.Context, tx pgx.Tx, ed Editor, userID, employeeID uuid.UUID, reason string) error {
	reason, err := cleanReason(reason)
	if err != nil {
		return err
	}
	s, err := loadScope(ctx, tx, ed.Principal, userID, true)
	if err != nil {
		return err
	}
	st, err := findEmployeeState(ctx, tx, ed.Principal, userID, employeeID)
	if err != nil {
		return err
	}
	if !slices.Contains(s.blacklist, st.employerID) {
		return apperr.New(apperr.EINVALID, "user.access.error.out_of_reach")
	}
	switch st.column() {
	case ColumnBlacklisted:
		return nil
	case ColumnLinked:
		return apperr.New(apperr.EINVALID, "user.access.error.blacklist_linked", st.name)
	}
	if err := insertBlacklist(ctx, tx, ed, userID, employeeID, reason); err != nil {
		return err
	}
	d := employeeDetails(st, ColumnNone, ColumnBlacklisted)
	d["reason"] = reason
	return ed.write(ctx, tx, audit.AccessBlacklisted, userID, &employeeID, st.employerID, d)
}

// UnblacklistEmployee takes an employee off the user's blacklist; whether the user then sees him
// depends on his other access. Taking off one who is not there changes nothing. EFORBIDDEN,
// ENOTFOUND as BlacklistEmployee.
func UnblacklistEmployee(ctx context.Context, tx pgx.Tx, ed Editor, userID, employeeID uuid.UUID) error {
	if _, err := loadScope(ctx, tx, ed.Principal, userID, true); err != nil {
		return err
	}
	st, err := findEmployeeState(ctx, tx, ed.Principal, userID, employeeID)
	if err != nil {
		return err
	}
	if !st.blacklisted {
		return nil
	}
	if err := deleteBlacklist(ctx, tx, userID, employeeID); err != nil {
		return err
	}
	return ed.write(ctx, tx, audit.AccessUnblacklisted, userID, &employeeID, st.employerID,
		employeeDetails(st, ColumnBlacklisted, ColumnNone))
}

// MoveEmployee moves an employee between the user's linked employees and his blacklist, in one
// change: to ColumnBlacklisted (with an optional reason) takes away the individual link, also
// under a linked department, which is the way to cut such an employee off; to ColumnLinked takes
// him off the blacklist and links him. The event is access.blacklisted or access.employee_linked
// with the column he came from. An employee already in the target column stays as he is.
// EINVALID when he is in neither column, for a move to ColumnNone, when linking is refused (see
// LinkEmployee) or for a reason longer than MaxReasonLength. EFORBIDDEN, ENOTFOUND as
// LinkEmployee.
func MoveEmployee(ctx context.Context, tx pgx.Tx, ed Editor, userID, employeeID uuid.UUID, to Column, reason string) error {
	reason, err := cleanReason(reason)
	if err != nil {
		return err
	}
	if to != ColumnLinked && to != ColumnBlacklisted {
		return apperr.New(apperr.EINVALID, "error.invalid")
	}
	s, err := loadScope(ctx, tx, ed.Principal, userID, true)
	if err != nil {
		return err
	}
	st, err := findEmployeeState(ctx, tx, ed.Principal, userID, employeeID)
	if err != nil {
		return err
	}
	from := st.column()
	switch {
	case from == to:
		return nil
	case from == ColumnNone:
		return apperr.New(apperr.EINVALID, "user.access.error.move_none", st.name)
	}
	if to == ColumnBlacklisted {
		if err := deleteEmployeeLink(ctx, tx, userID, employeeID); err != nil {
			return err
		}
		if err := insertBlacklist(ctx, tx, ed, userID, employeeID, reason); err != nil {
			return err
		}
		d := employeeDetails(st, from, to)
		d["reason"] = reason
		return ed.write(ctx, tx, audit.AccessBlacklisted, userID, &employeeID, st.employerID, d)
	}
	if err := s.canLink(st.employerID); err != nil {
		return err
	}
	if err := deleteBlacklist(ctx, tx, userID, employeeID); err != nil {
		return err
	}
	if err := insertEmployeeLink(ctx, tx, ed, userID, employeeID); err != nil {
		return err
	}
	return ed.write(ctx, tx, audit.AccessEmployeeLinked, userID, &employeeID, st.employerID, employeeDetails(st, from, to))
}

func cleanReason(reason string) (string, error) {
	reason = strings.TrimSpace(reason)
	if utf8.RuneCountInString(reason) > MaxReasonLength {
		return "", apperr.New(apperr.EINVALID, "user.access.error.reason_long", MaxReasonLength)
	}
	return reason, nil
}

func insertEmployeeLink(ctx context.Context, tx pgx.Tx, ed Editor, userID, employeeID uuid.UUID) error {
	_, err := tx.Exec(ctx, `INSERT INTO user_employee_links (tenant_id, user_id, employee_id, created_by)
		VALUES (app_tenant(), $1, $2, $3) ON CONFLICT DO NOTHING`, userID, employeeID, ed.Principal.UserID)
	if err != nil {
		return fmt.Errorf("link employee %s: %w", employeeID, err)
	}
	return nil
}

func deleteEmployeeLink(ctx context.Context, tx pgx.Tx, userID, employeeID uuid.UUID) error {
	if _, err := tx.Exec(ctx, "DELETE FROM user_employee_links WHERE user_id = $1 AND employee_id = $2", userID, employeeID); err != nil {
		return fmt.Errorf("unlink employee %s: %w", employeeID, err)
	}
	return nil
}

func insertBlacklist(ctx context.Context, tx pgx.Tx, ed Editor, userID, employeeID uuid.UUID, reason string) error {
	_, err := tx.Exec(ctx, `INSERT INTO user_blacklist (tenant_id, user_id, employee_id, reason, created_by)
		VALUES (app_tenant(), $1, $2, $3, $4) ON CONFLICT DO NOTHING`, userID, employeeID, reason, ed.Principal.UserID)
	if err != nil {
		return fmt.Errorf("blacklist employee %s: %w", employeeID, err)
	}
	return nil
}

func deleteBlacklist(ctx context.Context, tx pgx.Tx, userID, employeeID uuid.UUID) error {
	if _, err := tx.Exec(ctx, "DELETE FROM user_blacklist WHERE user_id = $1 AND employee_id = $2", userID, employeeID); err != nil {
		return fmt.Errorf("unblacklist employee %s: %w", employeeID, err)
	}
	return nil
}

// searchWhere appends one condition per word of query, matching expr (lowercased text) by
// substring, and returns them with args.
func searchWhere(expr, query string, where []string, args []any) ([]string, []any) {
	for _, word := range strings.Fields(strings.ToLower(query)) {
		args = append(args, "%"+escapeLike(word)+"%")
		where = append(where, fmt.Sprintf("%s LIKE $%d", expr, len(args)))
	}
	return where, args
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// employeeSearchExpr is the text an employee is searched by. It is the expression of the
// trigram index employees_search, so searches use that index.
const employeeSearchExpr = "lower(e.first_name || ' ' || e.name_prefix || ' ' || e.last_name || ' ' || e.personnel_number || ' ' || e.bsn)"

const departmentSearchExpr = "lower(d.name || ' ' || d.code || ' ' || r.name)"

// FindLinkedDepartments returns a page of the departments the user is linked to, by employer
// and name, with how many of their employees the editor sees, and how many match in all. EFORBIDDEN without
// access.manage.
func FindLinkedDepartments(ctx context.Context, tx pgx.Tx, f LinkFilter) ([]DepartmentEntry, int, error) {
	if err := CanManageLinks(f.Editor); err != nil {
		return nil, 0, err
	}
	args := []any{f.UserID, f.Editor.Facts.Reach}
	where := []string{"l.user_id = $1", "d.employer_id = ANY ($2)"}
	where, args = searchWhere(departmentSearchExpr, f.Query, where, args)
	from := ` FROM user_department_links l JOIN departments d ON d.id = l.department_id
		JOIN employers r ON r.id = d.employer_id WHERE ` + strings.Join(where, " AND ")
	var total int
	if err := tx.QueryRow(ctx, "SELECT count(*)"+from, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count linked departments: %w", err)
	}
	// A department's size is what the editor himself sees of it, by the employee list's rule, so
	// the count reveals nobody he was cut off from.
	visible, args := VisibleEmployees(f.Editor, args)
	limit, offset := f.page()
	args = append(args, limit, offset)
	list, err := database.FindAll[DepartmentEntry](ctx, tx, "linked departments", `SELECT d.id, d.name, d.code, r.id, r.name,
		(SELECT count(*) FROM `+visible+` x WHERE x.department_id = d.id), l.created_at`+from+
		fmt.Sprintf(" ORDER BY lower(r.name), r.id, lower(d.name), d.id LIMIT $%d OFFSET $%d", len(args)-1, len(args)), args...)
	if err != nil {
		return nil, 0, err
	}
	return list, total, nil
}

// FindDepartmentCandidates returns the departments the editor may link the user to and that are
// not linked yet, by employer and name; none for a coach. EFORBIDDEN without access.manage,
// ENOTFOUND for an unknown user.
func FindDepartmentCandidates(ctx context.Context, tx pgx.Tx, editor Principal, userID uuid.UUID) ([]DepartmentEntry, error) {
	s, err := loadScope(ctx, tx, editor, userID, false)
	if err != nil {
		return nil, err
	}
	if len(s.links) == 0 {
		return nil, nil
	}
	// Employee counts are left out (zero): they would cost a count per department of the tenant,
	// for a choice list.
	list, err := database.FindAll[DepartmentEntry](ctx, tx, "department candidates", `SELECT d.id, d.name, d.code, r.id, r.name, 0, NULL::timestamptz
		FROM departments d JOIN employers r ON r.id = d.employer_id
		WHERE d.employer_id = ANY ($2)
		  AND NOT EXISTS (SELECT 1 FROM user_department_links l WHERE l.user_id = $1 AND l.department_id = d.id)
		ORDER BY lower(r.name), r.id, lower(d.name), d.id`, userID, s.links)
	if err != nil {
		return nil, err
	}
	return list, nil
}

// employeeEntryColumns reads an EmployeeEntry from employees e, employers r, departments d,
// for the user $1.
const employeeEntryColumns = `e.id, e.personnel_number, e.first_name, e.name_prefix, e.last_name, e.employer_id,
	r.name, e.department_id, coalesce(d.name, ''),
	EXISTS (SELECT 1 FROM user_department_links dl WHERE dl.user_id = $1 AND dl.department_id = e.department_id)`

const employeeEntryJoins = ` JOIN employers r ON r.id = e.employer_id LEFT JOIN departments d ON d.id = e.department_id `

// FindLinkedEmployees returns a page of the employees the user is individually linked to, by
// name, and how many match in all. EFORBIDDEN without access.manage.
func FindLinkedEmployees(ctx context.Context, tx pgx.Tx, f LinkFilter) ([]EmployeeEntry, int, error) {
	return findEntries(ctx, tx, f, "user_employee_links", "''")
}

// FindBlacklist returns a page of the employees on the user's blacklist ("Geen toegang tot"),
// by name, with the reasons, and how many match in all. EFORBIDDEN without access.manage.
func FindBlacklist(ctx context.Context, tx pgx.Tx, f LinkFilter) ([]EmployeeEntry, int, error) {
	return findEntries(ctx, tx, f, "user_blacklist", "l.reason")
}

// findEntries pages the employees of table (a link table keyed by user and employee).
func findEntries(ctx context.Context, tx pgx.Tx, f LinkFilter, table, reason string) ([]EmployeeEntry, int, error) {
	if err := CanManageLinks(f.Editor); err != nil {
		return nil, 0, err
	}
	args := []any{f.UserID, f.Editor.Facts.Reach}
	where := []string{"l.user_id = $1", "e.employer_id = ANY ($2)"}
	where, args = searchWhere(employeeSearchExpr, f.Query, where, args)
	from := " FROM " + table + " l JOIN employees e ON e.id = l.employee_id WHERE " + strings.Join(where, " AND ")
	var total int
	if err := tx.QueryRow(ctx, "SELECT count(*)"+from, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count %s: %w", table, err)
	}
	limit, offset := f.page()
	args = append(args, limit, offset)
	// The page is cut before the joins, so only its rows are joined.
	page := fmt.Sprintf("(SELECT e.*, %s AS reason, l.created_at AS at%s ORDER BY e.last_name, e.first_name, e.id LIMIT $%d OFFSET $%d) e",
		reason, from, len(args)-1, len(args))
	list, err := database.FindAll[EmployeeEntry](ctx, tx, table, "SELECT "+employeeEntryColumns+", e.reason, e.at FROM "+page+employeeEntryJoins+
		" ORDER BY e.last_name, e.first_name, e.id", args...)
	return list, total, err
}

// MinSearchLength is how many characters the longest word of a candidate search needs: shorter
// words match too many employees to be found through the trigram index.
const MinSearchLength = 3

// SearchText returns what a user typed in a search field as the search it is: control
// characters (a NUL, a tab, a newline: nothing a person types in one line) are dropped and the
// space around it trimmed, so the field shows again exactly what was searched.
func SearchText(typed string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, typed))
}

// SearchTooShort reports whether a candidate search is too short to run: no word of at least
// MinSearchLength characters.
func SearchTooShort(query string) bool {
	for _, w := range strings.Fields(query) {
		if utf8.RuneCountInString(w) >= MinSearchLength {
			return false
		}
	}
	return true
}

// SearchPatterns turns a query into LIKE patterns, one per word, the longest word first (the
// one employee_search looks up in the index).
func SearchPatterns(query string) []string {
	words := strings.Fields(strings.ToLower(query))
	slices.SortStableFunc(words, func(a, b string) int { return utf8.RuneCountInString(b) - utf8.RuneCountInString(a) })
	patterns := make([]string, len(words))
	for i, w := range words {
		patterns[i] = "%" + escapeLike(w) + "%"
	}
	return patterns
}

// FindEmployeeCandidates returns a page of the employees matching f.Query that the editor may
// link the user to or put on his blacklist, and that are neither yet, by name, and how many
// match in all. It returns none when the search is too short (SearchTooShort): the screen asks
// for a search, and never lists all employees of the tenant. For a coach they are
// the candidates for the blacklist only. EFORBIDDEN without access.manage, ENOTFOUND for an
// unknown user.
func FindEmployeeCandidates(ctx context.Context, tx pgx.Tx, f LinkFilter) ([]EmployeeEntry, int, error) {
	s, err := loadScope(ctx, tx, f.Editor, f.UserID, false)
	if err != nil {
		return nil, 0, err
	}
	if SearchTooShort(f.Query) || len(s.blacklist) == 0 {
		return nil, 0, nil
	}
	patterns := SearchPatterns(f.Query)
	// The matches come from employee_search (SQL function), which can use the trigram index under
	// row-level security; only the page is joined to the employees.
	const matches = ` FROM employee_search($3) m
		WHERE m.employer_id = ANY ($2)
		  AND NOT EXISTS (SELECT 1 FROM user_employee_links l WHERE l.user_id = $1 AND l.employee_id = m.id)
		  AND NOT EXISTS (SELECT 1 FROM user_blacklist b WHERE b.user_id = $1 AND b.employee_id = m.id)`
	limit, offset := f.page()
	args := []any{f.UserID, s.blacklist, patterns, limit, offset}
	rows, err := tx.Query(ctx, "SELECT "+employeeEntryColumns+`, '', NULL::timestamptz, p.total
		FROM (SELECT m.id, count(*) OVER () AS total`+matches+`
			ORDER BY m.last_name, m.first_name, m.id LIMIT $4 OFFSET $5) p
		JOIN employees e ON e.id = p.id`+employeeEntryJoins+`
		ORDER BY e.last_name, e.first_name, e.id`, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("find employee candidates: %w", err)
	}
	var total int
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (EmployeeEntry, error) {
		var e EmployeeEntry
		err := row.Scan(&e.ID, &e.PersonnelNumber, &e.FirstName, &e.NamePrefix, &e.LastName, &e.EmployerID,
			&e.EmployerName, &e.DepartmentID, &e.DepartmentName, &e.DepartmentLinked, &e.Reason, &e.At, &total)
		return e, err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("find employee candidates: %w", err)
	}
	if len(list) == 0 && offset > 0 {
		// Past the end: the page holds no row to carry the total.
		if err := tx.QueryRow(ctx, "SELECT count(*)"+matches, args[:3]...).Scan(&total); err != nil {
			return nil, 0, fmt.Errorf("count employee candidates: %w", err)
		}
	}
	return list, total, nil
}
