// Package smtptest runs a real SMTP server on a local TCP port for tests: it requires PLAIN
// authentication and records every message it accepts, so a test configures the product's
// SMTP sender with its SMTP_URL and reads what arrived.
package smtptest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// The log-in the server accepts.
const (
	User     = "mailer"
	Password = "p@ss w:rd"
)

// Received is what the server got in one mail transaction.
type Received struct {
	User string
	From string
	To   []string
	Data []byte
}

// Server is a running test SMTP server.
type Server struct {
	// URL is the SMTP_URL that reaches the server with its log-in.
	URL  string
	mu   sync.Mutex
	msgs []Received
}

// Start runs a server on a free local port until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{}
	srv := smtp.NewServer(backend{s})
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	u := url.URL{Scheme: "smtp", User: url.UserPassword(User, Password), Host: l.Addr().String(), RawQuery: "tls=none"}
	s.URL = u.String()
	return s
}

// Received returns the messages received so far.
func (s *Server) Received() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.msgs...)
}

// Wait waits up to timeout until n messages have arrived and returns them.
func (s *Server) Wait(n int, timeout time.Duration) ([]Received, error) {
	deadline := time.Now().Add(timeout)
	for {
		got := s.Received()
		if len(got) >= n {
			return got, nil
		}
		if time.Now().After(deadline) {
			return got, fmt.Errorf("smtptest: %d messages after %s, want %d", len(got), timeout, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Decode parses a received message: its headers, its decoded Subject, and its plain-text body
// decoded from its transfer encoding, with LF line ends.
func (r Received) Decode() (netmail.Header, string, string, error) {
	msg, err := netmail.ReadMessage(bytes.NewReader(r.Data))
	if err != nil {
		return nil, "", "", err
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		return nil, "", "", err
	}
	if ct, _, err := mime.ParseMediaType(msg.Header.Get("Content-Type")); err != nil || ct != "text/plain" {
		return nil, "", "", fmt.Errorf("smtptest: Content-Type %q (%v), want text/plain", msg.Header.Get("Content-Type"), err)
	}
	body := msg.Body
	switch cte := strings.ToLower(msg.Header.Get("Content-Transfer-Encoding")); cte {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "", "7bit", "8bit":
	default:
		return nil, "", "", fmt.Errorf("smtptest: Content-Transfer-Encoding %q", cte)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return nil, "", "", err
	}
	return msg.Header, subject, strings.ReplaceAll(string(b), "\r\n", "\n"), nil
}

type backend struct{ s *Server }

func (b backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{s: b.s}, nil }

type session struct {
	s    *Server
	user string
	cur  Received
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, password string) error {
		if username != User || password != Password {
			return errors.New("invalid credentials")
		}
		s.user = username
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.user == "" {
		return smtp.ErrAuthRequired
	}
	s.cur = Received{User: s.user, From: from}
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.To = append(s.cur.To, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.Data = b
	s.s.mu.Lock()
	s.s.msgs = append(s.s.msgs, s.cur)
	s.s.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.cur = Received{} }
func (s *session) Logout() error { return nil }
