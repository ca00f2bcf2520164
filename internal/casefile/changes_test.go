package casefile_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/casefile"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/database/dbtest"
	"github.com/dossierkast/dossierkast/internal/org"
)

// changesBundle is a test database whose employees table is tracked, with one tenant.
type changesBundle struct {
	db     dbtest.DB
	tenant uuid.UUID
}

// setupChanges gives t a database in which employees carry the track_changes trigger (no
// migration attaches it to employees yet) and a tenant to write in.
func setupChanges(t testing.TB) changesBundle {
	t.Helper()
	db := dbtest.New(t)
	trackEmployees(t, db)
	return changesBundle{db: db, tenant: changesTenant(t, db, "Arbo Wijzigingen")}
}

// trackEmployees attaches track_changes to employees, as the owner, unless a migration already has.
func trackEmployees(t testing.TB, db dbtest.DB) {
	t.Helper()
	ctx := context.Background()
	owner, err := pgx.Connect(ctx, db.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	_, err = owner.Exec(ctx, `DO $$
	BEGIN
		IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = 'employees'::regclass
		               AND tgfoid = 'track_changes'::regproc) THEN
			CREATE TRIGGER employees_changes AFTER INSERT OR UPDATE OR DELETE ON employees
				FOR EACH ROW EXECUTE FUNCTION track_changes();
		END IF;
	END $$`)
	if err != nil {
		t.Fatalf("track employees: %v", err)
	}
}

func changesTenant(t testing.TB, db dbtest.DB, name string) uuid.UUID {
	t.Helper()
	tenant, err := org.CreateTenant(context.Background(), db.Pool, name, false)
	if err != nil {
		t.Fatal(err)
	}
	return tenant.ID
}

func changesEmployer(t testing.TB, db dbtest.DB, tenant uuid.UUID, number string) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	var id uuid.UUID
	err := database.InTenant(ctx, db.Pool, tenant, func(tx pgx.Tx) error {
		e, err := org.CreateEmployer(ctx, tx, access.System(audit.Actor{}), org.Employer{Name: "Werkgever " + number, EmployerNumber: number})
		id = e.ID
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// readAll reads the tenant's changes from since until a read comes back empty.
func readAll(t testing.TB, db dbtest.DB, tenant uuid.UUID, since casefile.Watermark, entities []string, limit int) ([]casefile.Change, casefile.Watermark) {
	t.Helper()
	ctx := context.Background()
	var all []casefile.Change
	for {
		var page []casefile.Change
		err := database.InTenant(ctx, db.Pool, tenant, func(tx pgx.Tx) (err error) {
			page, since, err = casefile.ReadChanges(ctx, tx, since, entities, limit)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			return all, since
		}
		all = append(all, page...)
	}
}

// currentXID is tx's transaction id, assigned now if it has none yet.
func currentXID(ctx context.Context, tx pgx.Tx) (uint64, error) {
	var s string
	if err := tx.QueryRow(ctx, "SELECT pg_current_xact_id()::text").Scan(&s); err != nil {
		return 0, err
	}
	return strconv.ParseUint(s, 10, 64)
}

// waitFinal waits until every transaction up to xid has ended as far as the server's
// snapshots go. Transactions of other tests (in other databases of the same server) hold the
// bound back while they run, so reads that must see a committed transaction wait for this first.
func waitFinal(t testing.TB, db dbtest.DB, tenant uuid.UUID, xid uint64) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var bound uint64
		err := database.InTenant(ctx, db.Pool, tenant, func(tx pgx.Tx) (err error) {
			bound, err = casefile.SafeUpperBound(ctx, tx)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if bound > xid {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("safe upper bound stays at %d, not past transaction %d; oldest transactions on the server:\n%s",
				bound, xid, oldestTransactions(t, db))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// oldestTransactions describes the server's oldest running transactions, which hold the safe
// upper bound back, for a failure message.
func oldestTransactions(t testing.TB, db dbtest.DB) string {
	ctx := context.Background()
	owner, err := pgx.Connect(ctx, db.OwnerURL)
	if err != nil {
		return err.Error()
	}
	defer owner.Close(ctx)
	rows, err := owner.Query(ctx, `SELECT format('pid %s in %s, %s, xid %s, open %s: %s', pid, datname, state,
			backend_xid, now() - xact_start, left(query, 80))
		FROM pg_stat_activity WHERE backend_xid IS NOT NULL ORDER BY backend_xid::text::numeric LIMIT 5`)
	if err != nil {
		return err.Error()
	}
	list, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err.Error()
	}
	return strings.Join(list, "\n")
}

// mutation is a change without what the database assigns.
type mutation struct {
	RowID uuid.UUID
	Op    string
}

func mutations(list []casefile.Change) []mutation {
	var out []mutation
	for _, c := range list {
		out = append(out, mutation{c.RowID, c.Op})
	}
	return out
}

func TestWatermarkText(t *testing.T) {
	t.Parallel()
	for _, w := range []casefile.Watermark{{}, {XID: 748, Seq: 1}, {XID: 1<<64 - 1, Seq: 1<<63 - 1}} {
		got, err := casefile.ParseWatermark(w.String())
		if err != nil || got != w {
			t.Errorf("ParseWatermark(%q) = %v, %v; want %v", w.String(), got, err, w)
		}
	}
	if w, err := casefile.ParseWatermark(""); err != nil || !w.IsZero() {
		t.Errorf(`ParseWatermark("") = %v, %v; want the zero watermark`, w, err)
	}
	for _, s := range []string{"12", "a:1", "1:b", "-1:2", "1:-2", "1:2:3", " 1:2"} {
		if _, err := casefile.ParseWatermark(s); err == nil {
			t.Errorf("ParseWatermark(%q) succeeded, want an error", s)
		}
	}
}

func TestChangesBasic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setupChanges(t)
	employer := changesEmployer(t, b.db, b.tenant, "1")

	// One transaction: two inserts, an update, a delete.
	var e1, e2 org.Employee
	var txid uint64
	err := database.InTenant(ctx, b.db.Pool, b.tenant, func(tx pgx.Tx) (err error) {
		if e1, err = org.CreateEmployee(ctx, tx, access.System(audit.Actor{}), org.Employee{EmployerID: employer, PersonnelNumber: "1", LastName: "Jansen"}); err != nil {
			return err
		}
		if e2, err = org.CreateEmployee(ctx, tx, access.System(audit.Actor{}), org.Employee{EmployerID: employer, PersonnelNumber: "2", LastName: "Bakker"}); err != nil {
			return err
		}
		e1.City = "Zwolle"
		if e1, err = org.UpdateEmployee(ctx, tx, access.System(audit.Actor{}), e1); err != nil {
			return err
		}
		if _, err = tx.Exec(ctx, "DELETE FROM employees WHERE id = $1", e2.ID); err != nil {
			return err
		}
		txid, err = currentXID(ctx, tx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	// A rolled-back transaction leaves nothing.
	errRollback := errors.New("roll back")
	err = database.InTenant(ctx, b.db.Pool, b.tenant, func(tx pgx.Tx) error {
		if _, err := org.CreateEmployee(ctx, tx, access.System(audit.Actor{}), org.Employee{EmployerID: employer, PersonnelNumber: "3", LastName: "Visser"}); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("rolled-back transaction: err = %v", err)
	}

	// Another tenant's changes stay with that tenant.
	other := changesTenant(t, b.db, "Arbo Elders")
	otherEmployer := changesEmployer(t, b.db, other, "9")
	var e9 org.Employee
	var lastXID uint64
	err = database.InTenant(ctx, b.db.Pool, other, func(tx pgx.Tx) (err error) {
		if e9, err = org.CreateEmployee(ctx, tx, access.System(audit.Actor{}), org.Employee{EmployerID: otherEmployer, PersonnelNumber: "9", LastName: "Smit"}); err != nil {
			return err
		}
		lastXID, err = currentXID(ctx, tx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFinal(t, b.db, b.tenant, lastXID)

	got, w := readAll(t, b.db, b.tenant, casefile.Watermark{}, nil, 3)
	emp := &employer
	want := []casefile.Change{
		{Entity: "employees", RowID: e1.ID, Op: "insert", EmployerID: emp, XID: txid},
		{Entity: "employees", RowID: e2.ID, Op: "insert", EmployerID: emp, XID: txid},
		{Entity: "employees", RowID: e1.ID, Op: "update", EmployerID: emp, XID: txid},
		{Entity: "employees", RowID: e2.ID, Op: "delete", EmployerID: emp, XID: txid},
	}
	ignore := cmp.FilterPath(func(p cmp.Path) bool {
		s := p.Last().String()
		return s == ".At" || s == ".Seq"
	}, cmp.Ignore())
	if diff := cmp.Diff(want, got, ignore); diff != "" {
		t.Fatalf("changes (-want +got):\n%s", diff)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Seq <= got[i-1].Seq || got[i].At.Before(got[i-1].At) {
			t.Errorf("change %d (seq %d, at %v) does not follow change %d (seq %d, at %v)",
				i, got[i].Seq, got[i].At, i-1, got[i-1].Seq, got[i-1].At)
		}
	}
	if w != got[len(got)-1].Watermark() {
		t.Errorf("watermark = %v, want the last change's %v", w, got[len(got)-1].Watermark())
	}
	if more, w2 := readAll(t, b.db, b.tenant, w, nil, 3); len(more) != 0 || w2 != w {
		t.Errorf("read after the end: %d changes, watermark %v; want none and %v", len(more), w2, w)
	}
	if got, _ := readAll(t, b.db, other, casefile.Watermark{}, nil, 10); len(got) != 1 || got[0].RowID != e9.ID {
		t.Errorf("other tenant reads %v, want only the insert of %v", mutations(got), e9.ID)
	}

	// The entity filter.
	if got, _ := readAll(t, b.db, b.tenant, casefile.Watermark{}, []string{"absences"}, 10); len(got) != 0 {
		t.Errorf("absences: %d changes, want none", len(got))
	}
	if got, _ := readAll(t, b.db, b.tenant, casefile.Watermark{}, []string{"employees"}, 3); len(got) != 4 {
		t.Errorf("employees: %d changes, want 4", len(got))
	}
	if got, _ := readAll(t, b.db, b.tenant, casefile.Watermark{}, []string{"absences", "employees"}, 10); len(got) != 4 {
		t.Errorf("absences and employees: %d changes, want 4", len(got))
	}

	t.Run("OpenTransactionHoldsBackLaterOnes", func(t *testing.T) {
		// open takes a transaction id before committed does, and commits after it: a read
		// in between must stop below open, and the next read must return both.
		// Another employer for the later one: the employer's employee_counts row, locked by
		// the open transaction, would make it wait.
		lateEmployer := changesEmployer(t, b.db, b.tenant, "2")
		open, err := b.db.Pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer open.Rollback(ctx)
		if _, err := open.Exec(ctx, "SELECT set_config('app.tenant_id', $1, true)", b.tenant.String()); err != nil {
			t.Fatal(err)
		}
		early, err := org.CreateEmployee(ctx, open, access.System(audit.Actor{}), org.Employee{EmployerID: employer, PersonnelNumber: "10", LastName: "Vroeg"})
		if err != nil {
			t.Fatal(err)
		}
		var late org.Employee
		var lateXID uint64
		err = database.InTenant(ctx, b.db.Pool, b.tenant, func(tx pgx.Tx) (err error) {
			if late, err = org.CreateEmployee(ctx, tx, access.System(audit.Actor{}), org.Employee{EmployerID: lateEmployer, PersonnelNumber: "11", LastName: "Laat"}); err != nil {
				return err
			}
			lateXID, err = currentXID(ctx, tx)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if got, w2 := readAll(t, b.db, b.tenant, w, nil, 10); len(got) != 0 || w2 != w {
			t.Fatalf("read while an earlier transaction is open: %v, watermark %v; want nothing, %v", mutations(got), w2, w)
		}
		// The open transaction does not see its own changes either: they are not final.
		own, _, err := casefile.ReadChanges(ctx, open, w, nil, 10)
		if err != nil || len(own) != 0 {
			t.Errorf("open transaction reads %v, %v; want nothing", mutations(own), err)
		}
		if err := open.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		waitFinal(t, b.db, b.tenant, lateXID)
		got, _ := readAll(t, b.db, b.tenant, w, nil, 10)
		if diff := cmp.Diff([]mutation{{early.ID, "insert"}, {late.ID, "insert"}}, mutations(got)); diff != "" {
			t.Errorf("after commit (-want +got):\n%s", diff)
		}
	})

	t.Run("WatermarkAhead", func(t *testing.T) {
		err := database.InTenant(ctx, b.db.Pool, b.tenant, func(tx pgx.Tx) error {
			_, _, err := casefile.ReadChanges(ctx, tx, casefile.Watermark{XID: 1 << 60}, nil, 10)
			return err
		})
		if !errors.Is(err, casefile.ErrWatermarkAhead) {
			t.Errorf("err = %v, want ErrWatermarkAhead", err)
		}
	})

	t.Run("SafeUpperBound", func(t *testing.T) {
		err := database.InTenant(ctx, b.db.Pool, b.tenant, func(tx pgx.Tx) error {
			bound, err := casefile.SafeUpperBound(ctx, tx)
			if err != nil {
				return err
			}
			if bound <= txid {
				t.Errorf("safe upper bound %d, want above the committed transaction %d", bound, txid)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// TestChangesXIDOrderIsNumeric writes changes with transaction ids of different lengths (as a
// cluster's ids pass 10^n): they must come in numeric order, also across pages.
func TestChangesXIDOrderIsNumeric(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.New(t)
	tenant := changesTenant(t, db, "Arbo Cijfers")
	err := database.InTenant(ctx, db.Pool, tenant, func(tx pgx.Tx) error {
		for _, xid := range []string{"100", "9", "10", "99", "5", "10"} {
			_, err := tx.Exec(ctx, `INSERT INTO changes (tenant_id, xid, entity, row_id, op)
				VALUES (app_tenant(), $1::text::xid8, 'employees', gen_random_uuid(), 'insert')`, xid)
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int{1, 2, 10} {
		got, _ := readAll(t, db, tenant, casefile.Watermark{}, nil, limit)
		var xids []uint64
		for _, c := range got {
			xids = append(xids, c.XID)
		}
		if diff := cmp.Diff([]uint64{5, 9, 10, 10, 99, 100}, xids); diff != "" {
			t.Errorf("limit %d: xids (-want +got):\n%s", limit, diff)
		}
	}
}

// TestChangesConcurrentWriters runs writers whose transactions overlap each other and the
// reads (some take their transaction id early and stay open across several reads, some roll
// back), while a reader follows the stream from successive watermarks in small pages. What it
// reads must be exactly what committed: each mutation once, grouped per transaction in
// statement order, in (xid, seq) order.
func TestChangesConcurrentWriters(t *testing.T) {
	t.Parallel()
	// Normally done in seconds. The deadline is long because a transaction left open anywhere
	// on the server (another test's, in another database) holds every reader back until it ends.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	b := setupChanges(t)

	const (
		writers     = 8
		txPerWriter = 60
		pageSize    = 50
	)
	var (
		mu        sync.Mutex
		committed = map[uint64][]mutation{}
		rolled    = map[uint64]bool{}
		heldOpen  atomic.Int32 // transactions holding an xid while they sleep
		readsHeld atomic.Int32 // reads that ran while one did
		wg        sync.WaitGroup
		writeErr  = make(chan error, writers)
	)
	errRollback := errors.New("deliberate rollback")
	for w := range writers {
		// One employer per writer: the employee_counts row of an employer is locked by every
		// write, which would make the writers take turns.
		employer := changesEmployer(t, b.db, b.tenant, fmt.Sprint(100+w))
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			live := map[uuid.UUID]org.Employee{}
			next := 0
			for range txPerWriter {
				var (
					xid      uint64
					done     []mutation
					txLive   = map[uuid.UUID]org.Employee{}
					rollback = rng.IntN(8) == 0
					hold     = rng.IntN(6) == 0
				)
				for id, e := range live {
					txLive[id] = e
				}
				err := database.InTenant(ctx, b.db.Pool, b.tenant, func(tx pgx.Tx) error {
					var err error
					if xid, err = currentXID(ctx, tx); err != nil {
						return err
					}
					if hold {
						// The id is taken; later transactions commit and are read meanwhile.
						heldOpen.Add(1)
						time.Sleep(time.Duration(20+rng.IntN(60)) * time.Millisecond)
						heldOpen.Add(-1)
					}
					for range 1 + rng.IntN(4) {
						switch op := rng.IntN(3); {
						case op == 0 || len(txLive) == 0:
							next++
							e, err := org.CreateEmployee(ctx, tx, access.System(audit.Actor{}), org.Employee{EmployerID: employer,
								PersonnelNumber: fmt.Sprintf("%d-%d", w, next), LastName: "Schrijver"})
							if err != nil {
								return err
							}
							txLive[e.ID] = e
							done = append(done, mutation{e.ID, "insert"})
						case op == 1:
							e := anyEmployee(rng, txLive)
							e.City = fmt.Sprint("Plaats ", rng.IntN(1000))
							if _, err := org.UpdateEmployee(ctx, tx, access.System(audit.Actor{}), e); err != nil {
								return err
							}
							txLive[e.ID] = e
							done = append(done, mutation{e.ID, "update"})
						default:
							e := anyEmployee(rng, txLive)
							if _, err := tx.Exec(ctx, "DELETE FROM employees WHERE id = $1", e.ID); err != nil {
								return err
							}
							delete(txLive, e.ID)
							done = append(done, mutation{e.ID, "delete"})
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
					rolled[xid] = true
					mu.Unlock()
				case err != nil:
					writeErr <- fmt.Errorf("writer %d: %w", w, err)
					return
				default:
					live = txLive
					mu.Lock()
					committed[xid] = done
					mu.Unlock()
				}
			}
		}()
	}
	writersDone := make(chan struct{})
	go func() { wg.Wait(); close(writersDone) }()

	// The reader follows the stream while the writers run, then drains: it stops at the first
	// empty read whose bound lies above every writer's transaction, when nothing more can come.
	// Other tests' open transactions (in other databases of the same server) can hold the bound
	// back for a while, so draining polls under a deadline.
	var (
		got       []casefile.Change
		mark      casefile.Watermark
		reads     int
		finished  bool
		wantTotal = -1
		lastXID   uint64 // the highest transaction id of any writer, once they are done
	)
	for {
		if !finished {
			select {
			case <-writersDone:
				finished = true
				mu.Lock()
				wantTotal = 0
				for xid, m := range committed {
					wantTotal += len(m)
					lastXID = max(lastXID, xid)
				}
				for xid := range rolled {
					lastXID = max(lastXID, xid)
				}
				mu.Unlock()
			default:
			}
		}
		held := heldOpen.Load() > 0
		var page []casefile.Change
		prev := mark
		var bound uint64
		err := database.InTenant(ctx, b.db.Pool, b.tenant, func(tx pgx.Tx) (err error) {
			// Taken before the read, whose newer snapshot has a bound at least as high.
			if bound, err = casefile.SafeUpperBound(ctx, tx); err != nil {
				return err
			}
			page, mark, err = casefile.ReadChanges(ctx, tx, mark, nil, pageSize)
			return err
		})
		if err != nil {
			t.Fatalf("read %d from %v: %v; oldest transactions on the server:\n%s", reads, prev, err, oldestTransactions(t, b.db))
		}
		reads++
		if held {
			readsHeld.Add(1)
		}
		if len(page) > pageSize {
			t.Fatalf("read %d: %d changes, limit %d", reads, len(page), pageSize)
		}
		got = append(got, page...)
		if finished && bound > lastXID && len(page) == 0 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("gave up after %d reads: read %d changes, %d committed; oldest transactions on the server:\n%s",
				reads, len(got), wantTotal, oldestTransactions(t, b.db))
		}
		if len(page) < pageSize {
			time.Sleep(2 * time.Millisecond) // caught up: give the writers a moment
		}
	}
	close(writeErr)
	for err := range writeErr {
		t.Fatal(err)
	}

	// Order: strictly rising (xid, seq), so each transaction's changes come together.
	for i := 1; i < len(got); i++ {
		a, c := got[i-1], got[i]
		if c.XID < a.XID || c.XID == a.XID && c.Seq <= a.Seq {
			t.Fatalf("change %d (%v) comes after change %d (%v)", i, c.Watermark(), i-1, a.Watermark())
		}
	}
	// Content: per transaction, exactly the committed mutations in statement order.
	read := map[uint64][]mutation{}
	for _, c := range got {
		if c.Entity != "employees" {
			t.Fatalf("change of entity %q", c.Entity)
		}
		if rolled[c.XID] {
			t.Fatalf("change %v of rolled-back transaction %d was read", mutation{c.RowID, c.Op}, c.XID)
		}
		read[c.XID] = append(read[c.XID], mutation{c.RowID, c.Op})
	}
	if diff := cmp.Diff(committed, read); diff != "" {
		t.Errorf("read per transaction (-committed +read):\n%s", diff)
	}
	t.Logf("%d committed transactions (%d mutations), %d rolled back; %d reads, %d of them while a transaction held its id open",
		len(committed), wantTotal, len(rolled), reads, readsHeld.Load())
	if len(rolled) == 0 || readsHeld.Load() == 0 {
		t.Errorf("the test did not exercise rollbacks (%d) or reads across an open transaction (%d)", len(rolled), readsHeld.Load())
	}
}

// anyEmployee picks one of live, which must not be empty.
func anyEmployee(rng *rand.Rand, live map[uuid.UUID]org.Employee) org.Employee {
	n := rng.IntN(len(live))
	for _, e := range live {
		if n == 0 {
			return e
		}
		n--
	}
	panic("no employee")
}
