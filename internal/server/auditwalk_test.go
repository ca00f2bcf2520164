package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/demo"
	"github.com/dossierkast/dossierkast/internal/org"
)

// auditStep is one successful POST of TestPostRoutesAudit and the audit events it must write:
// exactly these, each once, whatever else the request did. The rule: a POST writes the events
// of what it changed (or of the log-in, log-out or refusal it is), never employee.viewed, which
// is for reading a dossier.
type auditStep struct {
	route  string // "POST /pattern", as chi.Walk names it
	as     string // e-mail address of the demo user who sends it ("" for nobody)
	path   func(f *auditFixture) string
	form   func(f *auditFixture) url.Values
	path2  string // appended to path
	upload bool   // a multipart upload of a small PDF with form's fields
	want   []string
}

// auditFixture holds the ids the steps use: an employee with every kind of case data (one that
// the deleting steps remove things of) and his employer.
type auditFixture struct {
	t        *testing.T
	b        *testBundle
	employer uuid.UUID
	employee uuid.UUID
}

// id returns the first value (an id, mostly) that query selects, given the employer and the
// employee as $1 and $2.
func (f *auditFixture) id(query string) string {
	var v string
	f.b.inTenant(f.t, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), query, f.employer, f.employee).Scan(&v)
	})
	return v
}

func (f *auditFixture) emp() string { return "/employees/" + f.employee.String() }
func (f *auditFixture) er() string  { return "/employers/" + f.employer.String() }

func fixed(path string) func(*auditFixture) string { return func(*auditFixture) string { return path } }

func values(kv ...string) func(*auditFixture) url.Values {
	return func(*auditFixture) url.Values {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v
	}
}

const (
	ofEmployee = " WHERE employer_id = $1 AND employee_id = $2"
	ofEmployer = " WHERE employer_id = $1 AND $2::uuid IS NOT NULL"
)

// auditSteps run in this order, so that what one creates the next can change or delete.
var auditSteps = []auditStep{
	{route: "POST /login", path: fixed("/login"), form: values("email", adminEmail, "password", demo.Password), want: []string{audit.LoginSucceeded}},
	{route: "POST /logout", as: "casemanager@demo.dossierkast.nl", path: fixed("/logout"), want: []string{audit.Logout}},
	{route: "POST /language", as: adminEmail, path: fixed("/language"), form: values("language", "nl", "return", "/")},
	{route: "POST /employers", as: adminEmail, path: fixed("/employers"), form: values("name", "Audit BV", "employer_number", "A-1"),
		want: []string{audit.EmployerCreated}},
	{route: "POST /employers/{id}", as: adminEmail, path: (*auditFixture).er,
		form: func(f *auditFixture) url.Values {
			return url.Values{"name": {"Audit Werkgever"}, "employer_number": {f.id("SELECT employer_number FROM employers WHERE id = $1 AND $2::uuid IS NOT NULL")},
				"products": {org.ProductFullDossier}}
		}, want: []string{audit.EmployerUpdated}},
	{route: "POST /employers/{id}/departments", as: adminEmail, path: sub((*auditFixture).er, "/departments"),
		form: values("name", "Auditafdeling"), want: []string{audit.DepartmentSaved}},
	{route: "POST /departments/{id}", as: adminEmail, path: pathOf("/departments/", "SELECT id FROM departments"+ofEmployer+" ORDER BY name LIMIT 1"),
		form: values("name", "Afdeling hernoemd", "code", "AH"), want: []string{audit.DepartmentSaved}},
	{route: "POST /employees", as: adminEmail, path: fixed("/employees"), form: func(f *auditFixture) url.Values {
		return url.Values{"employer_id": {f.employer.String()}, "personnel_number": {"AUD-1"}, "last_name": {"Audit"}}
	}, want: []string{audit.EmployeeCreated}},
	{route: "POST /employees/{id}", as: adminEmail, path: (*auditFixture).emp, form: func(f *auditFixture) url.Values {
		return url.Values{"personnel_number": {f.id("SELECT personnel_number FROM employees WHERE id = $2 AND $1::uuid IS NOT NULL")}, "last_name": {"Gewijzigd"}}
	}, want: []string{audit.EmployeeUpdated}},
	{route: "POST /employers/{id}/documents", as: adminEmail, path: sub((*auditFixture).er, "/documents"), upload: true,
		form: func(f *auditFixture) url.Values {
			return url.Values{"category_id": {f.id("SELECT id FROM document_categories WHERE dossier = 'employer' AND system IS NULL AND NOT medical AND $1::uuid IS NOT NULL AND $2::uuid IS NOT NULL LIMIT 1")}}
		}, want: []string{audit.DocumentUploaded}},
	{route: "POST /employees/{id}/documents", as: adminEmail, path: sub((*auditFixture).emp, "/documents"), upload: true,
		form: func(f *auditFixture) url.Values {
			return url.Values{"category_id": {f.id("SELECT id FROM document_categories WHERE dossier = 'employee' AND system IS NULL AND NOT medical AND $1::uuid IS NOT NULL AND $2::uuid IS NOT NULL LIMIT 1")}}
		}, want: []string{audit.DocumentUploaded}},
	{route: "POST /employees/{id}/absences", as: adminEmail, path: sub((*auditFixture).emp, "/absences"),
		form: values("first_sick_day", "2026-11-02", "percentage", "100"), want: []string{audit.CaseCreated}},
	{route: "POST /employees/{id}/absences/{aid}", as: adminEmail, path: child("/absences/", "absences", ""),
		form: func(f *auditFixture) url.Values {
			const first = "SELECT %s FROM absences" + ofEmployee + " ORDER BY id LIMIT 1"
			return url.Values{"first_sick_day": {f.id(fmt.Sprintf(first, "first_sick_day::text"))},
				"recovery_date": {f.id(fmt.Sprintf(first, "coalesce(recovery_date::text, '')"))}, "notes": {"bijgewerkt"}}
		}, want: []string{audit.CaseUpdated}},
	{route: "POST /employees/{id}/absences/{aid}/percentages", as: adminEmail, path: child("/absences/", "absences", "/percentages"),
		form: values("from_date", "2026-11-20", "percentage", "50"), want: []string{audit.CaseUpdated}},
	{route: "POST /employees/{id}/reports", as: adminEmail, path: sub((*auditFixture).emp, "/reports"),
		form: values("body", "Gesprek gehad.", "expertise", "casemanager"), want: []string{audit.CaseCreated}},
	{route: "POST /employees/{id}/reports/{rid}", as: adminEmail, path: child("/reports/", "reports", ""),
		form: values("body", "Bijgewerkt verslag.", "expertise", "casemanager"), want: []string{audit.CaseUpdated}},
	{route: "POST /employees/{id}/decisions", as: adminEmail, path: sub((*auditFixture).emp, "/decisions"),
		form: values("kind", "WIA", "decision_date", "2026-10-01", "outcome", "Toegekend", "issuer", "UWV"), want: []string{audit.CaseCreated}},
	{route: "POST /employees/{id}/decisions/{did}", as: adminEmail, path: child("/decisions/", "decisions", ""),
		form: values("kind", "WIA", "decision_date", "2026-10-02", "outcome", "Afgewezen", "issuer", "UWV"), want: []string{audit.CaseUpdated}},
	{route: "POST /employees/{id}/trajectories", as: adminEmail, path: sub((*auditFixture).emp, "/trajectories"),
		form: func(f *auditFixture) url.Values {
			return url.Values{"protocol_id": {f.id("SELECT id FROM protocols WHERE $1::uuid IS NOT NULL AND $2::uuid IS NOT NULL ORDER BY name LIMIT 1")},
				"start_date": {"2026-11-02"}}
		}, want: []string{audit.CaseCreated}},
	{route: "POST /tasks/{id}/complete", as: adminEmail, path: pathOf("/tasks/", "SELECT id FROM tasks"+ofEmployee+" AND completed_at IS NULL ORDER BY id LIMIT 1"),
		path2: "/complete", want: []string{audit.CaseUpdated}},
	{route: "POST /tasks/{id}/due-date", as: adminEmail, path: pathOf("/tasks/", "SELECT id FROM tasks"+ofEmployee+" AND completed_at IS NULL ORDER BY id LIMIT 1"),
		path2: "/due-date", form: values("due_date", "2026-12-31"), want: []string{audit.CaseUpdated}},
	{route: "POST /tasks/{id}/deploy", as: adminEmail, path: deployStepPath, path2: "/deploy",
		form: func(f *auditFixture) url.Values {
			return url.Values{"programme_id": {f.id("SELECT id FROM programmes WHERE name = 'Inzetprogramma' AND $1::uuid IS NOT NULL AND $2::uuid IS NOT NULL")}}
		}, want: []string{audit.CaseCreated, audit.CaseCreated, audit.CaseUpdated, audit.InterventionDeployed}},
	{route: "POST /tasks/{id}/delegate", as: adminEmail,
		path: pathOf("/tasks/", "SELECT id FROM tasks"+ofEmployee+" AND type = 'grant_delegation' AND status = 'open'"), path2: "/delegate",
		form: func(f *auditFixture) url.Values {
			return url.Values{"user_id": {f.id("SELECT id FROM users WHERE email = 'coach@demo.dossierkast.nl' AND $1::uuid IS NOT NULL AND $2::uuid IS NOT NULL")}}
		}, want: []string{audit.CaseUpdated, audit.DelegationGranted}},
	{route: "POST /delegations/{id}/end-date", as: adminEmail,
		path:  pathOf("/delegations/", "SELECT id FROM dossier_delegations WHERE $1::uuid IS NOT NULL AND employee_id = $2 AND end_reason IS NULL ORDER BY id DESC LIMIT 1"),
		path2: "/end-date", form: values("ends_at", "2099-12-31"), want: []string{audit.DelegationUpdated}},
	{route: "POST /delegations/{id}/end", as: adminEmail,
		path:  pathOf("/delegations/", "SELECT id FROM dossier_delegations WHERE $1::uuid IS NOT NULL AND employee_id = $2 AND end_reason IS NULL ORDER BY id DESC LIMIT 1"),
		path2: "/end", form: values("note", "Audit"), want: []string{audit.DelegationEnded}},
	{route: "POST /trajectories/{id}/close", as: adminEmail, path: pathOf("/trajectories/", "SELECT trajectory_id FROM tasks"+ofEmployee+" ORDER BY id LIMIT 1"),
		path2: "/close", want: []string{audit.CaseUpdated}},
	{route: "POST /employees/{id}/appointments", as: adminEmail, path: sub((*auditFixture).emp, "/appointments"),
		form: values("with_whom", "Dr. Audit", "kind", "company_doctor", "status", "planned", "starts_at", "2026-12-20T10:00"), want: []string{audit.CaseCreated}},
	{route: "POST /appointments/{id}", as: adminEmail, path: pathOf("/appointments/", "SELECT id FROM appointments"+ofEmployee+" ORDER BY id LIMIT 1"),
		form: values("with_whom", "Dr. Audit", "kind", "company_doctor", "status", "cancelled", "starts_at", "2026-12-21T10:00"), want: []string{audit.CaseUpdated}},
	{route: "POST /employees/{id}/consultations", as: adminEmail, path: sub((*auditFixture).emp, "/consultations"),
		form: values("held_by", "Dr. Audit", "held_at", "2026-11-20T10:00", "outcome", "Besproken."), want: []string{audit.CaseCreated}},
	{route: "POST /consultations/{id}", as: adminEmail, path: pathOf("/consultations/", "SELECT id FROM consultations"+ofEmployee+" ORDER BY id LIMIT 1"),
		form: values("held_by", "Dr. Audit", "held_at", "2026-11-21T10:00", "outcome", "Bijgewerkt."), want: []string{audit.CaseUpdated}},
	{route: "POST /employers/{id}/policies", as: adminEmail, path: sub((*auditFixture).er, "/policies"),
		form: values("insurer", "Audit Verzekeringen", "policy_number", "AUD-P1", "starts_on", "2026-01-01"), want: []string{audit.CaseCreated}},
	{route: "POST /employers/{id}/policies/{pid}", as: adminEmail, path: employerChild("/policies/", "SELECT id FROM insurance_policies"+ofEmployer+" AND policy_number = 'AUD-P1'"),
		form: values("insurer", "Audit Verzekeringen", "policy_number", "AUD-P1", "starts_on", "2026-02-01"), want: []string{audit.CaseUpdated}},
	{route: "POST /employers/{id}/agreements", as: adminEmail, path: sub((*auditFixture).er, "/agreements"),
		form: values("contract_number", "AUD-D1", "starts_on", "2026-01-01"), want: []string{audit.CaseCreated}},
	{route: "POST /employers/{id}/agreements/{aid}", as: adminEmail, path: employerChild("/agreements/", "SELECT id FROM service_agreements"+ofEmployer+" AND contract_number = 'AUD-D1'"),
		form: values("contract_number", "AUD-D1", "starts_on", "2026-02-01"), want: []string{audit.CaseUpdated}},
	{route: "POST /employees/{id}/policies", as: adminEmail, path: sub((*auditFixture).emp, "/policies"),
		form: func(f *auditFixture) url.Values {
			return url.Values{"policy_id": {f.id("SELECT id FROM insurance_policies" + ofEmployer + " AND policy_number = 'AUD-P1'")},
				"participating": {"1"}, "starts_on": {"2026-03-01"}}
		}, want: []string{audit.CaseCreated}},
	{route: "POST /employees/{id}/policies/{pid}", as: adminEmail, path: auditParticipation(""),
		form: func(f *auditFixture) url.Values {
			return url.Values{"policy_id": {f.id("SELECT id FROM insurance_policies" + ofEmployer + " AND policy_number = 'AUD-P1'")},
				"participating": {"0"}, "reason": {"Uit dienst"}, "starts_on": {"2026-03-01"}}
		}, want: []string{audit.CaseUpdated}},
	{route: "POST /admin/providers", as: adminEmail, path: fixed("/admin/providers"), form: values("name", "Audit Interventies"), want: []string{audit.CaseCreated}},
	{route: "POST /admin/interventions/programmes", as: adminEmail, path: fixed("/admin/interventions/programmes"), form: func(f *auditFixture) url.Values {
		return url.Values{"provider_id": {f.id("SELECT id FROM intervention_providers WHERE name = 'Audit Interventies' AND $1::uuid IS NOT NULL AND $2::uuid IS NOT NULL")},
			"name": {"Auditprogramma"}, "price": {"100,00"}, "executor_mode": {"provider"}}
	}, want: []string{audit.CaseCreated}},
	{route: "POST /admin/interventions/programmes/{id}", as: adminEmail, path: pathOf("/admin/interventions/programmes/", "SELECT id FROM programmes WHERE name = 'Auditprogramma' AND $1::uuid IS NOT NULL AND $2::uuid IS NOT NULL"),
		form: func(f *auditFixture) url.Values {
			return url.Values{"provider_id": {f.id("SELECT id FROM intervention_providers WHERE name = 'Audit Interventies' AND $1::uuid IS NOT NULL AND $2::uuid IS NOT NULL")},
				"name": {"Auditprogramma"}, "price": {"110,00"}, "executor_mode": {"provider"}}
		}, want: []string{audit.CaseUpdated}},
	{route: "POST /admin/interventions/settings", as: adminEmail, path: fixed("/admin/interventions/settings"), form: func(f *auditFixture) url.Values {
		return url.Values{"guidance_protocol_id": {f.id("SELECT id FROM protocols WHERE kind = 'intervention_guidance' AND $1::uuid IS NOT NULL AND $2::uuid IS NOT NULL ORDER BY name LIMIT 1")}}
	}, want: []string{audit.InterventionUpdated}},
	{route: "POST /admin/providers/{id}/executor", as: adminEmail,
		path:  pathOf("/admin/providers/", "SELECT provider_id FROM users WHERE email = 'coach@demo.dossierkast.nl' AND $1::uuid IS NOT NULL AND $2::uuid IS NOT NULL"),
		path2: "/executor", form: func(f *auditFixture) url.Values {
			return url.Values{"executor_user_id": {f.id("SELECT id FROM users WHERE email = 'coach@demo.dossierkast.nl' AND $1::uuid IS NOT NULL AND $2::uuid IS NOT NULL")}}
		}, want: []string{audit.InterventionUpdated}},
	{route: "POST /admin/users", as: adminEmail, path: fixed("/admin/users"), form: func(f *auditFixture) url.Values {
		return url.Values{"name": {"Audit Gebruiker"}, "email": {"audit@demo.dossierkast.nl"}, "password": {"een-lang-wachtwoord"},
			"kind": {"provider"}, "role_id": {f.id("SELECT id FROM roles WHERE name = 'Casemanager' AND $1::uuid IS NOT NULL AND $2::uuid IS NOT NULL")}, "language": {"nl"}}
	}, want: []string{audit.UserCreated}},
	{route: "POST /admin/users/{id}", as: adminEmail, path: auditUser(""), form: func(f *auditFixture) url.Values {
		return url.Values{"name": {"Audit Gebruiker 2"}, "email": {"audit@demo.dossierkast.nl"}, "kind": {"provider"},
			"role_id": {f.id("SELECT id FROM roles WHERE name = 'Casemanager' AND $1::uuid IS NOT NULL AND $2::uuid IS NOT NULL")}, "language": {"nl"}}
	}, want: []string{audit.UserUpdated}},
	{route: "POST /admin/users/{id}/access", as: adminEmail, path: func(f *auditFixture) string {
		return "/admin/users/" + f.id("SELECT id FROM users WHERE email = 'casemanager@demo.dossierkast.nl' AND $1::uuid IS NOT NULL AND $2::uuid IS NOT NULL") + "/access"
	}, form: func(f *auditFixture) url.Values {
		return url.Values{"op": {"blacklist"}, "employee_id": {f.employee.String()}, "reason": {"Audit"}}
	}, want: []string{audit.AccessBlacklisted}},
	{route: "POST /admin/users/{id}/block", as: adminEmail, path: auditUser("/block"), want: []string{audit.UserBlocked}},
	{route: "POST /admin/users/{id}/unblock", as: adminEmail, path: auditUser("/unblock"), want: []string{audit.UserUnblocked}},
	{route: "POST /admin/roles", as: adminEmail, path: fixed("/admin/roles"), form: values("name", "Auditrol", "kind", "provider", "rights", "audit.view"),
		want: []string{audit.RoleCreated}},
	{route: "POST /admin/roles/{id}", as: adminEmail, path: pathOf("/admin/roles/", "SELECT id FROM roles WHERE name = 'Auditrol' AND $1::uuid IS NOT NULL AND $2::uuid IS NOT NULL"),
		form: values("name", "Auditrol", "rights", "audit.view", "rights", "users.manage"), want: []string{audit.RoleUpdated}},
	{route: "POST /admin/categories", as: adminEmail, path: fixed("/admin/categories"), form: values("name", "Auditcategorie", "dossier", "employee"),
		want: []string{audit.CategoryCreated}},
	{route: "POST /admin/categories/{id}", as: adminEmail, path: auditCategory(""), form: values("name", "Auditcategorie 2"), want: []string{audit.CategoryUpdated}},
	{route: "POST /admin/roles/{id}/matrix", as: adminEmail, path: func(f *auditFixture) string {
		return "/admin/roles/" + f.id("SELECT id FROM roles WHERE name = 'Auditrol' AND $1::uuid IS NOT NULL AND $2::uuid IS NOT NULL") + "/matrix"
	}, form: func(f *auditFixture) url.Values {
		return url.Values{"c-" + f.id("SELECT id FROM document_categories WHERE name = 'Auditcategorie 2' AND $1::uuid IS NOT NULL AND $2::uuid IS NOT NULL"): {"read"}}
	}, want: []string{audit.MatrixUpdated}},
	{route: "POST /admin/categories/{id}/delete", as: adminEmail, path: auditCategory("/delete"), want: []string{audit.CategoryDeleted}},
	{route: "POST /admin/outbox/test", as: adminEmail, path: fixed("/admin/outbox/test"), form: values("to", "test@example.nl")},
	{route: "POST /admin/datastreams/accounts", as: adminEmail, path: fixed("/admin/datastreams/accounts"),
		form: values("name", "Auditkoppeling", "type", "external", "language", "nl", "scope", "all", "auth_method", "password",
			"host", "127.0.0.1", "port", "9", "remote_user", "audit", "password", "geheim-audit"), want: []string{audit.DatastreamAccountCreated}},
	{route: "POST /admin/datastreams/accounts/{id}", as: adminEmail, path: auditAccount(""),
		form: values("name", "Auditkoppeling", "language", "en", "scope", "all", "auth_method", "password",
			"host", "127.0.0.1", "port", "9", "remote_user", "audit"), want: []string{audit.DatastreamAccountUpdated}},
	{route: "POST /admin/datastreams/accounts/{id}/configs", as: adminEmail, path: auditAccount("/configs"),
		form: values("name", "Auditconfig", "version", "v2", "streams", "werknemers", "frequency", "weekly", "mode", "incremental"),
		want: []string{audit.DatastreamConfigCreated}},
	{route: "POST /admin/datastreams/configs/{id}", as: adminEmail, path: auditConfig(""),
		form: values("name", "Auditconfig", "version", "v2", "streams", "werknemers", "columns.werknemers", "achternaam",
			"frequency", "daily", "mode", "incremental"), want: []string{audit.DatastreamConfigUpdated}},
	{route: "POST /admin/datastreams/configs/{id}/run", as: adminEmail, path: auditConfig("/run"), form: values("mode", "full"),
		want: []string{audit.DatastreamConfigRunRequested}},
	{route: "POST /admin/datastreams/configs/{id}/rotate-key", as: adminEmail, path: auditConfig("/rotate-key"),
		want: []string{audit.DatastreamConfigKeyRotated}},
	{route: "POST /admin/datastreams/configs/{id}/archive", as: adminEmail, path: auditConfig("/archive"), want: []string{audit.DatastreamConfigArchived}},
	{route: "POST /admin/datastreams/accounts/{id}/test", as: adminEmail, path: auditAccount("/test"), want: []string{audit.DatastreamAccountTested}},
	{route: "POST /admin/datastreams/accounts/{id}/host-key", as: adminEmail, path: func(f *auditFixture) string {
		return "/admin/datastreams/accounts/" + f.id(`UPDATE datastream_accounts SET offered_key = '`+auditHostKey+`'
			WHERE name = 'Auditkoppeling' AND $1::uuid IS NOT NULL AND $2::uuid IS NOT NULL RETURNING id`) + "/host-key"
	}, form: values("fingerprint", "SHA256:3JPSRrVjjk0XCjsd97DcEaQN7uYV91xH+KUt1cEtwP4"), want: []string{audit.DatastreamHostKeyAccepted}},
	{route: "POST /admin/datastreams/accounts/{id}/archive", as: adminEmail, path: auditAccount("/archive"), want: []string{audit.DatastreamAccountArchived}},
	{route: "POST /admin/datastreams/accounts/{id}/password", as: adminEmail, path: auditHosted("/password"), want: []string{audit.DatastreamPasswordReset}},
	{route: "POST /admin/datastreams/accounts/{id}/block", as: adminEmail, path: auditHosted("/block"), want: []string{audit.DatastreamAccountBlocked}},
	{route: "POST /admin/datastreams/accounts/{id}/unblock", as: adminEmail, path: auditHosted("/unblock"), want: []string{audit.DatastreamAccountUnblocked}},
	{route: "POST /employers/{id}/full-dossier/generate", as: adminEmail, path: sub((*auditFixture).er, "/full-dossier/generate"),
		want: []string{audit.BundleRequested}},
	{route: "POST /admin/jobs/{id}/cancel", as: adminEmail, path: auditJob("/cancel"), want: []string{audit.JobCancelled}},
	{route: "POST /admin/jobs/{id}/retry", as: adminEmail, path: auditJob("/retry"), want: []string{audit.JobRetried}},
	{route: "POST /employers/{id}/full-dossier/bundles/{bid}/retry", as: adminEmail, path: func(f *auditFixture) string {
		return f.er() + "/full-dossier/bundles/" + f.id("UPDATE bundles SET status = 'failed' WHERE employer_id = $1 AND $2::uuid IS NOT NULL RETURNING id") + "/retry"
	}, want: []string{audit.BundleRetried}},
	{route: "POST /employees/{id}/exports", as: adminEmail, path: sub((*auditFixture).emp, "/exports"), form: values("reason", "Verzoek audit"),
		want: []string{audit.ExportRequested}},
	{route: "POST /exports/{id}/retry", as: adminEmail, path: func(f *auditFixture) string {
		return "/exports/" + f.id("UPDATE employee_exports SET status = 'failed' WHERE employee_id = $2 AND $1::uuid IS NOT NULL RETURNING id") + "/retry"
	}, want: []string{audit.ExportRetried}},
	// Deletions last: they remove what the steps above changed.
	{route: "POST /documents/{id}/delete", as: adminEmail, path: pathOf("/documents/", "SELECT id FROM documents"+ofEmployee+" ORDER BY id LIMIT 1"),
		path2: "/delete", want: []string{audit.DocumentDeleted}},
	{route: "POST /employees/{id}/absences/{aid}/delete", as: adminEmail, path: child("/absences/", "absences", "/delete"), want: []string{audit.CaseDeleted}},
	{route: "POST /employees/{id}/reports/{rid}/delete", as: adminEmail, path: child("/reports/", "reports", "/delete"), want: []string{audit.CaseDeleted}},
	{route: "POST /employees/{id}/decisions/{did}/delete", as: adminEmail, path: child("/decisions/", "decisions", "/delete"), want: []string{audit.CaseDeleted}},
	{route: "POST /appointments/{id}/delete", as: adminEmail, path: pathOf("/appointments/", "SELECT id FROM appointments"+ofEmployee+" ORDER BY id LIMIT 1"),
		path2: "/delete", want: []string{audit.CaseDeleted}},
	{route: "POST /consultations/{id}/delete", as: adminEmail, path: pathOf("/consultations/", "SELECT id FROM consultations"+ofEmployee+" ORDER BY id LIMIT 1"),
		path2: "/delete", want: []string{audit.CaseDeleted}},
	{route: "POST /employees/{id}/policies/{pid}/delete", as: adminEmail, path: auditParticipation("/delete"), want: []string{audit.CaseDeleted}},
	{route: "POST /employers/{id}/agreements/{aid}/delete", as: adminEmail, path: employerChild("/agreements/", "SELECT id FROM service_agreements"+ofEmployer+" AND contract_number = 'AUD-D1'"),
		path2: "/delete", want: []string{audit.CaseDeleted}},
	{route: "POST /employers/{id}/policies/{pid}/delete", as: adminEmail, path: employerChild("/policies/", "SELECT id FROM insurance_policies"+ofEmployer+" AND policy_number = 'AUD-P1'"),
		path2: "/delete", want: []string{audit.CaseDeleted}},
	{route: "POST /employers/{id}/full-dossier/delete", as: adminEmail, path: sub((*auditFixture).er, "/full-dossier/delete"),
		form: func(f *auditFixture) url.Values {
			return url.Values{"confirm_name": {f.id("SELECT name FROM employers WHERE id = $1 AND $2::uuid IS NOT NULL")}}
		}, want: []string{audit.DossierDeletionRequested}},
}

// sub is path with suffix.
func sub(path func(*auditFixture) string, suffix string) func(*auditFixture) string {
	return func(f *auditFixture) string { return path(f) + suffix }
}

// auditAccount is the path of the datastream account the steps made, followed by suffix.
func auditAccount(suffix string) func(*auditFixture) string {
	return pathOf("/admin/datastreams/accounts/", "SELECT id || '"+suffix+"' FROM datastream_accounts WHERE name = 'Auditkoppeling' AND $1::uuid IS NOT NULL AND $2::uuid IS NOT NULL")
}

// auditConfig is the path of the datastream configuration the steps made, followed by suffix.
func auditConfig(suffix string) func(*auditFixture) string {
	return pathOf("/admin/datastreams/configs/", "SELECT id || '"+suffix+"' FROM datastream_configs WHERE name = 'Auditconfig' AND $1::uuid IS NOT NULL AND $2::uuid IS NOT NULL")
}

// auditHosted is the path of a hosted datastream account (made the first time it is asked for),
// followed by suffix.
func auditHosted(suffix string) func(*auditFixture) string {
	return pathOf("/admin/datastreams/accounts/", `INSERT INTO datastream_accounts (tenant_id, name, type, sftp_user, auth_method, password_hash)
		SELECT app_tenant(), 'Auditmap', 'hosted', 'dk-auditmap', 'password', 'geen' WHERE $1::uuid IS NOT NULL AND $2::uuid IS NOT NULL
		ON CONFLICT (sftp_user) DO UPDATE SET name = excluded.name RETURNING id || '`+suffix+`'`)
}

// auditHostKey is a host key the host-key step accepts (made with ssh-keygen -t ed25519).
const auditHostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK/ZKOyumh4AM6RAdL5v0+vlqTJSlOEc/CuA1FtevgeW"

// pathOf is prefix followed by the id query selects.
func pathOf(prefix, query string) func(*auditFixture) string {
	return func(f *auditFixture) string { return prefix + f.id(query) }
}

// child is the path of the employee's first row of table, under /employees/{id}.
func child(infix, table, suffix string) func(*auditFixture) string {
	return func(f *auditFixture) string {
		return f.emp() + infix + f.id("SELECT id FROM "+table+ofEmployee+" ORDER BY id LIMIT 1") + suffix
	}
}

// employerChild is the path of what query selects, under /employers/{id}.
func employerChild(infix, query string) func(*auditFixture) string {
	return func(f *auditFixture) string { return f.er() + infix + f.id(query) }
}

// auditParticipation is the path of the employee's participation in the policy the steps made.
func auditParticipation(suffix string) func(*auditFixture) string {
	return func(f *auditFixture) string {
		return f.emp() + "/policies/" + f.id(`SELECT x.id FROM policy_participants x JOIN insurance_policies p ON p.id = x.policy_id
			WHERE x.employer_id = $1 AND x.employee_id = $2 AND p.policy_number = 'AUD-P1'`) + suffix
	}
}

func auditUser(suffix string) func(*auditFixture) string {
	return func(f *auditFixture) string {
		return "/admin/users/" + f.id("SELECT id FROM users WHERE email = 'audit@demo.dossierkast.nl' AND $1::uuid IS NOT NULL AND $2::uuid IS NOT NULL") + suffix
	}
}

func auditCategory(suffix string) func(*auditFixture) string {
	return func(f *auditFixture) string {
		return "/admin/categories/" + f.id("SELECT id FROM document_categories WHERE name LIKE 'Auditcategorie%' AND $1::uuid IS NOT NULL AND $2::uuid IS NOT NULL") + suffix
	}
}

func auditJob(suffix string) func(*auditFixture) string {
	return func(f *auditFixture) string {
		var id int64
		if err := f.b.db.Pool.QueryRow(context.Background(), "SELECT max(id) FROM river_job WHERE kind = 'generate_bundle'").Scan(&id); err != nil {
			f.t.Fatal(err)
		}
		return fmt.Sprint("/admin/jobs/", id, suffix)
	}
}

// TestPostRoutesAudit walks the router: every POST route must have a step in auditSteps, and a
// successful request writes exactly the audit events its step names.
func TestPostRoutesAudit(t *testing.T) {
	t.Parallel()
	b := setup(t, 10)
	f := newAuditFixture(t, b)
	var routes []string
	err := chi.Walk(b.app.Routes(), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if method == http.MethodPost && !strings.HasPrefix(route, "/static/") { // static files answer every method alike
			routes = append(routes, method+" "+route)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var stepped []string
	for _, s := range auditSteps {
		stepped = append(stepped, s.route)
	}
	for _, r := range routes {
		if !slices.Contains(stepped, r) {
			t.Errorf("route %s has no step in auditSteps: add the audit events it must write", r)
		}
	}
	for _, s := range auditSteps {
		if !slices.Contains(routes, s.route) {
			t.Errorf("auditSteps has %q, which is not a route", s.route)
			continue
		}
		path := s.path(f) + s.path2
		var form url.Values
		if s.form != nil {
			form = s.form(f)
		}
		agent := "audit walk: " + s.route
		c := b.client(t)
		if s.as != "" {
			c = b.login(t, s.as)
		}
		c.Transport = userAgent(agent)
		var status int
		if s.upload {
			var fields []uploadField
			for name, vs := range form {
				fields = append(fields, uploadField{name, vs[0]})
			}
			resp, _ := b.upload(t, c, path, fields, "audit.pdf", []byte("%PDF-1.7\naudit"))
			status = resp.StatusCode
		} else {
			status = b.post(t, c, path, form).StatusCode
		}
		if status != http.StatusSeeOther {
			t.Errorf("%s (%s): status %d, want 303", s.route, path, status)
			continue
		}
		var got []string
		b.inTenant(t, func(tx pgx.Tx) error {
			rows, err := tx.Query(context.Background(), "SELECT action FROM audit_events WHERE user_agent = $1 ORDER BY action", agent)
			if err != nil {
				return err
			}
			got, err = pgx.CollectRows(rows, pgx.RowTo[string])
			return err
		})
		want := slices.Sorted(slices.Values(s.want))
		if !slices.Equal(got, want) {
			t.Errorf("%s: audit events %q, want %q", s.route, got, want)
		}
	}
}

// userAgent is a transport that names every request with agent, so the audit events a request
// wrote can be told from the others.
type userAgent string

func (a userAgent) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", string(a))
	return http.DefaultTransport.RoundTrip(r)
}

func newAuditFixture(t *testing.T, b *testBundle) *auditFixture {
	t.Helper()
	f := &auditFixture{t: t, b: b}
	loadExamples(t, b)
	b.inTenant(t, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), employeeWithEverything).Scan(&f.employer, &f.employee)
	})
	return f
}
