package demo

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/document"
	"github.com/dossierkast/dossierkast/internal/org"
)

// DocumentEmployees is how many employees (the first by personnel number) get demo documents:
// enough to show every rule, few enough that a large demo still loads quickly.
const DocumentEmployees = 300

// categorySpec is a demo document category and what each role may do in it.
type categorySpec struct {
	name    string
	dossier document.Dossier
	medical bool
	levels  map[string]access.Level // by role name; absent: none
}

var (
	r, w          = access.LevelRead, access.LevelWrite
	categorySpecs = []categorySpec{
		{"Contracten en afspraken", document.DossierEmployer, false,
			map[string]access.Level{"Beheerder": w, "Casemanager": r, "Bedrijfsarts": r, "HR-medewerker": w}},
		{"Correspondentie werkgever", document.DossierEmployer, false,
			map[string]access.Level{"Beheerder": w, "Casemanager": w, "HR-medewerker": w}},
		{"Verzuim", document.DossierEmployee, false,
			map[string]access.Level{"Beheerder": w, "Casemanager": w, "Bedrijfsarts": w, "HR-medewerker": w, "Leidinggevende": r, "Coach": r}},
		{"Re-integratie", document.DossierEmployee, false,
			map[string]access.Level{"Beheerder": w, "Casemanager": w, "Bedrijfsarts": w, "HR-medewerker": r, "Leidinggevende": r, "Coach": w}},
		{"Correspondentie", document.DossierEmployee, false,
			map[string]access.Level{"Beheerder": w, "Casemanager": w, "HR-medewerker": w, "Leidinggevende": w}},
		{"Resultaten interventie", document.DossierEmployee, false,
			map[string]access.Level{"Beheerder": w, "Casemanager": w, "Bedrijfsarts": r, "HR-medewerker": r, "Coach": w}},
		{"Medisch", document.DossierEmployee, true,
			map[string]access.Level{"Beheerder": w, "Bedrijfsarts": w}},
	}
)

// ensureAccess gives the demo tenant its document categories and matrix, and the access facts
// that show each rule at work: the manager sees one department through a link, HR has one
// employee on his blacklist, the coach has two delegated dossiers. Safe to run again.
func ensureAccess(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, employers []plannedEmployer) error {
	roles, err := org.FindRoles(ctx, tx)
	if err != nil {
		return err
	}
	roleIDs := map[string]uuid.UUID{}
	for _, ro := range roles {
		roleIDs[ro.Name] = ro.ID
	}
	cats, err := document.FindCategories(ctx, tx)
	if err != nil {
		return err
	}
	for _, spec := range categorySpecs {
		var cat document.Category
		for _, c := range cats {
			if c.Name == spec.name && c.Dossier == spec.dossier {
				cat = c
			}
		}
		if cat.ID == uuid.Nil {
			if cat, err = document.CreateCategory(ctx, tx, access.System(audit.Actor{}), document.Category{Name: spec.name, Dossier: spec.dossier, Medical: spec.medical}); err != nil {
				return fmt.Errorf("category %s: %w", spec.name, err)
			}
		}
		for role, level := range spec.levels {
			if _, err := access.SetRoleLevels(ctx, tx, access.System(audit.Actor{}), roleIDs[role], map[uuid.UUID]access.Level{cat.ID: level}); err != nil {
				return fmt.Errorf("matrix %s × %s: %w", role, spec.name, err)
			}
		}
	}

	users := map[string]uuid.UUID{}
	for _, s := range loginSpecs {
		found, _, err := org.FindUsers(ctx, tx, org.UserFilter{Query: s.email, Limit: 1})
		if err != nil || len(found) == 0 {
			return fmt.Errorf("demo user %s: %w", s.email, err)
		}
		users[s.email] = found[0].ID
	}
	admin := users["beheerder@demo.dossierkast.nl"]
	_, principal, err := org.LoadPrincipal(ctx, tx, tenantID, admin)
	if err != nil {
		return err
	}
	ed := access.Editor{Principal: principal, Actor: audit.Actor{UserID: &admin}}

	depts, err := org.FindDepartments(ctx, tx, employers[1].id)
	if err != nil {
		return fmt.Errorf("departments of %s: %w", employers[1].spec.name, err)
	}
	if err := access.LinkDepartment(ctx, tx, ed, users["leidinggevende@demo.dossierkast.nl"], depts[0].ID); err != nil {
		return fmt.Errorf("link manager: %w", err)
	}

	// A very small demo may leave the first employer with fewer than three employees.
	first, err := firstEmployees(ctx, tx, employers[0].id, 3)
	if err != nil {
		return fmt.Errorf("employees of %s: %w", employers[0].spec.name, err)
	}
	if len(first) == 0 {
		return nil
	}
	hr := users["hr@demo.dossierkast.nl"]
	if err := access.BlacklistEmployee(ctx, tx, ed, hr, first[0], "Bezwaar van de werknemer tegen inzage (AVG)"); err != nil {
		return fmt.Errorf("blacklist: %w", err)
	}
	coach := users["coach@demo.dossierkast.nl"]
	for _, e := range first[1:] {
		var active bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM dossier_delegations WHERE user_id = $1 AND employee_id = $2
			AND ended_at IS NULL)`, coach, e).Scan(&active); err != nil {
			return err
		}
		if !active {
			if _, err := access.GrantDelegation(ctx, tx, ed, coach, e, "Begeleiding bij re-integratie (demo)"); err != nil {
				return fmt.Errorf("delegation: %w", err)
			}
		}
	}
	return nil
}

// firstEmployees returns the ids of an employer's first n employees by personnel number.
func firstEmployees(ctx context.Context, tx pgx.Tx, employerID uuid.UUID, n int) ([]uuid.UUID, error) {
	rows, err := tx.Query(ctx, "SELECT id FROM employees WHERE employer_id = $1 ORDER BY personnel_number LIMIT $2", employerID, n)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
}

// ensureDocuments gives each employer two documents and each of the first DocumentEmployees
// employees a few, as small generated PDFs, skipping dossiers that already hold documents. An
// employee's documents tell his absence (casefile.DemoAbsence), each dated within it: the sick
// report on the first day, the company doctor's report on the day of the consultation, the
// plan of action six weeks in and the recovery report on the day of recovery, as far as the
// absence has come; an employee without one gets an invitation to a preventive consultation,
// dated within his employment. Each is added by the user whose work it is (the company doctor,
// the case manager, the administrator for the employers'), so it names who added it.
func ensureDocuments(ctx context.Context, pool *pgxpool.Pool, tenantID uuid.UUID, blobs document.BlobStore, out io.Writer) (int, error) {
	svc := document.NewService(blobs, 0, slog.New(slog.NewTextHandler(io.Discard, nil)))
	var plans []documentPlan
	cats := map[string]uuid.UUID{}
	editors := map[string]access.Editor{}
	err := database.InTenant(ctx, pool, tenantID, func(tx pgx.Tx) error {
		for _, email := range []string{adminEmail, doctorEmail, caseManagerEmail} {
			users, _, err := org.FindUsers(ctx, tx, org.UserFilter{Query: email, Limit: 1})
			if err != nil || len(users) == 0 {
				return fmt.Errorf("demo user %s: %w", email, err)
			}
			_, p, err := org.LoadPrincipal(ctx, tx, tenantID, users[0].ID)
			if err != nil {
				return err
			}
			id := users[0].ID
			editors[email] = access.Editor{Principal: p, Actor: audit.Actor{UserID: &id}}
		}
		all, err := document.FindCategories(ctx, tx)
		for _, c := range all {
			cats[string(c.Dossier)+"/"+c.Name] = c.ID
		}
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT r.id, r.name FROM employers r
			WHERE NOT EXISTS (SELECT 1 FROM documents d WHERE d.employer_id = r.id AND d.employee_id IS NULL) ORDER BY r.name`)
		if err != nil {
			return err
		}
		var id uuid.UUID
		var name string
		if _, err := pgx.ForEachRow(rows, []any{&id, &name}, func() error {
			plans = append(plans, documentPlan{dossier: document.DossierEmployer, employerID: id, name: name})
			return nil
		}); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT e.id, e.employer_id, e.first_name || ' ' || e.name_prefix || ' ' || e.last_name,
				e.employment_start, e.employment_end, a.first_sick_day, a.recovery_date
			FROM (SELECT * FROM employees ORDER BY personnel_number LIMIT $1) e
			LEFT JOIN LATERAL (SELECT a.first_sick_day, a.recovery_date FROM absences a WHERE a.employee_id = e.id
				ORDER BY a.first_sick_day DESC LIMIT 1) a ON true
			WHERE NOT EXISTS (SELECT 1 FROM documents d WHERE d.employee_id = e.id)
			ORDER BY e.personnel_number`, DocumentEmployees)
		if err != nil {
			return err
		}
		var p documentPlan
		_, err = pgx.ForEachRow(rows, []any{&id, &p.employerID, &p.name, &p.start, &p.end, &p.sick, &p.recovered}, func() error {
			e := id
			p.dossier, p.employeeID = document.DossierEmployee, &e
			plans = append(plans, p)
			return nil
		})
		return err
	})
	if err != nil {
		return 0, err
	}
	made := 0
	today := time.Now().UTC().Truncate(24 * time.Hour)
	for i, p := range plans {
		for _, d := range demoDocuments(p, i, today) {
			date := d.date
			ed := editors[d.by]
			n := document.NewDocument{EmployerID: p.employerID, EmployeeID: p.employeeID, CategoryID: cats[string(p.dossier)+"/"+d.category],
				FileName: d.file, DocumentDate: &date, UploadedBy: ed.Actor.UserID}
			if _, err := svc.Upload(ctx, pool, ed, tenantID, n, bytes.NewReader(pdf(d.title, d.lines))); err != nil {
				return made, fmt.Errorf("document %s: %w", d.file, err)
			}
			made++
		}
	}
	if made > 0 {
		fmt.Fprintf(out, "demo: %d documents added\n", made)
	}
	return made, nil
}

// The demo users who add the demo's documents.
const (
	adminEmail       = "beheerder@demo.dossierkast.nl"
	doctorEmail      = "bedrijfsarts@demo.dossierkast.nl"
	caseManagerEmail = "casemanager@demo.dossierkast.nl"
)

// documentPlan is a dossier to fill: an employer's, or an employee's with his employment and
// latest absence (sick nil: none).
type documentPlan struct {
	dossier         document.Dossier
	employerID      uuid.UUID
	employeeID      *uuid.UUID
	name            string
	start, end      *time.Time
	sick, recovered *time.Time
}

type demoDocument struct {
	category, file, title string
	lines                 []string
	date                  time.Time
	by                    string // e-mail of the demo user who adds it
}

// demoDocuments returns the documents of one dossier as of today; i varies the dates of those
// that do not follow from an absence.
func demoDocuments(p documentPlan, i int, today time.Time) []demoDocument {
	if p.dossier == document.DossierEmployer {
		day := time.Date(2026, time.Month(1+i%9), 1+i%27, 0, 0, 0, 0, time.UTC)
		return []demoDocument{
			{"Contracten en afspraken", "Dienstverleningsovereenkomst " + p.name + ".pdf", "Dienstverleningsovereenkomst",
				[]string{"Werkgever: " + p.name, "Looptijd: 1 januari 2026 tot en met 31 december 2027", "Dienstverlening: verzuimbegeleiding en re-integratie"}, day, adminEmail},
			{"Correspondentie werkgever", "Verzuimprotocol " + p.name + ".pdf", "Verzuimprotocol",
				[]string{"Werkgever: " + p.name, "Ziekmelden voor 9.00 uur bij de leidinggevende", "Bereikbaar blijven op het opgegeven adres"}, day, adminEmail},
		}
	}
	if p.sick == nil {
		// A day of his employment, at most a hundred days ago.
		day := today.AddDate(0, 0, -(10 + i%90))
		if p.end != nil && p.end.Before(day) {
			day = *p.end
		}
		if p.start != nil && p.start.After(day) {
			day = *p.start
		}
		return []demoDocument{
			{"Correspondentie", "Uitnodiging preventief spreekuur.pdf", "Uitnodiging preventief spreekuur", []string{"Werknemer: " + p.name,
				"U kunt zonder verzuim een gesprek met de bedrijfsarts aanvragen.", "Datum: " + day.Format("2-1-2006")}, day, caseManagerEmail},
		}
	}
	first := *p.sick
	last := today
	if p.recovered != nil {
		last = *p.recovered
	}
	docs := []demoDocument{
		{"Verzuim", "Ziekmelding.pdf", "Ziekmelding", []string{"Werknemer: " + p.name, "Eerste ziektedag: " + first.Format("2-1-2006"),
			"Verwachte duur: onbekend"}, first, doctorEmail},
		{"Medisch", "Spreekuurverslag bedrijfsarts.pdf", "Spreekuurverslag", []string{"Werknemer: " + p.name,
			"Beperkingen: tijdelijk geen tilwerk", "Volgend spreekuur over vier weken"}, first.AddDate(0, 0, 7), doctorEmail},
	}
	if plan := first.AddDate(0, 0, 42); !plan.After(last) {
		docs = append(docs, demoDocument{"Re-integratie", "Plan van aanpak.pdf", "Plan van aanpak", []string{"Werknemer: " + p.name,
			"Doel: terugkeer in eigen werk", "Evaluatie na zes weken"}, plan, doctorEmail})
	}
	if p.recovered != nil {
		docs = append(docs, demoDocument{"Verzuim", "Hersteldmelding.pdf", "Hersteldmelding", []string{"Werknemer: " + p.name,
			"Hersteld per: " + p.recovered.Format("2-1-2006"), "Werkhervatting in eigen werk"}, *p.recovered, doctorEmail})
	}
	return docs
}
