package export_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/datastream"
	"github.com/dossierkast/dossierkast/internal/datastream/delivery"
	"github.com/dossierkast/dossierkast/internal/datastream/stream"
	"github.com/dossierkast/dossierkast/internal/i18n"
	"github.com/dossierkast/dossierkast/internal/org"
	"github.com/dossierkast/dossierkast/internal/secret"
)

// deliveries runs datastream deliveries to hosted accounts, by the delivery job itself, so the
// fixture's employee's data went out without pseudonymisation twice: "Warehouse" delivers in
// full, then an increment carrying his changed absence, then an increment that carries nothing
// of him. "Onderzoek" delivers him pseudonymised, and "Ander bedrijf" an account scoped to
// another employer: neither carried his data. A failed run that recorded him counts neither.
func deliveries(t *testing.T, f *fixture) {
	t.Helper()
	sys := access.System(audit.Actor{})
	keys := secret.NewKeyring(secret.GenerateKey())
	var warehouse, research, other delivery.Config
	f.inTenant(t, func(tx pgx.Tx) error {
		a, _, err := datastream.CreateAccount(f.ctx, tx, sys, keys, datastream.AccountInput{Name: "BI-warehouse", Type: datastream.TypeHosted,
			Language: "nl", Recipients: "bi@example.test", AllEmployers: true, AuthMethod: datastream.AuthPassword})
		if err != nil {
			return err
		}
		if warehouse, err = delivery.CreateConfig(f.ctx, tx, sys, keys, a.ID, delivery.Input{Name: "Warehouse", Version: "v2",
			Streams: []string{"werknemers", "verzuim"}, Frequency: delivery.Weekly, Mode: "incremental"}); err != nil {
			return err
		}
		if research, err = delivery.CreateConfig(f.ctx, tx, sys, keys, a.ID, delivery.Input{Name: "Onderzoek", Version: "v2",
			Pseudonymised: true, Streams: []string{"werknemers", "verzuim"}, Frequency: delivery.Weekly, Mode: "incremental"}); err != nil {
			return err
		}
		elsewhere, err := org.CreateEmployer(f.ctx, tx, sys, org.Employer{Name: "Ander Bedrijf B.V.", EmployerNumber: "200"})
		if err != nil {
			return err
		}
		if _, err := org.CreateEmployee(f.ctx, tx, sys, org.Employee{EmployerID: elsewhere.ID, PersonnelNumber: "A-1",
			FirstName: "Anna", LastName: "Anders"}); err != nil {
			return err
		}
		b, _, err := datastream.CreateAccount(f.ctx, tx, sys, keys, datastream.AccountInput{Name: "Ander", Type: datastream.TypeHosted,
			Language: "nl", Recipients: "ander@example.test", EmployerIDs: []uuid.UUID{elsewhere.ID}, AuthMethod: datastream.AuthPassword})
		if err != nil {
			return err
		}
		other, err = delivery.CreateConfig(f.ctx, tx, sys, keys, b.ID, delivery.Input{Name: "Ander bedrijf", Version: "v2",
			Streams: []string{"werknemers", "verzuim"}, Frequency: delivery.Weekly, Mode: "incremental"})
		return err
	})
	w := &delivery.DeliverWorker{Pool: f.db.Pool, Blobs: f.blobs, Keys: keys, Log: f.log}
	run := func(c delivery.Config, mode stream.Mode) {
		t.Helper()
		var r delivery.Run
		f.inTenant(t, func(tx pgx.Tx) (err error) {
			r, err = delivery.RequestRun(f.ctx, tx, f.rc, sys, c.ID, delivery.RunRequest{Mode: mode})
			return err
		})
		err := w.Work(f.ctx, &river.Job[delivery.DeliverArgs]{JobRow: &rivertype.JobRow{Attempt: 1, MaxAttempts: 3},
			Args: delivery.DeliverArgs{TenantID: f.tenant, RunID: r.ID}})
		if err != nil {
			t.Fatalf("delivery of %s: %v", c.Name, err)
		}
	}
	run(warehouse, stream.ModeFull)
	f.exec(t, `UPDATE absences SET recovery_date = '2026-02-02' WHERE id = '00000000-0000-7000-8000-000000000001'`)
	run(warehouse, stream.ModeIncremental)
	f.exec(t, `UPDATE employees SET city = 'Zeist' WHERE employer_id <> $1`, f.employer.ID)
	run(warehouse, stream.ModeIncremental)
	run(research, stream.ModeFull)
	run(other, stream.ModeFull)
	f.exec(t, `WITH r AS (INSERT INTO datastream_runs (tenant_id, config_id, mode, status, finished_at)
			VALUES (app_tenant(), $1, 'full', 'failed', now()) RETURNING id)
		INSERT INTO datastream_run_employees (tenant_id, run_id, first_employee_id, employee_ids) SELECT app_tenant(), r.id, $2, ARRAY[$2::uuid] FROM r`,
		other.ID, f.employee.ID)
	if n := f.count(t, `SELECT count(*) FROM datastream_run_employees WHERE $1 = ANY(employee_ids)`, f.employee.ID); n != 3 {
		t.Fatalf("%d runs recorded the employee, want 3 (two of Warehouse, the failed one)", n)
	}
}

// wantDatastreamRows are the Verwerking rows the database says the export must have for the
// datastreams: per configuration that delivered the employee's data without pseudonymisation
// (a succeeded run that recorded him), its account and every delivery's time, by the test's own
// query.
func wantDatastreamRows(t *testing.T, f *fixture) [][]string {
	t.Helper()
	type config struct {
		name, account, kind string
		times               []time.Time
	}
	var list []config
	f.inTenant(t, func(tx pgx.Tx) error {
		rows, err := tx.Query(f.ctx, `SELECT c.name, a.name, a.type, r.finished_at
			FROM datastream_run_employees x JOIN datastream_runs r ON r.id = x.run_id
			JOIN datastream_configs c ON c.id = r.config_id JOIN datastream_accounts a ON a.id = c.account_id
			WHERE $1 = ANY(x.employee_ids) AND r.status = 'succeeded' ORDER BY r.finished_at`, f.employee.ID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c config
			var at time.Time
			if err := rows.Scan(&c.name, &c.account, &c.kind, &at); err != nil {
				return err
			}
			i := slices.IndexFunc(list, func(d config) bool { return d.name == c.name })
			if i < 0 {
				list, i = append(list, c), len(list)
			}
			list[i].times = append(list[i].times, at)
		}
		return rows.Err()
	})
	var want [][]string
	for _, c := range list {
		var times []string
		for _, at := range c.times {
			times = append(times, i18n.DateTime(at))
		}
		want = append(want, []string{"Ontvanger", "Datastream zonder pseudonimisering: " + c.name,
			fmt.Sprintf("Account %s (%s); %d leveringen in %d: %s.", c.account, i18n.Translate("nl", "datastream.type."+c.kind),
				len(times), c.times[0].In(i18n.Amsterdam).Year(), strings.Join(times, ", "))})
	}
	return want
}
