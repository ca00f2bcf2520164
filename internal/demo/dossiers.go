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
// employees a few, as small generated PDFs, skipping dossiers that already hold documents.
func ensureDocuments(ctx context.Context, pool *pgxpool.Pool, tenantID uuid.UUID, blobs document.BlobStore, out io.Writer) (int, error) {
	svc := document.NewService(blobs, 0, slog.New(slog.NewTextHandler(io.Discard, nil)))
	type plan struct {
		dossier    document.Dossier
		employerID uuid.UUID
		employeeID *uuid.UUID
		name       string
	}
	var plans []plan
	cats := map[string]uuid.UUID{}
	err := database.InTenant(ctx, pool, tenantID, func(tx pgx.Tx) error {
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
			plans = append(plans, plan{document.DossierEmployer, id, nil, name})
			return nil
		}); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT e.id, e.employer_id, e.first_name || ' ' || e.name_prefix || ' ' || e.last_name
			FROM (SELECT * FROM employees ORDER BY personnel_number LIMIT $1) e
			WHERE NOT EXISTS (SELECT 1 FROM documents d WHERE d.employee_id = e.id)`, DocumentEmployees)
		if err != nil {
			return err
		}
		var employerID uuid.UUID
		_, err = pgx.ForEachRow(rows, []any{&id, &employerID, &name}, func() error {
			e := id
			plans = append(plans, plan{document.DossierEmployee, employerID, &e, name})
			return nil
		})
		return err
	})
	if err != nil {
		return 0, err
	}
	made := 0
	for i, p := range plans {
		for _, d := range demoDocuments(p.dossier, p.name, i) {
			date := d.date
			n := document.NewDocument{EmployerID: p.employerID, EmployeeID: p.employeeID, CategoryID: cats[string(p.dossier)+"/"+d.category],
				FileName: d.file, DocumentDate: &date}
			if _, err := svc.Upload(ctx, pool, access.System(audit.Actor{}), tenantID, n, bytes.NewReader(pdf(d.title, d.lines))); err != nil {
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

type demoDocument struct {
	category, file, title string
	lines                 []string
	date                  time.Time
}

// demoDocuments returns the documents of one dossier; i varies the dates.
func demoDocuments(dossier document.Dossier, name string, i int) []demoDocument {
	day := time.Date(2026, time.Month(1+i%9), 1+i%27, 0, 0, 0, 0, time.UTC)
	if dossier == document.DossierEmployer {
		return []demoDocument{
			{"Contracten en afspraken", "Dienstverleningsovereenkomst " + name + ".pdf", "Dienstverleningsovereenkomst",
				[]string{"Werkgever: " + name, "Looptijd: 1 januari 2026 tot en met 31 december 2027", "Dienstverlening: verzuimbegeleiding en re-integratie"}, day},
			{"Correspondentie werkgever", "Verzuimprotocol " + name + ".pdf", "Verzuimprotocol",
				[]string{"Werkgever: " + name, "Ziekmelden voor 9.00 uur bij de leidinggevende", "Bereikbaar blijven op het opgegeven adres"}, day},
		}
	}
	return []demoDocument{
		{"Verzuim", "Ziekmelding.pdf", "Ziekmelding", []string{"Werknemer: " + name, "Eerste ziektedag: " + day.Format("2-1-2006"),
			"Verwachte duur: onbekend"}, day},
		{"Re-integratie", "Plan van aanpak.pdf", "Plan van aanpak", []string{"Werknemer: " + name,
			"Doel: terugkeer in eigen werk", "Evaluatie na zes weken"}, day.AddDate(0, 0, 42)},
		{"Medisch", "Spreekuurverslag bedrijfsarts.pdf", "Spreekuurverslag", []string{"Werknemer: " + name,
			"Beperkingen: tijdelijk geen tilwerk", "Volgend spreekuur over vier weken"}, day.AddDate(0, 0, 14)},
	}
}
