package stream

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// MinKeySize is the least number of bytes of a pseudonym key.
const MinKeySize = 32

// Config is what a delivery needs to know of a datastream configuration and its account.
type Config struct {
	// Folder is the configuration's folder on the account: deliveries go into Folder/<timestamp>.
	Folder  string
	Version Version
	// Pseudonymised leaves identifying columns out and replaces record keys and references to
	// them by HMAC-SHA-256 pseudonyms under Key.
	Pseudonymised bool
	Key           []byte
	KeyVersion    int
	// Streams are the ids of the chosen streams.
	Streams []string
	// Columns holds, per file name, the optional columns chosen (v2 names); a file not in the map
	// delivers all of its columns. Mandatory columns are delivered whether listed or not.
	Columns map[string][]string
	// Medical is the account's access to medical data: without it, medical columns are left out.
	Medical bool
	// Employers is the account's employer scope; nil means all employers of the tenant.
	Employers []uuid.UUID
}

// plannedFile is a file a delivery writes, with the columns it carries after the mutation
// columns.
type plannedFile struct {
	stream  Stream
	file    File
	columns []Column
}

// PersonColumn is the column that names the employee a row is about: the record key of
// werknemers, the reference to him in every other file about a person.
const PersonColumn = "werknemer_id"

// person is the index, in a row as the delivery reads it (record key, mutation, time, then the
// planned columns), of the value naming the employee the row is about; -1 for a file about no
// person (an employer's agreements and policies).
func (p plannedFile) person() int {
	if p.file.Key().Name == PersonColumn {
		return 0
	}
	for i, c := range p.columns {
		if c.Name == PersonColumn {
			return 3 + i
		}
	}
	return -1
}

// header is the file's first line in version v.
func (p plannedFile) header(v Version) []string {
	h := []string{p.file.Key().ColumnName(v), MutationColumn, MutationTimeColumn}
	for _, c := range p.columns {
		h = append(h, c.ColumnName(v))
	}
	return h
}

// plan checks c and returns the files a delivery writes, in catalogue order, with their columns
// after the privacy rules: medical only with Medical, identifying never when pseudonymised, and
// only those the version has.
func (c Config) plan() ([]plannedFile, error) {
	if c.Version != V1 && c.Version != V2 {
		return nil, fmt.Errorf("configuration: version %q, want v1 or v2", c.Version)
	}
	if c.Pseudonymised && len(c.Key) < MinKeySize {
		return nil, fmt.Errorf("configuration: a pseudonymised configuration needs a key of %d bytes or more", MinKeySize)
	}
	if c.Folder == "" || strings.Contains(c.Folder, "..") {
		return nil, fmt.Errorf("configuration: folder %q", c.Folder)
	}
	if len(c.Streams) == 0 {
		return nil, fmt.Errorf("configuration: no streams chosen")
	}
	for _, id := range c.Streams {
		s, ok := FindStream(id)
		if !ok {
			return nil, fmt.Errorf("configuration: no stream %q", id)
		}
		if !s.In(c.Version) {
			return nil, fmt.Errorf("configuration: stream %s is new in v2 and not part of %s", id, c.Version)
		}
	}
	for name, cols := range c.Columns {
		_, f, err := FindFile(name)
		if err != nil {
			return nil, fmt.Errorf("configuration: %w", err)
		}
		for _, col := range cols {
			if _, ok := f.Column(col); !ok {
				return nil, fmt.Errorf("configuration: file %s has no column %q", name, col)
			}
		}
	}
	var plan []plannedFile
	for _, s := range Catalogue {
		if !slices.Contains(c.Streams, s.ID) {
			continue
		}
		for _, f := range s.Files {
			chosen, limited := c.Columns[f.Name]
			p := plannedFile{stream: s, file: f}
			for _, col := range f.Columns[1:] {
				switch {
				case col.ColumnName(c.Version) == "",
					col.Medical && !c.Medical,
					col.Identifying && c.Pseudonymised,
					!col.Mandatory && limited && !slices.Contains(chosen, col.Name):
					continue
				}
				p.columns = append(p.columns, col)
			}
			plan = append(plan, p)
		}
	}
	return plan, nil
}

// Position is where a delivery left the change stream: the snapshot it read (PostgreSQL's
// pg_snapshot, "xmin:xmax:running transactions") and when. The next incremental delivery
// carries exactly the changes committed after that snapshot was taken: those its own snapshot
// sees and this one did not. The zero Position means no delivery yet.
type Position struct {
	Snapshot string
	At       time.Time
}

// IsZero reports whether p is "no delivery yet".
func (p Position) IsZero() bool { return p.Snapshot == "" }

// String formats p to be stored: "xmin:xmax:xip@RFC 3339 time"; ParsePosition reads it back.
func (p Position) String() string {
	if p.IsZero() {
		return ""
	}
	return p.Snapshot + "@" + p.At.UTC().Format(time.RFC3339Nano)
}

// ParsePosition reads a Position written by String; "" is the zero Position.
func ParsePosition(s string) (Position, error) {
	if s == "" {
		return Position{}, nil
	}
	snap, at, ok := strings.Cut(s, "@")
	if !ok {
		return Position{}, fmt.Errorf("parse position %q: want snapshot@time", s)
	}
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return Position{}, fmt.Errorf("parse position %q: %w", s, err)
	}
	p := Position{Snapshot: snap, At: t}
	if _, err := p.xmin(); err != nil {
		return Position{}, err
	}
	return p, nil
}

// xmin is the snapshot's lowest transaction id still running when it was taken: every change
// of a lower transaction id was already visible to it.
func (p Position) xmin() (uint64, error) {
	parts := strings.Split(p.Snapshot, ":")
	if len(parts) != 3 {
		return 0, fmt.Errorf("position %q: not a snapshot", p.Snapshot)
	}
	xmin, err := strconv.ParseUint(parts[0], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("position %q: %w", p.Snapshot, err)
	}
	xmax, err := strconv.ParseUint(parts[1], 10, 64)
	if err != nil || xmax < xmin {
		return 0, fmt.Errorf("position %q: bad xmax", p.Snapshot)
	}
	for _, x := range strings.Split(parts[2], ",") {
		if x == "" {
			continue
		}
		if v, err := strconv.ParseUint(x, 10, 64); err != nil || v < xmin || v >= xmax {
			return 0, fmt.Errorf("position %q: bad running transaction %q", p.Snapshot, x)
		}
	}
	return xmin, nil
}

// Mode is what rows a delivery carries.
type Mode string

// The delivery modes.
const (
	// ModeFull delivers every row in scope as it is now.
	ModeFull Mode = "full"
	// ModeIncremental delivers the rows changed since the previous successful delivery.
	ModeIncremental Mode = "incremental"
	// ModeSince delivers the rows changed and deleted since a moment.
	ModeSince Mode = "since"
)

// Request is one delivery of a configuration.
type Request struct {
	Mode Mode
	// From is the position of the previous successful delivery (ModeIncremental). An
	// incremental request without one is delivered in full.
	From Position
	// Since is the moment ModeSince starts from.
	Since time.Time
	// FullReason says why a full delivery is made (key rotated, ...); it goes into the manifest.
	FullReason string
	// Started names the delivery's folder (its UTC time to the second). A retry passes the same
	// time and rewrites that folder from scratch.
	Started time.Time
	// Rows, when set, is told the number of rows written so far in the delivery: every
	// RowsEvery rows and at the end of each file. It runs in the delivery's own goroutine.
	Rows func(written int64)
	// RunID, when set, names the run under which a delivery that is not pseudonymised records
	// which employees' data its files carry (datastream_run_employees), in its snapshot's
	// transaction: the werknemer_id of every row written that is not a deletion. A retry with
	// the same RunID replaces what an earlier attempt recorded.
	RunID uuid.UUID
}

// RowsEvery is how many rows a delivery writes between two calls of Request.Rows.
const RowsEvery = 4096

// Dir is the delivery's folder on the account.
func (r Request) Dir(c Config) string {
	return c.Folder + "/" + r.Started.UTC().Format("20060102T150405Z")
}
