package demo_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/database/dbtest"
	"github.com/dossierkast/dossierkast/internal/demo"
	"github.com/dossierkast/dossierkast/internal/document"
)

// historyRules are what a prospective customer checks in the demo's first minute (issue 15.3):
// each query counts the rows that break its rule, so every one must count none. Absences are
// read as periods from the first sick day to the recovery, or to today while they run.
var historyRules = []struct{ rule, violations string }{
	{"an absence lies within the employment", `SELECT count(*) FROM absences a JOIN employees e ON e.id = a.employee_id
		WHERE e.employment_start > a.first_sick_day OR e.employment_end < coalesce(a.recovery_date, current_date)`},
	{"an absence has started and recovered by today", `SELECT count(*) FROM absences
		WHERE first_sick_day > current_date OR recovery_date > current_date`},
	{"a running absence trajectory belongs to a running absence from its first day", `SELECT count(*) FROM trajectories t
		JOIN protocols p ON p.id = t.protocol_id AND p.kind NOT IN ('intervention_deployment', 'intervention_guidance')
		WHERE t.status = 'open' AND NOT EXISTS (SELECT 1 FROM absences a WHERE a.employee_id = t.employee_id
			AND a.recovery_date IS NULL AND a.first_sick_day = t.start_date)`},
	{"a running intervention trajectory starts within a running absence", `SELECT count(*) FROM trajectories t
		JOIN protocols p ON p.id = t.protocol_id AND p.kind IN ('intervention_deployment', 'intervention_guidance')
		WHERE t.status = 'open' AND NOT EXISTS (SELECT 1 FROM absences a WHERE a.employee_id = t.employee_id
			AND a.recovery_date IS NULL AND a.first_sick_day <= t.start_date)`},
	{"a recovered absence has no running trajectory", `SELECT count(*) FROM absences a
		WHERE a.recovery_date IS NOT NULL AND EXISTS (SELECT 1 FROM trajectories t
			WHERE t.employee_id = a.employee_id AND t.status = 'open' AND t.start_date = a.first_sick_day)`},
	{"a closed trajectory has no open task", `SELECT count(*) FROM tasks k JOIN trajectories t ON t.id = k.trajectory_id
		WHERE t.status = 'closed' AND k.status = 'open'`},
	{"a generated task is done only once due, after its trajectory started, and not in the future", `SELECT count(*) FROM tasks k
		JOIN trajectories t ON t.id = k.trajectory_id
		JOIN protocols p ON p.id = t.protocol_id AND p.kind NOT IN ('intervention_deployment', 'intervention_guidance')
		WHERE k.status = 'done' AND (k.due_date > current_date OR k.completed_at > now() OR k.completed_at::date < t.start_date)`},
	{"a confirmed deployment task is done after its trajectory started, and not in the future", `SELECT count(*) FROM tasks k
		JOIN trajectories t ON t.id = k.trajectory_id
		JOIN protocols p ON p.id = t.protocol_id AND p.kind IN ('intervention_deployment', 'intervention_guidance')
		WHERE k.status = 'done' AND (k.completed_at > now() OR k.completed_at::date < t.start_date)`},
	{"a consultation is held within an absence", `SELECT count(*) FROM consultations c
		WHERE c.held_at > now() OR NOT EXISTS (SELECT 1 FROM absences a WHERE a.employee_id = c.employee_id
			AND c.held_at::date BETWEEN a.first_sick_day AND coalesce(a.recovery_date, current_date))`},
	{"an appointment a consultation fulfilled is held, at the consultation's time", `SELECT count(*) FROM appointments p
		JOIN consultations c ON c.id = p.consultation_id WHERE p.status <> 'held' OR p.starts_at <> c.held_at`},
	{"a planned appointment lies ahead, while an absence runs", `SELECT count(*) FROM appointments p
		WHERE p.status = 'planned' AND (p.starts_at < now() OR NOT EXISTS (SELECT 1 FROM absences a
			WHERE a.employee_id = p.employee_id AND a.recovery_date IS NULL))`},
	{"a percentage change lies within its absence", `SELECT count(*) FROM absence_percentages p JOIN absences a ON a.id = p.absence_id
		WHERE p.from_date < a.first_sick_day OR p.from_date > coalesce(a.recovery_date, current_date)`},
	{"a decision lies within a running absence", `SELECT count(*) FROM decisions d
		WHERE NOT EXISTS (SELECT 1 FROM absences a WHERE a.employee_id = d.employee_id
			AND d.decision_date BETWEEN a.first_sick_day AND coalesce(a.recovery_date, current_date))`},
	{"an employee's absence documents are dated within his absence, the sick report on its first day", `SELECT count(*)
		FROM documents d JOIN document_categories c ON c.id = d.category_id
		WHERE d.employee_id IS NOT NULL AND c.name IN ('Verzuim', 'Re-integratie', 'Medisch')
		  AND NOT EXISTS (SELECT 1 FROM absences a WHERE a.employee_id = d.employee_id
			AND d.document_date BETWEEN a.first_sick_day AND coalesce(a.recovery_date, current_date)
			AND (d.file_name <> 'Ziekmelding.pdf' OR d.document_date = a.first_sick_day))`},
	{"an employee's other documents are dated within his employment", `SELECT count(*) FROM documents d
		JOIN employees e ON e.id = d.employee_id
		WHERE d.document_date < e.employment_start OR d.document_date > least(coalesce(e.employment_end, current_date), current_date)`},
	{"every document names who added it", `SELECT count(*) FROM documents d LEFT JOIN users u ON u.id = d.uploaded_by
		WHERE u.id IS NULL`},
}

// TestDemoHistoriesAddUp loads a demo past CaseEmployees, with documents, so both of its paths
// (the store functions for the first employees, GenerateCaseData's SQL for the rest) are
// checked against every rule of historyRules; and checks that each rule has something to hold.
func TestDemoHistoriesAddUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.New(t)
	blobs, err := document.OpenBlobStore(ctx, "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer blobs.Close()
	res, err := demo.Load(ctx, db.Pool, demo.Options{Employees: demo.CaseEmployees + 150, Examples: true, Blobs: blobs})
	if err != nil {
		t.Fatal(err)
	}
	err = database.InTenant(ctx, db.Pool, res.TenantID, func(tx pgx.Tx) error {
		for _, r := range historyRules {
			var n int
			if err := tx.QueryRow(ctx, r.violations).Scan(&n); err != nil {
				t.Fatalf("%s: %v", r.rule, err)
			}
			if n > 0 {
				t.Errorf("%s: %d rows break it", r.rule, n)
			}
		}
		// The rules hold something: the demo has each kind of history they judge.
		var c struct{ recovered, running, held, planned, done, late, sickReports, others, ended int }
		err := tx.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM absences WHERE recovery_date IS NOT NULL),
			(SELECT count(*) FROM absences WHERE recovery_date IS NULL),
			(SELECT count(*) FROM appointments WHERE status = 'held'),
			(SELECT count(*) FROM appointments WHERE status = 'planned'),
			(SELECT count(*) FROM tasks WHERE status = 'done'),
			(SELECT count(*) FROM tasks WHERE status = 'open' AND due_date < current_date),
			(SELECT count(*) FROM documents WHERE file_name = 'Ziekmelding.pdf'),
			(SELECT count(*) FROM documents WHERE file_name = 'Uitnodiging preventief spreekuur.pdf'),
			(SELECT count(*) FROM absences a JOIN employees e ON e.id = a.employee_id WHERE e.employment_end IS NOT NULL)`).
			Scan(&c.recovered, &c.running, &c.held, &c.planned, &c.done, &c.late, &c.sickReports, &c.others, &c.ended)
		if err != nil {
			return err
		}
		if c.recovered == 0 || c.running == 0 || c.held == 0 || c.planned == 0 || c.done == 0 || c.late == 0 ||
			c.sickReports == 0 || c.others == 0 || c.ended == 0 {
			t.Errorf("the demo lacks a kind of history: %+v", c)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
