package stream_test

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/datastream/stream"
)

// carried is the set of employees whose data a delivery's files hold, read from the files: the
// werknemer_id of every row that is not a deletion, sorted.
func carried(files delivered) []string {
	seen := map[string]bool{}
	for _, f := range files {
		i := slices.Index(f.header, "werknemer_id")
		if i < 0 {
			continue
		}
		for _, r := range f.rows {
			if r[1] != "delete" {
				seen[r[i]] = true
			}
		}
	}
	list := make([]string, 0, len(seen))
	for id := range seen {
		list = append(list, id)
	}
	slices.Sort(list)
	return list
}

// recorded is what datastream_run_employees holds for run, sorted.
func (b testBundle) recorded(t *testing.T, run uuid.UUID) []string {
	t.Helper()
	var list []string
	b.inTenant(t, func(tx pgx.Tx) (err error) {
		list, err = queryList[string](b.ctx, tx, `SELECT e::text FROM datastream_run_employees, unnest(employee_ids) e WHERE run_id = $1 ORDER BY 1`, run)
		return err
	})
	if list == nil {
		list = []string{}
	}
	return list
}

// A delivery that is not pseudonymised records exactly the employees whose rows its files carry
// (the employer scope, increments and deletions included); a retry replaces its record; a
// pseudonymised delivery records nobody.
func TestRecordedEmployees(t *testing.T) {
	t.Parallel()
	b := setup(t, 400)
	var employer uuid.UUID
	var inScope int
	b.inTenant(t, func(tx pgx.Tx) error {
		return tx.QueryRow(b.ctx, `SELECT employer_id, count(*) FROM employees GROUP BY employer_id ORDER BY count(*) DESC, employer_id LIMIT 1`).
			Scan(&employer, &inScope)
	})
	cfg := stream.Config{Folder: "Verzuim", Version: stream.V2, Streams: []string{"verzuim", "agenda"},
		Employers: []uuid.UUID{employer}}
	start := time.Date(2027, 1, 4, 1, 0, 0, 0, time.UTC)
	check := func(name string, run uuid.UUID, res stream.Result, files delivered) []string {
		t.Helper()
		want := carried(files)
		got := b.recorded(t, run)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: recorded employees (-files +table):\n%s", name, diff)
		}
		if res.Employees != int64(len(got)) {
			t.Errorf("%s: result says %d employees, the table holds %d", name, res.Employees, len(got))
		}
		return got
	}

	fullRun := uuid.New()
	res, files := b.deliver(t, cfg, stream.Request{Mode: stream.ModeFull, Started: start, RunID: fullRun})
	full := check("full", fullRun, res, files)
	if len(full) == 0 || len(full) >= inScope {
		t.Errorf("full: %d employees recorded of %d in scope; want some, not all (only those with case data)", len(full), inScope)
	}
	var outside int
	b.inTenant(t, func(tx pgx.Tx) error {
		return tx.QueryRow(b.ctx, `SELECT count(*) FROM employees e WHERE e.employer_id <> $2 AND datastream_run_carried($1, e.id)`,
			fullRun, employer).Scan(&outside)
	})
	if outside != 0 {
		t.Errorf("full: %d employees of other employers recorded", outside)
	}

	// An increment: one absence changed, another deleted. Only the changed one's employee counts.
	var changedEmployee, deletedEmployee string
	b.inTenant(t, func(tx pgx.Tx) error {
		if err := tx.QueryRow(b.ctx, `UPDATE absences SET notes = 'bijgewerkt' WHERE id = (SELECT id FROM absences WHERE employer_id = $1 ORDER BY id LIMIT 1)
			RETURNING employee_id::text`, employer).Scan(&changedEmployee); err != nil {
			return err
		}
		return tx.QueryRow(b.ctx, `DELETE FROM absences WHERE id = (SELECT id FROM absences WHERE employer_id = $1 AND employee_id::text <> $2
			ORDER BY id DESC LIMIT 1) RETURNING employee_id::text`, employer, changedEmployee).Scan(&deletedEmployee)
	})
	incRun := uuid.New()
	req := stream.Request{Mode: stream.ModeIncremental, From: res.Position, Started: start.Add(time.Hour), RunID: incRun}
	res2, files := b.deliver(t, cfg, req)
	if got := check("incremental", incRun, res2, files); !cmp.Equal(got, []string{changedEmployee}) {
		t.Errorf("incremental: recorded %v, want only %s (the deleted absence of %s carries no data of him)", got, changedEmployee, deletedEmployee)
	}
	// A retry of the same run replaces its record.
	res3, files := b.deliver(t, cfg, req)
	check("retry", incRun, res3, files)

	// Pseudonymised: nobody recorded.
	pseudoRun := uuid.New()
	pseudo := cfg
	pseudo.Folder, pseudo.Pseudonymised, pseudo.Key, pseudo.KeyVersion = "Pseudo", true, make([]byte, stream.MinKeySize), 1
	b.deliver(t, pseudo, stream.Request{Mode: stream.ModeFull, Started: start, RunID: pseudoRun})
	if got := b.recorded(t, pseudoRun); len(got) != 0 {
		t.Errorf("a pseudonymised delivery recorded %d employees", len(got))
	}

	// The werknemers stream carries every employee in scope.
	allRun := uuid.New()
	res, files = b.deliver(t, stream.Config{Folder: "Alles", Version: stream.V2, Streams: allStreams(), Employers: []uuid.UUID{employer}},
		stream.Request{Mode: stream.ModeFull, Started: start, RunID: allRun})
	got := check("all streams", allRun, res, files)
	if len(got) != inScope {
		t.Errorf("all streams: %d employees recorded, %d in scope", len(got), inScope)
	}
	// Stored in sorted chunks of at most 100, each found by datastream_run_carried.
	var chunks int
	var probed []string
	b.inTenant(t, func(tx pgx.Tx) (err error) {
		if err := tx.QueryRow(b.ctx, `SELECT count(*) FROM datastream_run_employees WHERE run_id = $1`, allRun).Scan(&chunks); err != nil {
			return err
		}
		probed, err = queryList[string](b.ctx, tx, `SELECT id::text FROM employees WHERE datastream_run_carried($1, id) ORDER BY 1`, allRun)
		return err
	})
	if want := (len(got) + 99) / 100; chunks != want || chunks < 2 {
		t.Errorf("all streams: %d chunks for %d employees, want %d (and more than one, to prove the lookup)", chunks, len(got), want)
	}
	if diff := cmp.Diff(got, probed); diff != "" {
		t.Errorf("datastream_run_carried (-recorded +probed):\n%s", diff)
	}
}
