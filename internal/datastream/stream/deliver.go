package stream

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/datastream"
)

// ManifestName is the file a delivery writes last.
const ManifestName = "manifest.json"

// Rows counts a file's rows per mutation kind.
type Rows struct {
	Insert int64 `json:"insert"`
	Update int64 `json:"update"`
	Delete int64 `json:"delete"`
}

// ManifestFile describes one delivered file.
type ManifestFile struct {
	Name   string `json:"name"`
	Stream string `json:"stream"`
	Rows   Rows   `json:"rows"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// Window is the part of the change stream a delivery covers: the changes committed after the
// snapshot From (empty: from the beginning) and visible to the snapshot To.
type Window struct {
	From     string     `json:"from,omitempty"`
	FromTime *time.Time `json:"from_time,omitempty"`
	To       string     `json:"to"`
	ToTime   time.Time  `json:"to_time"`
}

// Manifest is manifest.json: what a consumer checks before it reads a delivery.
type Manifest struct {
	Version             Version        `json:"version"`
	Mode                Mode           `json:"mode"`
	FullReason          string         `json:"full_reason,omitempty"`
	Since               *time.Time     `json:"since,omitempty"`
	Window              Window         `json:"window"`
	Pseudonymised       bool           `json:"pseudonymised"`
	PseudonymKeyVersion int            `json:"pseudonym_key_version,omitempty"`
	CreatedAt           time.Time      `json:"created_at"`
	Files               []ManifestFile `json:"files"`
}

// OpenTransaction is the oldest transaction that was running on the server when a delivery's
// snapshot was taken. Its changes, if it commits, come in a later delivery; until it ends,
// nothing at or above its id can be pruned.
type OpenTransaction struct {
	XID             string
	Age             time.Duration
	ApplicationName string
	Database        string
}

// Result is what a delivery did.
type Result struct {
	Dir      string
	Manifest Manifest
	// Position is where the next incremental delivery starts: store it only after success.
	Position Position
	// Oldest is the oldest transaction running on the server (any database) at the snapshot, as
	// far as pg_stat_activity shows it; nil when none was.
	Oldest *OpenTransaction
	// Employees is how many employees' data the delivery recorded as carried (Request.RunID of
	// a delivery that is not pseudonymised); 0 when it recorded none.
	Employees int64
}

// ErrRowVanished means a changed row was missing from the snapshot that recorded its change:
// the snapshot and the change stream disagree, and the delivery stops rather than guess.
var ErrRowVanished = errors.New("a changed row is missing from the delivery's snapshot")

// Deliver writes one delivery of cfg for the tenant to tr, in req.Dir(cfg): one CSV file per
// file of the chosen streams, then manifest.json. All rows come from one repeatable-read,
// read-only snapshot; its Position is returned for the next incremental delivery. A failed
// delivery returns an error and no position: the caller keeps the previous one, and a retry
// with the same req.Started first removes what the failed attempt left in its folder.
//
// Incremental deliveries carry the changes (casefile's change tracking, table changes) that
// this snapshot sees and req.From's did not: exactly the changes committed between the two
// snapshots, whatever their transaction ids, deletions included. Several changes of one row
// come as one line: the row's state in the snapshot, with the kind and time of its last
// change (by the change sequence, which follows the row's lock order).
func Deliver(ctx context.Context, db database.Beginner, tenantID uuid.UUID, tr datastream.Transport, cfg Config, req Request) (Result, error) {
	plan, err := cfg.plan()
	if err != nil {
		return Result{}, err
	}
	switch req.Mode {
	case ModeFull, ModeSince:
	case ModeIncremental:
		if req.From.IsZero() {
			req.Mode, req.FullReason = ModeFull, "no previous delivery"
		}
	default:
		return Result{}, fmt.Errorf("delivery: mode %q", req.Mode)
	}
	if req.Mode == ModeSince && req.Since.IsZero() {
		return Result{}, errors.New("delivery: mode since needs a moment")
	}
	if req.Started.IsZero() {
		return Result{}, errors.New("delivery: no start time")
	}
	var fromXmin uint64
	if req.Mode == ModeIncremental {
		if fromXmin, err = req.From.xmin(); err != nil {
			return Result{}, fmt.Errorf("delivery: %w", err)
		}
	}
	d := &delivery{cfg: cfg, req: req, tr: tr, fromXmin: fromXmin, res: Result{Dir: req.Dir(cfg)}}
	if cfg.Pseudonymised {
		d.mac = hmac.New(sha256.New, cfg.Key)
	}
	if err := d.clean(ctx); err != nil {
		return Result{}, err
	}
	// A delivery that records the employees it carried writes that record in its snapshot's
	// transaction, after the files; every other one only reads.
	d.record = req.RunID != uuid.Nil && !cfg.Pseudonymised
	rw := "READ ONLY"
	if d.record {
		rw = "READ WRITE"
	}
	begin := pgx.TxOptions{BeginQuery: "BEGIN ISOLATION LEVEL REPEATABLE READ " + rw + "; SELECT set_config('app.tenant_id', '" +
		tenantID.String() + "', true)"}
	err = pgx.BeginTxFunc(ctx, db, begin, func(tx pgx.Tx) error {
		if err := d.snapshot(ctx, tx); err != nil {
			return err
		}
		for _, p := range plan {
			mf, err := d.writeFile(ctx, tx, p)
			if err != nil {
				return err
			}
			d.res.Manifest.Files = append(d.res.Manifest.Files, mf)
		}
		if d.record {
			return d.recordEmployees(ctx, tx)
		}
		return nil
	})
	if err != nil {
		return Result{}, fmt.Errorf("delivery %s: %w", d.res.Dir, err)
	}
	if err := d.writeManifest(ctx); err != nil {
		return Result{}, fmt.Errorf("delivery %s: %w", d.res.Dir, err)
	}
	return d.res, nil
}

// delivery is one Deliver call's state.
type delivery struct {
	cfg      Config
	req      Request
	tr       datastream.Transport
	fromXmin uint64
	mac      hash.Hash
	res      Result
	written  int64 // rows written, for req.Rows
	// record says the delivery records the employees it carried (req.RunID, not
	// pseudonymised); carried gathers their ids as the rows are written.
	record  bool
	carried [][16]byte
}

// clean makes the delivery's folder and removes what an earlier attempt left in it, the
// manifest first, so no consumer takes a half-rewritten folder for a whole one.
func (d *delivery) clean(ctx context.Context) error {
	if err := d.tr.MkdirAll(ctx, d.res.Dir); err != nil {
		return fmt.Errorf("delivery: %w", err)
	}
	list, err := d.tr.List(ctx, d.res.Dir)
	if err != nil {
		return fmt.Errorf("delivery: %w", err)
	}
	for _, first := range []bool{true, false} {
		for _, f := range list {
			if f.IsDir || (f.Name == ManifestName) != first {
				continue
			}
			if err := d.tr.Remove(ctx, d.res.Dir+"/"+f.Name); err != nil {
				return fmt.Errorf("delivery: clean up the earlier attempt: %w", err)
			}
		}
	}
	return nil
}

// snapshot records the transaction's snapshot as the delivery's position and window, and the
// oldest transaction running at that moment.
func (d *delivery) snapshot(ctx context.Context, tx pgx.Tx) error {
	var snap string
	var at time.Time
	// The window's changes are sorted per row: with PostgreSQL's default work_mem (4 MB) a
	// million of them go to disk in batches; this transaction may use more for that sort.
	// Dates and timestamps are written by text casts, in the ISO style whatever the server's.
	err := tx.QueryRow(ctx, `SELECT pg_current_snapshot()::text, now(), set_config('work_mem', '128MB', true),
		set_config('datestyle', 'ISO, YMD', true)`).Scan(&snap, &at, nil, nil)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if d.req.Mode == ModeIncremental {
		// A position from another cluster (or before a logical restore) names transaction ids
		// this one has not reached: reading from it would silently return nothing.
		var ahead bool
		err := tx.QueryRow(ctx, `SELECT $1::text::xid8 > pg_snapshot_xmin(pg_current_snapshot())`,
			strconv.FormatUint(d.fromXmin, 10)).Scan(&ahead)
		if err != nil {
			return fmt.Errorf("snapshot: %w", err)
		}
		if ahead {
			return fmt.Errorf("the previous delivery's position %s lies ahead of this database's transactions (restored from a dump?): deliver in full", d.req.From.Snapshot)
		}
	}
	d.res.Position = Position{Snapshot: snap, At: at.UTC()}
	{
		var o OpenTransaction
		var seconds float64
		err := tx.QueryRow(ctx, `SELECT xid, extract(epoch FROM age)::float8, application_name, database
			FROM datastream_oldest_transaction()`).Scan(&o.XID, &seconds, &o.ApplicationName, &o.Database)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return fmt.Errorf("oldest transaction: %w", err)
		default:
			o.Age = time.Duration(seconds * float64(time.Second))
			d.res.Oldest = &o
		}
	}
	m := &d.res.Manifest
	m.Version, m.Mode, m.FullReason = d.cfg.Version, d.req.Mode, d.req.FullReason
	m.Pseudonymised = d.cfg.Pseudonymised
	if d.cfg.Pseudonymised {
		m.PseudonymKeyVersion = d.cfg.KeyVersion
	}
	m.CreatedAt = d.res.Position.At
	m.Window = Window{To: snap, ToTime: d.res.Position.At}
	switch d.req.Mode {
	case ModeIncremental:
		from := d.req.From.At.UTC()
		m.Window.From, m.Window.FromTime = d.req.From.Snapshot, &from
	case ModeSince:
		since := d.req.Since.UTC()
		m.Since = &since
	}
	m.Files = []ManifestFile{}
	return nil
}

// query is the SQL that reads a file's rows, every column as text: the record key, the
// mutation, its time, the planned columns, and (reading changes) whether the row is missing.
func (d *delivery) query(p plannedFile) (string, []any) {
	var cols strings.Builder
	for _, c := range p.columns {
		cols.WriteString(", ")
		cols.WriteString(c.expr)
	}
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if d.req.Mode == ModeFull {
		q := `SELECT t.id::text, 'insert'::text, ` + exprTimestamp("updated_at") + cols.String() + ` FROM ` + p.file.table + ` t`
		if d.cfg.Employers != nil {
			q += ` WHERE t.employer_id = ANY(` + arg(d.cfg.Employers) + `::uuid[])`
		}
		return q, args
	}
	// The window's changes of this entity, the last per row; then the row as the snapshot has it.
	q := `WITH w AS (` + d.window(p.file.table, arg) + `)
		SELECT w.row_id::text, w.op, ` + timestampText("w.at") + cols.String() + `,
			(t.id IS NULL)::text
		FROM w LEFT JOIN ` + p.file.table + ` t ON t.id = w.row_id`
	if d.cfg.Employers != nil {
		q += ` WHERE coalesce(t.employer_id, w.employer_id) = ANY(` + arg(d.cfg.Employers) + `::uuid[])`
	}
	return q, args
}

// window is the SQL of the changes of table in the delivery's window, the last one per row
// (row_id, op, at, employer_id); arg adds a parameter and returns its placeholder.
func (d *delivery) window(table string, arg func(any) string) string {
	var window string
	if d.req.Mode == ModeIncremental {
		window = `c.xid >= ` + arg(strconv.FormatUint(d.fromXmin, 10)) + `::text::xid8
			AND NOT pg_visible_in_snapshot(c.xid, ` + arg(d.req.From.Snapshot) + `::text::pg_snapshot)`
	} else {
		window = `c.at >= ` + arg(d.req.Since) + `::timestamptz`
	}
	return `SELECT DISTINCT ON (c.row_id) c.row_id, c.op, c.at, c.employer_id
		FROM changes c
		WHERE c.entity = ` + arg(table) + ` AND ` + window + `
		ORDER BY c.row_id, c.seq DESC`
}

// carriedChunk is how many employee ids one row of datastream_run_employees holds: small enough
// to stay below PostgreSQL's TOAST threshold (2 kB), large enough that a million employees make
// 10,000 rows, not a million.
const carriedChunk = 100

// carriedBatch is how many employee ids one statement inserts: a hundred chunks.
const carriedBatch = 100 * carriedChunk

// recordEmployees records, under the run req.RunID and in the delivery's snapshot transaction,
// the employees whose data the files carried (d.carried, gathered row by row as they were
// written: exactly what the files hold), sorted and without repeats, in chunks of
// carriedChunk, after removing what an earlier attempt of the run recorded. The ids go as
// binary arrays of carriedBatch, one statement each (COPY is refused under row-level security;
// one batch of all of them buffered 20 MB per million ids at once).
func (d *delivery) recordEmployees(ctx context.Context, tx pgx.Tx) error {
	ids := d.carried
	d.carried = nil
	slices.SortFunc(ids, func(a, b [16]byte) int { return bytes.Compare(a[:], b[:]) })
	ids = slices.Compact(ids)
	if _, err := tx.Exec(ctx, `DELETE FROM datastream_run_employees WHERE run_id = $1`, d.req.RunID); err != nil {
		return fmt.Errorf("record employees: %w", err)
	}
	for part := range slices.Chunk(ids, carriedBatch) {
		if _, err := tx.Exec(ctx, `INSERT INTO datastream_run_employees (tenant_id, run_id, first_employee_id, employee_ids)
			SELECT app_tenant(), $1, ($2::uuid[])[i], ($2::uuid[])[i:i + $3 - 1]
			FROM generate_series(1, cardinality($2::uuid[]), $3) i`, d.req.RunID, part, carriedChunk); err != nil {
			return fmt.Errorf("record employees: %w", err)
		}
	}
	d.res.Employees = int64(len(ids))
	return nil
}

// writeFile streams one file's rows from tx into tr as CSV and returns its manifest entry.
func (d *delivery) writeFile(ctx context.Context, tx pgx.Tx, p plannedFile) (ManifestFile, error) {
	mf := ManifestFile{Name: p.file.Name + ".csv", Stream: p.stream.ID}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pipe := newBufferedPipe()
	uploaded := make(chan error, 1)
	go func() {
		_, err := d.tr.Upload(ctx, d.res.Dir+"/"+mf.Name, pipe)
		// Unblocks the writer when the upload stopped before reading everything.
		pipe.closeRead(errors.Join(err, errors.New("upload stopped")))
		uploaded <- err
	}()
	sum := sha256.New()
	count := &counter{}
	buf := bufio.NewWriterSize(io.MultiWriter(pipe, sum, count), pipeChunk)
	w := csv.NewWriter(buf)
	w.UseCRLF = true
	err := d.writeRows(ctx, tx, p, w, &mf.Rows)
	if err == nil {
		w.Flush()
		err = w.Error()
	}
	if err == nil {
		err = buf.Flush()
	}
	if err != nil {
		cancel() // the upload must not publish a partial file
	}
	pipe.closeWrite(err)
	if uerr := <-uploaded; err == nil {
		err = uerr
	}
	if err != nil {
		return mf, fmt.Errorf("file %s: %w", mf.Name, err)
	}
	mf.Bytes, mf.SHA256 = count.n, hex.EncodeToString(sum.Sum(nil))
	return mf, nil
}

// writeRows writes the header and every row of p.
func (d *delivery) writeRows(ctx context.Context, tx pgx.Tx, p plannedFile, w *csv.Writer, n *Rows) error {
	if err := w.Write(p.header(d.cfg.Version)); err != nil {
		return err
	}
	q, args := d.query(p)
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	defer rows.Close()
	width := 3 + len(p.columns)
	record := make([]string, width)
	pseudonym := make([]bool, width)
	pseudonym[0] = d.mac != nil
	for i, c := range p.columns {
		pseudonym[3+i] = d.mac != nil && c.Pseudonym
	}
	person := -1
	if d.record {
		person = p.person()
	}
	for rows.Next() {
		raw := rows.RawValues()
		op := string(raw[1])
		// A deletion carries the row's key only: nobody's data.
		if person >= 0 && op != "delete" && raw[person] != nil {
			id, err := uuid.ParseBytes(raw[person])
			if err != nil {
				return fmt.Errorf("employee id %q: %w", raw[person], err)
			}
			d.carried = append(d.carried, [16]byte(id))
		}
		switch op {
		case "insert":
			n.Insert++
		case "update":
			n.Update++
		case "delete":
			n.Delete++
		}
		if len(raw) > width && op != "delete" && bytes.Equal(raw[width], []byte("true")) {
			return fmt.Errorf("%w: %s %s", ErrRowVanished, p.file.table, raw[0])
		}
		for i := range width {
			switch v := raw[i]; {
			case v == nil:
				record[i] = ""
			case pseudonym[i]:
				record[i] = d.pseudonym(v)
			default:
				record[i] = string(v)
			}
		}
		if err := w.Write(record); err != nil {
			return err
		}
		if d.written++; d.req.Rows != nil && d.written%RowsEvery == 0 {
			d.req.Rows(d.written)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read: %w", err)
	}
	if d.req.Rows != nil {
		d.req.Rows(d.written)
	}
	return nil
}

// pseudonym is HMAC-SHA-256 of an id's text under the configuration's key, in hexadecimal.
func (d *delivery) pseudonym(id []byte) string {
	d.mac.Reset()
	d.mac.Write(id)
	var sum [sha256.Size]byte
	return hex.EncodeToString(d.mac.Sum(sum[:0]))
}

// writeManifest uploads manifest.json, the sign that the delivery is whole.
func (d *delivery) writeManifest(ctx context.Context) error {
	data, err := json.MarshalIndent(d.res.Manifest, "", "  ")
	if err != nil {
		return err
	}
	if _, err := d.tr.Upload(ctx, d.res.Dir+"/"+ManifestName, bytes.NewReader(append(data, '\n'))); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	return nil
}

// counter counts the bytes written through it.
type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}
