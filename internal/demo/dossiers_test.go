package demo_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/database/dbtest"
	"github.com/dossierkast/dossierkast/internal/demo"
	"github.com/dossierkast/dossierkast/internal/document"
	"github.com/dossierkast/dossierkast/internal/org"
)

// TestDemoShowsTheRules: the demo's categories, matrix, links, blacklist, delegations and
// documents put every rule of the access engine on screen.
func TestDemoShowsTheRules(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.New(t)
	blobs, err := document.OpenBlobStore(ctx, "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer blobs.Close()
	const employees = 40
	res, err := demo.Load(ctx, db.Pool, demo.Options{Employees: employees, Examples: true, Blobs: blobs})
	if err != nil {
		t.Fatal(err)
	}
	// A second run adds nothing.
	if _, err := demo.Load(ctx, db.Pool, demo.Options{Employees: employees, Examples: true, Blobs: blobs}); err != nil {
		t.Fatal(err)
	}

	visible := map[string]int{}
	var employerDocuments, employeesWithDocuments, medicalForHR int
	var cases struct{ absences, running, trajectories, tasks, participants, changes int }
	var sample document.Document
	err = database.InTenant(ctx, db.Pool, res.TenantID, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM documents WHERE employee_id IS NULL),
			(SELECT count(DISTINCT employee_id) FROM documents)`).Scan(&employerDocuments, &employeesWithDocuments); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM absences), (SELECT count(*) FROM absences WHERE recovery_date IS NULL),
			(SELECT count(*) FROM trajectories t JOIN protocols p ON p.id = t.protocol_id
			WHERE p.kind NOT IN ('intervention_deployment', 'intervention_guidance')),
			(SELECT count(*) FROM tasks), (SELECT count(*) FROM policy_participants), (SELECT count(*) FROM changes)`).
			Scan(&cases.absences, &cases.running, &cases.trajectories, &cases.tasks, &cases.participants, &cases.changes); err != nil {
			return err
		}
		for _, l := range res.Logins {
			users, _, err := org.FindUsers(ctx, tx, org.UserFilter{Query: l.Email, Limit: 1})
			if err != nil {
				return err
			}
			_, p, err := org.LoadPrincipal(ctx, tx, res.TenantID, users[0].ID)
			if err != nil {
				return err
			}
			_, visible[l.Email], err = org.FindEmployees(ctx, tx, org.EmployeeFilter{Viewer: p, Limit: 1})
			if err != nil {
				return err
			}
			if l.Email == "hr@demo.dossierkast.nl" {
				cats, err := access.LoadCategories(ctx, tx, p)
				if err != nil {
					return err
				}
				all, err := document.FindCategories(ctx, tx)
				for _, c := range all {
					if _, ok := cats[c.ID]; ok && c.Medical {
						medicalForHR++
					}
				}
				if err != nil {
					return err
				}
			}
		}
		var id uuid.UUID
		if err := tx.QueryRow(ctx, "SELECT id FROM documents WHERE employee_id IS NOT NULL LIMIT 1").Scan(&id); err != nil {
			return err
		}
		sample, err = document.FindDocumentByID(ctx, tx, id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if employerDocuments != 3*2 || employeesWithDocuments != employees {
		t.Errorf("%d employer documents and %d employees with documents, want 6 (two per employer, once) and all %d",
			employerDocuments, employeesWithDocuments, employees)
	}
	// A third of the employees are sick once when their employment covers it
	// (casefile.DemoAbsence); a trajectory guides each running absence.
	if cases.absences == 0 || cases.absences > (employees+2)/3 || cases.trajectories != cases.running ||
		cases.tasks < cases.trajectories*5 || cases.participants != employees || cases.changes == 0 {
		t.Errorf("case data %+v, want at most %d absences, a trajectory with its tasks per running one, %d participants, tracked changes",
			cases, (employees+2)/3, employees)
	}
	if n := visible["beheerder@demo.dossierkast.nl"]; n != employees {
		t.Errorf("administrator sees %d employees, want all %d", n, employees)
	}
	if n := visible["leidinggevende@demo.dossierkast.nl"]; n == 0 || n >= employees/2 {
		t.Errorf("manager sees %d employees, want the few of his linked department", n)
	}
	if n := visible["coach@demo.dossierkast.nl"]; n != 2 {
		t.Errorf("coach sees %d employees, want his 2 delegated clients", n)
	}
	if medicalForHR != 0 {
		t.Errorf("HR may read %d medical categories, want none", medicalForHR)
	}

	r, err := blobs.NewRangeReader(ctx, sample.StorageKey, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("%PDF-1.4")) || !bytes.HasSuffix(b, []byte("%%EOF\n")) || http.DetectContentType(b) != "application/pdf" {
		t.Errorf("demo document is not a PDF: %q…", b[:min(40, len(b))])
	}
}

// TestDemoCaseDataBeyondTheFirst: employees past the first CaseEmployees get their case data
// in bulk, by the same pattern as the first ones.
func TestDemoCaseDataBeyondTheFirst(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.New(t)
	const employees = demo.CaseEmployees + 100
	res, err := demo.Load(ctx, db.Pool, demo.Options{Employees: employees, Examples: true})
	if err != nil {
		t.Fatal(err)
	}
	var absences, running, trajectories, tasks, participants, medicalReports, tracked, consultations, fulfilled int
	err = database.InTenant(ctx, db.Pool, res.TenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM absences), (SELECT count(*) FROM absences WHERE recovery_date IS NULL),
			(SELECT count(*) FROM trajectories t JOIN protocols p ON p.id = t.protocol_id
			WHERE p.kind NOT IN ('intervention_deployment', 'intervention_guidance')),
			(SELECT count(*) FROM tasks), (SELECT count(*) FROM policy_participants),
			(SELECT count(*) FROM reports WHERE medical), (SELECT count(*) FROM changes WHERE entity = 'absences'),
			(SELECT count(*) FROM consultations WHERE medical),
			(SELECT count(*) FROM appointments a JOIN consultations c ON c.id = a.consultation_id AND c.employee_id = a.employee_id)`).
			Scan(&absences, &running, &trajectories, &tasks, &participants, &medicalReports, &tracked, &consultations, &fulfilled)
	})
	if err != nil {
		t.Fatal(err)
	}
	// A third of the employees are sick once when their employment covers it
	// (casefile.DemoAbsence); a trajectory guides each running absence.
	if absences < (employees+2)/6 || absences > (employees+2)/3 || trajectories != running || medicalReports != absences ||
		tracked != absences || participants != employees || tasks < trajectories*5 {
		t.Errorf("absences %d (%d running), trajectories %d, medical reports %d, tracked %d, participants %d, tasks %d; want %d–%d absences, a trajectory per running one, a medical report and a change per absence, %d participants, ≥ %d tasks",
			absences, running, trajectories, medicalReports, tracked, participants, tasks, (employees+2)/6, (employees+2)/3, employees, trajectories*5)
	}
	if consultations != absences || fulfilled != absences {
		t.Errorf("consultations %d, appointments matched to them %d; want %d each", consultations, fulfilled, absences)
	}
	// A second run adds nothing.
	if _, err := demo.Load(ctx, db.Pool, demo.Options{Employees: employees, Examples: true}); err != nil {
		t.Fatal(err)
	}
	var again int
	database.InTenant(ctx, db.Pool, res.TenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, "SELECT count(*) FROM absences").Scan(&again)
	})
	if again != absences {
		t.Errorf("second run: %d absences, want %d", again, absences)
	}
}
