package stream_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/database/dbtest"
	"github.com/dossierkast/dossierkast/internal/datastream"
	"github.com/dossierkast/dossierkast/internal/datastream/stream"
	"github.com/dossierkast/dossierkast/internal/demo"
)

// failing is a Transport that passes everything to next except the upload of the file whose
// name failFunc picks, which stops with an error after some bytes, as a server that went away.
type failing struct {
	datastream.Transport
	failFunc func(name string) bool
}

var errServerGone = errors.New("connection lost")

func (f failing) Upload(ctx context.Context, name string, r io.Reader) (int64, error) {
	if f.failFunc(name) {
		return f.Transport.Upload(ctx, name, io.MultiReader(io.LimitReader(r, 100), errReader{errServerGone}))
	}
	return f.Transport.Upload(ctx, name, r)
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// mutation is one committed change a writer made: the row, its kind, and the value of the
// column the test follows (city of an employee, notes of an absence) after it.
type mutation struct {
	file  string // werknemers or verzuimmeldingen
	row   uuid.UUID
	op    string
	value string
}

// committedTx is a writer's committed transaction; order is its place in the writer's sequence.
type committedTx struct {
	xid    uint64
	writer int
	order  int
	muts   []mutation
}

// delivered row as the test compares it.
type got struct {
	op    string
	value string
}

// TestIncrementalExactUnderConcurrency runs writers that insert, update and delete employees
// and absences (some transactions roll back, some take their transaction id and stay open a
// while) while incremental deliveries run; one transaction is held open across a delivery and
// committed after it, and one delivery fails mid-upload. Each committed transaction must land
// in exactly one delivery (the first whose snapshot sees it, the held one in the delivery after
// it was committed), and each delivery must carry, per row, exactly the last mutation of its
// window with the row's final value.
func TestIncrementalExactUnderConcurrency(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	db := dbtest.New(t)
	res, err := demo.Load(ctx, db.Pool, demo.Options{Employees: 10})
	if err != nil {
		t.Fatal(err)
	}
	b := setupFolder(t, testBundle{ctx: ctx, db: db, tenant: res.TenantID})
	cfg := stream.Config{Folder: "Exact", Version: stream.V2, Streams: []string{"werknemers", "verzuim"}, Medical: true}

	var employers []uuid.UUID
	b.inTenant(t, func(tx pgx.Tx) (err error) {
		employers, err = queryList[uuid.UUID](ctx, tx, "SELECT id FROM employers ORDER BY employer_number")
		return err
	})

	// The first delivery is full: it sets the position the increments start from.
	first, _ := b.deliver(t, cfg, stream.Request{Mode: stream.ModeIncremental, Started: time.Now()})
	if first.Manifest.Mode != stream.ModeFull || first.Manifest.FullReason == "" {
		t.Fatalf("first delivery: mode %s (%q), want full with a reason", first.Manifest.Mode, first.Manifest.FullReason)
	}

	const writers, txPerWriter = 4, 40
	var (
		mu        sync.Mutex
		committed []committedTx
		rolled    int
		wg        sync.WaitGroup
		writeErr  = make(chan error, writers)
	)
	errRollback := errors.New("deliberate rollback")
	for w := range writers {
		employer := employers[w%len(employers)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 19))
			employees := map[uuid.UUID]bool{}
			absences := map[uuid.UUID]uuid.UUID{} // absence → employee
			for i := range txPerWriter {
				var (
					xid      uint64
					muts     []mutation
					txEmp    = clone(employees)
					txAbs    = clone(absences)
					rollback = rng.IntN(8) == 0
					hold     = rng.IntN(6) == 0
				)
				err := database.InTenant(ctx, db.Pool, b.tenant, func(tx pgx.Tx) error {
					if err := tx.QueryRow(ctx, "SELECT pg_current_xact_id()::text::bigint").Scan(&xid); err != nil {
						return err
					}
					if hold {
						time.Sleep(time.Duration(20+rng.IntN(80)) * time.Millisecond)
					}
					for range 1 + rng.IntN(4) {
						value := fmt.Sprintf("w%d-t%d-%d", w, i, rng.IntN(1_000_000))
						switch op := rng.IntN(6); {
						case op == 0 || len(txEmp) == 0:
							var id uuid.UUID
							err := tx.QueryRow(ctx, `INSERT INTO employees (tenant_id, employer_id, personnel_number, last_name, city)
								VALUES (app_tenant(), $1, $2, 'Schrijver', $3) RETURNING id`, employer, "x"+value, value).Scan(&id)
							if err != nil {
								return err
							}
							txEmp[id] = true
							muts = append(muts, mutation{"werknemers", id, "insert", value})
						case op == 1:
							id := pick(rng, txEmp)
							if _, err := tx.Exec(ctx, "UPDATE employees SET city = $2, updated_at = now() WHERE id = $1", id, value); err != nil {
								return err
							}
							muts = append(muts, mutation{"werknemers", id, "update", value})
						case op == 2:
							id := pick(rng, txEmp)
							for a, e := range txAbs {
								if e == id {
									if _, err := tx.Exec(ctx, "DELETE FROM absences WHERE id = $1", a); err != nil {
										return err
									}
									delete(txAbs, a)
									muts = append(muts, mutation{"verzuimmeldingen", a, "delete", ""})
								}
							}
							if _, err := tx.Exec(ctx, "DELETE FROM employees WHERE id = $1", id); err != nil {
								return err
							}
							delete(txEmp, id)
							muts = append(muts, mutation{"werknemers", id, "delete", ""})
						case op == 3 || len(txAbs) == 0:
							e := pick(rng, txEmp)
							var id uuid.UUID
							err := tx.QueryRow(ctx, `INSERT INTO absences (tenant_id, employee_id, employer_id, first_sick_day, notes)
								VALUES (app_tenant(), $1, $2, DATE '2027-01-04', $3) RETURNING id`, e, employer, value).Scan(&id)
							if err != nil {
								return err
							}
							txAbs[id] = e
							muts = append(muts, mutation{"verzuimmeldingen", id, "insert", value})
						case op == 4:
							id := pick(rng, txAbs)
							if _, err := tx.Exec(ctx, "UPDATE absences SET notes = $2, updated_at = now() WHERE id = $1", id, value); err != nil {
								return err
							}
							muts = append(muts, mutation{"verzuimmeldingen", id, "update", value})
						default:
							id := pick(rng, txAbs)
							if _, err := tx.Exec(ctx, "DELETE FROM absences WHERE id = $1", id); err != nil {
								return err
							}
							delete(txAbs, id)
							muts = append(muts, mutation{"verzuimmeldingen", id, "delete", ""})
						}
					}
					if rollback {
						return errRollback
					}
					return nil
				})
				switch {
				case rollback && errors.Is(err, errRollback):
					mu.Lock()
					rolled++
					mu.Unlock()
				case err != nil:
					writeErr <- fmt.Errorf("writer %d: %w", w, err)
					return
				default:
					employees, absences = txEmp, txAbs
					mu.Lock()
					committed = append(committed, committedTx{xid: xid, writer: w, order: i, muts: muts})
					mu.Unlock()
				}
			}
		}()
	}
	writersDone := make(chan struct{})
	go func() { wg.Wait(); close(writersDone) }()

	// Deliveries follow the writers. The third fails mid-upload; the fifth runs while a
	// transaction is held open, which commits right after it.
	positions := []stream.Position{first.Position}
	deliveries := []delivered{nil}
	var heldRow uuid.UUID
	var heldXID uint64
	for n := 1; ; n++ {
		done := false
		select {
		case <-writersDone:
			done = true
		default:
		}
		var held pgx.Tx
		if n == 5 {
			held, err = db.Pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			_, err = held.Exec(ctx, "SELECT set_config('app.tenant_id', $1, true), set_config('application_name', 'held-by-test', true)", b.tenant.String())
			if err == nil {
				err = held.QueryRow(ctx, `INSERT INTO employees (tenant_id, employer_id, personnel_number, last_name, city)
					VALUES (app_tenant(), $1, 'held', 'Vasthouder', 'held') RETURNING id, pg_current_xact_id()::text::bigint`, employers[0]).Scan(&heldRow, &heldXID)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		req := stream.Request{Mode: stream.ModeIncremental, From: positions[len(positions)-1], Started: time.Now().Add(time.Duration(n) * time.Second)}
		if n == 3 {
			tr := failing{Transport: b.folder, failFunc: func(name string) bool { return filepath.Base(name) == "verzuimmeldingen.csv" }}
			_, err := stream.Deliver(ctx, db.Pool, b.tenant, tr, cfg, req)
			if !errors.Is(err, errServerGone) {
				t.Fatalf("delivery 3 through a failing server: err = %v, want the connection loss", err)
			}
			dir := filepath.Join(b.dir, filepath.FromSlash(req.Dir(cfg)))
			if _, err := os.Stat(filepath.Join(dir, stream.ManifestName)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the failed delivery left a manifest: %v", err)
			}
			if matches, _ := filepath.Glob(filepath.Join(dir, "*.part")); len(matches) > 0 {
				t.Errorf("the failed delivery left %v", matches)
			}
			continue
		}
		r, files := b.deliver(t, cfg, req)
		if held != nil {
			// Another test's transaction (any database of the server) may be older than ours.
			if r.Oldest == nil {
				t.Errorf("delivery with a held transaction reports no open transaction")
			} else {
				t.Logf("delivery %d: the oldest open transaction %+v; snapshot %s, held transaction %d", n, *r.Oldest, r.Position.Snapshot, heldXID)
			}
			if _, ok := files["werknemers.csv"].byKey()[heldRow.String()]; ok {
				t.Errorf("the held transaction's row was delivered before it committed")
			}
			if err := held.Commit(ctx); err != nil {
				t.Fatal(err)
			}
		}
		positions = append(positions, r.Position)
		deliveries = append(deliveries, files)
		if done {
			break
		}
		time.Sleep(30 * time.Millisecond)
	}
	close(writeErr)
	for err := range writeErr {
		t.Fatal(err)
	}
	// The held transaction counts as committed by a writer of its own.
	committed = append(committed, committedTx{xid: heldXID, writer: writers, muts: []mutation{{"werknemers", heldRow, "insert", "held"}}})

	// Which delivery each committed transaction belongs to, by PostgreSQL's own visibility
	// rules: the first snapshot that sees it.
	window := make([]int, len(committed))
	b.inTenant(t, func(tx pgx.Tx) error {
		for i, c := range committed {
			window[i] = -1
			for k, p := range positions {
				var seen bool
				if err := tx.QueryRow(ctx, "SELECT pg_visible_in_snapshot($1::text::xid8, $2::text::pg_snapshot)",
					strconv.FormatUint(c.xid, 10), p.Snapshot).Scan(&seen); err != nil {
					return err
				}
				if seen {
					window[i] = k
					break
				}
			}
		}
		return nil
	})
	want := make([]map[string]got, len(positions))
	for k := range want {
		want[k] = map[string]got{}
	}
	// Within a window, a row's mutations apply in writer order (each row has one writer).
	order := make([]int, len(committed))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		ca, cb := committed[a], committed[b]
		return cmpInt(ca.writer, cb.writer)*2 + cmpInt(ca.order, cb.order)
	})
	heldWindow := -1
	for _, i := range order {
		k := window[i]
		if k < 0 {
			t.Fatalf("transaction %d is visible to no delivery", committed[i].xid)
		}
		if committed[i].xid == heldXID {
			heldWindow = k
		}
		for _, m := range committed[i].muts {
			want[k][m.file+" "+m.row.String()] = got{m.op, m.value}
		}
	}
	if heldWindow != 5 {
		t.Errorf("the held transaction is in delivery %d, want 5 (the one after it committed)", heldWindow)
	}
	total := 0
	for k := 1; k < len(positions); k++ {
		have := map[string]got{}
		for _, file := range []string{"werknemers", "verzuimmeldingen"} {
			col := map[string]string{"werknemers": "woonplaats", "verzuimmeldingen": "toelichting"}[file]
			for key, r := range deliveries[k][file+".csv"].byKey() {
				have[file+" "+key] = got{r["mutation"], r[col]}
			}
		}
		if diff := cmp.Diff(want[k], have, cmp.AllowUnexported(got{})); diff != "" {
			t.Errorf("delivery %d (-committed +delivered):\n%s", k, diff)
		}
		total += len(have)
	}
	if len(want[0]) != 0 {
		t.Errorf("the full delivery already saw %d writer rows; the increments were not tested on them", len(want[0]))
	}
	t.Logf("%d committed transactions, %d rolled back; %d successful deliveries after the full one carried %d rows",
		len(committed), rolled, len(positions)-1, total)
	if rolled == 0 || len(positions) < 7 {
		t.Errorf("the test did not exercise rollbacks (%d) or enough deliveries (%d)", rolled, len(positions))
	}
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func clone[K comparable, V any](m map[K]V) map[K]V {
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// pick returns a random key of m (not empty), in a way fixed by rng.
func pick[V any](rng *rand.Rand, m map[uuid.UUID]V) uuid.UUID {
	keys := make([]uuid.UUID, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
	return keys[rng.IntN(len(keys))]
}
