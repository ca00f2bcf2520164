package delivery

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/database"
)

// DeliverNow records a run of configuration id as RequestRun does (same checks, same audit
// event) and delivers it at once, in this process, with w: one attempt and no River job. It is
// for the demo loader, whose hosted account shows a delivery at first sight. It returns the run
// as it ended; a failed delivery is recorded on the run and returned as the error.
func DeliverNow(ctx context.Context, w *DeliverWorker, tenantID uuid.UUID, ed access.Editor, id uuid.UUID, req RunRequest) (Run, error) {
	var run Run
	err := database.InTenant(ctx, w.Pool, tenantID, func(tx pgx.Tx) (err error) {
		if err := ed.Allow(access.CanManageDatastreams(ed.Principal)); err != nil {
			return err
		}
		run, err = enqueue(ctx, tx, nil, ed.Actor, id, req)
		return err
	})
	if err != nil {
		return run, err
	}
	werr := w.Work(ctx, &river.Job[DeliverArgs]{JobRow: &rivertype.JobRow{Attempt: 1, MaxAttempts: 1},
		Args: DeliverArgs{TenantID: tenantID, RunID: run.ID}})
	err = database.InTenant(ctx, w.Pool, tenantID, func(tx pgx.Tx) (err error) {
		run, err = FindRunByID(ctx, tx, run.ID)
		return err
	})
	if werr != nil {
		return run, fmt.Errorf("deliver %s now: %w", id, werr)
	}
	return run, err
}
