package delivery

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/datastream/stream"
	"github.com/dossierkast/dossierkast/internal/org"
)

// slotHour is the hour of the day, Europe/Amsterdam, at which scheduled deliveries are due.
const slotHour = 2

// LatestSlot is the latest schedule slot at or before now: 02:00 Europe/Amsterdam of today or
// the day before (Daily), or of the latest Monday (Weekly). The slot is a wall-clock time, so
// it stays 02:00 across daylight-saving changes; on the spring-forward Sunday, when 02:00 does
// not exist, it is the moment the clock jumps (03:00 summer time).
func LatestSlot(frequency string, now time.Time) time.Time {
	local := now.In(Amsterdam)
	y, m, d := local.Date()
	slot := time.Date(y, m, d, slotHour, 0, 0, 0, Amsterdam)
	if slot.After(now) {
		slot = time.Date(y, m, d-1, slotHour, 0, 0, 0, Amsterdam)
	}
	if frequency == Weekly {
		for slot.Weekday() != time.Monday {
			y, m, d = slot.Date()
			slot = time.Date(y, m, d-1, slotHour, 0, 0, 0, Amsterdam)
		}
	}
	return slot
}

// Schedule enqueues one delivery of every active, scheduled configuration on an active account
// whose latest slot (LatestSlot) is later than the slot it last ran for (or than its creation):
// after downtime that missed several slots, one delivery catches up. A configuration with a
// run still queued or running is left for the next check. It returns how many it enqueued.
func Schedule(ctx context.Context, pool *pgxpool.Pool, rc *river.Client[pgx.Tx], now time.Time) (int, error) {
	tenants, err := org.TenantIDs(ctx, pool)
	if err != nil {
		return 0, fmt.Errorf("tenants: %w", err)
	}
	n := 0
	for _, tenantID := range tenants {
		var due []Config
		if err := database.InTenant(ctx, pool, tenantID, func(tx pgx.Tx) (err error) {
			due, err = database.FindAll[Config](ctx, tx, "scheduled datastream configurations", `SELECT `+configColumns+`
				FROM datastream_configs c JOIN datastream_accounts a ON a.id = c.account_id
				WHERE c.status = 'active' AND c.scheduled AND a.status = 'active'`)
			return err
		}); err != nil {
			return n, err
		}
		for _, c := range due {
			slot := LatestSlot(c.Frequency, now)
			ok, err := scheduleOne(ctx, pool, rc, tenantID, c.ID, slot)
			if err != nil {
				return n, err
			}
			if ok {
				n++
			}
		}
	}
	return n, nil
}

// scheduleOne enqueues the delivery of configuration id for slot when it has not run for it
// yet and is not busy, and records the slot, in one transaction.
func scheduleOne(ctx context.Context, pool *pgxpool.Pool, rc *river.Client[pgx.Tx], tenantID, id uuid.UUID, slot time.Time) (bool, error) {
	enqueued := false
	err := database.InTenant(ctx, pool, tenantID, func(tx pgx.Tx) error {
		var since time.Time
		if err := tx.QueryRow(ctx, `SELECT coalesce(last_slot, created_at) FROM datastream_configs WHERE id = $1 FOR UPDATE`,
			id).Scan(&since); err != nil {
			return fmt.Errorf("datastream configuration %s: %w", id, err)
		}
		if !slot.After(since) {
			return nil
		}
		c, err := FindConfigByID(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := enqueue(ctx, tx, rc, audit.Actor{}, id, RunRequest{Mode: stream.Mode(c.Mode)}); err != nil {
			return err
		}
		enqueued = true
		_, err = tx.Exec(ctx, `UPDATE datastream_configs SET last_slot = $2 WHERE id = $1`, id, slot)
		return err
	})
	if apperr.CodeOf(err) == apperr.ECONFLICT {
		return false, nil
	}
	return enqueued, err
}

// ScheduleArgs asks for due configurations to be enqueued (ScheduleWorker). Platform-wide.
type ScheduleArgs struct{}

// Kind names the job.
func (ScheduleArgs) Kind() string { return "datastream_schedule" }

// ScheduleWorker runs Schedule with the job's client.
type ScheduleWorker struct {
	river.WorkerDefaults[ScheduleArgs]
	Pool *pgxpool.Pool
	Log  *slog.Logger
}

// Work enqueues the due deliveries.
func (w *ScheduleWorker) Work(ctx context.Context, _ *river.Job[ScheduleArgs]) error {
	n, err := Schedule(ctx, w.Pool, river.ClientFromContext[pgx.Tx](ctx), time.Now())
	if err == nil && n > 0 && w.Log != nil {
		w.Log.InfoContext(ctx, "datastream deliveries scheduled", "count", n)
	}
	return err
}

// scheduleInterval is how often the due-check runs: a slot's delivery starts within it.
const scheduleInterval = 5 * time.Minute

// SchedulePeriodic runs the due-check every scheduleInterval and at start (the catch-up after
// downtime).
func SchedulePeriodic() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(scheduleInterval),
		func() (river.JobArgs, *river.InsertOpts) { return ScheduleArgs{}, nil },
		&river.PeriodicJobOpts{ID: "datastream_schedule", RunOnStart: true})
}
