package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/auth"
	"github.com/dossierkast/dossierkast/internal/demo"
	"github.com/dossierkast/dossierkast/internal/document"
	"github.com/dossierkast/dossierkast/internal/org"
)

// accessVia is what a row's user has towards the one employee of TestAccessRoutes, besides
// the rights of his role. The flags combine.
type accessVia uint

const (
	viaDepartment       accessVia = 1 << iota // linked to the employee's department
	viaEmployee                               // linked to the employee himself
	viaDelegation                             // a delegation active now
	viaEndedDelegation                        // a delegation that ended yesterday
	viaFutureDelegation                       // a delegation that starts tomorrow
	blacklisted                               // the employee is on his "Geen toegang tot" list
	otherEmployer                             // employer users: of the other employer, so the employee is out of reach
	noMatrix                                  // his role has no level in the fixture's categories
)

// routeOutcome is what a user gets from each route about the employee:
//
//	Page      GET /employees/{id}
//	Docs      the fixture documents the page links to for download: "brief", "medisch"
//	List      GET /employees?q=<the employee's last name>
//	Listed    whether #employees links to the employee
//	Download  GET /documents/{brief}: a non-medical category his role may read
//	Medical   GET /documents/{medisch}: a medical category his role may read
//	Upload    POST /employees/{id}/documents into a category his role may write
type routeOutcome struct {
	Page     int
	Docs     string
	List     int
	Listed   bool
	Download int
	Medical  int
	Upload   int
}

// The outcomes that recur in the table.
var (
	// outcomeSees: the employee is visible, with employee_dossier.view and documents.upload.
	outcomeSees = routeOutcome{200, "brief", 200, true, 200, 404, 303}
	// outcomeSeesMedical: as outcomeSees, with medical.view.
	outcomeSeesMedical = routeOutcome{200, "brief medisch", 200, true, 200, 200, 303}
	// outcomeOutside: the employee is outside his access; the list opens and leaves him out.
	outcomeOutside = routeOutcome{404, "", 200, false, 404, 404, 404}
	// outcomeNoDossierRight: visible, but without employee_dossier.view: the page and the list are
	// refused, and the documents (whose categories need the right) do not exist for him.
	outcomeNoDossierRight = routeOutcome{403, "", 403, false, 404, 404, 403}
)

// accessRows is the table: user kind × rights × path → outcome per route (DESIGN.md §4–5).
// Employer users belong to the employee's employer unless the path says otherwise. Every role
// may read "brief" and "medisch" and write "upload" in the matrix unless the path says noMatrix.
var accessRows = []struct {
	name   string
	kind   access.Kind
	rights []access.Right
	path   accessVia
	want   routeOutcome
}{
	// Provider users reach every employee; a path must make him visible.
	{"provider/department", access.KindProvider, rightsOf(rView, rUpload), viaDepartment, outcomeSees},
	{"provider/employee", access.KindProvider, rightsOf(rView, rUpload), viaEmployee, outcomeSees},
	{"provider/all", access.KindProvider, rightsOf(rView, rUpload, rAll), 0, outcomeSees},
	{"provider/delegation", access.KindProvider, rightsOf(rView, rUpload), viaDelegation, outcomeSees},
	{"provider/ended-delegation", access.KindProvider, rightsOf(rView, rUpload), viaEndedDelegation, outcomeOutside},
	{"provider/future-delegation", access.KindProvider, rightsOf(rView, rUpload), viaFutureDelegation, outcomeOutside},
	{"provider/no-path", access.KindProvider, rightsOf(rView, rUpload, rMedical), 0, outcomeOutside},
	{"provider/department+medical", access.KindProvider, rightsOf(rView, rUpload, rMedical), viaDepartment, outcomeSeesMedical},
	{"provider/department-no-upload", access.KindProvider, rightsOf(rView, rMedical), viaDepartment,
		routeOutcome{200, "brief medisch", 200, true, 200, 200, 403}},
	{"provider/all-no-dossier-right", access.KindProvider, rightsOf(rUpload, rAll, rMedical), 0, outcomeNoDossierRight},
	{"provider/department-no-rights", access.KindProvider, rightsOf(), viaDepartment, outcomeNoDossierRight},
	// Visible, but the matrix gives his role nothing: no document exists for him, and the
	// upload category is unknown to him.
	{"provider/department-no-matrix", access.KindProvider, rightsOf(rView, rUpload, rMedical), viaDepartment | noMatrix,
		routeOutcome{200, "", 200, true, 404, 404, 404}},
	// The blacklist beats every other path.
	{"provider/all+blacklist", access.KindProvider, rightsOf(rView, rUpload, rAll, rMedical), blacklisted, outcomeOutside},
	{"provider/every-path+blacklist", access.KindProvider, rightsOf(rView, rUpload, rAll, rMedical),
		viaDepartment | viaEmployee | viaDelegation | blacklisted, outcomeOutside},
	// Outside access comes before a missing right: 404, not 403.
	{"provider/all+blacklist-no-dossier-right", access.KindProvider, rightsOf(rUpload, rAll), blacklisted,
		routeOutcome{404, "", 403, false, 404, 404, 404}},

	// Employer users reach the employees of their own employers.
	{"employer/department", access.KindEmployer, rightsOf(rView, rUpload), viaDepartment, outcomeSees},
	{"employer/employee", access.KindEmployer, rightsOf(rView, rUpload), viaEmployee, outcomeSees},
	{"employer/all", access.KindEmployer, rightsOf(rView, rUpload, rAll), 0, outcomeSees},
	{"employer/delegation", access.KindEmployer, rightsOf(rView, rUpload), viaDelegation, outcomeSees},
	{"employer/ended-delegation", access.KindEmployer, rightsOf(rView, rUpload), viaEndedDelegation, outcomeOutside},
	{"employer/no-path", access.KindEmployer, rightsOf(rView, rUpload), 0, outcomeOutside},
	{"employer/employee+medical", access.KindEmployer, rightsOf(rView, rUpload, rMedical), viaEmployee, outcomeSeesMedical},
	{"employer/all-no-upload", access.KindEmployer, rightsOf(rView, rAll), 0,
		routeOutcome{200, "brief", 200, true, 200, 404, 403}},
	{"employer/department-no-dossier-right", access.KindEmployer, rightsOf(rUpload, rMedical), viaDepartment, outcomeNoDossierRight},
	{"employer/every-path+blacklist", access.KindEmployer, rightsOf(rView, rUpload, rAll, rMedical),
		viaDepartment | viaEmployee | viaDelegation | blacklisted, outcomeOutside},
	{"employer/out-of-reach", access.KindEmployer, rightsOf(rView, rUpload, rAll, rMedical),
		viaDepartment | viaEmployee | viaDelegation | otherEmployer, outcomeOutside},

	// Coaches reach nobody: only a delegation counts, and employees.all gives nothing.
	{"coach/delegation", access.KindCoach, rightsOf(rView, rUpload), viaDelegation, outcomeSees},
	{"coach/ended-delegation", access.KindCoach, rightsOf(rView, rUpload, rAll), viaEndedDelegation, outcomeOutside},
	{"coach/future-delegation", access.KindCoach, rightsOf(rView, rUpload), viaFutureDelegation, outcomeOutside},
	{"coach/all", access.KindCoach, rightsOf(rView, rUpload, rAll, rMedical), 0, outcomeOutside},
	{"coach/department+employee", access.KindCoach, rightsOf(rView, rUpload), viaDepartment | viaEmployee, outcomeOutside},
	{"coach/delegation+medical", access.KindCoach, rightsOf(rView, rUpload, rMedical), viaDelegation, outcomeSeesMedical},
	{"coach/delegation-no-upload", access.KindCoach, rightsOf(rView), viaDelegation,
		routeOutcome{200, "brief", 200, true, 200, 404, 403}},
	{"coach/delegation-no-dossier-right", access.KindCoach, rightsOf(rUpload, rMedical), viaDelegation, outcomeNoDossierRight},
	{"coach/delegation+blacklist", access.KindCoach, rightsOf(rView, rUpload, rAll, rMedical), viaDelegation | blacklisted, outcomeOutside},
}

const (
	rView    = access.EmployeeDossierView
	rUpload  = access.DocumentsUpload
	rAll     = access.EmployeesAll
	rMedical = access.MedicalView
)

func rightsOf(r ...access.Right) []access.Right { return r }

// accessLastName is the last name of the fixture's employee, unique in the demo tenant, so a
// search for it finds him alone.
const accessLastName = "Toegangstest"

// TestAccessRoutes drives the access engine through the HTTP routes: each row's user has one
// combination of kind, rights and paths to one employee, and every route must answer as
// DESIGN.md §4–5 says, leaving an audit event for every refusal.
func TestAccessRoutes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, 5)
	hash, err := auth.HashPassword(demo.Password)
	if err != nil {
		t.Fatal(err)
	}

	var (
		employee                 org.Employee
		brief, medisch, uploadTo document.Category
		users                    = make([]uuid.UUID, len(accessRows))
	)
	b.inTenant(t, func(tx pgx.Tx) error {
		employers, err := org.FindAllEmployers(ctx, tx)
		if err != nil {
			return err
		}
		if len(employers) < 2 {
			return fmt.Errorf("the demo tenant has %d employers, want at least 2", len(employers))
		}
		home, other := employers[0].ID, employers[1].ID
		// A department of his own, so a department link reaches him alone.
		dept, err := org.CreateDepartment(ctx, tx, access.System(audit.Actor{}), org.Department{EmployerID: home, Name: "Afdeling " + accessLastName})
		if err != nil {
			return err
		}
		employee, err = org.CreateEmployee(ctx, tx, access.System(audit.Actor{}), org.Employee{EmployerID: home, DepartmentID: &dept.ID,
			PersonnelNumber: "TT-0001", FirstName: "Tessa", LastName: accessLastName})
		if err != nil {
			return err
		}
		providers, err := org.FindProviders(ctx, tx)
		if err != nil || len(providers) == 0 {
			return fmt.Errorf("find an intervention provider: %d, %v", len(providers), err)
		}
		category := func(name string, medical bool) document.Category {
			if err != nil {
				return document.Category{}
			}
			var c document.Category
			c, err = document.CreateCategory(ctx, tx, access.System(audit.Actor{}), document.Category{Name: accessLastName + " " + name,
				Dossier: document.DossierEmployee, Medical: medical})
			return c
		}
		brief, medisch, uploadTo = category("brief", false), category("medisch", true), category("upload", false)
		if err != nil {
			return err
		}
		admin, err := org.FindRoleByName(ctx, tx, "Beheerder")
		if err != nil {
			return err
		}
		for _, c := range []uuid.UUID{brief.ID, medisch.ID} {
			if _, err := access.SetRoleLevels(ctx, tx, access.System(audit.Actor{}), admin.ID, map[uuid.UUID]access.Level{c: access.LevelWrite}); err != nil {
				return err
			}
		}

		for i, row := range accessRows {
			role, err := org.CreateRole(ctx, tx, access.System(audit.Actor{}), org.Role{Name: fmt.Sprintf("%s %02d", accessLastName, i), Kind: row.kind, Rights: row.rights})
			if err != nil {
				return fmt.Errorf("%s: %w", row.name, err)
			}
			if row.path&noMatrix == 0 {
				for c, level := range map[uuid.UUID]access.Level{brief.ID: access.LevelRead, medisch.ID: access.LevelRead, uploadTo.ID: access.LevelWrite} {
					if _, err := access.SetRoleLevels(ctx, tx, access.System(audit.Actor{}), role.ID, map[uuid.UUID]access.Level{c: level}); err != nil {
						return fmt.Errorf("%s: %w", row.name, err)
					}
				}
			}
			in := org.UserInput{Email: fmt.Sprintf("toegang-%02d@test.dossierkast.nl", i), Name: row.name, Kind: row.kind, RoleID: role.ID}
			switch row.kind {
			case access.KindEmployer:
				in.EmployerIDs = []uuid.UUID{home}
				if row.path&otherEmployer != 0 {
					in.EmployerIDs = []uuid.UUID{other}
				}
			case access.KindCoach:
				in.ProviderID = &providers[0].ID
			}
			u, err := org.CreateUser(ctx, tx, access.System(audit.Actor{}), in, hash)
			if err != nil {
				return fmt.Errorf("%s: %w", row.name, err)
			}
			users[i] = u.ID
			if err := writeAccessVia(ctx, tx, row.path, u.ID, employee.ID, dept.ID); err != nil {
				return fmt.Errorf("%s: %w", row.name, err)
			}
		}
		return nil
	})

	// The two documents to read, uploaded by the administrator through the route.
	dossier := "/employees/" + employee.ID.String()
	docs := map[string]uuid.UUID{}
	admin := b.login(t, beheerder)
	for name, c := range map[string]document.Category{"brief": brief, "medisch": medisch} {
		resp, _ := b.upload(t, admin, dossier+"/documents", []uploadField{{"category_id", c.ID.String()}}, name+".txt", []byte("Inhoud van "+name))
		wantRedirect(t, resp, dossier+"/documents#documents")
		var id uuid.UUID
		b.inTenant(t, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, "SELECT id FROM documents WHERE category_id = $1 AND employee_id = $2", c.ID, employee.ID).Scan(&id)
		})
		docs[name] = id
	}

	t.Run("Rows", func(t *testing.T) {
		for i, row := range accessRows {
			t.Run(row.name, func(t *testing.T) {
				t.Parallel()
				c := b.login(t, fmt.Sprintf("toegang-%02d@test.dossierkast.nl", i))
				var got routeOutcome

				resp, page := b.get(t, c, dossier+"/documents")
				got.Page = resp.StatusCode
				var linked []string
				for _, name := range []string{"brief", "medisch"} {
					id := docs[name].String()
					if page.Find(`#documents tr[data-document="`+id+`"] a.download[href="/documents/`+id+`"]`).Length() == 1 {
						linked = append(linked, name)
					}
				}
				got.Docs = strings.Join(linked, " ")

				resp, list := b.get(t, c, "/employees?q="+url.QueryEscape(accessLastName))
				got.List = resp.StatusCode
				got.Listed = list.Find(`#employees a[href="`+dossier+`"]`).Length() == 1

				resp, _ = b.fetch(t, c, "/documents/"+docs["brief"].String(), nil)
				got.Download = resp.StatusCode
				resp, _ = b.fetch(t, c, "/documents/"+docs["medisch"].String(), nil)
				got.Medical = resp.StatusCode

				resp, _ = b.upload(t, c, dossier+"/documents", []uploadField{{"category_id", uploadTo.ID.String()}},
					"notitie.txt", []byte("Notitie van "+row.name))
				got.Upload = resp.StatusCode
				if resp.StatusCode == http.StatusSeeOther && resp.Header.Get("Location") != dossier+"/documents#documents" {
					t.Errorf("upload redirects to %q", resp.Header.Get("Location"))
				}

				if diff := cmp.Diff(row.want, got); diff != "" {
					t.Errorf("outcome (-want +got):\n%s", diff)
				}

				// Every refused download and rUpload, and every refused page, is in the
				// employee's access log.
				var wantDocs []string
				for _, x := range []struct {
					operation string
					status    int
				}{{"download", row.want.Download}, {"download", row.want.Medical}, {"upload", row.want.Upload}} {
					if reason := refusalReason(x.status); reason != "" {
						wantDocs = append(wantDocs, x.operation+" "+reason)
					}
				}
				var wantPage []string
				if reason := refusalReason(row.want.Page); reason != "" {
					wantPage = append(wantPage, reason)
				}
				if diff := cmp.Diff(wantDocs, refusals(t, b, users[i], employee.ID, audit.DocumentRefused)); diff != "" {
					t.Errorf("%s events (-want +got):\n%s", audit.DocumentRefused, diff)
				}
				if diff := cmp.Diff(wantPage, refusals(t, b, users[i], employee.ID, audit.EmployeeRefused)); diff != "" {
					t.Errorf("%s events (-want +got):\n%s", audit.EmployeeRefused, diff)
				}
			})
		}
	})

	// Exactly the accepted uploads left a document, each by its user.
	var want, got []uuid.UUID
	for i, row := range accessRows {
		if row.want.Upload == http.StatusSeeOther {
			want = append(want, users[i])
		}
	}
	b.inTenant(t, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, "SELECT uploaded_by FROM documents WHERE category_id = $1", uploadTo.ID)
		if err != nil {
			return err
		}
		got, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		return err
	})
	less := func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) }
	slices.SortFunc(want, less)
	slices.SortFunc(got, less)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("uploaders of the documents stored (-want +got):\n%s", diff)
	}
}

// writeAccessVia writes a user's links, delegations and blacklist entry towards the employee, as
// plain rows.
func writeAccessVia(ctx context.Context, tx pgx.Tx, path accessVia, user, employee, department uuid.UUID) error {
	statements := []struct {
		flag accessVia
		sql  string
		arg  uuid.UUID
	}{
		{viaDepartment, "INSERT INTO user_department_links (tenant_id, user_id, department_id) VALUES (app_tenant(), $1, $2)", department},
		{viaEmployee, "INSERT INTO user_employee_links (tenant_id, user_id, employee_id) VALUES (app_tenant(), $1, $2)", employee},
		{viaDelegation, `INSERT INTO dossier_delegations (tenant_id, user_id, employee_id, valid_from, reason)
			VALUES (app_tenant(), $1, $2, now() - interval '1 day', 'Loopbaancoaching')`, employee},
		{viaEndedDelegation, `INSERT INTO dossier_delegations (tenant_id, user_id, employee_id, valid_from, ended_at, reason)
			VALUES (app_tenant(), $1, $2, now() - interval '30 days', now() - interval '1 day', 'Afgerond')`, employee},
		{viaFutureDelegation, `INSERT INTO dossier_delegations (tenant_id, user_id, employee_id, valid_from, reason)
			VALUES (app_tenant(), $1, $2, now() + interval '1 day', 'Nog niet begonnen')`, employee},
		{blacklisted, "INSERT INTO user_blacklist (tenant_id, user_id, employee_id, reason) VALUES (app_tenant(), $1, $2, 'AVG-bezwaar')", employee},
	}
	for _, s := range statements {
		if path&s.flag == 0 {
			continue
		}
		if _, err := tx.Exec(ctx, s.sql, user, s.arg); err != nil {
			return err
		}
	}
	return nil
}

// refusalReason is the reason a refusal event records for a status; "" when it is no refusal.
func refusalReason(status int) string {
	switch status {
	case http.StatusNotFound:
		return "not_found"
	case http.StatusForbidden:
		return "forbidden"
	}
	return ""
}

// refusals returns the user's audit events with action as "operation reason" (documents) or
// "reason" (the employee page), sorted; each must name the employee.
func refusals(t *testing.T, b *testBundle, user, employee uuid.UUID, action string) []string {
	t.Helper()
	var list []string
	for _, e := range auditEvents(t, b, audit.Filter{UserID: &user, Action: action}) {
		if uuidOrNil(e.EmployeeID) != employee {
			t.Errorf("%s event %s names employee %v, want %s", action, e.ID, e.EmployeeID, employee)
		}
		s := fmt.Sprint(e.Details["reason"])
		if op, ok := e.Details["operation"]; ok {
			s = fmt.Sprint(op) + " " + s
		}
		list = append(list, s)
	}
	slices.Sort(list)
	return list
}
