package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/auth"
	"github.com/dossierkast/dossierkast/internal/org"
)

// exampleArgs stands for any tenant job: its args carry the tenant id.
type exampleArgs struct {
	TenantID uuid.UUID `json:"tenant_id"`
}

func (exampleArgs) Kind() string { return "example" }

func TestJobsPage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, 5)
	other, err := org.CreateTenant(ctx, b.db.Pool, "Andere arbodienst", false)
	if err != nil {
		t.Fatal(err)
	}
	insert := func(args river.JobArgs) int64 {
		t.Helper()
		res, err := b.river.Insert(ctx, args, &river.InsertOpts{ScheduledAt: farFuture})
		if err != nil {
			t.Fatal(err)
		}
		return res.Job.ID
	}
	own := insert(exampleArgs{TenantID: b.tenant})
	foreign := insert(exampleArgs{TenantID: other.ID})
	system := insert(auth.CleanupSessionsArgs{})
	c := b.login(t, "beheerder@demo.dossierkast.nl")

	resp, doc := b.get(t, c, "/admin/jobs")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	actions := func(id int64) string {
		return doc.Find(`form[action^="/admin/jobs/` + strconv.FormatInt(id, 10) + `/"]`).Text()
	}
	rows := doc.Find("#jobs tbody tr").Length()
	if rows != 2 {
		t.Errorf("rows = %d, want the tenant's job and the platform's (not the other tenant's)", rows)
	}
	if actions(own) == "" || actions(system) != "" || actions(foreign) != "" {
		t.Errorf("actions: own %q, system %q, foreign %q", actions(own), actions(system), actions(foreign))
	}

	for name, tc := range map[string]struct {
		id   int64
		want int
	}{
		"OtherTenantsJob": {foreign, http.StatusNotFound},
		"PlatformJob":     {system, http.StatusForbidden},
		"UnknownJob":      {987654321, http.StatusNotFound},
	} {
		t.Run(name, func(t *testing.T) {
			if resp := b.post(t, c, "/admin/jobs/"+strconv.FormatInt(tc.id, 10)+"/cancel", nil); resp.StatusCode != tc.want {
				t.Errorf("cancel: status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
	if resp := b.post(t, c, "/admin/jobs/abc/retry", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("malformed id: status %d, want 404", resp.StatusCode)
	}

	if resp := b.post(t, c, "/admin/jobs/"+strconv.FormatInt(own, 10)+"/cancel", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("cancel own job: status %d", resp.StatusCode)
	}
	job, err := b.river.JobGet(ctx, own)
	if err != nil {
		t.Fatal(err)
	}
	if job.State != rivertype.JobStateCancelled {
		t.Errorf("state after cancel = %s", job.State)
	}
	if n := b.auditCount(t, audit.JobCancelled); n != 1 {
		t.Errorf("job.cancelled events = %d, want 1", n)
	}
	if resp := b.post(t, c, "/admin/jobs/"+strconv.FormatInt(own, 10)+"/retry", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("retry own job: status %d", resp.StatusCode)
	}
	if job, _ = b.river.JobGet(ctx, own); job.State != rivertype.JobStateAvailable {
		t.Errorf("state after retry = %s", job.State)
	}

	hr := b.login(t, "hr@demo.dossierkast.nl")
	if resp, _ := b.get(t, hr, "/admin/jobs"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("employer user on jobs page: status %d, want 403", resp.StatusCode)
	}
	if resp := b.post(t, hr, "/admin/jobs/"+strconv.FormatInt(own, 10)+"/cancel", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("employer user cancelling: status %d, want 403", resp.StatusCode)
	}
}

func TestOutbox(t *testing.T) {
	t.Parallel()
	b := setup(t, 5)
	c := b.login(t, "beheerder@demo.dossierkast.nl")
	b.inTenant(t, func(tx pgx.Tx) error {
		_, err := tx.Exec(context.Background(), "DELETE FROM outbox_messages")
		return err
	})
	_, empty := b.get(t, c, "/admin/outbox")
	if got, want := textOf(empty, "main .empty"), nl("outbox.empty"); got != want || empty.Find(".pager").Length() != 0 {
		t.Errorf("empty outbox says %q with %d pagers, want %q and none", got, empty.Find(".pager").Length(), want)
	}
	if resp := b.post(t, c, "/admin/outbox/test", url.Values{"to": {"geen-adres"}}); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("bad address: status %d, want 422", resp.StatusCode)
	}
	if resp := b.post(t, c, "/admin/outbox/test", url.Values{"to": {"hr-team@example.nl"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("send: status %d", resp.StatusCode)
	}
	_, doc := b.get(t, c, "/admin/outbox")
	if got, want := textOf(doc, ".flash"), nl("outbox.kept"); got != want {
		t.Errorf("notice without SMTP = %q, want %q", got, want)
	}
	mails := doc.Find("article.mail")
	if mails.Length() != 1 || !strings.Contains(mails.Text(), "hr-team@example.nl") || !strings.Contains(mails.Text(), "Testbericht") {
		t.Errorf("outbox shows %d messages: %q", mails.Length(), mails.Text())
	}
	var n int
	b.inTenant(t, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), "SELECT count(*) FROM outbox_messages").Scan(&n)
	})
	if n != 1 {
		t.Errorf("stored messages = %d, want 1", n)
	}
	leidinggevende := b.login(t, "leidinggevende@demo.dossierkast.nl")
	if resp, _ := b.get(t, leidinggevende, "/admin/outbox"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("outbox for a manager: status %d, want 403", resp.StatusCode)
	}
}

// farFuture keeps inserted jobs from being worked: the test client runs no workers anyway.
var farFuture = time.Now().Add(24 * time.Hour)
