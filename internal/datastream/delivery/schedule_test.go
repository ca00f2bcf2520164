package delivery_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/database/dbtest"
	"github.com/dossierkast/dossierkast/internal/datastream"
	"github.com/dossierkast/dossierkast/internal/datastream/delivery"
	"github.com/dossierkast/dossierkast/internal/datastream/stream"
	"github.com/dossierkast/dossierkast/internal/demo"
	"github.com/dossierkast/dossierkast/internal/secret"
)

func ams(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, delivery.Amsterdam)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestLatestSlot: daily 02:00 and Monday 02:00 Amsterdam time, also on and around both
// daylight-saving changes of 2027 (28 March, 31 October).
func TestLatestSlot(t *testing.T) {
	t.Parallel()
	utc := func(s string) time.Time {
		v, err := time.Parse("2006-01-02 15:04", s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		freq string
		now  time.Time
		want time.Time // in UTC
	}{
		{delivery.Daily, ams(t, "2027-03-27 01:59"), utc("2027-03-26 01:00")},
		{delivery.Daily, ams(t, "2027-03-27 02:00"), utc("2027-03-27 01:00")},
		// Spring forward: 02:00 does not exist on 28 March; the slot is when the clock jumps.
		{delivery.Daily, utc("2027-03-28 00:59"), utc("2027-03-27 01:00")},
		{delivery.Daily, utc("2027-03-28 01:00"), utc("2027-03-28 01:00")},
		{delivery.Daily, ams(t, "2027-03-29 02:00"), utc("2027-03-29 00:00")},
		{delivery.Daily, ams(t, "2027-03-29 01:59"), utc("2027-03-28 01:00")},
		// Fall back: 02:00 happens twice on 31 October (summer time first, then winter time).
		{delivery.Daily, utc("2027-10-30 23:59"), utc("2027-10-30 00:00")},
		{delivery.Daily, ams(t, "2027-11-01 02:00"), utc("2027-11-01 01:00")},
		{delivery.Weekly, ams(t, "2027-03-29 01:59"), utc("2027-03-22 01:00")},
		{delivery.Weekly, ams(t, "2027-03-29 02:00"), utc("2027-03-29 00:00")},
		{delivery.Weekly, ams(t, "2027-04-04 23:00"), utc("2027-03-29 00:00")},
		{delivery.Weekly, ams(t, "2027-11-01 01:00"), utc("2027-10-25 00:00")},
		{delivery.Weekly, ams(t, "2027-11-01 02:00"), utc("2027-11-01 01:00")},
	} {
		got := delivery.LatestSlot(tc.freq, tc.now)
		if !got.Equal(tc.want) {
			t.Errorf("%s at %s: slot %s, want %s", tc.freq, tc.now.UTC(), got.UTC(), tc.want)
		}
		if h := got.In(delivery.Amsterdam).Hour(); h != 2 && !(h == 3 && got.Equal(utc("2027-03-28 01:00"))) {
			t.Errorf("%s at %s: slot at %d h Amsterdam time", tc.freq, tc.now, h)
		}
	}
	// Around the fall-back night the daily slot of 31 October is one moment, whichever 02:00.
	s1 := delivery.LatestSlot(delivery.Daily, utc("2027-10-31 03:00"))
	if s1.In(delivery.Amsterdam).Day() != 31 || s1.In(delivery.Amsterdam).Hour() != 2 {
		t.Errorf("fall-back day slot %s", s1.In(delivery.Amsterdam))
	}
}

// TestScheduleClock drives the due-check with a controllable clock over the spring and autumn
// changes of 2027: a daily configuration gets exactly one delivery per day, none twice for one
// slot, none while its previous run is still queued, and one catch-up after five days down.
func TestScheduleClock(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	rc, err := river.NewClient[pgx.Tx](riverpgxv5.New(f.db.Pool), &river.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	in := werknemersInput("Dagelijks")
	in.Frequency = delivery.Daily
	var cfg delivery.Config
	if err := f.inTenant(t, func(tx pgx.Tx) (err error) {
		cfg, err = delivery.CreateConfig(ctx, tx, f.ed, f.keys, f.accountID, in)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE datastream_configs SET created_at = $2 WHERE id = $1`, cfg.ID, ams(t, "2027-03-25 12:00"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	check := func(now time.Time) int {
		t.Helper()
		n, err := delivery.Schedule(ctx, f.db.Pool, rc, now)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	finish := func() {
		t.Helper()
		if err := f.inTenant(t, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE datastream_runs SET status = 'succeeded' WHERE status = 'queued'`)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	runs := 0
	for _, period := range []struct {
		from, to string
		days     int // slots passed in [from, to)
	}{{"2027-03-25 12:00", "2027-03-31 12:00", 6}, {"2027-10-28 12:00", "2027-11-02 12:00", 5}} {
		start, end := ams(t, period.from), ams(t, period.to)
		want := 0
		if period.from[:7] == "2027-10" {
			// The first check after the summer finds many missed slots: one catch-up.
			if got := check(start); got != 1 {
				t.Errorf("catch-up after months: %d deliveries, want 1", got)
			}
			finish()
			runs++
		}
		for now := start; now.Before(end); now = now.Add(5 * time.Minute) {
			got := check(now)
			if got > 0 {
				if again := check(now.Add(time.Minute)); again != 0 {
					t.Errorf("%s: enqueued %d again for the same slot while one is queued", now, again)
				}
				finish()
			}
			want += got
		}
		if want != period.days {
			t.Errorf("%s to %s: %d deliveries, want %d (one a day)", period.from, period.to, want, period.days)
		}
		runs += want
	}
	var total int
	if err := f.inTenant(t, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM datastream_runs WHERE config_id = $1`, cfg.ID).Scan(&total)
	}); err != nil {
		t.Fatal(err)
	}
	if total != runs {
		t.Errorf("%d runs recorded, %d enqueued", total, runs)
	}
	// Downtime: five days without a check, then one catch-up only.
	if got := check(ams(t, "2027-11-07 09:00")); got != 1 {
		t.Errorf("after five days down: %d deliveries, want 1", got)
	}
	finish()
	if got := check(ams(t, "2027-11-07 09:05")); got != 0 {
		t.Errorf("second check after the catch-up: %d, want 0", got)
	}
}

// TestPruneChanges keeps the change records an active configuration's position has not passed
// and removes the others once past the retention; without the retention passed, nothing goes.
func TestPruneChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.New(t)
	res, err := demo.Load(ctx, db.Pool, demo.Options{Employees: 3})
	if err != nil {
		t.Fatal(err)
	}
	keys := secret.NewKeyring(secret.GenerateKey())
	ed := editorWith(res.TenantID, access.DatastreamsManage)
	folder, err := stream.OpenFolder(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { folder.Close() })
	result, err := stream.Deliver(ctx, db.Pool, res.TenantID, folder, stream.Config{Folder: "bi", Version: stream.V2,
		Streams: []string{"werknemers"}}, stream.Request{Mode: stream.ModeFull, Started: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	count := func() (n int) {
		t.Helper()
		if err := database.InTenant(ctx, db.Pool, res.TenantID, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT count(*) FROM changes`).Scan(&n)
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if err := database.InTenant(ctx, db.Pool, res.TenantID, func(tx pgx.Tx) error {
		a, _, err := datastream.CreateAccount(ctx, tx, ed, keys, datastream.AccountInput{Name: "W", Type: datastream.TypeHosted,
			Language: "nl", AllEmployers: true, AuthMethod: datastream.AuthPassword})
		if err != nil {
			return err
		}
		c, err := delivery.CreateConfig(ctx, tx, ed, keys, a.ID, werknemersInput("BI"))
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE datastream_configs SET position = $2 WHERE id = $1`, c.ID, result.Position.String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := database.InTenant(ctx, db.Pool, res.TenantID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE employees SET last_name = 'Later' WHERE id = (SELECT min(id::text)::uuid FROM employees)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	before := count()
	if n, err := delivery.PruneChanges(ctx, db.Pool, time.Now()); err != nil || n != 0 || count() != before {
		t.Fatalf("within the retention: pruned %d (%v), %d of %d left", n, err, count(), before)
	}
	// The position's xmin is cluster-wide: a transaction of another test running at the
	// delivery holds it back, so the rows it has passed are counted, not assumed.
	var passed int
	if err := database.InTenant(ctx, db.Pool, res.TenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM changes
			WHERE xid < pg_snapshot_xmin(split_part($1, '@', 1)::pg_snapshot)`, result.Position.String()).Scan(&passed)
	}); err != nil {
		t.Fatal(err)
	}
	n, err := delivery.PruneChanges(ctx, db.Pool, time.Now().Add(delivery.ChangeRetention+time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if left := count(); n != int64(passed) || left != before-passed || left < 1 {
		t.Errorf("after the retention: pruned %d of %d, %d left; the position had passed %d (the later change must stay)", n, before, left, passed)
	}
	var later int
	if err := database.InTenant(ctx, db.Pool, res.TenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM changes WHERE op = 'update'`).Scan(&later)
	}); err != nil {
		t.Fatal(err)
	}
	if later != 1 {
		t.Errorf("the change after the position: %d rows, want 1", later)
	}
}
