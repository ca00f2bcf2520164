package auth

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
)

// CleanupSessionsArgs asks for expired sessions to be removed. It carries no tenant: sessions
// are platform data.
type CleanupSessionsArgs struct{}

// Kind names the job.
func (CleanupSessionsArgs) Kind() string { return "cleanup_sessions" }

// CleanupSessionsWorker deletes expired sessions.
type CleanupSessionsWorker struct {
	river.WorkerDefaults[CleanupSessionsArgs]
	Pool *pgxpool.Pool
}

// Work deletes expired sessions and old throttle records.
func (w *CleanupSessionsWorker) Work(ctx context.Context, job *river.Job[CleanupSessionsArgs]) error {
	n, err := DeleteExpired(ctx, w.Pool)
	if err != nil {
		return err
	}
	return river.RecordOutput(ctx, map[string]int64{"deleted": n})
}

// CleanupSessionsPeriodic runs the cleanup every ten minutes, and once at start. It is not
// made unique: River's leader election alone keeps it single-run across processes, and a test
// holds it to that.
func CleanupSessionsPeriodic() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(10*time.Minute),
		func() (river.JobArgs, *river.InsertOpts) { return CleanupSessionsArgs{}, nil },
		&river.PeriodicJobOpts{ID: "cleanup_sessions", RunOnStart: true})
}
