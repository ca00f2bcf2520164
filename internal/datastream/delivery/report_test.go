package delivery_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/database/dbtest"
	"github.com/dossierkast/dossierkast/internal/datastream"
	"github.com/dossierkast/dossierkast/internal/datastream/delivery"
	"github.com/dossierkast/dossierkast/internal/datastream/sshdtest"
	"github.com/dossierkast/dossierkast/internal/datastream/stream"
	"github.com/dossierkast/dossierkast/internal/demo"
	"github.com/dossierkast/dossierkast/internal/i18n"
	"github.com/dossierkast/dossierkast/internal/mail"
	"github.com/dossierkast/dossierkast/internal/mail/smtptest"
	"github.com/dossierkast/dossierkast/internal/secret"
)

// TestLogReportOverSMTP runs the delivery job of a v1 configuration against OpenSSH's sshd and
// sends its log report with the product's SMTP sender (SMTP_URL) to a real SMTP server over
// TCP, once with the account in Dutch and once in English: a successful run (status, window,
// the counts per file, the v1 warning 30 days before its support ends) and a failed one (the
// account's folder is not writable: the error names the step and the folder in the account's
// language, and the warning is absent 120 days before the end).
func TestLogReportOverSMTP(t *testing.T) {
	sshdtest.Require(t)
	t.Parallel()
	ctx := context.Background()
	srv := sshdtest.Start(t)
	srv.Mkdir(t, "/data", false)
	srv.Mkdir(t, "/readonly", true)
	peer := smtptest.Start(t)
	db := dbtest.New(t)
	res, err := demo.Load(ctx, db.Pool, demo.Options{Employees: 8})
	if err != nil {
		t.Fatal(err)
	}
	keys := secret.NewKeyring(secret.GenerateKey())
	ed := editorWith(res.TenantID, access.DatastreamsManage)
	inTenant := func(fn func(tx pgx.Tx) error) {
		t.Helper()
		if err := database.InTenant(ctx, db.Pool, res.TenantID, fn); err != nil {
			t.Fatal(err)
		}
	}
	var account datastream.Account
	var cfg delivery.Config
	inTenant(func(tx pgx.Tx) (err error) {
		if account, _, err = datastream.CreateAccount(ctx, tx, ed, keys, datastream.AccountInput{Name: "BI", Type: datastream.TypeExternal,
			Language: "nl", Recipients: "bi@arbo.nl; data@arbo.nl", AllEmployers: true, AuthMethod: datastream.AuthPassword,
			Host: srv.Host, Port: srv.Port, RemoteUser: srv.User, Password: srv.Password, BaseDir: "/data"}); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE datastream_accounts SET host_key = $2 WHERE id = $1`, account.ID, srv.HostKey); err != nil {
			return err
		}
		cfg, err = delivery.CreateConfig(ctx, tx, ed, keys, account.ID, delivery.Input{Name: "Legacy", Version: "v1",
			Streams: []string{"werknemers"}, Frequency: delivery.Weekly, Mode: "incremental"})
		return err
	})
	var employees int64
	inTenant(func(tx pgx.Tx) error { return tx.QueryRow(ctx, `SELECT count(*) FROM employees`).Scan(&employees) })

	rc, err := river.NewClient[pgx.Tx](riverpgxv5.New(db.Pool), &river.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	sender, err := mail.NewSender(peer.URL, "Dossierkast <noreply@dossierkast.example>", nil)
	if err != nil {
		t.Fatal(err)
	}
	var now time.Time
	w := &delivery.DeliverWorker{Pool: db.Pool, Keys: keys, Mail: sender, Heartbeat: time.Second, Now: func() time.Time { return now },
		External: func(c *datastream.ExternalConfig) { c.DialTimeout, c.OpTimeout = 10*time.Second, 20*time.Second }}
	// deliver runs a full delivery as the job's last attempt and returns its run and the report
	// the SMTP server received for it.
	deliver := func() (delivery.Run, smtptest.Received) {
		t.Helper()
		before := len(peer.Received())
		var r delivery.Run
		inTenant(func(tx pgx.Tx) (err error) {
			r, err = delivery.RequestRun(ctx, tx, rc, ed, cfg.ID, delivery.RunRequest{Mode: stream.ModeFull})
			return err
		})
		job := &river.Job[delivery.DeliverArgs]{JobRow: &rivertype.JobRow{Attempt: 3, MaxAttempts: 3},
			Args: delivery.DeliverArgs{TenantID: res.TenantID, RunID: r.ID}}
		_ = w.Work(ctx, job)
		inTenant(func(tx pgx.Tx) (err error) { r, err = delivery.FindRunByID(ctx, tx, r.ID); return err })
		got, err := peer.Wait(before+1, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != before+1 {
			t.Fatalf("%d reports for one run", len(got)-before)
		}
		return r, got[before]
	}
	setAccount := func(lang, baseDir string) {
		t.Helper()
		inTenant(func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE datastream_accounts SET language = $2, base_dir = $3 WHERE id = $1`, account.ID, lang, baseDir)
			return err
		})
	}

	type want struct {
		subject   string
		lines     []string
		forbidden []string
	}
	ends := stream.V1SupportEnds.Format(time.DateOnly)
	for _, tc := range []struct {
		lang            string
		succeeded, fail want
	}{
		{"nl",
			want{"Levering Legacy geslaagd", []string{
				"Levering van configuratie Legacy: Geslaagd",
				"Soort levering: Volledig",
				fmt.Sprintf("werknemers.csv: %d nieuw, 0 gewijzigd, 0 verwijderd", employees),
				"Let op: deze configuratie gebruikt versie 1 van de datastromen. Die wordt ondersteund tot en met " + ends + "; stap over op versie 2.",
			}, []string{"Fout"}},
			want{"Levering Legacy mislukt", []string{
				"Levering van configuratie Legacy: Mislukt",
				"Fout: Levering mislukt bij stap ‘map maken’ (legacy/",
			}, []string{"versie 1", "Delivery", "failed at step"}},
		},
		{"en",
			want{"Delivery Legacy succeeded", []string{
				"Delivery of configuration Legacy: Succeeded",
				"Kind of delivery: Full",
				fmt.Sprintf("werknemers.csv: %d new, 0 changed, 0 deleted", employees),
				"Note: this configuration uses version 1 of the datastreams. It is supported up to and including " + ends + "; move to version 2.",
			}, []string{"Error"}},
			want{"Delivery Legacy failed", []string{
				"Delivery of configuration Legacy: Failed",
				"Error: Delivery failed at step ‘make folder’ (legacy/",
			}, []string{"version 1", "Levering", "mislukt", "map maken"}},
		},
	} {
		check := func(kind string, r delivery.Run, m smtptest.Received, w want) {
			t.Helper()
			_, subject, body, err := m.Decode()
			if err != nil {
				t.Fatalf("%s %s report: %v", tc.lang, kind, err)
			}
			if strings.Join(m.To, ",") != "bi@arbo.nl,data@arbo.nl" || m.From != "noreply@dossierkast.example" {
				t.Errorf("%s %s report from %q to %q", tc.lang, kind, m.From, m.To)
			}
			if subject != w.subject {
				t.Errorf("%s %s report subject %q, want %q", tc.lang, kind, subject, w.subject)
			}
			for _, line := range w.lines {
				if !strings.Contains(body, line) {
					t.Errorf("%s %s report lacks %q:\n%s", tc.lang, kind, line, body)
				}
			}
			for _, s := range w.forbidden {
				if strings.Contains(body, s) {
					t.Errorf("%s %s report contains %q:\n%s", tc.lang, kind, s, body)
				}
			}
			if r.Status == delivery.RunSucceeded && !strings.Contains(body, r.WindowTo) {
				t.Errorf("%s report lacks the window's end %q:\n%s", tc.lang, r.WindowTo, body)
			}
		}
		setAccount(tc.lang, "/data")
		now = stream.V1SupportEnds.AddDate(0, 0, -30)
		ok, m := deliver()
		if ok.Status != delivery.RunSucceeded {
			t.Fatalf("%s: run %s (%v)", tc.lang, ok.Status, ok.Failure)
		}
		check("succeeded", ok, m, tc.succeeded)

		setAccount(tc.lang, "/readonly")
		now = stream.V1SupportEnds.AddDate(0, 0, -120)
		failed, m := deliver()
		if failed.Status != delivery.RunFailed || failed.Failure == nil || failed.Failure.Key != delivery.FailureStepPath ||
			failed.Failure.Step != datastream.StepMkdir {
			t.Fatalf("%s: run %s with failure %+v, want failed at mkdir", tc.lang, failed.Status, failed.Failure)
		}
		check("failed", failed, m, tc.fail)
		// The page shows the same failure in its reader's language, whatever the account's.
		for _, lang := range i18n.Languages {
			if got, want := failed.Failure.Text(lang), i18n.Translate(lang, delivery.FailureStepPath,
				i18n.Translate(lang, "datastream.delivery_step.mkdir"), failed.Failure.Args[0], failed.Failure.Args[1]); got != want {
				t.Errorf("failure in %s: %q, want %q", lang, got, want)
			}
		}
	}
}
