package delivery

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/datastream"
	"github.com/dossierkast/dossierkast/internal/datastream/stream"
	"github.com/dossierkast/dossierkast/internal/i18n"
	"github.com/dossierkast/dossierkast/internal/mail"
)

// v1WarnBefore is how long before v1's support ends the log report warns about it.
const v1WarnBefore = 90 * 24 * time.Hour

// oldTransaction is the age from which the report names the oldest open transaction on the
// server: it holds back pruning of the change records (and says why a window looks short).
const oldTransaction = time.Hour

// LogReport is the log report of run r of configuration c, in language lang (nl or en):
// status, window, per file the rows inserted/updated/deleted, an interruption of its process,
// why it failed (in lang too), the
// oldest open transaction when it is old, and a warning when c uses v1 and its support ends
// within 90 days of now. It carries no data of any employee.
func LogReport(lang string, c Config, r Run, now time.Time) mail.Message {
	t := func(key string, args ...any) string { return i18n.Translate(lang, key, args...) }
	var b strings.Builder
	fmt.Fprintln(&b, t("datastream.report.status", c.Name, t("datastream.run.status."+r.Status)))
	fmt.Fprintln(&b, t("datastream.report.mode", t("datastream.run.mode."+r.Mode)))
	if r.Dir != "" {
		fmt.Fprintln(&b, t("datastream.report.folder", r.Dir))
	}
	if r.WindowTo != "" {
		from := r.WindowFrom
		if from == "" {
			from = "-"
		}
		fmt.Fprintln(&b, t("datastream.report.window", from, r.WindowTo))
	}
	for _, f := range r.Files {
		fmt.Fprintln(&b, t("datastream.report.file", f.Name, f.Rows.Insert, f.Rows.Update, f.Rows.Delete))
	}
	if r.InterruptedAt != nil {
		fmt.Fprintln(&b, t("datastream.report.interrupted", i18n.DateTime(*r.InterruptedAt)))
	}
	if r.Failure != nil {
		fmt.Fprintln(&b, t("datastream.report.error", r.Failure.Text(lang)))
	}
	if r.Oldest != nil && r.Oldest.Age >= oldTransaction {
		fmt.Fprintln(&b, t("datastream.report.oldest", r.Oldest.Age.Round(time.Minute).String(), r.Oldest.ApplicationName))
	}
	if c.Version == stream.V1 && stream.V1SupportEnds.Sub(now) < v1WarnBefore {
		fmt.Fprintln(&b, t("datastream.report.v1", stream.V1SupportEnds.Format(time.DateOnly)))
	}
	return mail.Message{Subject: t("datastream.report.subject."+r.Status, c.Name), Body: b.String()}
}

// report mails the log report of run runID to its account's recipients, in the account's
// language. A failure to send is logged: the run's own outcome stands either way.
func (w *DeliverWorker) report(ctx context.Context, tenantID, runID uuid.UUID) {
	if w.Mail == nil {
		return
	}
	var c Config
	var r Run
	var a datastream.Account
	err := database.InTenant(ctx, w.Pool, tenantID, func(tx pgx.Tx) (err error) {
		if r, err = FindRunByID(ctx, tx, runID); err != nil {
			return err
		}
		if c, err = FindConfigByID(ctx, tx, r.ConfigID); err != nil {
			return err
		}
		a, err = datastream.FindAccountByID(ctx, tx, c.AccountID)
		return err
	})
	if err == nil && len(a.Recipients) > 0 {
		now := time.Now
		if w.Now != nil {
			now = w.Now
		}
		m := LogReport(a.Language, c, r, now())
		m.To = a.Recipients
		err = w.Mail.Send(ctx, tenantID, m)
	}
	if err != nil {
		w.logger().WarnContext(ctx, "datastream log report not sent", "tenant_id", tenantID, "run_id", runID, "err", err)
	}
}
