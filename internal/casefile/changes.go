package casefile

// Change tracking (DESIGN.md §9, "Incremental correctness"). The trigger track_changes (migration
// 00005) writes one row into changes for every insert, update and delete of a tracked table, in
// the writing transaction, stamped with that transaction's id (xid8, 64 bits, never wraps) and a
// sequence number that rises in statement order. This file reads those rows incrementally.
//
// Why a reader never skips a committed change: a read returns only rows whose xid is below
// pg_snapshot_xmin of its own snapshot. Every transaction with an id below xmin has ended
// (committed or rolled back) before the snapshot was taken, so its rows are either all visible
// to the read or gone for good; every transaction still running, and every one that starts
// later, has an id of xmin or above. The watermark a read hands back lies below xmin, so a
// transaction that was open during one read, however early its id, is still at or above the
// watermark and is returned by a later read once it commits. A long-open transaction therefore
// delays everything after its id (never loses it): readers stop at it until it ends.
//
// Transaction ids belong to one PostgreSQL cluster. Physical replicas, base backups and
// pg_upgrade keep them; a logical dump and restore (pg_dump, pg_restore) does not: the restored
// changes keep their old xid values while new transactions start again from low ids. After such
// a restore every stored watermark must be reset (deliver in full once, then continue from the
// new watermark). While the new cluster's ids are still below a stored watermark, ReadChanges
// notices it and returns ErrWatermarkAhead rather than silently returning nothing; once they
// have passed it, nothing can tell, so the reset belongs to the restore procedure.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// Watermark is a position in the change stream: the (transaction id, sequence) of the last change
// a reader has taken. The zero Watermark lies before every change. Watermarks are ordered by XID,
// then Seq.
type Watermark struct {
	XID uint64
	Seq int64
}

// IsZero reports whether w is the start of the stream.
func (w Watermark) IsZero() bool { return w == Watermark{} }

// String formats w as "xid:seq", the form to store it in; ParseWatermark reads it back.
func (w Watermark) String() string {
	return strconv.FormatUint(w.XID, 10) + ":" + strconv.FormatInt(w.Seq, 10)
}

// ParseWatermark reads a Watermark written by String. The empty string is the zero Watermark,
// so a column that has never held one reads as "from the beginning".
func ParseWatermark(s string) (Watermark, error) {
	if s == "" {
		return Watermark{}, nil
	}
	x, q, ok := strings.Cut(s, ":")
	if !ok {
		return Watermark{}, fmt.Errorf("parse watermark %q: want xid:seq", s)
	}
	xid, err := strconv.ParseUint(x, 10, 64)
	if err != nil {
		return Watermark{}, fmt.Errorf("parse watermark %q: %w", s, err)
	}
	seq, err := strconv.ParseInt(q, 10, 64)
	if err != nil || seq < 0 {
		return Watermark{}, fmt.Errorf("parse watermark %q: bad sequence", s)
	}
	return Watermark{XID: xid, Seq: seq}, nil
}

// Change is one recorded insert, update or delete of a row of a tracked table.
type Change struct {
	Entity     string    // the table's name, e.g. "absences"
	RowID      uuid.UUID // the row's id; for a delete, the id the row had
	Op         string    // "insert", "update" or "delete"
	EmployeeID *uuid.UUID
	EmployerID *uuid.UUID
	At         time.Time // when the statement ran (not when its transaction committed)
	XID        uint64
	Seq        int64
}

// Watermark is the position just after c.
func (c Change) Watermark() Watermark { return Watermark{XID: c.XID, Seq: c.Seq} }

// ErrWatermarkAhead means a watermark names a transaction id this cluster has not reached: the
// database was restored from a logical dump, or the watermark comes from another database. The
// watermark must be reset (see the package notes above).
var ErrWatermarkAhead = errors.New("watermark is ahead of the database's transaction ids; reset it after a logical restore")

// changeColumns reads xid as text (pgx has no xid8 codec) under another name: an output column
// named xid would make ORDER BY xid sort by the text.
const changeColumns = `c.entity, c.row_id, c.op, c.employee_id, c.employer_id, c.at, c.xid::text AS xid_text, c.seq`

// ReadChanges returns the changes of the transaction's tenant committed after since, oldest
// first, at most limit of them, and the watermark to pass next time: the last returned change's,
// or since itself when there is none.
//
// The changes returned are those with (xid, seq) > since and xid below the safe upper bound
// (SafeUpperBound), ordered by (xid, seq): grouped by transaction and, within a transaction, in
// statement order. Successive reads from successive watermarks return every committed change
// exactly once and never one of a transaction that rolled back, however the writing
// transactions overlap the reads. Rows written by tx itself are not returned to it.
//
// entities restricts the read to those tracked tables (nil reads all); a watermark obtained
// with one filter must be used with the same filter. limit must be positive. ErrWatermarkAhead
// when since lies beyond this cluster's transaction ids.
func ReadChanges(ctx context.Context, tx pgx.Tx, since Watermark, entities []string, limit int) ([]Change, Watermark, error) {
	if limit <= 0 {
		return nil, since, fmt.Errorf("read changes: limit %d, want a positive number", limit)
	}
	args := []any{strconv.FormatUint(since.XID, 10), since.Seq, limit}
	query := changesQuery(filterNone)
	switch {
	case len(entities) == 1:
		query = changesQuery(filterOne)
		args = append(args, entities[0])
	case entities != nil:
		query = changesQuery(filterAny)
		args = append(args, entities)
	}
	rows, err := tx.Query(ctx, query, args...)
	if err != nil {
		return nil, since, fmt.Errorf("read changes: %w", err)
	}
	list := make([]Change, 0, min(limit, 10_000))
	var (
		c                         Change
		xid                       string
		rowID, employee, employer pgtype.UUID // binary, unlike uuid.UUID's sql.Scanner, which goes through text
	)
	_, err = pgx.ForEachRow(rows, []any{&c.Entity, &rowID, &c.Op, &employee, &employer, &c.At, &xid, &c.Seq}, func() error {
		var err error
		if c.XID, err = strconv.ParseUint(xid, 10, 64); err != nil {
			return fmt.Errorf("xid %q: %w", xid, err)
		}
		c.RowID = rowID.Bytes
		c.EmployeeID, c.EmployerID = optionalUUID(employee), optionalUUID(employer)
		list = append(list, c)
		return nil
	})
	if err != nil {
		return nil, since, fmt.Errorf("read changes: %w", err)
	}
	if len(list) == 0 {
		if err := checkWatermark(ctx, tx, since); err != nil {
			return nil, since, err
		}
		return nil, since, nil
	}
	return list, list[len(list)-1].Watermark(), nil
}

func optionalUUID(u pgtype.UUID) *uuid.UUID {
	if !u.Valid {
		return nil
	}
	id := uuid.UUID(u.Bytes)
	return &id
}

// entityFilter is how a read restricts the entities: not, to one ($4 text), to several ($4 text[]).
type entityFilter int

const (
	filterNone entityFilter = iota
	filterOne
	filterAny
)

// changesQuery selects a page of changes after the watermark ($1 xid as text, $2 seq), at
// most $3, of the entities in $4 when filtered. One entity is an equality, so the page comes off
// the index (tenant_id, entity, xid, seq) in order; several are a filter on the primary key
// walk. The bound comes from the statement's own
// snapshot, the one the rows are read with. The row comparison and the bound are index
// conditions on (tenant_id, xid, seq) (their operators are leakproof, so row-level security
// lets the planner use them in the index scan), and a page costs its size, not the length of
// the history before it.
func changesQuery(f entityFilter) string {
	q := `SELECT ` + changeColumns + ` FROM changes c
		WHERE (c.xid, c.seq) > ($1::text::xid8, $2::bigint)
		AND c.xid < (SELECT pg_snapshot_xmin(pg_current_snapshot()))`
	switch f {
	case filterOne:
		q += ` AND c.entity = $4::text`
	case filterAny:
		q += ` AND c.entity = ANY($4::text[])`
	}
	return q + ` ORDER BY c.xid, c.seq LIMIT $3`
}

// checkWatermark returns ErrWatermarkAhead when since names a transaction id at or beyond the
// first one this cluster has yet to assign. A real watermark is always below it.
func checkWatermark(ctx context.Context, tx pgx.Tx, since Watermark) error {
	if since.XID == 0 {
		return nil
	}
	var ahead bool
	err := tx.QueryRow(ctx, `SELECT $1::text::xid8 >= pg_snapshot_xmax(pg_current_snapshot())`,
		strconv.FormatUint(since.XID, 10)).Scan(&ahead)
	if err != nil {
		return fmt.Errorf("read changes: check watermark: %w", err)
	}
	if ahead {
		return fmt.Errorf("read changes since %s: %w", since, ErrWatermarkAhead)
	}
	return nil
}

// SafeUpperBound returns the transaction id below which every transaction has ended, as seen by
// tx's current snapshot: pg_snapshot_xmin(pg_current_snapshot()). Changes with a lower xid are
// final; ReadChanges returns no change at or above it. A delivery can record it to show how far
// its window reached.
func SafeUpperBound(ctx context.Context, tx pgx.Tx) (uint64, error) {
	var s string
	if err := tx.QueryRow(ctx, `SELECT pg_snapshot_xmin(pg_current_snapshot())::text`).Scan(&s); err != nil {
		return 0, fmt.Errorf("safe upper bound: %w", err)
	}
	x, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("safe upper bound %q: %w", s, err)
	}
	return x, nil
}
