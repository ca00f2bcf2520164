// Package heartbeat notices, within a couple of minutes, a long job whose process died (killed,
// out of memory, machine lost), where River's own rescue waits for the longest attempt timeout
// (hours). A long job's worker keeps a heartbeat on its own row while it runs (Keep); a
// frequent periodic job on the elected leader (CheckWorker) hands a running job whose heartbeat
// has gone stale back to River for its next attempt, which first cleans up what the
// interrupted one left, and marks the row interrupted so that the screen can say so.
//
// A job kind takes part by naming a Target: its River kind and the tenant table its worker
// beats on. The table has the columns id, status ('pending' or the target's Waiting,
// 'running', and its end states), heartbeat_at and interrupted_at, and the job's args carry
// tenant_id and the row's id.
package heartbeat

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/dossierkast/dossierkast/internal/database"
)

// Settings are the heartbeat's timing. A dead worker's job is handed back at most StaleAfter +
// CheckEvery after its last beat, plus the leader's hand-over when the dead process led.
type Settings struct {
	Period     time.Duration // how often a running job renews its heartbeat
	StaleAfter time.Duration // a running job whose last beat is older is taken for dead
	CheckEvery time.Duration // how often the leader looks for stale heartbeats
}

// Default is the production timing: three missed beats make a job stale, and the check runs
// twice a minute, so a dead worker's job is restarted within 75 seconds of its last beat (90
// seconds when the dead process was the leader: River elects another within 15 seconds, and the
// new leader checks at once).
var Default = Settings{Period: 15 * time.Second, StaleAfter: 45 * time.Second, CheckEvery: 30 * time.Second}

// Interrupted is the error River records for an attempt the check handed back.
const Interrupted = "heartbeat stale: the worker's process stopped (killed, out of memory or machine lost)"

// Target is a long job kind whose worker beats on its own row.
type Target struct {
	Kind  string // River's job kind
	Table string // the tenant table of the job's rows
	IDArg string // the field of the job's args that names the row
	// Waiting is the row's status while its job waits for an attempt; "pending" when empty.
	Waiting string
	// Ended marks the row of a job River will not run again (cancelled, or discarded with its
	// attempts spent) failed with a reason, and removes what the job wrote. The check calls it
	// for such a job whose row is still pending or running; it must be safe to call twice.
	Ended func(ctx context.Context, job *rivertype.JobRow) error
}

func (t Target) waiting() string {
	if t.Waiting == "" {
		return "pending"
	}
	return t.Waiting
}

// Keep renews the heartbeat of row id of table in the tenant at once and then every period,
// until stop is called. A failed beat is logged and tried again at the next period: the check
// takes the job for dead only after StaleAfter without one.
func Keep(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger, table string, tenantID, id uuid.UUID, period time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			err := database.InTenant(ctx, pool, tenantID, func(tx pgx.Tx) error {
				_, err := tx.Exec(ctx, "UPDATE "+table+" SET heartbeat_at = now() WHERE id = $1", id)
				return err
			})
			if err != nil && ctx.Err() == nil {
				log.WarnContext(ctx, "heartbeat not renewed", "table", table, "id", id, "error", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// CheckArgs asks for the stale heartbeats of every target to be looked for (CheckWorker). It
// carries no tenant: it runs for the platform.
type CheckArgs struct{}

// Kind names the job.
func (CheckArgs) Kind() string { return "check_heartbeats" }

// CheckWorker hands every running job of a target whose heartbeat is older than StaleAfter back
// to River, and ends the rows of the targets' jobs that River will not run again. It is
// idempotent and catches up on whatever was missed: several checks at once (on several
// processes) hand a job back once, as each change is conditional on what it read.
type CheckWorker struct {
	river.WorkerDefaults[CheckArgs]
	Pool       *pgxpool.Pool
	Targets    []Target
	StaleAfter time.Duration
	Log        *slog.Logger
}

// endedWithin is how far back the check looks for cancelled and discarded jobs whose rows are
// still pending or running: past the bundles' 48 hours, their rows are swept anyway.
const endedWithin = 48 * time.Hour

// Work checks every target.
func (w *CheckWorker) Work(ctx context.Context, _ *river.Job[CheckArgs]) error {
	for _, t := range w.Targets {
		if err := w.rescue(ctx, t); err != nil {
			return err
		}
		if err := w.endRows(ctx, t); err != nil {
			return err
		}
	}
	return nil
}

// jobRow is what the check reads of a River job.
type jobRow struct {
	job      rivertype.JobRow
	tenantID uuid.UUID
	rowID    uuid.UUID
}

func (w *CheckWorker) jobs(ctx context.Context, t Target, where string, args ...any) ([]jobRow, error) {
	rows, err := w.Pool.Query(ctx, `SELECT id, kind, state, attempt, max_attempts, attempted_at, args, errors
		FROM river_job WHERE kind = $1 AND `+where+` ORDER BY id`, append([]any{t.Kind}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("heartbeat check of %s: %w", t.Kind, err)
	}
	var list []jobRow
	for rows.Next() {
		var r jobRow
		var errs []rivertype.AttemptError
		if err := rows.Scan(&r.job.ID, &r.job.Kind, &r.job.State, &r.job.Attempt, &r.job.MaxAttempts, &r.job.AttemptedAt,
			&r.job.EncodedArgs, &errs); err != nil {
			rows.Close()
			return nil, fmt.Errorf("heartbeat check of %s: %w", t.Kind, err)
		}
		r.job.Errors = errs
		var a map[string]any
		if err := json.Unmarshal(r.job.EncodedArgs, &a); err != nil {
			rows.Close()
			return nil, fmt.Errorf("heartbeat check of job %d: %w", r.job.ID, err)
		}
		tenant, _ := a["tenant_id"].(string)
		id, _ := a[t.IDArg].(string)
		if r.tenantID, err = uuid.Parse(tenant); err != nil {
			rows.Close()
			return nil, fmt.Errorf("heartbeat check of job %d: tenant_id: %w", r.job.ID, err)
		}
		if r.rowID, err = uuid.Parse(id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("heartbeat check of job %d: %s: %w", r.job.ID, t.IDArg, err)
		}
		list = append(list, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("heartbeat check of %s: %w", t.Kind, err)
	}
	return list, nil
}

// rescue hands back the running jobs of t whose heartbeat is stale. The row is marked
// interrupted first, on the condition that it is running and its heartbeat (or, before the
// first beat, the attempt's start) is stale; only then is River's row changed, on the condition
// that it is still running the same attempt: to available for the next attempt, or to discarded
// when the attempts are spent (and then the row is ended).
func (w *CheckWorker) rescue(ctx context.Context, t Target) error {
	list, err := w.jobs(ctx, t, "state = 'running'")
	if err != nil {
		return err
	}
	stale := w.StaleAfter.Seconds()
	for _, r := range list {
		var marked bool
		err := database.InTenant(ctx, w.Pool, r.tenantID, func(tx pgx.Tx) error {
			tag, err := tx.Exec(ctx, `UPDATE `+t.Table+` SET status = $4, interrupted_at = now()
				WHERE id = $1 AND status = 'running'
				AND greatest(heartbeat_at, $2::timestamptz) < now() - $3 * interval '1 second'`, r.rowID, r.job.AttemptedAt, stale, t.waiting())
			marked = err == nil && tag.RowsAffected() == 1
			return err
		})
		if err != nil {
			return fmt.Errorf("heartbeat check of job %d: %w", r.job.ID, err)
		}
		if !marked {
			continue
		}
		var state rivertype.JobState
		err = w.Pool.QueryRow(ctx, `UPDATE river_job SET
				state = CASE WHEN attempt >= max_attempts THEN 'discarded' ELSE 'available' END::river_job_state,
				scheduled_at = now(),
				finalized_at = CASE WHEN attempt >= max_attempts THEN now() END,
				errors = array_append(errors, jsonb_build_object('at', now(), 'attempt', attempt, 'error', $3::text, 'trace', ''))
			WHERE id = $1 AND state = 'running' AND attempt = $2
			RETURNING state`, r.job.ID, r.job.Attempt, Interrupted).Scan(&state)
		if database.IsNoRows(err) {
			continue // River finished or rescued it meanwhile; the new attempt sets the row running
		}
		if err != nil {
			return fmt.Errorf("heartbeat check: hand back job %d: %w", r.job.ID, err)
		}
		w.logger().WarnContext(ctx, "job with a stale heartbeat handed back", "job_id", r.job.ID, "kind", t.Kind,
			"tenant_id", r.tenantID, "id", r.rowID, "attempt", r.job.Attempt, "state", state)
		if state == rivertype.JobStateDiscarded && t.Ended != nil {
			r.job.State = state
			r.job.Errors = append(r.job.Errors, rivertype.AttemptError{Attempt: r.job.Attempt, Error: Interrupted})
			if err := t.Ended(ctx, &r.job); err != nil {
				return err
			}
		}
	}
	return nil
}

// endRows ends the rows, still pending or running, of t's latest jobs that River will not run again:
// cancelled on /admin/jobs before a worker saw it, discarded by River's own rescuer, or left
// by a process that died between River's ending the job and the row's.
func (w *CheckWorker) endRows(ctx context.Context, t Target) error {
	if t.Ended == nil {
		return nil
	}
	// A later job for the same row (the requester asked for a retry) owns it now.
	list, err := w.jobs(ctx, t, `state IN ('cancelled', 'discarded') AND finalized_at > now() - $2 * interval '1 second'
		AND NOT EXISTS (SELECT 1 FROM river_job n WHERE n.kind = river_job.kind AND n.id > river_job.id AND n.args->>$3 = river_job.args->>$3)`,
		endedWithin.Seconds(), t.IDArg)
	if err != nil {
		return err
	}
	for _, r := range list {
		var active bool
		err := database.InTenant(ctx, w.Pool, r.tenantID, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM "+t.Table+" WHERE id = $1 AND status IN ($2, 'running'))", r.rowID, t.waiting()).Scan(&active)
		})
		if err != nil {
			return fmt.Errorf("heartbeat check of job %d: %w", r.job.ID, err)
		}
		if active {
			if err := t.Ended(ctx, &r.job); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w *CheckWorker) logger() *slog.Logger {
	if w.Log == nil {
		return slog.Default()
	}
	return w.Log
}

// CheckPeriodic runs the check every interval, and once at start (a new leader checks at once).
func CheckPeriodic(every time.Duration) *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(every),
		func() (river.JobArgs, *river.InsertOpts) { return CheckArgs{}, nil },
		&river.PeriodicJobOpts{ID: "check_heartbeats", RunOnStart: true})
}
