// Package mail sends the application's plain-text e-mail: through an SMTP server when one is
// configured, otherwise into the tenant's outbox table, where administrators can read what would
// have been sent.
package mail

import (
	"context"
	"errors"
	"fmt"
	netmail "net/mail"
	"net/url"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	gomail "github.com/wneessen/go-mail"

	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/database"
)

// Message is one plain-text e-mail. Each entry of To is a single address as net/mail parses it
// ("ann@example.com" or "Ann <ann@example.com>").
type Message struct {
	To      []string
	Subject string
	Body    string
}

// validate returns EINVALID with a field error on "to" when the message has no recipient or a
// recipient that is not one e-mail address.
func (m Message) validate() error {
	if len(m.To) == 0 {
		return apperr.Invalid(map[string]string{"to": "error.required"})
	}
	for _, to := range m.To {
		if _, err := netmail.ParseAddress(to); err != nil {
			return apperr.Invalid(map[string]string{"to": "mail.error.recipient"})
		}
	}
	return nil
}

// Sender sends messages on behalf of a tenant.
type Sender interface {
	// Send delivers m for tenantID, or returns an error: EINVALID when m has no recipient or a
	// recipient that is not an e-mail address (nothing is sent or stored then); any other error
	// means delivery failed and may be retried. Send honours ctx's deadline and cancellation.
	Send(ctx context.Context, tenantID uuid.UUID, m Message) error
}

// NewSender returns the Sender the configuration asks for. With an empty smtpURL it is an
// outbox sender that stores each message in the tenant's outbox_messages through pool (from is
// then optional). Otherwise it sends through the SMTP server smtpURL names, with from as the
// sender address, which must be a valid e-mail address.
//
// smtpURL has the form smtp://user:pass@host:port (STARTTLS when the server offers it; port 587
// when left out) or smtps://user:pass@host:port (implicit TLS; port 465 when left out). User
// and password are optional. The query ?tls=none turns TLS off for smtp:// URLs, for mail
// catchers and tests: credentials then travel in clear text. Errors name SMTP_URL and never
// repeat the password.
func NewSender(smtpURL string, from string, pool *pgxpool.Pool) (Sender, error) {
	if from != "" {
		if _, err := netmail.ParseAddress(from); err != nil {
			return nil, fmt.Errorf("mail sender address %q: %w", from, err)
		}
	}
	if smtpURL == "" {
		if pool == nil {
			return nil, errors.New("mail outbox: no database pool")
		}
		return &outboxSender{pool: pool}, nil
	}
	if from == "" {
		return nil, errors.New("mail: SMTP_URL is set but the sender address is empty")
	}
	host, opts, err := parseSMTPURL(smtpURL)
	if err != nil {
		return nil, err
	}
	// Build a client once so that a bad option fails at start rather than on the first send.
	if _, err := gomail.NewClient(host, opts...); err != nil {
		return nil, fmt.Errorf("SMTP_URL: %w", err)
	}
	return &smtpSender{host: host, opts: opts, from: from}, nil
}

// sendTimeout bounds dialling the SMTP server and each step of the conversation after it, so
// a server that stops answering cannot hold a send (and the job behind it) forever.
const sendTimeout = 30 * time.Second

// parseSMTPURL turns SMTP_URL into the host and go-mail client options.
func parseSMTPURL(raw string) (string, []gomail.Option, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the whole URL, password included: keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", nil, fmt.Errorf("SMTP_URL: %w", err)
	}
	var port int
	opts := []gomail.Option{gomail.WithTimeout(sendTimeout)}
	switch u.Scheme {
	case "smtp":
		port = 587
	case "smtps":
		port = 465
		opts = append(opts, gomail.WithSSL(), gomail.WithTLSPolicy(gomail.TLSMandatory))
	default:
		return "", nil, fmt.Errorf("SMTP_URL: scheme %q, want smtp or smtps", u.Scheme)
	}
	if u.Opaque != "" || (u.Path != "" && u.Path != "/") || u.Fragment != "" {
		return "", nil, errors.New("SMTP_URL: want smtp://user:pass@host:port, with no path")
	}
	host := u.Hostname()
	if host == "" {
		return "", nil, errors.New("SMTP_URL: no host")
	}
	if p := u.Port(); p != "" {
		port, err = strconv.Atoi(p)
		if err != nil || port < 1 || port > 65535 {
			return "", nil, fmt.Errorf("SMTP_URL: port %q is not a port number", p)
		}
	}
	opts = append(opts, gomail.WithPort(port))

	noTLS := false
	for key, values := range u.Query() {
		switch {
		case key == "tls" && len(values) == 1 && values[0] == "none":
			noTLS = true
		case key == "tls":
			return "", nil, fmt.Errorf("SMTP_URL: tls=%q, the only choice is tls=none", values[len(values)-1])
		default:
			return "", nil, fmt.Errorf("SMTP_URL: unknown parameter %q", key)
		}
	}
	switch {
	case noTLS && u.Scheme == "smtps":
		return "", nil, errors.New("SMTP_URL: smtps with tls=none; use smtp:// for a server without TLS")
	case noTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	case u.Scheme == "smtp":
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}

	if u.User != nil && u.User.Username() != "" {
		pass, _ := u.User.Password()
		// Auto-discovery refuses PLAIN and LOGIN on a connection without TLS, so a server
		// that does not offer STARTTLS cannot trick us into sending the password in clear. With
		// tls=none the operator has asked for exactly that.
		auth := gomail.SMTPAuthAutoDiscover
		if noTLS {
			auth = gomail.SMTPAuthPlainNoEnc
		}
		opts = append(opts, gomail.WithSMTPAuth(auth),
			gomail.WithUsername(u.User.Username()), gomail.WithPassword(pass))
	}
	return host, opts, nil
}

// smtpSender sends each message over a new SMTP connection. A go-mail Client holds one
// connection's state, so each Send makes its own and concurrent sends do not share one.
type smtpSender struct {
	host string
	opts []gomail.Option
	from string
}

// Send delivers m through the SMTP server. tenantID is not used: the server is shared.
func (s *smtpSender) Send(ctx context.Context, _ uuid.UUID, m Message) error {
	if err := m.validate(); err != nil {
		return err
	}
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.From(s.from); err != nil {
		return fmt.Errorf("send mail: sender %q: %w", s.from, err)
	}
	if err := msg.To(m.To...); err != nil {
		return fmt.Errorf("%w: %w", apperr.Invalid(map[string]string{"to": "mail.error.recipient"}), err)
	}
	msg.Subject(m.Subject)
	msg.SetBodyString(gomail.TypeTextPlain, m.Body)
	c, err := gomail.NewClient(s.host, s.opts...)
	if err != nil {
		return fmt.Errorf("send mail: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("send mail via %s: %w", s.host, err)
	}
	return nil
}

// outboxSender keeps messages in the tenant's outbox instead of sending them.
type outboxSender struct {
	pool *pgxpool.Pool
}

// Send stores m in the outbox of tenantID, in a transaction of its own.
func (s *outboxSender) Send(ctx context.Context, tenantID uuid.UUID, m Message) error {
	if err := m.validate(); err != nil {
		return err
	}
	err := database.InTenant(ctx, s.pool, tenantID, func(tx pgx.Tx) error {
		return createOutboxMessage(ctx, tx, m)
	})
	if err != nil {
		return fmt.Errorf("store mail in outbox: %w", err)
	}
	return nil
}

func createOutboxMessage(ctx context.Context, tx pgx.Tx, m Message) error {
	id, err := uuid.NewV7()
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO outbox_messages (tenant_id, id, recipients, subject, body)
		VALUES (app_tenant(), $1, $2, $3, $4)`, id, m.To, m.Subject, m.Body)
	return err
}

// OutboxMessage is a message the outbox sender stored instead of sending.
type OutboxMessage struct {
	ID        uuid.UUID
	CreatedAt time.Time
	To        []string
	Subject   string
	Body      string
}

// FindOutbox returns a page of the tenant's outbox, newest first, and the total number of
// messages in it. tx must be a tenant transaction (database.InTenant). A limit of 0 or less
// means 50; a negative offset means 0.
func FindOutbox(ctx context.Context, tx pgx.Tx, offset, limit int) ([]OutboxMessage, int, error) {
	var total int
	if err := tx.QueryRow(ctx, "SELECT count(*) FROM outbox_messages").Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count outbox: %w", err)
	}
	if limit <= 0 {
		limit = 50
	}
	list, err := database.FindAll[OutboxMessage](ctx, tx, "outbox", `SELECT id, created_at, recipients, subject, body FROM outbox_messages
		ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2`, limit, max(offset, 0))
	if err != nil {
		return nil, 0, err
	}
	return list, total, nil
}
