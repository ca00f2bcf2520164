package stream_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/datastream/stream"
)

// TestPrune: pruning removes exactly the changes below the lowest kept position and older than
// the retention, and an increment from a kept position is still exact afterwards.
func TestPrune(t *testing.T) {
	t.Parallel()
	b := setup(t, 10)
	cfg := stream.Config{Folder: "Snoei", Version: stream.V2, Streams: []string{"werknemers"}}
	start := time.Date(2027, 1, 4, 1, 0, 0, 0, time.UTC)
	first, _ := b.deliver(t, cfg, stream.Request{Mode: stream.ModeFull, Started: start})

	var ids []uuid.UUID
	var xid uint64
	b.inTenant(t, func(tx pgx.Tx) (err error) {
		if ids, err = queryList[uuid.UUID](b.ctx, tx, "SELECT id FROM employees ORDER BY id"); err != nil {
			return err
		}
		if _, err := tx.Exec(b.ctx, "UPDATE employees SET city = 'Snoeistad', updated_at = now() WHERE id = $1", ids[0]); err != nil {
			return err
		}
		return tx.QueryRow(b.ctx, "SELECT pg_current_xact_id()::text::bigint").Scan(&xid)
	})
	second, _ := b.deliver(t, cfg, stream.Request{Mode: stream.ModeIncremental, From: first.Position, Started: start.Add(time.Hour)})

	count := func(where string, args ...any) int {
		var n int
		b.inTenant(t, func(tx pgx.Tx) error {
			return tx.QueryRow(b.ctx, "SELECT count(*) FROM changes WHERE "+where, args...).Scan(&n)
		})
		return n
	}
	below := count("xid <= $1::text::xid8", fmt.Sprint(xid))
	total := count("true")
	upTo := stream.Position{Snapshot: fmt.Sprintf("%d:%d:", xid+1, xid+1), At: time.Now()}
	prune := func(keep []stream.Position, olderThan time.Time) int64 {
		var n int64
		b.inTenant(t, func(tx pgx.Tx) (err error) {
			n, err = stream.Prune(b.ctx, tx, keep, olderThan)
			return err
		})
		return n
	}
	for _, keep := range [][]stream.Position{{upTo, second.Position}, nil} {
		if n := prune(keep, first.Position.At.Add(-time.Hour)); n != 0 {
			t.Errorf("keeping %v: pruned %d changes the retention keeps, want none", keep, n)
		}
	}
	// The lowest kept position decides: here the one just past the update.
	if n := prune([]stream.Position{upTo, {Snapshot: fmt.Sprintf("%d:%d:", xid+5, xid+5), At: time.Now()}}, time.Now().Add(time.Hour)); n != int64(below) || below == 0 {
		t.Errorf("pruned %d changes, want the %d at or below transaction %d", n, below, xid)
	}
	if left := count("true"); left != total-below {
		t.Errorf("%d changes left, want %d", left, total-below)
	}

	// After pruning up to a real position, the increment from it is still exact.
	prune([]stream.Position{second.Position}, time.Now().Add(time.Hour))
	b.inTenant(t, func(tx pgx.Tx) error {
		_, err := tx.Exec(b.ctx, "UPDATE employees SET city = 'Na het snoeien', updated_at = now() WHERE id = $1", ids[1])
		return err
	})
	_, files := b.deliver(t, cfg, stream.Request{Mode: stream.ModeIncremental, From: second.Position, Started: start.Add(2 * time.Hour)})
	got := files["werknemers.csv"].byKey()
	if len(got) != 1 || got[ids[1].String()]["woonplaats"] != "Na het snoeien" {
		t.Errorf("increment after pruning: %v, want only the update of %s", got, ids[1])
	}
}
