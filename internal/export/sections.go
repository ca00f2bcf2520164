package export

import (
	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/audit"
)

// kind is how a column's values are written: in the workbook as Dutch text or numbers, in the
// JSON twin as ISO dates, numbers, booleans and codes.
type kind int

const (
	kText  kind = iota // text as it is
	kLabel             // a code: its Dutch label (label + code) in the workbook, the code in JSON
	kDate              // a calendar date: 2-1-2006 / "2006-01-02"
	kTime              // a moment: 2-1-2006 15:04 in Amsterdam / RFC 3339 in UTC
	kInt               // a whole number
	kBool              // ja/nee / true/false
)

// column is one column of a sheet and one field of the JSON rows.
type column struct {
	key    string  // JSON field name: stable, snake_case
	header string  // Dutch column header
	kind   kind    //
	label  string  // kLabel: message key prefix of the code's label
	width  float64 // column width in characters
}

// section is one sheet of the workbook and one array of the JSON twin, filled by one query
// whose columns are the section's columns in order (uuids cast to text).
type section struct {
	key    string   // JSON key
	sheet  string   // Dutch sheet name
	tables []string // the tables with an employee_id whose rows it exports (completeness test)
	cols   []column
	// query returns the SQL and its arguments for the job; the employee is always $1 and
	// whether medical items are included $2.
	query func(j *job) (string, []any)
}

// base is the arguments every section's query starts with.
func base(j *job) []any { return []any{j.export.EmployeeID, j.export.Medical} }

// fixed is a query with the base arguments only.
func fixed(sql string) func(j *job) (string, []any) {
	return func(j *job) (string, []any) { return sql, base(j) }
}

// dataSections are the data sheets in workbook order, after Overzicht and Verwerking.
var dataSections = []section{
	{
		// The employees row itself (keyed by id, not employee_id).
		key: "personal", sheet: "Persoonsgegevens",
		cols: []column{
			{key: "employee_id", header: "Werknemer-id", width: 38},
			{key: "personnel_number", header: "Personeelsnummer", width: 18},
			{key: "initials", header: "Voorletters", width: 12},
			{key: "first_name", header: "Voornaam", width: 18},
			{key: "name_prefix", header: "Tussenvoegsel", width: 14},
			{key: "last_name", header: "Achternaam", width: 22},
			{key: "birth_date", header: "Geboortedatum", kind: kDate, width: 14},
			{key: "bsn", header: "BSN", width: 12},
			{key: "email", header: "E-mailadres", width: 30},
			{key: "phone", header: "Telefoon", width: 16},
			{key: "street", header: "Straat", width: 24},
			{key: "house_number", header: "Huisnummer", width: 12},
			{key: "postal_code", header: "Postcode", width: 10},
			{key: "city", header: "Plaats", width: 18},
			{key: "employer", header: "Werkgever", width: 28},
			{key: "department", header: "Afdeling", width: 20},
			{key: "employment_start", header: "In dienst", kind: kDate, width: 12},
			{key: "employment_end", header: "Uit dienst", kind: kDate, width: 12},
			{key: "created_at", header: "Aangemaakt", kind: kTime, width: 17},
			{key: "updated_at", header: "Gewijzigd", kind: kTime, width: 17},
		},
		query: fixed(`SELECT e.id::text, e.personnel_number, e.initials, e.first_name, e.name_prefix, e.last_name, e.birth_date,
			e.bsn, e.email, e.phone, e.street, e.house_number, e.postal_code, e.city, r.name, coalesce(d.name, ''),
			e.employment_start, e.employment_end, e.created_at, e.updated_at
			FROM employees e JOIN employers r ON r.id = e.employer_id LEFT JOIN departments d ON d.id = e.department_id
			WHERE e.id = $1 AND $2::boolean IS NOT NULL`),
	},
	{
		key: "absences", sheet: "Verzuim", tables: []string{"absences"},
		cols: []column{
			{key: "absence_id", header: "Verzuim-id", width: 38},
			{key: "first_sick_day", header: "Eerste ziektedag", kind: kDate, width: 16},
			{key: "recovery_date", header: "Hersteldatum", kind: kDate, width: 14},
			{key: "expected_return", header: "Verwachte terugkeer", kind: kDate, width: 18},
			{key: "current_percentage", header: "Huidig percentage", kind: kInt, width: 16},
			{key: "cause", header: "Oorzaak (medisch)", kind: kLabel, label: "absence.cause.", width: 24},
			{key: "notes", header: "Toelichting", width: 50},
			{key: "created_at", header: "Aangemaakt", kind: kTime, width: 17},
			{key: "created_by", header: "Aangemaakt door", width: 22},
			{key: "updated_at", header: "Gewijzigd", kind: kTime, width: 17},
		},
		// The cause is medical: without medical.view it is left empty (the overview counts it).
		query: fixed(`SELECT a.id::text, a.first_sick_day, a.recovery_date, a.expected_return,
			(SELECT p.percentage FROM absence_percentages p WHERE p.absence_id = a.id ORDER BY p.from_date DESC LIMIT 1),
			CASE WHEN $2 THEN a.cause ELSE '' END, a.notes, a.created_at, coalesce(u.name, ''), a.updated_at
			FROM absences a LEFT JOIN users u ON u.id = a.created_by
			WHERE a.employee_id = $1 ORDER BY a.first_sick_day, a.id`),
	},
	{
		key: "absence_percentages", sheet: "Verzuimpercentages", tables: []string{"absence_percentages"},
		cols: []column{
			{key: "absence_id", header: "Verzuim-id", width: 38},
			{key: "from_date", header: "Vanaf", kind: kDate, width: 12},
			{key: "percentage", header: "Percentage", kind: kInt, width: 12},
			{key: "created_at", header: "Vastgelegd", kind: kTime, width: 17},
			{key: "created_by", header: "Vastgelegd door", width: 22},
		},
		query: fixed(`SELECT p.absence_id::text, p.from_date, p.percentage, p.created_at, coalesce(u.name, '')
			FROM absence_percentages p LEFT JOIN users u ON u.id = p.created_by
			WHERE p.employee_id = $1 AND $2::boolean IS NOT NULL ORDER BY p.absence_id, p.from_date`),
	},
	{
		key: "trajectories", sheet: "Trajecten", tables: []string{"trajectories"},
		cols: []column{
			{key: "trajectory_id", header: "Traject-id", width: 38},
			{key: "protocol", header: "Protocol", width: 28},
			{key: "status", header: "Status", kind: kLabel, label: "trajectory.status.", width: 16},
			{key: "start_date", header: "Startdatum", kind: kDate, width: 12},
			{key: "opened_at", header: "Geopend", kind: kTime, width: 17},
			{key: "opened_by", header: "Geopend door", width: 22},
			{key: "closed_at", header: "Afgesloten", kind: kTime, width: 17},
			{key: "closed_by", header: "Afgesloten door", width: 22},
			{key: "parent_id", header: "Onderdeel van traject", width: 38},
			{key: "programme", header: "Programma", width: 24},
		},
		query: fixed(`SELECT t.id::text, p.name, t.status, t.start_date, t.opened_at, coalesce(o.name, ''), t.closed_at,
			coalesce(c.name, ''), coalesce(t.parent_id::text, ''), coalesce(g.name, '')
			FROM trajectories t JOIN protocols p ON p.id = t.protocol_id LEFT JOIN users o ON o.id = t.opened_by
			LEFT JOIN users c ON c.id = t.closed_by LEFT JOIN programmes g ON g.id = t.programme_id
			WHERE t.employee_id = $1 AND $2::boolean IS NOT NULL ORDER BY t.opened_at, t.id`),
	},
	{
		key: "tasks", sheet: "Taken", tables: []string{"tasks"},
		cols: []column{
			{key: "trajectory_id", header: "Traject-id", width: 38},
			{key: "position", header: "Volgorde", kind: kInt, width: 10},
			{key: "type", header: "Soort", width: 18},
			{key: "title", header: "Taak", width: 40},
			{key: "status", header: "Status", kind: kLabel, label: "task.status.", width: 14},
			{key: "due_date", header: "Uiterste datum", kind: kDate, width: 14},
			{key: "assignee", header: "Toegewezen aan", width: 22},
			{key: "completed_at", header: "Afgerond", kind: kTime, width: 17},
			{key: "completed_by", header: "Afgerond door", width: 22},
			{key: "payload", header: "Gegevens", width: 40},
		},
		query: fixed(`SELECT t.trajectory_id::text, t.position, t.type, t.title, t.status, t.due_date, coalesce(a.name, ''),
			t.completed_at, coalesce(c.name, ''), CASE WHEN t.payload = '{}' THEN '' ELSE t.payload::text END
			FROM tasks t LEFT JOIN users a ON a.id = t.assignee_id LEFT JOIN users c ON c.id = t.completed_by
			WHERE t.employee_id = $1 AND $2::boolean IS NOT NULL ORDER BY t.trajectory_id, t.position`),
	},
	{
		key: "reports", sheet: "Rapportages", tables: []string{"reports"},
		cols: []column{
			{key: "report_id", header: "Rapportage-id", width: 38},
			{key: "created_at", header: "Datum", kind: kTime, width: 17},
			{key: "author", header: "Auteur", width: 22},
			{key: "expertise", header: "Deskundigheid", kind: kLabel, label: "report.expertise.", width: 22},
			{key: "hidden", header: "Verborgen", kind: kBool, width: 10},
			{key: "medical", header: "Medisch", kind: kBool, width: 10},
			{key: "body", header: "Tekst", width: 80},
			{key: "updated_at", header: "Gewijzigd", kind: kTime, width: 17},
		},
		// All reports, hidden ones and those with an expertise included; medical ones only
		// with medical.view (the overview counts what was left out).
		query: fixed(`SELECT r.id::text, r.created_at, coalesce(u.name, ''), r.expertise, r.hidden, r.medical, r.body, r.updated_at
			FROM reports r LEFT JOIN users u ON u.id = r.author_id
			WHERE r.employee_id = $1 AND (NOT r.medical OR $2) ORDER BY r.created_at, r.id`),
	},
	{
		key: "appointments", sheet: "Afspraken", tables: []string{"appointments"},
		cols: []column{
			{key: "appointment_id", header: "Afspraak-id", width: 38},
			{key: "starts_at", header: "Datum en tijd", kind: kTime, width: 17},
			{key: "with_whom", header: "Met", width: 24},
			{key: "kind", header: "Soort", kind: kLabel, label: "appointment.kind.", width: 28},
			{key: "status", header: "Status", kind: kLabel, label: "appointment.status.", width: 14},
			{key: "consultation_id", header: "Spreekuur-id", width: 38},
			{key: "created_by", header: "Vastgelegd door", width: 22},
		},
		query: fixed(`SELECT a.id::text, a.starts_at, a.with_whom, a.kind, a.status, coalesce(a.consultation_id::text, ''), coalesce(u.name, '')
			FROM appointments a LEFT JOIN users u ON u.id = a.created_by
			WHERE a.employee_id = $1 AND $2::boolean IS NOT NULL ORDER BY a.starts_at, a.id`),
	},
	{
		key: "consultations", sheet: "Spreekuren", tables: []string{"consultations"},
		cols: []column{
			{key: "consultation_id", header: "Spreekuur-id", width: 38},
			{key: "held_at", header: "Gehouden op", kind: kTime, width: 17},
			{key: "held_by", header: "Gehouden door", width: 24},
			{key: "medical", header: "Medisch", kind: kBool, width: 10},
			{key: "outcome", header: "Uitkomst", width: 60},
			{key: "appointment_id", header: "Bijbehorende afspraak", width: 38},
			{key: "appointment_at", header: "Afspraak op", kind: kTime, width: 17},
		},
		// A medical consultation's outcome only with medical.view; the row itself always.
		query: fixed(`SELECT c.id::text, c.held_at, c.held_by, c.medical, CASE WHEN c.medical AND NOT $2 THEN '' ELSE c.outcome END,
			coalesce(a.id::text, ''), a.starts_at
			FROM consultations c LEFT JOIN LATERAL (SELECT id, starts_at FROM appointments WHERE consultation_id = c.id
				ORDER BY starts_at, id LIMIT 1) a ON true
			WHERE c.employee_id = $1 ORDER BY c.held_at, c.id`),
	},
	{
		key: "decisions", sheet: "Beschikkingen", tables: []string{"decisions"},
		cols: []column{
			{key: "decision_id", header: "Beschikking-id", width: 38},
			{key: "kind", header: "Soort", kind: kLabel, label: "decision.kind.", width: 22},
			{key: "decision_date", header: "Datum", kind: kDate, width: 12},
			{key: "outcome", header: "Uitkomst", width: 50},
			{key: "issuer", header: "Afgegeven door", width: 16},
			{key: "created_at", header: "Vastgelegd", kind: kTime, width: 17},
		},
		query: fixed(`SELECT d.id::text, d.kind, d.decision_date, d.outcome, d.issuer, d.created_at
			FROM decisions d WHERE d.employee_id = $1 AND $2::boolean IS NOT NULL ORDER BY d.decision_date, d.id`),
	},
	{
		key: "policy_participation", sheet: "Polisdeelname", tables: []string{"policy_participants"},
		cols: []column{
			{key: "insurer", header: "Verzekeraar", width: 24},
			{key: "policy_number", header: "Polisnummer", width: 16},
			{key: "participating", header: "Neemt deel", kind: kBool, width: 12},
			{key: "reason", header: "Reden", width: 40},
			{key: "starts_on", header: "Van", kind: kDate, width: 12},
			{key: "ends_on", header: "Tot en met", kind: kDate, width: 12},
		},
		query: fixed(`SELECT i.insurer, i.policy_number, p.participating, p.reason, p.starts_on, p.ends_on
			FROM policy_participants p JOIN insurance_policies i ON i.id = p.policy_id
			WHERE p.employee_id = $1 AND $2::boolean IS NOT NULL ORDER BY p.starts_on, p.id`),
	},
	{
		key: "documents", sheet: "Documenten", tables: []string{"documents"},
		cols: []column{
			{key: "document_id", header: "Document-id", width: 38},
			{key: "file_name", header: "Naam", width: 40},
			{key: "category", header: "Categorie", width: 24},
			{key: "document_date", header: "Documentdatum", kind: kDate, width: 14},
			{key: "uploaded_by", header: "Toegevoegd door", width: 22},
			{key: "uploaded_at", header: "Toegevoegd op", kind: kTime, width: 17},
			{key: "size", header: "Grootte (bytes)", kind: kInt, width: 14},
			{key: "sha256", header: "SHA-256", width: 66},
		},
		// The documents the creator may read, by the same rule as the dossier's documents page
		// (access.VisibleDocuments); their files are not included, and the overview counts
		// the ones left out.
		query: func(j *job) (string, []any) {
			from, args := access.VisibleDocuments(j.principal, j.cats, base(j))
			return `SELECT d.id::text, d.file_name, c.name, d.document_date, coalesce(u.name, ''), d.uploaded_at, d.size, d.sha256
				FROM ` + from + ` d JOIN document_categories c ON c.id = d.category_id LEFT JOIN users u ON u.id = d.uploaded_by
				WHERE d.employee_id = $1 AND $2::boolean IS NOT NULL ORDER BY d.uploaded_at, d.id`, args
		},
	},
	{
		key: "deployments", sheet: "Interventies", tables: []string{"intervention_deployments"},
		cols: []column{
			{key: "deployed_at", header: "Ingezet op", kind: kTime, width: 17},
			{key: "deployed_by", header: "Ingezet door", width: 24},
			{key: "programme", header: "Programma", width: 28},
			{key: "provider", header: "Interventieprovider", width: 28},
			{key: "executor", header: "Uitvoerder", width: 24},
			{key: "outcome", header: "Uitkomst", kind: kLabel, label: "deployment.outcome.", width: 36},
			{key: "guidance_trajectory_id", header: "Begeleidingstraject-id", width: 38},
		},
		query: fixed(`SELECT d.deployed_at, coalesce(b.name, ''), g.name, coalesce(p.name, ''), coalesce(x.name, ''), d.outcome,
				d.guidance_trajectory_id::text
			FROM intervention_deployments d JOIN programmes g ON g.id = d.programme_id
				LEFT JOIN intervention_providers p ON p.id = g.provider_id
				LEFT JOIN users b ON b.id = d.deployed_by LEFT JOIN users x ON x.id = d.executor_user_id
			WHERE d.employee_id = $1 AND $2::boolean IS NOT NULL ORDER BY d.deployed_at, d.id`),
	},
	{
		key: "delegations", sheet: "Delegaties", tables: []string{"dossier_delegations"},
		cols: []column{
			{key: "user", header: "Gebruiker", width: 24},
			{key: "organisation", header: "Organisatie", width: 28},
			{key: "valid_from", header: "Van", kind: kTime, width: 17},
			{key: "ended_at", header: "Tot", kind: kTime, width: 17},
			{key: "end_reason", header: "Reden van beëindiging", width: 40},
			{key: "trajectory_id", header: "Traject-id", width: 38},
		},
		query: fixed(`SELECT u.name, coalesce(p.name, ''), d.valid_from, d.ended_at, d.reason, coalesce(d.trajectory_id::text, '')
			FROM dossier_delegations d JOIN users u ON u.id = d.user_id LEFT JOIN intervention_providers p ON p.id = u.provider_id
			WHERE d.employee_id = $1 AND $2::boolean IS NOT NULL ORDER BY d.valid_from, d.id`),
	},
	{
		key: "access_log", sheet: "Inzage", tables: []string{"audit_events"},
		cols: []column{
			{key: "at", header: "Tijdstip", kind: kTime, width: 17},
			{key: "user", header: "Gebruiker", width: 24},
			{key: "role", header: "Rol", width: 22},
			{key: "user_kind", header: "Soort gebruiker", kind: kLabel, label: "kind.", width: 16},
			{key: "organisation", header: "Organisatie", width: 28},
			{key: "action", header: "Actie", kind: kLabel, label: "action.", width: 40},
			{key: "subject_type", header: "Onderwerp", width: 18},
		},
		// Every audit event about the employee, refusals included: who saw his dossier, when,
		// in which role and for which organisation (NEN 7513); and every datastream delivery
		// that carried his data without pseudonymisation (its audit event names the
		// configuration, not each employee: datastream_run_employees holds their ids), by no
		// user, to the account (its configuration in brackets).
		// Each user's role and organisation is worked out once (who), not per event.
		query: fixed(`WITH who AS MATERIALIZED (
				SELECT u.id, u.name, coalesce(r.name, '') AS role, u.kind,
					CASE u.kind WHEN 'coach' THEN coalesce(p.name, '')
						WHEN 'employer' THEN coalesce((SELECT string_agg(m.name, ', ' ORDER BY m.name) FROM user_employers ue
							JOIN employers m ON m.id = ue.employer_id WHERE ue.user_id = u.id), '')
						ELSE (SELECT name FROM tenants WHERE id = app_tenant()) END AS organisation
				FROM users u LEFT JOIN roles r ON r.id = u.role_id LEFT JOIN intervention_providers p ON p.id = u.provider_id
				WHERE u.id IN (SELECT DISTINCT user_id FROM audit_events WHERE employee_id = $1))
			SELECT at, name, role, kind, organisation, action, subject_type FROM (
				SELECT a.at, coalesce(w.name, '') AS name, coalesce(w.role, '') AS role, coalesce(w.kind, '') AS kind,
					coalesce(w.organisation, '') AS organisation, a.action, a.subject_type, a.id
				FROM audit_events a LEFT JOIN who w ON w.id = a.user_id
				WHERE a.employee_id = $1 AND $2::boolean IS NOT NULL
				UNION ALL
				SELECT r.finished_at, '', '', '', d.name || ' (' || c.name || ')', '` + audit.DatastreamConfigDelivered + `', 'datastream_config', r.id
				FROM datastream_runs r JOIN datastream_configs c ON c.id = r.config_id JOIN datastream_accounts d ON d.id = c.account_id
				WHERE r.status = 'succeeded'
					AND datastream_run_carried(r.id, $1)) e
			ORDER BY at, id`),
	},
}

// excluded are the tables with an employee_id column whose rows no sheet exports, and why.
// The completeness test fails for a table that is in neither dataSections nor here.
var excluded = map[string]string{
	// Who is linked to or blacklisted from the dossier is access configuration about users;
	// who actually saw the dossier is in Inzage, who had delegated access in Delegaties.
	"user_employee_links": "access configuration",
	"user_blacklist":      "access configuration",
	// Which full-dossier bundles held his documents: each copy is in Inzage (bundle.copied).
	"bundle_employees": "full-dossier membership, in Inzage as copies",
	// The change log that feeds datastreams holds row ids only, no content of its own.
	"changes": "technical change capture, no content",
	// The exports themselves: each one is in Inzage (requested, generated, downloaded, expired).
	"employee_exports": "the exports, in Inzage",
	// The words of his names, personnel number and BSN that search walks: a copy of
	// Persoonsgegevens kept for the employee list's search, nothing of its own.
	"employee_search_words": "search index of Persoonsgegevens, no content of its own",
}

// Column describes a column of a section for readers of the files (the tests): its JSON key,
// its Dutch header, its kind (text, label, date, time, int, bool) and, for labels, the message
// key prefix of the code's label.
type Column struct {
	Key, Header, Kind, Label string
}

var kindNames = map[kind]string{kText: "text", kLabel: "label", kDate: "date", kTime: "time", kInt: "int", kBool: "bool"}

// allSections are the sections in workbook order.
func allSections() []section {
	return append([]section{overviewSection, processingSection}, dataSections...)
}

// SheetNames maps each section's JSON key to its sheet's name.
func SheetNames() map[string]string {
	m := map[string]string{}
	for _, s := range allSections() {
		m[s.key] = s.sheet
	}
	return m
}

// Columns describes the columns of the section with JSON key key, in order; nil for an
// unknown key.
func Columns(key string) []Column {
	for _, s := range allSections() {
		if s.key != key {
			continue
		}
		cols := make([]Column, len(s.cols))
		for i, c := range s.cols {
			cols[i] = Column{Key: c.key, Header: c.header, Kind: kindNames[c.kind], Label: c.label}
		}
		return cols
	}
	return nil
}
