package org

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/database"
)

// Employee is a person employed by an employer (werknemer); the subject of a dossier.
type Employee struct {
	ID              uuid.UUID
	EmployerID      uuid.UUID
	EmployerName    string
	DepartmentID    *uuid.UUID
	DepartmentName  string
	PersonnelNumber string
	Initials        string
	FirstName       string
	NamePrefix      string
	LastName        string
	BirthDate       *time.Time
	BSN             string
	Email           string
	Phone           string
	Street          string
	HouseNumber     string
	PostalCode      string
	City            string
	EmploymentStart *time.Time
	EmploymentEnd   *time.Time
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// FullName is the name as Dutch lists show it: first name, prefix, last name.
func (e Employee) FullName() string {
	return strings.Join(strings.Fields(e.FirstName+" "+e.NamePrefix+" "+e.LastName), " ")
}

// SortName is "Last name, First name prefix", as sorted lists show it.
func (e Employee) SortName() string {
	rest := strings.TrimSpace(e.FirstName + " " + e.NamePrefix)
	if rest == "" {
		return e.LastName
	}
	return e.LastName + ", " + rest
}

var (
	postalCodeRE = regexp.MustCompile(`^[1-9][0-9]{3} ?[A-Z]{2}$`)
	emailRE      = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
)

// ValidBSN reports whether s is a citizen service number: nine digits passing the eleven test.
func ValidBSN(s string) bool {
	if len(s) != 9 {
		return false
	}
	sum := 0
	for i, c := range s {
		d, err := strconv.Atoi(string(c))
		if err != nil {
			return false
		}
		w := 9 - i
		if i == 8 {
			w = -1
		}
		sum += w * d
	}
	return sum%11 == 0 && s != "000000000"
}

func (e *Employee) validate() error {
	for _, f := range []*string{&e.PersonnelNumber, &e.Initials, &e.FirstName, &e.NamePrefix, &e.LastName,
		&e.BSN, &e.Email, &e.Phone, &e.Street, &e.HouseNumber, &e.City} {
		*f = strings.TrimSpace(*f)
	}
	e.PostalCode = strings.ToUpper(strings.TrimSpace(e.PostalCode))
	fields := map[string]string{}
	if e.PersonnelNumber == "" {
		fields["personnel_number"] = "error.required"
	}
	if e.LastName == "" {
		fields["last_name"] = "error.required"
	}
	if e.EmployerID == uuid.Nil {
		fields["employer_id"] = "error.choose"
	}
	if e.BSN != "" && !ValidBSN(e.BSN) {
		fields["bsn"] = "employee.error.bsn"
	}
	if e.Email != "" && !emailRE.MatchString(e.Email) {
		fields["email"] = "error.email"
	}
	if e.PostalCode != "" && !postalCodeRE.MatchString(e.PostalCode) {
		fields["postal_code"] = "employee.error.postal_code"
	}
	if e.EmploymentStart != nil && e.EmploymentEnd != nil && e.EmploymentEnd.Before(*e.EmploymentStart) {
		fields["employment_end"] = "employee.error.end_before_start"
	}
	if len(fields) > 0 {
		return apperr.Invalid(fields)
	}
	return nil
}

const employeeColumns = `e.id, e.employer_id, r.name, e.department_id, coalesce(d.name, ''), e.personnel_number,
	e.initials, e.first_name, e.name_prefix, e.last_name, e.birth_date, e.bsn, e.email, e.phone, e.street,
	e.house_number, e.postal_code, e.city, e.employment_start, e.employment_end, e.created_at, e.updated_at`

const employeeJoins = ` JOIN employers r ON r.id = e.employer_id
	LEFT JOIN departments d ON d.id = e.department_id `

const employeeFrom = ` FROM employees e` + employeeJoins

const employeeOrder = ` ORDER BY e.last_name, e.first_name, e.id`

// EmployeeFilter selects a page of the employees a viewer can see.
type EmployeeFilter struct {
	Viewer access.Principal
	// Query, when set, is a search: every word of it starts a word of the employee's first
	// name, name prefix, last name, personnel number or BSN ("blom" finds Blom, Blomberg, van
	// Blommestein and Anna Blom-de Vries, not Ploms). Its matches are sorted by the word the
	// longest typed word starts, then by name.
	Query        string
	EmployerID   *uuid.UUID
	DepartmentID *uuid.UUID
	Offset       int
	Limit        int
	// MaxCount is how many matches a search counts at most, past the page (0: SearchCountLimit).
	MaxCount int
}

// SearchWordsTable holds the employees' search words (migration 00026). The search reads its
// index alone (an index-only scan), which needs the visibility map: after a bulk load, vacuum
// it (database.Analyze) when autovacuum may not come round first.
const SearchWordsTable = "employee_search_words"

// SearchCountLimit is how many matches a search counts by default: a search that finds more
// says "more than" (EmployeePage.More) rather than counting every match of a common name.
const SearchCountLimit = 1000

// EmployeePage is one page of employees and how many match in all.
type EmployeePage struct {
	Employees []Employee
	// Total is how many match in all; with More, how many a search counted, and more match.
	Total int
	More  bool
}

// FindEmployees returns one page of the employees filter.Viewer can see, sorted by name, and
// how many match in all (for a search, how many it counted: see EmployeePage).
func FindEmployees(ctx context.Context, tx pgx.Tx, f EmployeeFilter) ([]Employee, int, error) {
	page, err := findEmployees(f, func(b *pgx.Batch) error { return tx.SendBatch(ctx, b).Close() })
	if err != nil {
		return nil, 0, fmt.Errorf("find employees: %w", err)
	}
	return page.Employees, page.Total, nil
}

// ReadEmployees is FindEmployees as reads of their own in tenantID (database.Read), without
// BEGIN and COMMIT. The employee list asks it on every request.
func ReadEmployees(ctx context.Context, db database.Batcher, tenantID uuid.UUID, f EmployeeFilter) (EmployeePage, error) {
	page, err := findEmployees(f, func(b *pgx.Batch) error { return database.Read(ctx, db, tenantID, b) })
	if err != nil {
		return EmployeePage{}, fmt.Errorf("read employees: %w", err)
	}
	return page, nil
}

// walkRows bounds how many employees a page may walk in name order to find its rows; see
// findEmployees.
const walkRows = 2000

// findEmployees counts, then asks for the page, each through send. The count decides how the
// page is asked for. Planning the page afresh for the viewer's facts costs more than running it
// (about 0.9 ms of PostgreSQL's time), but a plan kept for the connection (a generic plan) has
// to suit every viewer: walking the employees in name order suits one who sees a good part of
// the tenant and stops after one page, and is a disaster for one who sees twenty employees of
// a hundred thousand. So a page that walking finds within walkRows employees is asked with its
// limit and offset written into the statement, which PostgreSQL may then plan once for the
// connection; it only ever runs for such pages. Any other page is planned anew each time. A
// search is searchEmployees.
func findEmployees(f EmployeeFilter, send func(*pgx.Batch) error) (EmployeePage, error) {
	if strings.TrimSpace(f.Query) != "" {
		return searchEmployees(f, send)
	}
	where, args := employerFilters(f, "e", nil, nil)
	from, args := access.VisibleEmployees(f.Viewer, args)
	visible := " FROM " + from + " e"
	if len(where) > 0 {
		visible += " WHERE " + strings.Join(where, " AND ")
	}
	var page EmployeePage
	tenantSize := 0
	b := &pgx.Batch{}
	if len(where) > 0 {
		b.Queue("SELECT count(*)"+visible, args...).QueryRow(func(row pgx.Row) error { return row.Scan(&page.Total) })
	} else {
		count, countArgs := access.VisibleEmployeeCount(f.Viewer, nil)
		b.Queue("SELECT "+count+", "+access.TenantEmployeeCount, countArgs...).QueryRow(func(row pgx.Row) error {
			return row.Scan(&page.Total, &tenantSize)
		})
	}
	if err := send(b); err != nil {
		return EmployeePage{}, fmt.Errorf("count: %w", err)
	}
	limit, offset := f.Limit, max(f.Offset, 0)
	if limit <= 0 {
		limit = 50
	}
	// The page is cut from the visible set before the joins, so PostgreSQL can walk the sort
	// index and stop after one page.
	var cut string
	if page.Total > 0 && (offset+limit)*tenantSize <= walkRows*page.Total {
		// Integers of ours, not input: safe to write into the statement.
		cut = fmt.Sprintf("(SELECT *%s%s LIMIT %d OFFSET %d) e", visible, employeeOrder, limit, offset)
	} else {
		args = append(args, limit, offset)
		cut = fmt.Sprintf("(SELECT *%s%s LIMIT $%d OFFSET $%d) e", visible, employeeOrder, len(args)-1, len(args))
	}
	b = &pgx.Batch{}
	b.Queue("SELECT "+employeeColumns+" FROM "+cut+employeeJoins+employeeOrder, args...).Query(func(rows pgx.Rows) error {
		// Each row is scanned in its place in a slice made for the whole page: a row scanned
		// into a variable of its own and appended costs that variable on the heap and the
		// slice's growth, half of what a list request allocated.
		page.Employees = make([]Employee, 0, min(limit, page.Total))
		for rows.Next() {
			page.Employees = append(page.Employees, Employee{})
			if err := scanEmployee(rows, &page.Employees[len(page.Employees)-1]); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	if err := send(b); err != nil {
		return EmployeePage{}, fmt.Errorf("page: %w", err)
	}
	return page, nil
}

// employerFilters appends f's employer and department conditions on the table alias to where,
// and their values to args.
func employerFilters(f EmployeeFilter, alias string, where []string, args []any) ([]string, []any) {
	if f.EmployerID != nil {
		args = append(args, *f.EmployerID)
		where = append(where, fmt.Sprintf("%s.employer_id = $%d", alias, len(args)))
	}
	if f.DepartmentID != nil {
		args = append(args, *f.DepartmentID)
		where = append(where, fmt.Sprintf("%s.department_id = $%d", alias, len(args)))
	}
	return where, args
}

// searchEmployees is findEmployees for a search (issue 14.7). The matches come, in search
// order, from visible_employee_search (access.VisibleEmployeeSearch), which walks the search
// index from the first word the query starts and tests the viewer's facts on each row it reads.
// It stops after the page or the count limit, whichever is further: one statement asks for the
// matches up to there, numbers them, counts them and joins the page's to the employees. More
// than that many matches make the total "more than" (EmployeePage.More), so a common name costs
// no more than its first thousand matches. A page past the last match has no row to carry the
// total, so only then is it counted apart.
func searchEmployees(f EmployeeFilter, send func(*pgx.Batch) error) (EmployeePage, error) {
	limit, offset := f.Limit, max(f.Offset, 0)
	if limit <= 0 {
		limit = 50
	}
	count := f.MaxCount
	if count <= 0 {
		count = SearchCountLimit
	}
	walk := max(count, offset+limit)
	matches, args := access.VisibleEmployeeSearch(f.Viewer, f.Query, f.EmployerID, f.DepartmentID, walk+1, nil)
	pageArgs := append(slices.Clip(args), offset, offset+limit)
	var page EmployeePage
	b := &pgx.Batch{}
	b.Queue(fmt.Sprintf("SELECT %s, s.total FROM (SELECT s.id, s.n, count(*) OVER () AS total FROM %s WITH ORDINALITY AS s (id, n)) s"+
		" JOIN employees e ON e.id = s.id%s WHERE s.n > $%d AND s.n <= $%d ORDER BY s.n",
		employeeColumns, matches, employeeJoins, len(pageArgs)-1, len(pageArgs)), pageArgs...).Query(func(rows pgx.Rows) error {
		page.Employees = make([]Employee, 0, limit)
		for rows.Next() {
			page.Employees = append(page.Employees, Employee{})
			if err := scanEmployee(rows, &page.Employees[len(page.Employees)-1], &page.Total); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	if err := send(b); err != nil {
		return EmployeePage{}, fmt.Errorf("search: %w", err)
	}
	if len(page.Employees) == 0 && offset > 0 {
		b = &pgx.Batch{}
		b.Queue("SELECT count(*) FROM "+matches, args...).QueryRow(func(row pgx.Row) error { return row.Scan(&page.Total) })
		if err := send(b); err != nil {
			return EmployeePage{}, fmt.Errorf("count: %w", err)
		}
	}
	if page.Total > walk {
		page.Total, page.More = walk, true
	}
	return page, nil
}

// scanEmployee reads a row of employeeColumns into e field by field, its ids as 16 bytes: a
// list page scans fifty rows on every request, and pgx reads a uuid.UUID through its text form
// (sql.Scanner) and a struct by reflection.
func scanEmployee(row pgx.Row, e *Employee, more ...any) error {
	var department pgtype.UUID
	err := row.Scan(append([]any{(*[16]byte)(&e.ID), (*[16]byte)(&e.EmployerID), &e.EmployerName, &department, &e.DepartmentName,
		&e.PersonnelNumber, &e.Initials, &e.FirstName, &e.NamePrefix, &e.LastName, &e.BirthDate, &e.BSN, &e.Email,
		&e.Phone, &e.Street, &e.HouseNumber, &e.PostalCode, &e.City, &e.EmploymentStart, &e.EmploymentEnd,
		&e.CreatedAt, &e.UpdatedAt}, more...)...)
	if department.Valid {
		id := uuid.UUID(department.Bytes)
		e.DepartmentID = &id
	}
	return err
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// FindEmployeeByID returns one employee, or ENOTFOUND. It does not check access: ask
// access.CanSeeEmployee first.
func FindEmployeeByID(ctx context.Context, tx pgx.Tx, id uuid.UUID) (Employee, error) {
	return database.FindOne[Employee](ctx, tx, "employee", "SELECT "+employeeColumns+employeeFrom+" WHERE e.id = $1", id)
}

// checkEmployer makes sure a new employee's employer exists and his department belongs to it.
func checkEmployer(ctx context.Context, tx pgx.Tx, e Employee) error {
	if _, err := FindEmployerByID(ctx, tx, e.EmployerID); apperr.CodeOf(err) == apperr.ENOTFOUND {
		return apperr.Invalid(map[string]string{"employer_id": "error.choose"})
	} else if err != nil {
		return err
	}
	return checkDepartment(ctx, tx, e)
}

// checkDepartment makes sure the department belongs to the employee's employer.
func checkDepartment(ctx context.Context, tx pgx.Tx, e Employee) error {
	if e.DepartmentID == nil {
		return nil
	}
	d, err := FindDepartmentByID(ctx, tx, *e.DepartmentID)
	if err != nil || d.EmployerID != e.EmployerID {
		return apperr.Invalid(map[string]string{"department_id": "employee.error.department"})
	}
	return nil
}

// createEmployee stores a new employee. EINVALID on bad fields, an unknown employer or a
// department of another employer, ECONFLICT on a personnel number taken at the employer.
// It checks no right and writes no event: CreateEmployee does both around it.
func createEmployee(ctx context.Context, tx pgx.Tx, e Employee) (Employee, error) {
	if err := e.validate(); err != nil {
		return Employee{}, err
	}
	if err := checkEmployer(ctx, tx, e); err != nil {
		return Employee{}, err
	}
	e.ID = uuid.Must(uuid.NewV7())
	_, err := tx.Exec(ctx, `INSERT INTO employees (tenant_id, id, employer_id, department_id, personnel_number,
		initials, first_name, name_prefix, last_name, birth_date, bsn, email, phone, street, house_number,
		postal_code, city, employment_start, employment_end)
		VALUES (app_tenant(), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
		e.ID, e.EmployerID, e.DepartmentID, e.PersonnelNumber, e.Initials, e.FirstName, e.NamePrefix, e.LastName,
		e.BirthDate, e.BSN, e.Email, e.Phone, e.Street, e.HouseNumber, e.PostalCode, e.City,
		e.EmploymentStart, e.EmploymentEnd)
	if err != nil {
		return Employee{}, fmt.Errorf("create employee: %w", err)
	}
	return e, nil
}

// CreateEmployee stores a new employee made by ed, who records it (employee.created).
// EFORBIDDEN unless he may manage the organisation (access.ManageOrganisation); further errors
// as createEmployee.
func CreateEmployee(ctx context.Context, tx pgx.Tx, ed access.Editor, e Employee) (Employee, error) {
	if err := ed.Allow(access.ManageOrganisation(ed.Principal)); err != nil {
		return Employee{}, err
	}
	e, err := createEmployee(ctx, tx, e)
	if err != nil {
		return Employee{}, err
	}
	return e, writeEmployee(ctx, tx, ed, audit.EmployeeCreated, e)
}

func writeEmployee(ctx context.Context, tx pgx.Tx, ed access.Editor, action string, e Employee) error {
	return audit.Write(ctx, tx, ed.Actor, audit.Event{Action: action, SubjectType: "employee",
		SubjectID: &e.ID, EmployeeID: &e.ID, EmployerID: &e.EmployerID})
}

// UpdateEmployee replaces an employee's fields by ed, who records it (employee.updated).
// ENOTFOUND when the employee is absent or outside ed's access and EFORBIDDEN when ed may not
// see his dossier (access.CanSeeEmployee), EFORBIDDEN unless ed may manage the organisation
// (access.ManageOrganisation); further errors as updateEmployee.
func UpdateEmployee(ctx context.Context, tx pgx.Tx, ed access.Editor, e Employee) (Employee, error) {
	if err := ed.Allow(access.CanSeeEmployee(ctx, tx, ed.Principal, e.ID)); err != nil {
		return Employee{}, err
	}
	if err := ed.Allow(access.ManageOrganisation(ed.Principal)); err != nil {
		return Employee{}, err
	}
	e, err := updateEmployee(ctx, tx, e)
	if err != nil {
		return Employee{}, err
	}
	return e, writeEmployee(ctx, tx, ed, audit.EmployeeUpdated, e)
}

// updateEmployee replaces an employee's fields; the employer stays. ENOTFOUND, EINVALID, ECONFLICT.
// It checks no right and writes no event: UpdateEmployee does both around it.
func updateEmployee(ctx context.Context, tx pgx.Tx, e Employee) (Employee, error) {
	old, err := FindEmployeeByID(ctx, tx, e.ID)
	if err != nil {
		return Employee{}, err
	}
	e.EmployerID = old.EmployerID
	if err := e.validate(); err != nil {
		return Employee{}, err
	}
	if err := checkDepartment(ctx, tx, e); err != nil {
		return Employee{}, err
	}
	_, err = tx.Exec(ctx, `UPDATE employees SET department_id = $2, personnel_number = $3, initials = $4,
		first_name = $5, name_prefix = $6, last_name = $7, birth_date = $8, bsn = $9, email = $10, phone = $11,
		street = $12, house_number = $13, postal_code = $14, city = $15, employment_start = $16,
		employment_end = $17, updated_at = now() WHERE id = $1`,
		e.ID, e.DepartmentID, e.PersonnelNumber, e.Initials, e.FirstName, e.NamePrefix, e.LastName,
		e.BirthDate, e.BSN, e.Email, e.Phone, e.Street, e.HouseNumber, e.PostalCode, e.City,
		e.EmploymentStart, e.EmploymentEnd)
	if err != nil {
		return Employee{}, fmt.Errorf("update employee: %w", err)
	}
	return e, nil
}

// CopyEmployees bulk-loads employees of the transaction's tenant, for demo data and imports.
// The rows must already be valid; ids are assigned where missing. PostgreSQL refuses COPY into a
// table with row-level security, so the rows are copied into a temporary table (no policy) and
// moved with one INSERT, which the tenant policy checks row by row. It returns how many rows
// were written.
func CopyEmployees(ctx context.Context, tx pgx.Tx, list []Employee) (int64, error) {
	cols := []string{"id", "employer_id", "department_id", "personnel_number", "initials",
		"first_name", "name_prefix", "last_name", "birth_date", "bsn", "email", "phone", "street",
		"house_number", "postal_code", "city", "employment_start", "employment_end"}
	names := strings.Join(cols, ", ")
	if _, err := tx.Exec(ctx, "CREATE TEMPORARY TABLE employees_copy ON COMMIT DROP AS SELECT "+names+" FROM employees WITH NO DATA"); err != nil {
		return 0, fmt.Errorf("copy employees: %w", err)
	}
	i := 0
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"employees_copy"}, cols, pgx.CopyFromFunc(func() ([]any, error) {
		if i == len(list) {
			return nil, nil
		}
		e := list[i]
		i++
		if e.ID == uuid.Nil {
			e.ID = uuid.Must(uuid.NewV7())
		}
		return []any{e.ID, e.EmployerID, e.DepartmentID, e.PersonnelNumber, e.Initials, e.FirstName,
			e.NamePrefix, e.LastName, e.BirthDate, e.BSN, e.Email, e.Phone, e.Street, e.HouseNumber,
			e.PostalCode, e.City, e.EmploymentStart, e.EmploymentEnd}, nil
	}))
	if err != nil {
		return 0, fmt.Errorf("copy employees: %w", err)
	}
	tag, err := tx.Exec(ctx, "INSERT INTO employees (tenant_id, "+names+") SELECT app_tenant(), "+names+" FROM employees_copy")
	if err != nil {
		return 0, fmt.Errorf("copy employees: %w", err)
	}
	// Dropped now rather than at commit, so a second call in the same transaction works.
	if _, err := tx.Exec(ctx, "DROP TABLE employees_copy"); err != nil {
		return 0, fmt.Errorf("copy employees: %w", err)
	}
	return tag.RowsAffected(), nil
}
