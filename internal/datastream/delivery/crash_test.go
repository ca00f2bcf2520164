package delivery_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/config"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/database/dbtest"
	"github.com/dossierkast/dossierkast/internal/datastream"
	"github.com/dossierkast/dossierkast/internal/datastream/delivery"
	"github.com/dossierkast/dossierkast/internal/datastream/sshdtest"
	"github.com/dossierkast/dossierkast/internal/datastream/stream"
	"github.com/dossierkast/dossierkast/internal/demo"
	"github.com/dossierkast/dossierkast/internal/jobs"
	"github.com/dossierkast/dossierkast/internal/jobs/heartbeat"
	"github.com/dossierkast/dossierkast/internal/mail"
	"github.com/dossierkast/dossierkast/internal/secret"
)

// crashChildEnv holds, in the child of TestDeliveryKilledMidUpload, the database it works on;
// DELIVERY_CRASH_KEYS names the secret key file.
const crashChildEnv = "DELIVERY_CRASH_DB"

// crashMidway is what the child prints when it is in the middle of an upload; it then waits to
// be killed.
const crashMidway = "MIDWAY"

// crashHeartbeat is the heartbeat timing of the crash test, shortened from heartbeat.Default.
var crashHeartbeat = heartbeat.Settings{Period: 500 * time.Millisecond, StaleAfter: 3 * time.Second, CheckEvery: time.Second}

// crashWait is how long the retried delivery may take on a loaded machine.
const crashWait = 3 * time.Minute

// startDeliveryRiver starts River as a worker process does (jobs.Config) on pool, with the
// crash heartbeat; afterRows, when set, is the delivery worker's AfterRows hook.
func startDeliveryRiver(t testing.TB, pool *pgxpool.Pool, keys *secret.Keyring, sender mail.Sender, afterRows func(int64)) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	w := jobs.NewWorkers(jobs.Deps{Pool: pool, Log: log, Keys: keys, Mail: sender})
	w.Heartbeat = crashHeartbeat
	w.DeliverStream.AfterRows = afterRows
	w.DeliverStream.External = func(c *datastream.ExternalConfig) { c.DialTimeout, c.OpTimeout = 20*time.Second, 60*time.Second }
	cfg := jobs.Config(config.ModeWorker, log, w)
	cfg.TestOnly = true
	cfg.FetchPollInterval = 100 * time.Millisecond
	rc, err := river.NewClient[pgx.Tx](riverpgxv5.New(pool), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := rc.StopAndCancel(ctx); err != nil {
			t.Errorf("stop River: %v", err)
		}
	})
}

// TestDeliveryCrashChild is the child's side of TestDeliveryKilledMidUpload: River as a worker
// process, whose delivery stops at the end of its second file's rows, before that file's
// upload is complete, prints crashMidway, and waits there to be killed. Without the variable
// it does nothing.
func TestDeliveryCrashChild(t *testing.T) {
	url := os.Getenv(crashChildEnv)
	if url == "" {
		t.Skip("only run as the child of a crash test")
	}
	ctx := context.Background()
	pool, err := database.Open(ctx, url, true)
	if err != nil {
		t.Fatal(err)
	}
	key, err := secret.LoadKeyFile(os.Getenv("DELIVERY_CRASH_KEYS"), false)
	if err != nil {
		t.Fatal(err)
	}
	var files atomic.Int32
	startDeliveryRiver(t, pool, secret.NewKeyring(key), nil, func(int64) {
		// Called every stream.RowsEvery rows and at the end of each file's rows.
		if files.Add(1) == 2 {
			fmt.Println(crashMidway)
			select {} // killed here
		}
	})
	time.Sleep(crashWait)
	t.Fatal("the child was not killed")
}

// TestDeliveryKilledMidUpload kills (SIGKILL) the process of a delivery to OpenSSH's sshd in
// the middle of an upload: its first file published, its second still a .part file. A second
// worker process's heartbeat check hands the job back; the retry rewrites the run's folder
// from scratch and succeeds. Afterwards: no .part file anywhere, the files match the manifest
// and the database, the configuration's position moved once (not at the kill; at the success,
// to the retry's snapshot, so that the next increment is empty), the run shows the
// interruption, and one log report was sent.
func TestDeliveryKilledMidUpload(t *testing.T) {
	sshdtest.Require(t)
	t.Parallel()
	ctx := context.Background()
	srv := sshdtest.Start(t)
	db := dbtest.New(t)
	res, err := demo.Load(ctx, db.Pool, demo.Options{Employees: 20, Examples: true})
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "secret.key")
	key, err := secret.LoadKeyFile(keyFile, true)
	if err != nil {
		t.Fatal(err)
	}
	keys := secret.NewKeyring(key)
	ed := editorWith(res.TenantID, access.DatastreamsManage, access.MedicalView)
	inTenant := func(fn func(tx pgx.Tx) error) {
		t.Helper()
		if err := database.InTenant(ctx, db.Pool, res.TenantID, fn); err != nil {
			t.Fatal(err)
		}
	}
	var cfg delivery.Config
	var run delivery.Run
	rc, err := river.NewClient[pgx.Tx](riverpgxv5.New(db.Pool), &river.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	inTenant(func(tx pgx.Tx) error {
		a, _, err := datastream.CreateAccount(ctx, tx, ed, keys, datastream.AccountInput{Name: "Extern", Type: datastream.TypeExternal,
			Language: "nl", Recipients: "bi@arbo.nl", AllEmployers: true, AuthMethod: datastream.AuthPassword, Host: srv.Host, Port: srv.Port,
			RemoteUser: srv.User, Password: srv.Password, BaseDir: srv.Root})
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE datastream_accounts SET host_key = $2 WHERE id = $1`, a.ID, srv.HostKey); err != nil {
			return err
		}
		if cfg, err = delivery.CreateConfig(ctx, tx, ed, keys, a.ID, delivery.Input{Name: "Warehouse", Version: "v2",
			Streams: []string{"werknemers", "verzuim"}, Frequency: delivery.Weekly, Mode: "incremental"}); err != nil {
			return err
		}
		run, err = delivery.RequestRun(ctx, tx, rc, ed, cfg.ID, delivery.RunRequest{Mode: stream.ModeIncremental})
		return err
	})
	folder := srv.Path(srv.Root + "/" + cfg.Folder)

	cmd := exec.Command(os.Args[0], "-test.run=^TestDeliveryCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+db.OwnerURL, "DELIVERY_CRASH_KEYS="+keyFile)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := bufio.NewScanner(out)
	reached := false
	for lines.Scan() {
		if strings.TrimSpace(lines.Text()) == crashMidway {
			reached = true
			break
		}
		t.Logf("child: %s", lines.Text())
	}
	if !reached {
		t.Fatal("the child ended before reaching the middle of its upload")
	}

	// Midway: one file published, the second a .part, the run running, the position unmoved.
	entries, err := os.ReadDir(folder)
	if err != nil || len(entries) != 1 {
		t.Fatalf("configuration folder: %v, %d entries, want the run's folder", err, len(entries))
	}
	dir := filepath.Join(folder, entries[0].Name())
	published, parts := map[string]time.Time{}, 0
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f.Name(), ".part") {
			parts++
			continue
		}
		info, err := f.Info()
		if err != nil {
			t.Fatal(err)
		}
		published[f.Name()] = info.ModTime()
	}
	if parts != 1 || len(published) != 1 || published["werknemers.csv"].IsZero() {
		t.Fatalf("midway the run's folder holds %d .part files and %v, want one .part and werknemers.csv", parts, published)
	}
	inTenant(func(tx pgx.Tx) (err error) {
		if run, err = delivery.FindRunByID(ctx, tx, run.ID); err != nil {
			return err
		}
		cfg, err = delivery.FindConfigByID(ctx, tx, cfg.ID)
		return err
	})
	if run.Status != delivery.RunRunning || run.FilesDone != 1 || run.RowsDone == 0 || cfg.Position != "" {
		t.Fatalf("midway: run %s, %d files and %d rows done, position %q; want running, 1 file, rows, no position",
			run.Status, run.FilesDone, run.RowsDone, cfg.Position)
	}

	// A second worker process, then the kill: its heartbeat check hands the job back.
	sender, err := mail.NewSender("", "", db.Pool)
	if err != nil {
		t.Fatal(err)
	}
	startDeliveryRiver(t, db.Pool, keys, sender, nil)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	deadline := time.Now().Add(crashWait)
	for run.Status == delivery.RunRunning || run.Status == delivery.RunQueued {
		if time.Now().After(deadline) {
			t.Fatalf("run still %s %s after the kill", run.Status, crashWait)
		}
		time.Sleep(200 * time.Millisecond)
		inTenant(func(tx pgx.Tx) (err error) { run, err = delivery.FindRunByID(ctx, tx, run.ID); return err })
	}
	inTenant(func(tx pgx.Tx) (err error) { cfg, err = delivery.FindConfigByID(ctx, tx, cfg.ID); return err })
	if run.Status != delivery.RunSucceeded || run.InterruptedAt == nil || run.Failure != nil {
		t.Fatalf("after the kill: run %s, interrupted at %v, failure %+v; want succeeded and marked interrupted", run.Status, run.InterruptedAt, run.Failure)
	}
	var attempt int
	var firstError string
	if err := db.Pool.QueryRow(ctx, `SELECT attempt, coalesce(errors[1]->>'error', '') FROM river_job WHERE kind = $1 AND args->>'run_id' = $2`,
		delivery.DeliverArgs{}.Kind(), run.ID.String()).Scan(&attempt, &firstError); err != nil {
		t.Fatal(err)
	}
	if attempt != 2 || firstError != heartbeat.Interrupted {
		t.Errorf("River's job at attempt %d with first error %q, want attempt 2 after the heartbeat check's hand-back", attempt, firstError)
	}

	// The retry rewrote the same folder from scratch: whole, no .part, werknemers.csv anew.
	if filepath.Join(folder, filepath.Base(run.Dir)) != dir {
		t.Errorf("the retry delivered to %s, the killed attempt to %s", run.Dir, dir)
	}
	noPart(t, srv.Path(srv.Root))
	m, got := readDelivery(t, dir)
	pos, err := stream.ParsePosition(run.WindowTo)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Files) != 3 || m.Window.To != pos.Snapshot {
		t.Errorf("manifest with %d files and window to %q; want 3 and the run's %q", len(m.Files), m.Window.To, pos.Snapshot)
	}
	if info, err := os.Stat(filepath.Join(dir, "werknemers.csv")); err != nil || !info.ModTime().After(published["werknemers.csv"]) {
		t.Errorf("werknemers.csv was not rewritten by the retry (%v)", err)
	}
	var employees int
	inTenant(func(tx pgx.Tx) error { return tx.QueryRow(ctx, `SELECT count(*) FROM employees`).Scan(&employees) })
	if n := len(got["werknemers.csv"]) - 1; n != employees {
		t.Errorf("werknemers.csv has %d rows, the database %d employees", n, employees)
	}

	// The position moved once, to the retry's snapshot: the next increment carries nothing.
	if cfg.Position == "" || cfg.Position != run.WindowTo {
		t.Errorf("position %q, want the retried run's %q", cfg.Position, run.WindowTo)
	}
	var next delivery.Run
	inTenant(func(tx pgx.Tx) (err error) {
		next, err = delivery.RequestRun(ctx, tx, rc, ed, cfg.ID, delivery.RunRequest{Mode: stream.ModeIncremental})
		return err
	})
	for next.Status != delivery.RunSucceeded {
		if time.Now().After(deadline) || next.Status == delivery.RunFailed {
			t.Fatalf("the next incremental run is %s (%+v)", next.Status, next.Failure)
		}
		time.Sleep(200 * time.Millisecond)
		inTenant(func(tx pgx.Tx) (err error) { next, err = delivery.FindRunByID(ctx, tx, next.ID); return err })
	}
	if next.WindowFrom != run.WindowTo {
		t.Errorf("the next increment starts at %q, want %q", next.WindowFrom, run.WindowTo)
	}
	for _, f := range next.Files {
		if f.Rows != (stream.Rows{}) {
			t.Errorf("the next increment carries %s %+v: the interrupted attempt's rows came twice", f.Name, f.Rows)
		}
	}
	// The report follows the run's success: wait for the next run's.
	var reports int
	var first string
	for {
		inTenant(func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT count(*) OVER (), body FROM outbox_messages ORDER BY created_at LIMIT 1`).Scan(&reports, &first)
		})
		if reports >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second) // a report too many would be there by now
	inTenant(func(tx pgx.Tx) error { return tx.QueryRow(ctx, `SELECT count(*) FROM outbox_messages`).Scan(&reports) })
	if reports != 2 || !strings.Contains(first, "Het proces van deze levering stopte op") {
		t.Errorf("%d log reports for the interrupted run and the next, want 2 (none for the interruption); the first does not tell of it:\n%s",
			reports, first)
	}
}
