// Package config reads Dossierkast's settings from environment variables and flags (a flag
// wins over its variable) and validates them, so bad configuration fails at start with one
// line naming the setting.
package config

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"runtime"
	"strconv"
	"strings"
)

// Mode selects what a serve process runs.
type Mode string

// The serve modes.
const (
	ModeAll    Mode = "all"    // web server and workers
	ModeWeb    Mode = "web"    // web server only
	ModeWorker Mode = "worker" // workers only
)

// Config is the validated configuration.
type Config struct {
	DatabaseURL    string // owner or superuser: migrations, and the app pool via SET ROLE
	AppDatabaseURL string // optional: the application's own login, used as is
	HTTPAddr       string
	SFTPAddr       string
	BlobURL        string
	SecretKeyFile  string
	SMTPURL        string
	MailFrom       string
	BaseURL        string
	BundlePartSize int64
	MaxUploadSize  int64
	LogFormat      string
	Mode           Mode
	DataDir        string
	// WebDBConnections bounds the web server's own database pool; the job workers have another.
	// More connections than processors only make requests wait on each other longer.
	WebDBConnections int
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is believed: the client's
	// address is read from it only when the request comes from one of them.
	TrustedProxies []netip.Prefix
}

// Secure reports whether the product is served over HTTPS, so cookies must be Secure.
func (c Config) Secure() bool { return strings.HasPrefix(c.BaseURL, "https://") }

type setting struct {
	env, flag, def, usage string
	dst                   *string
}

// Load parses args (flags) over the environment (getenv) and validates the result. extra, when
// not nil, registers a command's own flags on the same set.
func Load(name string, args []string, getenv func(string) string, stderr io.Writer, extra func(*flag.FlagSet)) (Config, []string, error) {
	var c Config
	var partSize, uploadSize, webConns, mode, proxies string
	settings := []setting{
		{"DATABASE_URL", "database-url", "", "PostgreSQL URL of an owner or superuser (default: local server, else a private cluster)", &c.DatabaseURL},
		{"APP_DATABASE_URL", "app-database-url", "", "optional PostgreSQL URL for the application's own login", &c.AppDatabaseURL},
		{"HTTP_ADDR", "http-addr", ":8080", "address the web server listens on", &c.HTTPAddr},
		{"SFTP_ADDR", "sftp-addr", ":2022", "address the hosted SFTP server listens on", &c.SFTPAddr},
		{"BLOB_URL", "blob-url", "file://./var/blobs", "where documents are stored (file:// or s3://)", &c.BlobURL},
		{"SECRET_KEY_FILE", "secret-key-file", "./var/secret.key", "32-byte key that encrypts stored credentials (created on first run)", &c.SecretKeyFile},
		{"SMTP_URL", "smtp-url", "", "smtp://user:pass@host:port for outgoing mail (empty: outbox)", &c.SMTPURL},
		{"MAIL_FROM", "mail-from", "Dossierkast <noreply@dossierkast.nl>", "sender address of outgoing mail", &c.MailFrom},
		{"BASE_URL", "base-url", "", "public URL of the web server (default http://localhost plus HTTP_ADDR's port)", &c.BaseURL},
		{"BUNDLE_PART_SIZE", "bundle-part-size", "2GiB", "largest full-dossier ZIP part (bytes, or with KiB/MiB/GiB)", &partSize},
		{"MAX_UPLOAD_SIZE", "max-upload-size", "2GiB", "largest document upload (bytes, or with KiB/MiB/GiB)", &uploadSize},
		{"WEB_DB_CONNECTIONS", "web-db-connections", strconv.Itoa(runtime.GOMAXPROCS(0)),
			"database connections for web requests (default: the processors Go uses)", &webConns},
		{"LOG_FORMAT", "log-format", "text", "log format: text or json", &c.LogFormat},
		{"MODE", "mode", "all", "what serve runs: all, web or worker", &mode},
		{"DATA_DIR", "data-dir", "./var", "folder for the private database cluster and local files", &c.DataDir},
		{"TRUSTED_PROXIES", "trusted-proxies", "", "comma-separated addresses or CIDR ranges of reverse proxies whose X-Forwarded-For is believed", &proxies},
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	for _, s := range settings {
		def := s.def
		if v := getenv(s.env); v != "" {
			def = v
		}
		fs.StringVar(s.dst, s.flag, def, s.usage+" ($"+s.env+")")
	}
	if extra != nil {
		extra(fs)
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, nil, err
	}
	c.Mode = Mode(mode)

	var errs []string
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		errs = append(errs, "HTTP_ADDR: want host:port, got "+strconv.Quote(c.HTTPAddr))
	}
	if _, _, err := net.SplitHostPort(c.SFTPAddr); err != nil {
		errs = append(errs, "SFTP_ADDR: want host:port, got "+strconv.Quote(c.SFTPAddr))
	}
	for _, u := range []struct{ name, val string }{{"DATABASE_URL", c.DatabaseURL}, {"APP_DATABASE_URL", c.AppDatabaseURL}} {
		if u.val != "" && !strings.HasPrefix(u.val, "postgres://") && !strings.HasPrefix(u.val, "postgresql://") {
			errs = append(errs, u.name+": want a postgres:// URL")
		}
	}
	if u, err := url.Parse(c.BlobURL); err != nil || (u.Scheme != "file" && u.Scheme != "s3") {
		errs = append(errs, "BLOB_URL: want file://… or s3://…, got "+strconv.Quote(c.BlobURL))
	}
	if c.SMTPURL != "" {
		if u, err := url.Parse(c.SMTPURL); err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Host == "" {
			errs = append(errs, "SMTP_URL: want smtp://host:port or smtps://host:port")
		}
	}
	if c.BaseURL == "" {
		_, port, _ := net.SplitHostPort(c.HTTPAddr)
		c.BaseURL = "http://localhost:" + port
	}
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, "BASE_URL: want an absolute http(s) URL, got "+strconv.Quote(c.BaseURL))
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	size, err := ParseSize(partSize)
	if err != nil || size < 1<<20 {
		errs = append(errs, "BUNDLE_PART_SIZE: want a size of at least 1MiB, got "+strconv.Quote(partSize))
	}
	c.BundlePartSize = size
	maxUpload, err := ParseSize(uploadSize)
	if err != nil || maxUpload < 1<<10 {
		errs = append(errs, "MAX_UPLOAD_SIZE: want a size of at least 1KiB, got "+strconv.Quote(uploadSize))
	}
	c.MaxUploadSize = maxUpload
	if c.WebDBConnections, err = strconv.Atoi(strings.TrimSpace(webConns)); err != nil || c.WebDBConnections < 1 {
		errs = append(errs, "WEB_DB_CONNECTIONS: want a number of at least 1, got "+strconv.Quote(webConns))
	}
	for _, p := range strings.Split(proxies, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			addr, aerr := netip.ParseAddr(p)
			if aerr != nil {
				errs = append(errs, "TRUSTED_PROXIES: want addresses or CIDR ranges, got "+strconv.Quote(p))
				continue
			}
			prefix = netip.PrefixFrom(addr, addr.BitLen())
		}
		c.TrustedProxies = append(c.TrustedProxies, prefix.Masked())
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, "LOG_FORMAT: want text or json, got "+strconv.Quote(c.LogFormat))
	}
	if c.Mode != ModeAll && c.Mode != ModeWeb && c.Mode != ModeWorker {
		errs = append(errs, "MODE: want all, web or worker, got "+strconv.Quote(mode))
	}
	if len(errs) > 0 {
		return Config{}, nil, fmt.Errorf("configuration: %s", strings.Join(errs, "; "))
	}
	return c, fs.Args(), nil
}

// ParseSize reads a byte count: a plain number or one with KiB, MiB, GiB, KB, MB or GB.
func ParseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	return n * mult, nil
}
