package delivery_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/database/dbtest"
	"github.com/dossierkast/dossierkast/internal/datastream"
	"github.com/dossierkast/dossierkast/internal/datastream/delivery"
	"github.com/dossierkast/dossierkast/internal/datastream/sshdtest"
	"github.com/dossierkast/dossierkast/internal/datastream/stream"
	"github.com/dossierkast/dossierkast/internal/demo"
	"github.com/dossierkast/dossierkast/internal/mail"
	"github.com/dossierkast/dossierkast/internal/secret"
)

// readDelivery reads the delivery in dir on this machine: the manifest, and every CSV file
// parsed, checked against the manifest's bytes, SHA-256 and row counts. It returns the files'
// records (header first) by name.
func readDelivery(t *testing.T, dir string) (stream.Manifest, map[string][][]string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, stream.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	var m stream.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	files := map[string][][]string{}
	for _, f := range m.Files {
		data, err := os.ReadFile(filepath.Join(dir, f.Name))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if int64(len(data)) != f.Bytes || hex.EncodeToString(sum[:]) != f.SHA256 {
			t.Errorf("%s: %d bytes, sha256 %x; manifest says %d, %s", f.Name, len(data), sum, f.Bytes, f.SHA256)
		}
		records, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		var n stream.Rows
		for _, row := range records[1:] {
			switch row[1] {
			case "insert":
				n.Insert++
			case "update":
				n.Update++
			case "delete":
				n.Delete++
			}
		}
		if n != f.Rows {
			t.Errorf("%s: rows %+v, manifest says %+v", f.Name, n, f.Rows)
		}
		files[f.Name] = records
	}
	return m, files
}

// noPart fails when a .part file remains anywhere under root.
func noPart(t *testing.T, root string) {
	t.Helper()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".part") {
			t.Errorf("%s remains", p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDeliverToOpenSSH runs the delivery job against OpenSSH's sshd for an external account:
// a full delivery, then an incremental one carrying exactly the one changed employee, each in
// its own folder under the configuration's folder, CSVs matching the manifest and the database,
// no .part left; then a delivery refused by a changed host key fails with a Dutch error on the
// run and leaves the configuration's position where it was.
func TestDeliverToOpenSSH(t *testing.T) {
	sshdtest.Require(t)
	t.Parallel()
	ctx := context.Background()
	srv := sshdtest.Start(t)
	db := dbtest.New(t)
	res, err := demo.Load(ctx, db.Pool, demo.Options{Employees: 20, Examples: true})
	if err != nil {
		t.Fatal(err)
	}
	keys := secret.NewKeyring(secret.GenerateKey())
	ed := editorWith(res.TenantID, access.DatastreamsManage, access.MedicalView)
	inTenant := func(fn func(tx pgx.Tx) error) {
		t.Helper()
		if err := database.InTenant(ctx, db.Pool, res.TenantID, fn); err != nil {
			t.Fatal(err)
		}
	}
	var cfg delivery.Config
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
		cfg, err = delivery.CreateConfig(ctx, tx, ed, keys, a.ID, delivery.Input{Name: "Warehouse", Version: "v2",
			Streams: []string{"werknemers", "verzuim"}, Columns: map[string][]string{"werknemers": {"achternaam", "datum_in_dienst"}},
			Frequency: delivery.Weekly, Mode: "incremental"})
		return err
	})

	rc, err := river.NewClient[pgx.Tx](riverpgxv5.New(db.Pool), &river.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	sender, err := mail.NewSender("", "", db.Pool)
	if err != nil {
		t.Fatal(err)
	}
	lastMail := func() mail.OutboxMessage {
		t.Helper()
		var msgs []mail.OutboxMessage
		inTenant(func(tx pgx.Tx) (err error) {
			msgs, _, err = mail.FindOutbox(ctx, tx, 0, 1)
			return err
		})
		if len(msgs) == 0 {
			t.Fatal("no log report in the outbox")
		}
		return msgs[0]
	}
	w := &delivery.DeliverWorker{Pool: db.Pool, Keys: keys, Mail: sender, Heartbeat: time.Second,
		External: func(c *datastream.ExternalConfig) { c.DialTimeout, c.OpTimeout = 10*time.Second, 20*time.Second }}
	run := func(mode stream.Mode, attempt int) (delivery.Run, error) {
		t.Helper()
		var r delivery.Run
		inTenant(func(tx pgx.Tx) error {
			var err error
			r, err = delivery.RequestRun(ctx, tx, rc, ed, cfg.ID, delivery.RunRequest{Mode: mode})
			return err
		})
		// A second request while this one is queued is refused.
		err := database.InTenant(ctx, db.Pool, res.TenantID, func(tx pgx.Tx) error {
			_, err := delivery.RequestRun(ctx, tx, rc, ed, cfg.ID, delivery.RunRequest{Mode: mode})
			return err
		})
		if apperr.CodeOf(err) != apperr.ECONFLICT {
			t.Errorf("second run while one is queued: %v, want ECONFLICT", err)
		}
		job := &river.Job[delivery.DeliverArgs]{JobRow: &rivertype.JobRow{Attempt: attempt, MaxAttempts: 3},
			Args: delivery.DeliverArgs{TenantID: res.TenantID, RunID: r.ID}}
		werr := w.Work(ctx, job)
		inTenant(func(tx pgx.Tx) error {
			var err error
			if r, err = delivery.FindRunByID(ctx, tx, r.ID); err != nil {
				return err
			}
			cfg, err = delivery.FindConfigByID(ctx, tx, cfg.ID)
			return err
		})
		return r, werr
	}

	full, err := run(stream.ModeFull, 1)
	if err != nil || full.Status != delivery.RunSucceeded {
		t.Fatalf("full delivery: %v, run %+v", err, full)
	}
	if cfg.Position == "" || cfg.Position != full.WindowTo {
		t.Errorf("position %q after the full delivery, run's window ends at %q", cfg.Position, full.WindowTo)
	}
	if !strings.HasPrefix(full.Dir, "warehouse/") || full.FilesDone != 3 || full.FilesTotal != 3 {
		t.Errorf("run dir %q, files %d of %d; want warehouse/<time>, 3 of 3", full.Dir, full.FilesDone, full.FilesTotal)
	}
	m, files := readDelivery(t, srv.Path(srv.Root+"/"+full.Dir))
	if m.Mode != stream.ModeFull || len(m.Files) != 3 {
		t.Errorf("manifest mode %s with %d files", m.Mode, len(m.Files))
	}
	var employees int
	inTenant(func(tx pgx.Tx) error { return tx.QueryRow(ctx, `SELECT count(*) FROM employees`).Scan(&employees) })
	if got := len(files["werknemers.csv"]) - 1; got != employees || employees == 0 {
		t.Errorf("werknemers.csv has %d rows, the database %d employees", got, employees)
	}
	if want := "werknemer_id,mutation,mutation_time,werkgever_id,achternaam,datum_in_dienst"; strings.Join(files["werknemers.csv"][0], ",") != want {
		t.Errorf("header %q, want %q", files["werknemers.csv"][0], want)
	}

	// The run recorded the employees it carried, and its audit event says how many.
	var recorded, audited int
	inTenant(func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT (SELECT coalesce(sum(cardinality(employee_ids)), 0) FROM datastream_run_employees WHERE run_id = $1),
			(SELECT (details->>'employees')::int FROM audit_events WHERE action = 'datastream_config.delivered' AND details->>'run_id' = $1::text)`,
			full.ID).Scan(&recorded, &audited)
	})
	if recorded != employees || audited != employees {
		t.Errorf("full delivery recorded %d employees, its audit event says %d; want %d", recorded, audited, employees)
	}

	report := lastMail()
	if report.Subject != "Levering Warehouse geslaagd" || report.To[0] != "bi@arbo.nl" ||
		!strings.Contains(report.Body, fmt.Sprintf("werknemers.csv: %d nieuw, 0 gewijzigd, 0 verwijderd", employees)) {
		t.Errorf("log report of the full delivery: %q to %q:\n%s", report.Subject, report.To, report.Body)
	}

	var changed, lastName string
	inTenant(func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `UPDATE employees SET last_name = 'Veranderd' WHERE id = (SELECT min(id::text)::uuid FROM employees)
			RETURNING id::text, last_name`).Scan(&changed, &lastName)
	})
	inc, err := run(stream.ModeIncremental, 1)
	if err != nil || inc.Status != delivery.RunSucceeded {
		t.Fatalf("incremental delivery: %v, run %+v", err, inc)
	}
	if inc.WindowFrom != full.WindowTo {
		t.Errorf("incremental window from %q, want the full delivery's position %q", inc.WindowFrom, full.WindowTo)
	}
	_, files = readDelivery(t, srv.Path(srv.Root+"/"+inc.Dir))
	rows := files["werknemers.csv"][1:]
	if len(rows) != 1 || rows[0][0] != changed || rows[0][1] != "update" || rows[0][4] != lastName {
		t.Errorf("incremental werknemers rows %q, want one update of %s", rows, changed)
	}
	// A rotated key makes the next delivery full, and the manifest and the run say why.
	oldKey := *cfg.KeySecretID
	inTenant(func(tx pgx.Tx) error { return delivery.RotateKey(ctx, tx, ed, keys, cfg.ID) })
	inTenant(func(tx pgx.Tx) error {
		if _, err := keys.Load(ctx, tx, oldKey); err == nil {
			t.Error("the old pseudonym key can still be opened after rotation")
		}
		return nil
	})
	rotated, err := run(stream.ModeIncremental, 1)
	if err != nil || rotated.Status != delivery.RunSucceeded {
		t.Fatalf("delivery after key rotation: %v, run %+v", err, rotated)
	}
	m, _ = readDelivery(t, srv.Path(srv.Root+"/"+rotated.Dir))
	if m.Mode != stream.ModeFull || m.FullReason != "pseudonym key rotated" || rotated.Mode != "full" ||
		rotated.FullReason != m.FullReason || cfg.FullReason != "" || cfg.KeyVersion != 2 {
		t.Errorf("after rotation: manifest %s %q, run %s %q, configuration still %q (key v%d)",
			m.Mode, m.FullReason, rotated.Mode, rotated.FullReason, cfg.FullReason, cfg.KeyVersion)
	}
	noPart(t, srv.Path(srv.Root))

	srv.NewHostKey(t)
	srv.Restart(t)
	before := cfg.Position
	failed, err := run(stream.ModeIncremental, 3)
	if err == nil || failed.Status != delivery.RunFailed || failed.Failure == nil || failed.Failure.Key != delivery.FailureHostKey ||
		!strings.Contains(failed.Failure.Text("nl"), "hostsleutel") {
		t.Errorf("delivery to a changed host key: %v, run status %s, failure %+v", err, failed.Status, failed.Failure)
	}
	if report := lastMail(); report.Subject != "Levering Warehouse mislukt" || !strings.Contains(report.Body, "hostsleutel") {
		t.Errorf("log report of the failed delivery: %q:\n%s", report.Subject, report.Body)
	}
	if cfg.Position != before {
		t.Errorf("a failed delivery moved the position from %q to %q", before, cfg.Position)
	}
}

// TestLogReport: in the account's language, with the files' counts, and a warning when v1's
// support ends within 90 days (not before).
func TestLogReport(t *testing.T) {
	t.Parallel()
	c := delivery.Config{Name: "BI", Version: stream.V1}
	r := delivery.Run{Status: delivery.RunSucceeded, Mode: "incremental", Dir: "bi/20270104T010000Z", WindowTo: "10:12:@2027",
		Files: []stream.ManifestFile{{Name: "werknemers.csv", Rows: stream.Rows{Insert: 3, Update: 2, Delete: 1}}}}
	en := delivery.LogReport("en", c, r, stream.V1SupportEnds.AddDate(0, 0, -30))
	if en.Subject != "Delivery BI succeeded" || !strings.Contains(en.Body, "werknemers.csv: 3 new, 2 changed, 1 deleted") ||
		!strings.Contains(en.Body, "version 1") {
		t.Errorf("English report with v1 warning:\n%s\n%s", en.Subject, en.Body)
	}
	if nl := delivery.LogReport("nl", c, r, stream.V1SupportEnds.AddDate(0, 0, -120)); strings.Contains(nl.Body, "versie 1") ||
		!strings.Contains(nl.Body, "3 nieuw, 2 gewijzigd, 1 verwijderd") {
		t.Errorf("Dutch report 120 days before the end:\n%s", nl.Body)
	}
}
