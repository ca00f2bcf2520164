package stream

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// Prune deletes the transaction's tenant's change rows that no delivery needs any more: those
// every position in keep has already passed (transaction id below the lowest xmin among them;
// with keep empty, below the current snapshot's xmin, every transaction ended) and recorded
// before olderThan. keep must hold the position of every configuration that will deliver
// incrementally again; olderThan is the retention that "since a date" deliveries read back
// to, so a since date before it must be delivered in full. It returns how many rows went.
func Prune(ctx context.Context, tx pgx.Tx, keep []Position, olderThan time.Time) (int64, error) {
	var horizon string
	if len(keep) == 0 {
		if err := tx.QueryRow(ctx, `SELECT pg_snapshot_xmin(pg_current_snapshot())::text`).Scan(&horizon); err != nil {
			return 0, fmt.Errorf("prune changes: %w", err)
		}
	} else {
		lowest := uint64(0)
		for i, p := range keep {
			x, err := p.xmin()
			if err != nil {
				return 0, fmt.Errorf("prune changes: %w", err)
			}
			if i == 0 || x < lowest {
				lowest = x
			}
		}
		horizon = strconv.FormatUint(lowest, 10)
	}
	tag, err := tx.Exec(ctx, `DELETE FROM changes WHERE xid < $1::text::xid8 AND at < $2`, horizon, olderThan)
	if err != nil {
		return 0, fmt.Errorf("prune changes: %w", err)
	}
	return tag.RowsAffected(), nil
}
