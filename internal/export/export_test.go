package export_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/xuri/excelize/v2"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/export"
	"github.com/dossierkast/dossierkast/internal/i18n"
)

// dossier fills the fixture's employee's dossier with data in every section: absences with a
// percentage history (one with a medical cause), a trajectory with tasks, reports (plain,
// hidden, with an expertise, medical), an appointment matched to a medical consultation, a
// decision, a policy participation, two documents (one in a medical category), an ended
// delegation to a coach, and audit events by three users. Text that looks like a formula is
// in several cells.
func dossier(t *testing.T, f *fixture, users []uuid.UUID) {
	t.Helper()
	e, r := f.employee.ID, f.employer.ID
	f.exec(t, `INSERT INTO absences (tenant_id, id, employee_id, employer_id, first_sick_day, recovery_date, cause, notes)
		VALUES (app_tenant(), '00000000-0000-7000-8000-000000000001', $1, $2, '2026-01-05', '2026-02-01', 'disease', '+1'),
		       (app_tenant(), '00000000-0000-7000-8000-000000000002', $1, $2, '2026-06-01', NULL, '', '@x')`, e, r)
	f.exec(t, `INSERT INTO absence_percentages (tenant_id, absence_id, employee_id, employer_id, from_date, percentage)
		VALUES (app_tenant(), '00000000-0000-7000-8000-000000000001', $1, $2, '2026-01-05', 100),
		       (app_tenant(), '00000000-0000-7000-8000-000000000001', $1, $2, '2026-01-19', 50),
		       (app_tenant(), '00000000-0000-7000-8000-000000000002', $1, $2, '2026-06-01', 100)`, e, r)
	f.exec(t, `INSERT INTO protocols (tenant_id, id, name, kind) VALUES (app_tenant(), '00000000-0000-7000-8000-0000000000a1', 'Poortwachter', 'absence')`)
	f.exec(t, `INSERT INTO trajectories (tenant_id, id, employee_id, employer_id, protocol_id, start_date)
		VALUES (app_tenant(), '00000000-0000-7000-8000-0000000000b1', $1, $2, '00000000-0000-7000-8000-0000000000a1', '2026-01-05')`, e, r)
	f.exec(t, `INSERT INTO tasks (tenant_id, trajectory_id, employee_id, employer_id, position, type, title, due_date)
		VALUES (app_tenant(), '00000000-0000-7000-8000-0000000000b1', $1, $2, 1, 'probleemanalyse', 'Probleemanalyse opstellen', '2026-02-16'),
		       (app_tenant(), '00000000-0000-7000-8000-0000000000b1', $1, $2, 2, 'plan', '=HYPERLINK("http://evil.example","klik")', NULL)`, e, r)
	f.exec(t, `INSERT INTO reports (tenant_id, employee_id, employer_id, author_id, body, expertise, hidden, medical, created_at)
		VALUES (app_tenant(), $1, $2, $3, 'Gewoon gesprek', 'casemanager', false, false, now() - interval '4 days'),
		       (app_tenant(), $1, $2, $3, 'Verborgen verslag', 'werkgever', true, false, now() - interval '3 days'),
		       (app_tenant(), $1, $2, $3, 'Oordeel arbeidsdeskundige', 'arbeidsdeskundige', false, false, now() - interval '2 days'),
		       (app_tenant(), $1, $2, $3, 'Medische diagnose', 'bedrijfsarts', true, true, now() - interval '1 day')`, e, r, users[0])
	f.exec(t, `INSERT INTO consultations (tenant_id, id, employee_id, employer_id, held_at, held_by, outcome, medical)
		VALUES (app_tenant(), '00000000-0000-7000-8000-0000000000c1', $1, $2, '2026-01-20 10:00+01', 'Dr. Bakker', 'Belastbaar voor 4 uur', true)`, e, r)
	f.exec(t, `INSERT INTO appointments (tenant_id, employee_id, employer_id, starts_at, with_whom, kind, consultation_id)
		VALUES (app_tenant(), $1, $2, '2026-01-20 10:00+01', 'Dr. Bakker', 'company_doctor', '00000000-0000-7000-8000-0000000000c1'),
		       (app_tenant(), $1, $2, '2026-03-01 09:00+01', 'HR', 'employer', NULL)`, e, r)
	f.exec(t, `INSERT INTO decisions (tenant_id, employee_id, employer_id, kind, decision_date, outcome) VALUES (app_tenant(), $1, $2, 'WIA', '2027-01-10', 'Afgewezen')`, e, r)
	f.exec(t, `INSERT INTO insurance_policies (tenant_id, id, employer_id, insurer, policy_number, starts_on)
		VALUES (app_tenant(), '00000000-0000-7000-8000-0000000000d1', $1, 'Verzekeraar NV', 'POL-1', '2025-01-01')`, r)
	f.exec(t, `INSERT INTO policy_participants (tenant_id, employee_id, employer_id, policy_id, participating, reason, starts_on)
		VALUES (app_tenant(), $1, $2, '00000000-0000-7000-8000-0000000000d1', true, 'In dienst', '2025-01-01')`, e, r)
	f.exec(t, `INSERT INTO documents (tenant_id, employer_id, employee_id, category_id, file_name, storage_key, size, content_type, sha256)
		VALUES (app_tenant(), $2, $1, $3, 'brief.pdf', 'k1', 100, 'application/pdf', repeat('a', 64)),
		       (app_tenant(), $2, $1, $4, 'uitslag.pdf', 'k2', 200, 'application/pdf', repeat('b', 64))`, e, r, f.catGeneral, f.catMedical)
	f.exec(t, `INSERT INTO intervention_providers (tenant_id, id, name) VALUES (app_tenant(), '00000000-0000-7000-8000-0000000000e1', 'Coachbureau')`)
	var coach uuid.UUID
	f.inTenant(t, func(tx pgx.Tx) error {
		return tx.QueryRow(f.ctx, `WITH r AS (INSERT INTO roles (tenant_id, name, kind) VALUES (app_tenant(), 'Coach ' || gen_random_uuid(), 'coach') RETURNING id)
			INSERT INTO users (tenant_id, email, name, kind, role_id, provider_id, password_hash)
			SELECT app_tenant(), 'coach-' || gen_random_uuid() || '@example.test', 'Carla Coach', 'coach', r.id,
				'00000000-0000-7000-8000-0000000000e1', 'x' FROM r RETURNING id`).Scan(&coach)
	})
	f.exec(t, `INSERT INTO programmes (tenant_id, id, provider_id, name, executor_mode)
		VALUES (app_tenant(), '00000000-0000-7000-8000-0000000000e2', '00000000-0000-7000-8000-0000000000e1', 'Werkfit', 'own')`)
	f.exec(t, `INSERT INTO intervention_deployments (tenant_id, employee_id, trajectory_id, task_id, programme_id, guidance_trajectory_id, outcome)
		SELECT app_tenant(), $1, trajectory_id, id, '00000000-0000-7000-8000-0000000000e2', trajectory_id, 'no_executor'
		FROM tasks WHERE trajectory_id = '00000000-0000-7000-8000-0000000000b1' AND position = 1`, e)
	f.exec(t, `INSERT INTO dossier_delegations (tenant_id, user_id, employee_id, valid_from, ended_at, reason)
		VALUES (app_tenant(), $1, $2, now() - interval '30 days', now() - interval '2 days', 'Traject afgesloten')`, coach, e)
	for _, u := range users {
		f.exec(t, `INSERT INTO audit_events (tenant_id, user_id, action, subject_type, employee_id, employer_id)
			VALUES (app_tenant(), $1, $2, 'employee', $3, $4)`, u, audit.EmployeeViewed, e, r)
	}
	f.exec(t, `INSERT INTO audit_events (tenant_id, user_id, action, subject_type, employee_id) VALUES (app_tenant(), $1, $2, 'employee', $3)`,
		users[2], audit.EmployeeRefused, e)
}

// opened is an export's two files, read back from the blob store.
type opened struct {
	book   *excelize.File
	twin   map[string]any
	raw    map[export.File][]byte
	sheets []string
}

func (f *fixture) open(t *testing.T, x export.Export) opened {
	t.Helper()
	o := opened{raw: map[export.File][]byte{}}
	for _, file := range []export.File{export.FileXLSX, export.FileJSON} {
		r, err := f.blobs.NewRangeReader(f.ctx, export.StorageKey(f.tenant, x.ID, file), 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if _, err := b.ReadFrom(r); err != nil {
			t.Fatal(err)
		}
		r.Close()
		o.raw[file] = b.Bytes()
		sum := sha256.Sum256(b.Bytes())
		if got := hex.EncodeToString(sum[:]); got != x.SHA256(file) || int64(b.Len()) != x.Size(file) {
			t.Errorf("%s: stored %d bytes (%s), row says %d (%s)", file, b.Len(), got, x.Size(file), x.SHA256(file))
		}
	}
	var err error
	if o.book, err = excelize.OpenReader(bytes.NewReader(o.raw[export.FileXLSX])); err != nil {
		t.Fatalf("open workbook: %v", err)
	}
	t.Cleanup(func() { o.book.Close() })
	o.sheets = o.book.GetSheetList()
	if err := json.Unmarshal(o.raw[export.FileJSON], &o.twin); err != nil {
		t.Fatalf("open JSON twin: %v", err)
	}
	return o
}

// rows returns the rows of a sheet, header first.
func (o opened) rows(t *testing.T, sheet string) [][]string {
	t.Helper()
	rows, err := o.book.GetRows(sheet)
	if err != nil {
		t.Fatalf("sheet %s: %v", sheet, err)
	}
	return rows
}

// section returns a JSON section's rows.
func (o opened) section(t *testing.T, key string) []map[string]any {
	t.Helper()
	sections, _ := o.twin["sections"].(map[string]any)
	list, ok := sections[key].([]any)
	if !ok {
		t.Fatalf("JSON twin has no section %q", key)
	}
	rows := make([]map[string]any, len(list))
	for i, r := range list {
		rows[i], _ = r.(map[string]any)
	}
	return rows
}

// column returns the values of the column with header in a sheet's data rows.
func (o opened) column(t *testing.T, sheet, header string) []string {
	t.Helper()
	rows := o.rows(t, sheet)
	i := slices.Index(rows[0], header)
	if i < 0 {
		t.Fatalf("sheet %s has no column %q: %v", sheet, header, rows[0])
	}
	var col []string
	for _, r := range rows[1:] {
		if i < len(r) {
			col = append(col, r[i])
		} else {
			col = append(col, "")
		}
	}
	return col
}

// texts runs a query returning one text column in the tenant.
func (f *fixture) texts(t *testing.T, sql string, args ...any) []string {
	t.Helper()
	var list []string
	f.inTenant(t, func(tx pgx.Tx) error {
		rows, err := tx.Query(f.ctx, sql, args...)
		if err != nil {
			return err
		}
		list, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	return list
}

var wantSheets = []string{"Overzicht", "Verwerking", "Persoonsgegevens", "Verzuim", "Verzuimpercentages", "Trajecten", "Taken",
	"Rapportages", "Afspraken", "Spreekuren", "Beschikkingen", "Polisdeelname", "Documenten", "Interventies", "Delegaties", "Inzage"}

// An export holds every section of the dossier, the same in the workbook and in the JSON twin,
// as the database has it: all reports (hidden and with an expertise), medical items only for a
// user with medical.view (and the overview says what was left out), and formula-like text as
// text.
func TestExportContent(t *testing.T) {
	t.Parallel()
	f := setup(t)
	rights := []access.Right{access.EmployeeDossierView, access.EmployeesAll, access.EmployeeExportCreate}
	doctor := f.user(t, access.KindProvider, "Dokter Dijkstra", append(rights, access.MedicalView)...)
	hr := f.user(t, access.KindEmployer, "Hanna HR", rights...)
	third := f.user(t, access.KindProvider, "Derde Gebruiker", rights...)
	dossier(t, f, []uuid.UUID{doctor, hr, third})
	deliveries(t, f)

	for _, tc := range []struct {
		name    string
		user    uuid.UUID
		medical bool
	}{{"WithMedical", doctor, true}, {"WithoutMedical", hr, false}} {
		t.Run(tc.name, func(t *testing.T) {
			x := f.request(t, tc.user, "Verzoek 2026-17 van de werknemer")
			if x.Status != export.StatusPending {
				t.Fatalf("new export has status %s", x.Status)
			}
			if err := f.work(f.worker, x, 1); err != nil {
				t.Fatalf("work: %v", err)
			}
			x = f.find(t, x.ID)
			if x.Status != export.StatusDone || x.Medical != tc.medical || x.SectionsDone != x.SectionsTotal {
				t.Fatalf("export after its job: status %s, medical %v, sections %d/%d, error %q", x.Status, x.Medical, x.SectionsDone, x.SectionsTotal, x.Error)
			}
			o := f.open(t, x)
			if diff := cmp.Diff(wantSheets, o.sheets); diff != "" {
				t.Errorf("sheets (-want +got):\n%s", diff)
			}
			checkTwin(t, o)

			e := f.employee.ID
			med := tc.medical
			// Every data section against the database, by queries of the test's own.
			for _, c := range []struct{ sheet, header, sql string }{
				{"Persoonsgegevens", "BSN", "SELECT bsn FROM employees WHERE id = $1"},
				{"Verzuim", "Eerste ziektedag", "SELECT to_char(first_sick_day, 'FMDD-FMMM-YYYY') FROM absences WHERE employee_id = $1 ORDER BY first_sick_day"},
				{"Verzuim", "Toelichting", "SELECT notes FROM absences WHERE employee_id = $1 ORDER BY first_sick_day"},
				{"Verzuimpercentages", "Percentage", "SELECT percentage::text FROM absence_percentages WHERE employee_id = $1 ORDER BY absence_id, from_date"},
				{"Trajecten", "Protocol", "SELECT p.name FROM trajectories t JOIN protocols p ON p.id = t.protocol_id WHERE t.employee_id = $1"},
				{"Taken", "Taak", "SELECT title FROM tasks WHERE employee_id = $1 ORDER BY position"},
				{"Rapportages", "Tekst", "SELECT body FROM reports WHERE employee_id = $1 AND (NOT medical OR $2) ORDER BY created_at"},
				{"Afspraken", "Met", "SELECT with_whom FROM appointments WHERE employee_id = $1 ORDER BY starts_at"},
				{"Spreekuren", "Uitkomst", "SELECT CASE WHEN medical AND NOT $2 THEN '' ELSE outcome END FROM consultations WHERE employee_id = $1"},
				{"Spreekuren", "Bijbehorende afspraak", "SELECT a.id::text FROM consultations c JOIN appointments a ON a.consultation_id = c.id WHERE c.employee_id = $1"},
				{"Beschikkingen", "Uitkomst", "SELECT outcome FROM decisions WHERE employee_id = $1"},
				{"Polisdeelname", "Reden", "SELECT reason FROM policy_participants WHERE employee_id = $1"},
				{"Documenten", "Naam", "SELECT d.file_name FROM documents d JOIN document_categories c ON c.id = d.category_id WHERE d.employee_id = $1 AND (NOT c.medical OR $2) ORDER BY d.uploaded_at, d.id"},
				{"Interventies", "Programma", "SELECT g.name FROM intervention_deployments d JOIN programmes g ON g.id = d.programme_id WHERE d.employee_id = $1"},
				{"Interventies", "Uitkomst", "SELECT 'Geen standaard uitvoerder' FROM intervention_deployments WHERE employee_id = $1"},
				{"Delegaties", "Reden van beëindiging", "SELECT reason FROM dossier_delegations WHERE employee_id = $1"},
				{"Inzage", "Gebruiker", "SELECT name FROM (SELECT a.at, a.id, coalesce(u.name, '') AS name FROM audit_events a LEFT JOIN users u ON u.id = a.user_id WHERE a.employee_id = $1 AND a.at < (SELECT at FROM audit_events WHERE action = 'export.generated' AND subject_id = '" + x.ID.String() + "') " +
					"UNION ALL SELECT r.finished_at, r.id, '' FROM datastream_runs r WHERE r.status = 'succeeded' AND r.id IN (SELECT run_id FROM datastream_run_employees WHERE $1 = ANY(employee_ids))) e ORDER BY at, id"},
			} {
				args := []any{e}
				if strings.Contains(c.sql, "$2") {
					args = append(args, med)
				}
				want := f.texts(t, c.sql, args...)
				if diff := cmp.Diff(want, o.column(t, c.sheet, c.header)); diff != "" {
					t.Errorf("sheet %s, column %s (-database +workbook):\n%s", c.sheet, c.header, diff)
				}
			}
			// The hidden report and the one with an expertise are there; the medical one only with medical.view.
			bodies := o.column(t, "Rapportages", "Tekst")
			for _, b := range []string{"Verborgen verslag", "Oordeel arbeidsdeskundige"} {
				if !slices.Contains(bodies, b) {
					t.Errorf("report %q is missing: %v", b, bodies)
				}
			}
			if got := slices.Contains(bodies, "Medische diagnose"); got != med {
				t.Errorf("medical report included: %v, want %v", got, med)
			}
			causes := o.column(t, "Verzuim", "Oorzaak (medisch)")
			if want := map[bool]string{true: "Ziekte", false: ""}[med]; causes[0] != want {
				t.Errorf("cause of the first absence: %q, want %q", causes[0], want)
			}
			users := o.column(t, "Inzage", "Gebruiker")
			for _, u := range []string{"Dokter Dijkstra", "Hanna HR", "Derde Gebruiker"} {
				if !slices.Contains(users, u) {
					t.Errorf("Inzage lacks the events of %s: %v", u, users)
				}
			}
			if actions := o.column(t, "Inzage", "Actie"); !slices.Contains(actions, i18n.Translate("nl", "action."+audit.EmployeeRefused)) {
				t.Errorf("Inzage lacks the refusal in words: %v", actions)
			}
			// Formula-like text is text: no formula in any cell, the value as typed.
			for _, c := range []struct{ sheet, cell, want string }{{"Verzuim", "G2", "+1"}, {"Verzuim", "G3", "@x"},
				{"Taken", "D3", `=HYPERLINK("http://evil.example","klik")`}} {
				formula, err := o.book.GetCellFormula(c.sheet, c.cell)
				if err != nil || formula != "" {
					t.Errorf("%s!%s has formula %q (%v)", c.sheet, c.cell, formula, err)
				}
				if got, _ := o.book.GetCellValue(c.sheet, c.cell); got != c.want {
					t.Errorf("%s!%s = %q, want %q", c.sheet, c.cell, got, c.want)
				}
				typ, _ := o.book.GetCellType(c.sheet, c.cell)
				if typ != excelize.CellTypeInlineString && typ != excelize.CellTypeSharedString {
					t.Errorf("%s!%s has type %v, want a string", c.sheet, c.cell, typ)
				}
			}
			// The overview: what is left out, and every sheet's row count.
			overview := map[string]string{}
			for _, r := range o.rows(t, "Overzicht")[1:] {
				overview[r[0]] = r[2]
			}
			wantLeft := map[bool]string{true: "0", false: "1"}[med]
			for _, k := range []string{"medical_reports_left_out", "causes_left_out", "outcomes_left_out", "documents_left_out"} {
				if overview[k] != wantLeft {
					t.Errorf("overview %s = %q, want %q", k, overview[k], wantLeft)
				}
			}
			for key, sheet := range export.SheetNames() {
				if key == "overview" {
					continue
				}
				if got, want := overview["rows."+key], strconv.Itoa(len(o.rows(t, sheet))-1); got != want {
					t.Errorf("overview says sheet %s has %s rows, it has %s", sheet, got, want)
				}
			}
			if overview["on_behalf_of"] != "Verzoek 2026-17 van de werknemer" {
				t.Errorf("on behalf of: %q", overview["on_behalf_of"])
			}
			if items := o.column(t, "Verwerking", "Onderdeel"); !slices.Contains(items, "Coach met gedelegeerde toegang: Carla Coach") {
				t.Errorf("Verwerking lacks the coach: %v", items)
			}
			// The datastreams that delivered his data without pseudonymisation, as the database
			// records them; each delivery is also a line of Inzage, to the account.
			var streams [][]string
			for _, r := range o.rows(t, "Verwerking")[1:] {
				if strings.HasPrefix(r[1], "Datastream") {
					streams = append(streams, r)
				}
			}
			want := wantDatastreamRows(t, f)
			if diff := cmp.Diff(want, streams); diff != "" || len(want) != 1 {
				t.Errorf("Verwerking's datastream recipients (-database +workbook), want exactly Warehouse:\n%s", diff)
			}
			var delivered []string
			orgs := o.column(t, "Inzage", "Organisatie")
			for i, a := range o.column(t, "Inzage", "Actie") {
				if a == i18n.Translate("nl", "action."+audit.DatastreamConfigDelivered) {
					delivered = append(delivered, orgs[i])
				}
			}
			if diff := cmp.Diff([]string{"BI-warehouse (Warehouse)", "BI-warehouse (Warehouse)"}, delivered); diff != "" {
				t.Errorf("Inzage's datastream deliveries (-want +got):\n%s", diff)
			}
			panes, err := o.book.GetPanes("Rapportages")
			if err != nil || !panes.Freeze || panes.YSplit != 1 {
				t.Errorf("Rapportages panes %+v (%v), want the header row frozen", panes, err)
			}
			if n := f.count(t, "SELECT count(*) FROM audit_events WHERE action = $1 AND subject_id = $2 AND employee_id = $3 AND user_id = $4",
				audit.ExportGenerated, x.ID, e, tc.user); n != 1 {
				t.Errorf("%d generation events (the copy of the dossier), want 1", n)
			}
		})
	}
}

// checkTwin compares every sheet with its JSON section, row by row and cell by cell: the JSON
// value shown as the workbook shows it must be the cell.
func checkTwin(t *testing.T, o opened) {
	t.Helper()
	for key, sheet := range export.SheetNames() {
		rows := o.rows(t, sheet)
		twin := o.section(t, key)
		if len(rows)-1 != len(twin) {
			t.Errorf("sheet %s has %d rows, JSON section %s %d", sheet, len(rows)-1, key, len(twin))
			continue
		}
		cols := export.Columns(key)
		if diff := cmp.Diff(len(cols), len(rows[0])); diff != "" {
			t.Errorf("sheet %s header: %v", sheet, rows[0])
		}
		for i, r := range twin {
			cells := rows[i+1]
			for j, c := range cols {
				cell := ""
				if j < len(cells) {
					cell = cells[j]
				}
				if want := display(c, r[c.Key]); cell != want {
					t.Errorf("sheet %s row %d column %s: cell %q, JSON %v (%q)", sheet, i+2, c.Key, cell, r[c.Key], want)
				}
			}
		}
	}
}

// display is a JSON value as the workbook shows it.
func display(c export.Column, v any) string {
	if v == nil {
		return ""
	}
	switch c.Kind {
	case "int":
		return strconv.FormatFloat(v.(float64), 'f', -1, 64)
	case "bool":
		if v.(bool) {
			return "ja"
		}
		return "nee"
	case "date":
		d, _ := time.Parse(time.DateOnly, v.(string))
		return d.Format("2-1-2006")
	case "time":
		d, _ := time.Parse(time.RFC3339Nano, v.(string))
		return i18n.DateTime(d)
	case "label":
		return export.Label(c.Label, v.(string))
	}
	return fmt.Sprint(v)
}

// The application's role cannot delete an export row: exports go only by expiry, which keeps
// the row.
func TestExportsCannotBeDeleted(t *testing.T) {
	t.Parallel()
	f := setup(t)
	u := f.user(t, access.KindProvider, "Piet", access.EmployeeDossierView, access.EmployeesAll, access.EmployeeExportCreate)
	x := f.request(t, u, "")
	err := database.InTenant(f.ctx, f.db.Pool, f.tenant, func(tx pgx.Tx) error {
		_, err := tx.Exec(f.ctx, "DELETE FROM employee_exports WHERE id = $1", x.ID)
		return err
	})
	if err == nil {
		t.Errorf("the application role deleted an export row")
	}
	if n := f.count(t, "SELECT count(*) FROM employee_exports"); n != 1 {
		t.Errorf("%d exports, want 1", n)
	}
}

// A second export of the same employee by the same user waits for the first; the reason is
// limited in length; a user without the right cannot start one.
func TestRequestExportRefusals(t *testing.T) {
	t.Parallel()
	f := setup(t)
	u := f.user(t, access.KindProvider, "Piet", access.EmployeeDossierView, access.EmployeesAll, access.EmployeeExportCreate)
	noRight := f.user(t, access.KindProvider, "Klaas", access.EmployeeDossierView, access.EmployeesAll)
	other := f.user(t, access.KindProvider, "Jet", access.EmployeeDossierView, access.EmployeesAll, access.EmployeeExportCreate)
	f.request(t, u, "")
	try := func(user uuid.UUID, reason string) error {
		return database.InTenant(f.ctx, f.db.Pool, f.tenant, func(tx pgx.Tx) error {
			_, err := export.RequestExport(f.ctx, tx, f.rc, f.editor(t, user), f.employee.ID, reason)
			return err
		})
	}
	long := strings.Repeat("x", export.MaxReason+1)
	for _, tc := range []struct {
		name   string
		user   uuid.UUID
		reason string
		want   apperr.Code
	}{
		{"SecondWhileTheFirstRuns", u, "", apperr.ECONFLICT},
		{"WithoutTheRight", noRight, "", apperr.EFORBIDDEN},
		{"ReasonTooLong", other, long, apperr.EINVALID},
	} {
		if err := try(tc.user, tc.reason); apperr.CodeOf(err) != tc.want {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
		}
	}
	if n := f.count(t, "SELECT count(*) FROM employee_exports"); n != 1 {
		t.Errorf("%d exports, want 1", n)
	}
}
