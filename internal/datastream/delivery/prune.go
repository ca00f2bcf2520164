package delivery

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/datastream/stream"
	"github.com/dossierkast/dossierkast/internal/org"
)

// ChangeRetention is how long change records are kept whatever the positions: "since a date"
// deliveries read back at most this far (an earlier date is refused; deliver in full instead).
const ChangeRetention = 31 * 24 * time.Hour

// PruneChanges deletes, per tenant, the change records that every active configuration's
// position has passed and that are older than ChangeRetention at now. It returns how many
// went.
func PruneChanges(ctx context.Context, pool *pgxpool.Pool, now time.Time) (int64, error) {
	tenants, err := org.TenantIDs(ctx, pool)
	if err != nil {
		return 0, fmt.Errorf("tenants: %w", err)
	}
	var total int64
	for _, tenantID := range tenants {
		err := database.InTenant(ctx, pool, tenantID, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, `SELECT position FROM datastream_configs WHERE status = 'active' AND position <> ''`)
			if err != nil {
				return fmt.Errorf("datastream positions: %w", err)
			}
			texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return fmt.Errorf("datastream positions: %w", err)
			}
			keep := make([]stream.Position, 0, len(texts))
			for _, s := range texts {
				p, err := stream.ParsePosition(s)
				if err != nil {
					return err
				}
				keep = append(keep, p)
			}
			n, err := stream.Prune(ctx, tx, keep, now.Add(-ChangeRetention))
			total += n
			return err
		})
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// PruneArgs asks for the change records no delivery needs to be deleted (PruneWorker).
type PruneArgs struct{}

// Kind names the job.
func (PruneArgs) Kind() string { return "datastream_prune_changes" }

// PruneWorker runs PruneChanges.
type PruneWorker struct {
	river.WorkerDefaults[PruneArgs]
	Pool *pgxpool.Pool
	Log  *slog.Logger
}

// Work prunes.
func (w *PruneWorker) Work(ctx context.Context, _ *river.Job[PruneArgs]) error {
	n, err := PruneChanges(ctx, w.Pool, time.Now())
	if err == nil && w.Log != nil {
		w.Log.InfoContext(ctx, "change records pruned", "count", n)
	}
	return err
}

// PrunePeriodic prunes every six hours.
func PrunePeriodic() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(6*time.Hour),
		func() (river.JobArgs, *river.InsertOpts) { return PruneArgs{}, nil },
		&river.PeriodicJobOpts{ID: "datastream_prune_changes"})
}
