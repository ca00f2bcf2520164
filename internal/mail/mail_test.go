package mail_test

import (
	"context"
	netmail "net/mail"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/database/dbtest"
	"github.com/dossierkast/dossierkast/internal/mail"
	"github.com/dossierkast/dossierkast/internal/mail/smtptest"
)

func TestSMTPSender(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := smtptest.Start(t)
	smtpURL := srv.URL
	sender, err := mail.NewSender(smtpURL, "Dossierkast <noreply@dossierkast.example>", nil)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("Delivers", func(t *testing.T) {
		m := mail.Message{
			To:      []string{"Ann de Vries <ann@example.com>", "bob@example.com"},
			Subject: "Nieuw document: één verzuimmelding",
			Body: "Beste Ann,\n\nEr staat een nieuw document in het dossier van Jan Jansen, bij de verzuimmelding van " +
				"maandag; de bedrijfsarts heeft het geüpload.\nMet vriendelijke groet — Dossierkast\n",
		}
		if err := sender.Send(ctx, uuid.Must(uuid.NewV7()), m); err != nil {
			t.Fatal(err)
		}
		got := srv.Received()
		if len(got) != 1 {
			t.Fatalf("server received %d messages, want 1", len(got))
		}
		r := got[0]
		if r.User != smtptest.User {
			t.Errorf("authenticated as %q, want %q", r.User, smtptest.User)
		}
		if r.From != "noreply@dossierkast.example" {
			t.Errorf("MAIL FROM %q, want noreply@dossierkast.example", r.From)
		}
		if diff := cmp.Diff([]string{"ann@example.com", "bob@example.com"}, r.To); diff != "" {
			t.Errorf("RCPT TO (-want +got):\n%s", diff)
		}

		header, subject, gotBody, err := r.Decode()
		if err != nil {
			t.Fatalf("parse received message: %v\n%s", err, r.Data)
		}
		to, err := header.AddressList("To")
		if err != nil {
			t.Fatal(err)
		}
		want := []*netmail.Address{{Name: "Ann de Vries", Address: "ann@example.com"}, {Address: "bob@example.com"}}
		if diff := cmp.Diff(want, to); diff != "" {
			t.Errorf("To header (-want +got):\n%s", diff)
		}
		from, err := header.AddressList("From")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]*netmail.Address{{Name: "Dossierkast", Address: "noreply@dossierkast.example"}}, from); diff != "" {
			t.Errorf("From header (-want +got):\n%s", diff)
		}
		if subject != m.Subject {
			t.Errorf("Subject %q, want %q", subject, m.Subject)
		}
		if diff := cmp.Diff(m.Body, gotBody); diff != "" {
			t.Errorf("body (-want +got):\n%s", diff)
		}
	})

	t.Run("InvalidRecipient", func(t *testing.T) {
		before := len(srv.Received())
		err := sender.Send(ctx, uuid.Must(uuid.NewV7()), mail.Message{To: []string{"not an address"}, Subject: "x", Body: "y"})
		if code := apperr.CodeOf(err); code != apperr.EINVALID {
			t.Fatalf("Send: %v (code %s), want %s", err, code, apperr.EINVALID)
		}
		if n := len(srv.Received()); n != before {
			t.Errorf("server received %d messages, want %d", n, before)
		}
	})

	t.Run("WrongPassword", func(t *testing.T) {
		u, err := url.Parse(smtpURL)
		if err != nil {
			t.Fatal(err)
		}
		u.User = url.UserPassword(smtptest.User, "wrong")
		s, err := mail.NewSender(u.String(), "noreply@dossierkast.example", nil)
		if err != nil {
			t.Fatal(err)
		}
		err = s.Send(ctx, uuid.Must(uuid.NewV7()), mail.Message{To: []string{"ann@example.com"}, Subject: "x", Body: "y"})
		if err == nil {
			t.Fatal("Send with a wrong password succeeded")
		}
		if code := apperr.CodeOf(err); code != apperr.EINTERNAL {
			t.Errorf("Send: code %s, want %s", code, apperr.EINTERNAL)
		}
	})
}

// createTenant adds a tenant as the application role may.
func createTenant(t *testing.T, pool *pgxpool.Pool, name string) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	if err := pool.QueryRow(context.Background(), "INSERT INTO tenants (name) VALUES ($1) RETURNING id", name).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// findOutbox reads one page of a tenant's outbox.
func findOutbox(t *testing.T, pool *pgxpool.Pool, tenantID uuid.UUID, offset, limit int) ([]mail.OutboxMessage, int) {
	t.Helper()
	var list []mail.OutboxMessage
	var total int
	err := database.InTenant(context.Background(), pool, tenantID, func(tx pgx.Tx) error {
		var err error
		list, total, err = mail.FindOutbox(context.Background(), tx, offset, limit)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return list, total
}

func TestOutboxSender(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	setup := func(t *testing.T) (mail.Sender, *pgxpool.Pool, uuid.UUID, uuid.UUID) {
		db := dbtest.New(t)
		sender, err := mail.NewSender("", "", db.Pool)
		if err != nil {
			t.Fatal(err)
		}
		return sender, db.Pool, createTenant(t, db.Pool, "Tenant A"), createTenant(t, db.Pool, "Tenant B")
	}

	t.Run("StoresPerTenant", func(t *testing.T) {
		t.Parallel()
		sender, pool, tenantA, tenantB := setup(t)
		first := mail.Message{To: []string{"ann@example.com"}, Subject: "Eerste", Body: "Eén\n"}
		second := mail.Message{To: []string{"Bob <bob@example.com>", "carol@example.com"}, Subject: "Tweede", Body: "Twee"}
		start := time.Now()
		for _, m := range []mail.Message{first, second} {
			if err := sender.Send(ctx, tenantA, m); err != nil {
				t.Fatal(err)
			}
		}

		got, total := findOutbox(t, pool, tenantA, 0, 10)
		if total != 2 {
			t.Errorf("total %d, want 2", total)
		}
		want := []mail.OutboxMessage{
			{To: second.To, Subject: second.Subject, Body: second.Body},
			{To: first.To, Subject: first.Subject, Body: first.Body},
		}
		if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(mail.OutboxMessage{}, "ID", "CreatedAt")); diff != "" {
			t.Errorf("outbox, newest first (-want +got):\n%s", diff)
		}
		for _, m := range got {
			if m.ID == uuid.Nil || m.ID.Version() != 7 {
				t.Errorf("id %s, want a version 7 uuid", m.ID)
			}
			if m.CreatedAt.Before(start.Add(-time.Minute)) || m.CreatedAt.After(time.Now().Add(time.Minute)) {
				t.Errorf("created_at %s, want about now", m.CreatedAt)
			}
		}

		page, total := findOutbox(t, pool, tenantA, 1, 1)
		if total != 2 || len(page) != 1 || page[0].Subject != first.Subject {
			t.Errorf("page 2 of 1: %+v (total %d), want the first message (total 2)", page, total)
		}

		other, total := findOutbox(t, pool, tenantB, 0, 10)
		if total != 0 || len(other) != 0 {
			t.Errorf("other tenant sees %d of %d messages, want none", len(other), total)
		}
	})

	t.Run("InvalidRecipient", func(t *testing.T) {
		t.Parallel()
		sender, pool, tenantA, _ := setup(t)
		for _, to := range [][]string{nil, {}, {""}, {"not an address"}, {"ann@example.com, bob@example.com"}, {"ann@example.com", "bob"}} {
			err := sender.Send(ctx, tenantA, mail.Message{To: to, Subject: "x", Body: "y"})
			e, ok := apperr.As(err)
			if !ok || e.Code != apperr.EINVALID || e.Fields["to"] == "" {
				t.Errorf("Send to %q: %v, want EINVALID with a field error on to", to, err)
			}
		}
		if _, total := findOutbox(t, pool, tenantA, 0, 10); total != 0 {
			t.Errorf("outbox holds %d messages, want 0", total)
		}
	})

	t.Run("NoTenant", func(t *testing.T) {
		t.Parallel()
		sender, _, _, _ := setup(t)
		if err := sender.Send(ctx, uuid.Nil, mail.Message{To: []string{"ann@example.com"}}); err == nil {
			t.Error("Send without a tenant succeeded")
		}
	})
}

func TestNewSenderErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, url, from string
	}{
		{"Scheme", "http://mail.example.com", "a@example.com"},
		{"NoHost", "smtp://", "a@example.com"},
		{"PortNotNumber", "smtp://mail.example.com:abc", "a@example.com"},
		{"PortOutOfRange", "smtp://mail.example.com:70000", "a@example.com"},
		{"UnknownParameter", "smtp://mail.example.com?tls=none&x=1", "a@example.com"},
		{"UnknownTLS", "smtp://mail.example.com?tls=maybe", "a@example.com"},
		{"SMTPSWithoutTLS", "smtps://mail.example.com?tls=none", "a@example.com"},
		{"Path", "smtp://mail.example.com/inbox", "a@example.com"},
		{"Unparsable", "smtp://user:secret@mail example.com", "a@example.com"},
		{"NoHostScheme", "mail.example.com:25", "a@example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := mail.NewSender(tc.url, tc.from, nil)
			if err == nil {
				t.Fatalf("NewSender(%q) succeeded", tc.url)
			}
			if !strings.Contains(err.Error(), "SMTP_URL") {
				t.Errorf("error %q does not name SMTP_URL", err)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q repeats the password", err)
			}
		})
	}

	t.Run("BadFrom", func(t *testing.T) {
		t.Parallel()
		if _, err := mail.NewSender("smtp://mail.example.com", "not an address", nil); err == nil {
			t.Error("NewSender with a bad sender address succeeded")
		}
	})
	t.Run("NoFrom", func(t *testing.T) {
		t.Parallel()
		if _, err := mail.NewSender("smtp://mail.example.com", "", nil); err == nil {
			t.Error("NewSender with SMTP and no sender address succeeded")
		}
	})
	t.Run("OutboxWithoutPool", func(t *testing.T) {
		t.Parallel()
		if _, err := mail.NewSender("", "", nil); err == nil {
			t.Error("NewSender for the outbox without a pool succeeded")
		}
	})
	t.Run("Valid", func(t *testing.T) {
		t.Parallel()
		for _, u := range []string{"smtp://mail.example.com", "smtp://u:p@mail.example.com:2525", "smtps://u:p@mail.example.com", "smtp://127.0.0.1:1025?tls=none"} {
			if _, err := mail.NewSender(u, "noreply@example.com", nil); err != nil {
				t.Errorf("NewSender(%q): %v", u, err)
			}
		}
	})
}
