package casefile

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// FirstConsultationOutcome is the (medical) outcome of the demo's first consultation of an
// absence.
const FirstConsultationOutcome = "Eerste spreekuur: belastbaarheid beperkt, opbouw in uren vanaf week drie besproken."

// DemoAbsence returns the first sick day of the demo absence of the employee at position i (from
// 0, by personnel number) and its recovery date, nil while it runs, as of today (a day at 0:00
// UTC). Every third employee (i % 3 == 0) has one when his employment covers it; the demo's two
// paths, store functions and GenerateCaseData's SQL, follow this one rule.
func DemoAbsence(i int, today time.Time) (time.Time, *time.Time) {
	first := today.AddDate(0, 0, -(20 + (i*37)%500))
	if i%2 == 0 {
		if back := first.AddDate(0, 0, 14+i%40); back.Before(today) {
			return first, &back
		}
	}
	return first, nil
}

// DemoTaskDone reports whether the demo completes a task of the absence of the employee at
// position i that is due on due: every task due by today, except that one running absence in
// five leaves the last month's open (late).
func DemoTaskDone(i int, due, today time.Time) bool {
	return !due.After(today) && (i%5 != 0 || due.Before(today.AddDate(0, 0, -30)))
}

// CaseDataEmployees returns the ids of the employees after the first skip by personnel
// number (then id), in that order: GenerateCaseData's positions count along this list, from
// skip.
func CaseDataEmployees(ctx context.Context, tx pgx.Tx, skip int) ([]uuid.UUID, error) {
	rows, err := tx.Query(ctx, "SELECT id FROM employees ORDER BY personnel_number, id OFFSET $1", skip)
	if err != nil {
		return nil, fmt.Errorf("case data employees: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, fmt.Errorf("case data employees: %w", err)
	}
	return ids, nil
}

// GenerateCaseData fills plausible case data in bulk, one statement per table, for the
// employees that have none yet of the given ones, which stand at positions from, from + 1, …
// (from 0) in the order of CaseDataEmployees: for every third one whose employment covers it
// (DemoAbsence) an absence (100%, with a medical cause), two reports (one medical), a first
// consultation with the company doctor a week in (medical) and the appointment it fulfilled
// (held); while the absence runs, also a trajectory of the absence protocol whose tasks due by
// today are done (on their due date, some of the last month's left open: late), a coming
// appointment and, past 300 days, a decision; and for every one a participation in his
// employer's first policy. It is the demo's path at scale (the store functions, one row at a
// time, serve the first employees); rows are audited by nobody but tracked like any other (the
// tables' statement triggers write their changes). Calls for disjoint lists may run at once, in
// transactions of their own. by is recorded as their author. It returns how many absences it
// made.
func GenerateCaseData(ctx context.Context, tx pgx.Tx, employees []uuid.UUID, from int, by uuid.UUID) (int64, error) {
	var protocolID uuid.UUID
	if err := tx.QueryRow(ctx, "SELECT id FROM protocols WHERE kind = $1 ORDER BY created_at LIMIT 1", ProtocolAbsence).Scan(&protocolID); err != nil {
		return 0, fmt.Errorf("generate case data: absence protocol: %w", err)
	}
	steps := []struct{ what, sql string }{
		{"prepare", `CREATE TEMPORARY TABLE generate_sick (absence_id uuid, trajectory_id uuid, consultation_id uuid,
			employee_id uuid, employer_id uuid, n bigint, first_day date, recovery date) ON COMMIT DROP`},
		// The dates of DemoAbsence; only absences the employment covers from the first day to
		// the recovery (or today, while it runs).
		{"select", `INSERT INTO generate_sick
			SELECT uuid_v7(), uuid_v7(), uuid_v7(), e.id, e.employer_id, e.n, d.first_day, d.recovery
			FROM (SELECT e.id, e.employer_id, e.employment_start, e.employment_end, @from + o.k AS n
				FROM unnest(@employees::uuid[]) WITH ORDINALITY AS o (id, k) JOIN employees e ON e.id = o.id) e
			CROSS JOIN LATERAL (SELECT f.first_day, CASE WHEN e.n % 2 = 1 AND f.first_day + 14 + ((e.n - 1) % 40)::int < current_date
				THEN f.first_day + 14 + ((e.n - 1) % 40)::int END AS recovery
				FROM (SELECT current_date - (20 + ((e.n - 1) * 37) % 500)::int AS first_day) f) d
			WHERE e.n % 3 = 1 AND NOT EXISTS (SELECT 1 FROM absences a WHERE a.employee_id = e.id)
			  AND (e.employment_start IS NULL OR e.employment_start <= d.first_day)
			  AND (e.employment_end IS NULL OR e.employment_end >= coalesce(d.recovery, current_date))`},
		{"absences", `INSERT INTO absences (tenant_id, id, employee_id, employer_id, first_sick_day, recovery_date, cause, notes, created_by)
			SELECT app_tenant(), s.absence_id, s.employee_id, s.employer_id, s.first_day,
				s.recovery,
				(ARRAY['disease', 'work_related', 'accident', 'pregnancy', 'organ_donation', 'psychological', 'other'])[1 + s.n % 7],
				'Ziekmelding telefonisch ontvangen door de leidinggevende.', @by
			FROM generate_sick s`},
		{"percentages", `INSERT INTO absence_percentages (tenant_id, absence_id, employee_id, employer_id, from_date, percentage, created_by)
			SELECT app_tenant(), s.absence_id, s.employee_id, s.employer_id, s.first_day, 100, @by FROM generate_sick s`},
		{"reports", `INSERT INTO reports (tenant_id, employee_id, employer_id, author_id, body, expertise, medical, created_by)
			SELECT app_tenant(), s.employee_id, s.employer_id, @by, r.body, r.expertise, r.medical, @by
			FROM generate_sick s CROSS JOIN (VALUES
				('Werknemer gebeld; verwacht binnen twee weken gedeeltelijk te hervatten.', 'casemanager', false),
				('Spreekuur gehad. Belastbaarheid beperkt; geen tilwerk tot de volgende afspraak.', 'bedrijfsarts', true))
				AS r (body, expertise, medical)`},
		{"trajectories", `INSERT INTO trajectories (tenant_id, id, employee_id, employer_id, protocol_id, start_date, opened_at, opened_by)
			SELECT app_tenant(), s.trajectory_id, s.employee_id, s.employer_id, @protocol, s.first_day,
				least(s.first_day + time '09:00', now()), @by
			FROM generate_sick s WHERE s.recovery IS NULL`},
		{"tasks", `INSERT INTO tasks (tenant_id, trajectory_id, employee_id, employer_id, position, type, title, due_date,
				status, completed_at, completed_by)
			SELECT app_tenant(), s.trajectory_id, s.employee_id, s.employer_id, t.position, t.type, t.title, k.due,
				CASE WHEN k.done THEN 'done' ELSE 'open' END,
				CASE WHEN k.done THEN least(k.due + time '12:00', now()) END, CASE WHEN k.done THEN @by::uuid END
			FROM generate_sick s JOIN protocol_tasks t ON t.protocol_id = @protocol
			CROSS JOIN LATERAL (SELECT s.first_day + t.due_after_days AS due) d
			CROSS JOIN LATERAL (SELECT d.due, d.due <= current_date AND (s.n % 5 <> 1 OR d.due < current_date - 30) AS done) k
			WHERE s.recovery IS NULL`},
		{"consultations", `INSERT INTO consultations (tenant_id, id, employee_id, employer_id, held_at, held_by, outcome, medical, created_by)
			SELECT app_tenant(), s.consultation_id, s.employee_id, s.employer_id, s.first_day + 7 + time '10:00',
				'Bedrijfsarts M. de Wit', '` + FirstConsultationOutcome + `', true, @by
			FROM generate_sick s`},
		{"fulfilled appointments", `INSERT INTO appointments (tenant_id, employee_id, employer_id, starts_at, with_whom, kind,
				status, consultation_id, created_by)
			SELECT app_tenant(), s.employee_id, s.employer_id, s.first_day + 7 + time '10:00', 'Bedrijfsarts M. de Wit',
				'company_doctor', 'held', s.consultation_id, @by
			FROM generate_sick s`},
		{"appointments", `INSERT INTO appointments (tenant_id, employee_id, employer_id, starts_at, with_whom, kind, created_by)
			SELECT app_tenant(), s.employee_id, s.employer_id, current_date + 3 + (s.n % 20)::int + time '10:00', 'Bedrijfsarts M. de Wit',
				'company_doctor', @by
			FROM generate_sick s WHERE s.recovery IS NULL`},
		{"decisions", `INSERT INTO decisions (tenant_id, employee_id, employer_id, kind, decision_date, outcome, created_by)
			SELECT app_tenant(), s.employee_id, s.employer_id, 'ZW', s.first_day + 300, 'Recht op ziektewetuitkering vastgesteld.', @by
			FROM generate_sick s WHERE s.recovery IS NULL AND s.first_day + 300 < current_date`},
		{"participants", `INSERT INTO policy_participants (tenant_id, employee_id, employer_id, policy_id, participating, reason, starts_on)
			SELECT app_tenant(), e.id, e.employer_id, p.id, e.n % 7 <> 0,
				CASE WHEN e.n % 7 <> 0 THEN 'Valt onder de collectieve verzuimverzekering'
				     ELSE 'Uitgezonderd: tijdelijk contract korter dan zes maanden' END, p.starts_on
			FROM (SELECT e.id, e.employer_id, @from + o.k AS n
				FROM unnest(@employees::uuid[]) WITH ORDINALITY AS o (id, k) JOIN employees e ON e.id = o.id) e
			JOIN LATERAL (SELECT id, starts_on FROM insurance_policies p WHERE p.employer_id = e.employer_id
				ORDER BY starts_on, id LIMIT 1) p ON true
			WHERE NOT EXISTS (SELECT 1 FROM policy_participants x WHERE x.employee_id = e.id)`},
	}
	var absences int64
	args := pgx.NamedArgs{"employees": employees, "from": from, "by": by, "protocol": protocolID}
	for _, st := range steps {
		tag, err := tx.Exec(ctx, st.sql, args)
		if err != nil {
			return 0, fmt.Errorf("generate case data: %s: %w", st.what, err)
		}
		if st.what == "absences" {
			absences = tag.RowsAffected()
		}
	}
	_, err := tx.Exec(ctx, "DROP TABLE generate_sick")
	return absences, err
}
