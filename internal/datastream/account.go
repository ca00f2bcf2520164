package datastream

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	netmail "net/mail"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/auth"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/secret"
)

// Account types.
const (
	TypeHosted   = "hosted"
	TypeExternal = "external"
)

// Account statuses. An archived account delivers nothing and cannot log in; it is kept
// read-only. A blocked hosted account cannot log in.
const (
	StatusActive   = "active"
	StatusBlocked  = "blocked"
	StatusArchived = "archived"
)

// Log-in methods: a password, or a key (hosted: a pasted public key; external: a key pair
// Dossierkast generated).
const (
	AuthPassword = "password"
	AuthKey      = "key"
)

// Account is a datastream connection account. Secrets are not in it: a hosted account's
// password is only a hash, an external account's password or private key a sealed secret.
type Account struct {
	ID           uuid.UUID
	Name         string
	Type         string
	Language     string
	Recipients   []string
	Medical      bool
	AllEmployers bool
	EmployerIDs  []uuid.UUID
	Status       string
	AuthMethod   string
	// Hosted: the generated user name and the pasted public key, if any.
	SFTPUser  string
	PublicKey string
	// External: where, as whom, the public half of the generated key pair, the base folder,
	// the pinned host key and the key the last connection test was offered.
	Host       string
	Port       int
	RemoteUser string
	KeyPublic  string
	BaseDir    string
	HostKey    string
	OfferedKey string
	TestedAt   *time.Time
	TestOK     *bool
	TestReport []CheckResult
	CreatedAt  time.Time
	UpdatedAt  time.Time
	// SecretID is the sealed password or private key of an external account.
	SecretID *uuid.UUID
}

// CheckResult is one step of the last connection test as kept on the account.
type CheckResult struct {
	Step  string `json:"step"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// Archived reports whether the account is archived (read-only).
func (a Account) Archived() bool { return a.Status == StatusArchived }

const accountColumns = `a.id, a.name, a.type, a.language, a.recipients, a.medical, a.all_employers,
	coalesce((SELECT array_agg(e.employer_id ORDER BY e.employer_id) FROM datastream_account_employers e WHERE e.account_id = a.id), '{}'),
	a.status, a.auth_method, coalesce(a.sftp_user, ''), a.public_key, a.host, a.port, a.remote_user, a.key_public, a.base_dir,
	a.host_key, a.offered_key, a.tested_at, a.test_ok, a.test_report, a.created_at, a.updated_at, a.secret_id`

// FindAccounts lists the tenant's accounts by name, archived ones last.
func FindAccounts(ctx context.Context, tx pgx.Tx) ([]Account, error) {
	return database.FindAll[Account](ctx, tx, "datastream accounts", `SELECT `+accountColumns+`
		FROM datastream_accounts a ORDER BY a.status = 'archived', lower(a.name), a.id`)
}

// FindAccountByID returns the account id. ENOTFOUND when the tenant has none.
func FindAccountByID(ctx context.Context, tx pgx.Tx, id uuid.UUID) (Account, error) {
	return database.FindOne[Account](ctx, tx, "datastream account", `SELECT `+accountColumns+`
		FROM datastream_accounts a WHERE a.id = $1`, id)
}

// AccountInput is what an administrator fills in.
type AccountInput struct {
	Name         string
	Type         string // only on create; an account keeps its type
	Language     string
	Recipients   string // e-mail addresses, separated by commas, semicolons or new lines
	Medical      *bool  // nil: unchanged (the form did not offer it)
	AllEmployers bool
	EmployerIDs  []uuid.UUID
	AuthMethod   string
	PublicKey    string // hosted, AuthKey
	Host         string // external
	Port         int
	RemoteUser   string
	Password     string // external, AuthPassword; empty on update: unchanged
	BaseDir      string
}

// Credentials are the secrets shown once, right after they were made: a hosted account's
// generated password, or the public key of an external account's new key pair.
type Credentials struct {
	Password  string
	PublicKey string
}

func parseRecipients(s string) ([]string, bool) {
	out := []string{}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == '\n' || r == '\r' || r == ' ' }) {
		a, err := netmail.ParseAddress(f)
		if err != nil || a.Address != f {
			return nil, false
		}
		if !slices.Contains(out, strings.ToLower(f)) {
			out = append(out, strings.ToLower(f))
		}
	}
	return out, true
}

// validate checks in for an account of type typ (before: the account as it was, or nil on
// create) and returns the parsed recipients.
func (in *AccountInput) validate(ctx context.Context, tx pgx.Tx, typ string, before *Account) ([]string, error) {
	fields := map[string]string{}
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || len(in.Name) > 200 {
		fields["name"] = "error.required"
	}
	if typ != TypeHosted && typ != TypeExternal {
		fields["type"] = "error.choose"
	}
	if in.Language != "nl" && in.Language != "en" {
		fields["language"] = "error.choose"
	}
	recipients, ok := parseRecipients(in.Recipients)
	if !ok {
		fields["recipients"] = "datastream.error.recipients"
	}
	if !in.AllEmployers {
		if len(in.EmployerIDs) == 0 {
			fields["employers"] = "datastream.error.employers"
		} else {
			var n int
			if err := tx.QueryRow(ctx, "SELECT count(*) FROM employers WHERE id = ANY($1)", in.EmployerIDs).Scan(&n); err != nil {
				return nil, fmt.Errorf("validate account: %w", err)
			}
			if n != len(in.EmployerIDs) {
				fields["employers"] = "datastream.error.employers"
			}
		}
	}
	if in.AuthMethod != AuthPassword && in.AuthMethod != AuthKey {
		fields["auth_method"] = "error.choose"
	}
	switch typ {
	case TypeHosted:
		in.PublicKey = strings.TrimSpace(in.PublicKey)
		if in.AuthMethod == AuthKey {
			if _, err := ParsePublicKey(in.PublicKey); err != nil {
				fields["public_key"] = "datastream.error.public_key"
			}
		}
	case TypeExternal:
		in.Host = strings.TrimSpace(in.Host)
		if in.Host == "" || strings.ContainsAny(in.Host, " /@") {
			fields["host"] = "datastream.error.host"
		}
		if in.Port < 1 || in.Port > 65535 {
			fields["port"] = "datastream.error.port"
		}
		in.RemoteUser = strings.TrimSpace(in.RemoteUser)
		if in.RemoteUser == "" {
			fields["remote_user"] = "error.required"
		}
		keepPassword := before != nil && before.AuthMethod == AuthPassword && before.SecretID != nil
		if in.AuthMethod == AuthPassword && in.Password == "" && !keepPassword {
			fields["password"] = "error.required"
		}
		in.BaseDir = strings.TrimSpace(in.BaseDir)
		if in.BaseDir != "" {
			in.BaseDir = path.Clean(in.BaseDir)
		}
	}
	if len(fields) > 0 {
		return nil, apperr.Invalid(fields)
	}
	return recipients, nil
}

// auditDetails describes a for the audit log: every setting, never a secret.
func auditDetails(a Account) map[string]any {
	d := map[string]any{"name": a.Name, "type": a.Type, "language": a.Language, "recipients": a.Recipients,
		"medical": a.Medical, "all_employers": a.AllEmployers, "employers": a.EmployerIDs, "status": a.Status,
		"auth_method": a.AuthMethod}
	if a.Type == TypeHosted {
		d["sftp_user"] = a.SFTPUser
		if a.PublicKey != "" {
			d["public_key"] = Fingerprint(a.PublicKey)
		}
	} else {
		d["host"], d["port"], d["remote_user"], d["base_dir"] = a.Host, a.Port, a.RemoteUser, a.BaseDir
		d["host_key"] = Fingerprint(a.HostKey)
		if a.KeyPublic != "" {
			d["key_public"] = Fingerprint(a.KeyPublic)
		}
	}
	return d
}

func writeAccount(ctx context.Context, tx pgx.Tx, ed access.Editor, action string, id uuid.UUID, details map[string]any) error {
	return audit.Write(ctx, tx, ed.Actor, audit.Event{Action: action, SubjectType: "datastream_account", SubjectID: &id, Details: details})
}

// allow asks the rules for a change of an account to the settings of in: managing datastreams,
// the employer scope, and the medical flag when it changes (from medicalBefore).
func allow(ed access.Editor, in AccountInput, medicalBefore bool) error {
	if err := ed.Allow(access.CanManageDatastreams(ed.Principal)); err != nil {
		return err
	}
	if in.Medical != nil && *in.Medical != medicalBefore {
		if err := ed.Allow(access.CanSetDatastreamMedical(ed.Principal)); err != nil {
			return err
		}
	}
	return ed.Allow(access.CanScopeDatastream(ed.Principal, in.AllEmployers, in.EmployerIDs))
}

// generateUser makes a hosted account's user name: "dk-" and ten lowercase letters or digits.
func generateUser() string {
	return "dk-" + strings.ToLower(rand.Text()[:10])
}

// CreateAccount creates an account and records it with its settings (datastream_account.created;
// no secret). A hosted account gets a generated user name and, with AuthPassword, a generated
// password; an external account with AuthKey gets a generated key pair, with AuthPassword its
// password sealed. The returned Credentials are shown once and never again. EFORBIDDEN unless
// ed manages datastreams (and may set the medical flag and the scope asked); EINVALID.
func CreateAccount(ctx context.Context, tx pgx.Tx, ed access.Editor, keys *secret.Keyring, in AccountInput) (Account, Credentials, error) {
	var creds Credentials
	if err := allow(ed, in, false); err != nil {
		return Account{}, creds, err
	}
	recipients, err := in.validate(ctx, tx, in.Type, nil)
	if err != nil {
		return Account{}, creds, err
	}
	id := uuid.Must(uuid.NewV7())
	medical := in.Medical != nil && *in.Medical
	var sftpUser *string
	var passwordHash, publicKey, keyPublic string
	var secretID *uuid.UUID
	switch in.Type {
	case TypeHosted:
		u := generateUser()
		sftpUser = &u
		if in.AuthMethod == AuthPassword {
			creds.Password = rand.Text()
			if passwordHash, err = auth.HashPassword(creds.Password); err != nil {
				return Account{}, creds, err
			}
		} else {
			publicKey = in.PublicKey
		}
	case TypeExternal:
		var plain []byte
		if in.AuthMethod == AuthKey {
			pair, err := GenerateKeyPair("dossierkast-" + id.String()[:8])
			if err != nil {
				return Account{}, creds, err
			}
			plain, keyPublic, creds.PublicKey = pair.PrivatePEM, pair.PublicLine, pair.PublicLine
		} else {
			plain = []byte(in.Password)
		}
		sid, err := keys.Store(ctx, tx, plain)
		if err != nil {
			return Account{}, creds, err
		}
		secretID = &sid
	}
	_, err = tx.Exec(ctx, `INSERT INTO datastream_accounts (tenant_id, id, name, type, language, recipients, medical,
		all_employers, auth_method, sftp_user, password_hash, public_key, host, port, remote_user, secret_id, key_public, base_dir)
		VALUES (app_tenant(), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
		id, in.Name, in.Type, in.Language, recipients, medical, in.AllEmployers, in.AuthMethod, sftpUser, passwordHash,
		publicKey, in.Host, max(in.Port, 1), in.RemoteUser, secretID, keyPublic, in.BaseDir)
	if err != nil {
		return Account{}, creds, fmt.Errorf("create datastream account: %w", err)
	}
	if err := setEmployers(ctx, tx, id, in); err != nil {
		return Account{}, creds, err
	}
	a, err := FindAccountByID(ctx, tx, id)
	if err != nil {
		return Account{}, creds, err
	}
	return a, creds, writeAccount(ctx, tx, ed, audit.DatastreamAccountCreated, id, map[string]any{"after": auditDetails(a)})
}

func setEmployers(ctx context.Context, tx pgx.Tx, id uuid.UUID, in AccountInput) error {
	if _, err := tx.Exec(ctx, "DELETE FROM datastream_account_employers WHERE account_id = $1", id); err != nil {
		return fmt.Errorf("set account employers: %w", err)
	}
	if in.AllEmployers {
		return nil
	}
	if _, err := tx.Exec(ctx, `INSERT INTO datastream_account_employers (tenant_id, account_id, employer_id)
		SELECT app_tenant(), $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING`, id, in.EmployerIDs); err != nil {
		return fmt.Errorf("set account employers: %w", err)
	}
	return nil
}

// UpdateAccount changes an account's settings and records before and after
// (datastream_account.updated; no secret). The type stays. An external account whose host or
// port changes loses its pinned host key (the new server's must be confirmed); one that switches
// to AuthKey gets a new key pair, whose public key is returned to show once; a new password
// replaces the sealed one, an empty one keeps it. EFORBIDDEN (also for changing the medical flag
// without medical.view), ENOTFOUND, EINVALID, and EINVALID for an archived account.
func UpdateAccount(ctx context.Context, tx pgx.Tx, ed access.Editor, keys *secret.Keyring, id uuid.UUID, in AccountInput) (Account, Credentials, error) {
	var creds Credentials
	if err := ed.Allow(access.CanManageDatastreams(ed.Principal)); err != nil {
		return Account{}, creds, err
	}
	before, err := FindAccountByID(ctx, tx, id)
	if err != nil {
		return Account{}, creds, err
	}
	if err := allow(ed, in, before.Medical); err != nil {
		return Account{}, creds, err
	}
	if before.Archived() {
		return Account{}, creds, apperr.New(apperr.EINVALID, "datastream.error.archived")
	}
	recipients, err := in.validate(ctx, tx, before.Type, &before)
	if err != nil {
		return Account{}, creds, err
	}
	medical := before.Medical
	if in.Medical != nil {
		medical = *in.Medical
	}
	passwordHash, publicKey := "", ""
	secretID, keyPublic, hostKey := before.SecretID, before.KeyPublic, before.HostKey
	switch before.Type {
	case TypeHosted:
		if in.AuthMethod == AuthKey {
			publicKey = in.PublicKey
		} else if before.AuthMethod == AuthPassword {
			if err := tx.QueryRow(ctx, "SELECT password_hash FROM datastream_accounts WHERE id = $1", id).Scan(&passwordHash); err != nil {
				return Account{}, creds, fmt.Errorf("update datastream account: %w", err)
			}
		}
		if in.AuthMethod == AuthPassword && passwordHash == "" {
			creds.Password = rand.Text()
			if passwordHash, err = auth.HashPassword(creds.Password); err != nil {
				return Account{}, creds, err
			}
		}
	case TypeExternal:
		if in.Host != before.Host || in.Port != before.Port {
			hostKey = ""
		}
		var plain []byte
		switch {
		case in.AuthMethod == AuthKey && before.AuthMethod != AuthKey:
			pair, err := GenerateKeyPair("dossierkast-" + id.String()[:8])
			if err != nil {
				return Account{}, creds, err
			}
			plain, keyPublic, creds.PublicKey = pair.PrivatePEM, pair.PublicLine, pair.PublicLine
		case in.AuthMethod == AuthPassword && in.Password != "":
			plain, keyPublic = []byte(in.Password), ""
		case in.AuthMethod == AuthPassword:
			keyPublic = ""
		}
		if plain != nil {
			sid, err := keys.Store(ctx, tx, plain)
			if err != nil {
				return Account{}, creds, err
			}
			secretID = &sid
		}
	}
	_, err = tx.Exec(ctx, `UPDATE datastream_accounts SET name = $2, language = $3, recipients = $4, medical = $5,
		all_employers = $6, auth_method = $7, password_hash = $8, public_key = $9, host = $10, port = $11, remote_user = $12,
		secret_id = $13, key_public = $14, base_dir = $15, host_key = $16, updated_at = now() WHERE id = $1`,
		id, in.Name, in.Language, recipients, medical, in.AllEmployers, in.AuthMethod, passwordHash, publicKey,
		in.Host, max(in.Port, before.Port), in.RemoteUser, secretID, keyPublic, in.BaseDir, hostKey)
	if err != nil {
		return Account{}, creds, fmt.Errorf("update datastream account: %w", err)
	}
	if before.SecretID != nil && (secretID == nil || *secretID != *before.SecretID) {
		if err := secret.Delete(ctx, tx, *before.SecretID); err != nil {
			return Account{}, creds, err
		}
	}
	if err := setEmployers(ctx, tx, id, in); err != nil {
		return Account{}, creds, err
	}
	after, err := FindAccountByID(ctx, tx, id)
	if err != nil {
		return Account{}, creds, err
	}
	return after, creds, writeAccount(ctx, tx, ed, audit.DatastreamAccountUpdated, id,
		map[string]any{"before": auditDetails(before), "after": auditDetails(after)})
}

// ArchiveAccount archives an account: it delivers nothing more and cannot log in; its sealed
// secret is deleted. Recorded with the status before (datastream_account.archived). EFORBIDDEN,
// ENOTFOUND; archiving an archived account changes nothing.
func ArchiveAccount(ctx context.Context, tx pgx.Tx, ed access.Editor, id uuid.UUID) error {
	if err := ed.Allow(access.CanManageDatastreams(ed.Principal)); err != nil {
		return err
	}
	before, err := FindAccountByID(ctx, tx, id)
	if err != nil || before.Archived() {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE datastream_accounts SET status = 'archived', secret_id = NULL, password_hash = '',
		updated_at = now() WHERE id = $1`, id); err != nil {
		return fmt.Errorf("archive datastream account: %w", err)
	}
	if before.SecretID != nil {
		if err := secret.Delete(ctx, tx, *before.SecretID); err != nil {
			return err
		}
	}
	return writeAccount(ctx, tx, ed, audit.DatastreamAccountArchived, id, map[string]any{"before": map[string]any{"status": before.Status}})
}

// ExternalConfigOf returns how to reach external account a, its secret opened.
func ExternalConfigOf(ctx context.Context, tx pgx.Tx, keys *secret.Keyring, a Account) (ExternalConfig, error) {
	c := ExternalConfig{Host: a.Host, Port: a.Port, User: a.RemoteUser, HostKey: a.HostKey, BaseDir: a.BaseDir}
	if a.Type != TypeExternal || a.SecretID == nil {
		return c, apperr.New(apperr.EINVALID, "datastream.error.not_external")
	}
	plain, err := keys.Load(ctx, tx, *a.SecretID)
	if err != nil {
		return c, err
	}
	if a.AuthMethod == AuthKey {
		c.PrivateKey = plain
	} else {
		c.Password = string(plain)
	}
	return c, nil
}

// RecordTest keeps the outcome of a connection test of external account id: its steps, and the
// host key the server offered, for the administrator to confirm (datastream_account.tested).
// EFORBIDDEN, ENOTFOUND.
func RecordTest(ctx context.Context, tx pgx.Tx, ed access.Editor, id uuid.UUID, t ConnectionTest) error {
	if err := ed.Allow(access.CanManageDatastreams(ed.Principal)); err != nil {
		return err
	}
	if _, err := FindAccountByID(ctx, tx, id); err != nil {
		return err
	}
	report := make([]CheckResult, 0, len(t.Checks))
	for _, c := range t.Checks {
		r := CheckResult{Step: c.Step, OK: c.Err == nil}
		if c.Err != nil {
			r.Error = c.Err.Error()
		}
		report = append(report, r)
	}
	b, err := json.Marshal(report)
	if err != nil {
		return err
	}
	ok := t.OK()
	if _, err := tx.Exec(ctx, `UPDATE datastream_accounts SET tested_at = now(), test_ok = $2, test_report = $3,
		offered_key = $4 WHERE id = $1`, id, ok, b, t.HostKey); err != nil {
		return fmt.Errorf("record connection test: %w", err)
	}
	return writeAccount(ctx, tx, ed, audit.DatastreamAccountTested, id,
		map[string]any{"ok": ok, "steps": report, "fingerprint": t.Fingerprint})
}

// AcceptHostKey pins the host key the last connection test was offered, after the administrator
// confirmed its fingerprint (which must be that key's: the page he confirmed may be stale), and
// records the old and new fingerprints (datastream_account.host_key_accepted). EFORBIDDEN,
// ENOTFOUND; EINVALID when no key was offered or the fingerprint is another.
func AcceptHostKey(ctx context.Context, tx pgx.Tx, ed access.Editor, id uuid.UUID, fingerprint string) error {
	if err := ed.Allow(access.CanManageDatastreams(ed.Principal)); err != nil {
		return err
	}
	a, err := FindAccountByID(ctx, tx, id)
	if err != nil {
		return err
	}
	if a.Archived() {
		return apperr.New(apperr.EINVALID, "datastream.error.archived")
	}
	if a.OfferedKey == "" || Fingerprint(a.OfferedKey) != fingerprint {
		return apperr.New(apperr.EINVALID, "datastream.error.fingerprint_stale")
	}
	if _, err := tx.Exec(ctx, "UPDATE datastream_accounts SET host_key = offered_key, updated_at = now() WHERE id = $1", id); err != nil {
		return fmt.Errorf("accept host key: %w", err)
	}
	return writeAccount(ctx, tx, ed, audit.DatastreamHostKeyAccepted, id,
		map[string]any{"before": Fingerprint(a.HostKey), "after": fingerprint})
}

// NewHostedPassword gives hosted account id a new generated password, returned to be shown
// once; the old one stops working at once. Recorded without the secret
// (datastream_account.password_reset). EFORBIDDEN, ENOTFOUND; EINVALID unless the account is an
// active or blocked hosted account that logs in with a password.
func NewHostedPassword(ctx context.Context, tx pgx.Tx, ed access.Editor, id uuid.UUID) (Credentials, error) {
	var creds Credentials
	if err := ed.Allow(access.CanManageDatastreams(ed.Principal)); err != nil {
		return creds, err
	}
	a, err := FindAccountByID(ctx, tx, id)
	if err != nil {
		return creds, err
	}
	if a.Type != TypeHosted || a.AuthMethod != AuthPassword || a.Archived() {
		return creds, apperr.New(apperr.EINVALID, "datastream.error.no_password")
	}
	creds.Password = rand.Text()
	hash, err := auth.HashPassword(creds.Password)
	if err != nil {
		return creds, err
	}
	if _, err := tx.Exec(ctx, "UPDATE datastream_accounts SET password_hash = $2, updated_at = now() WHERE id = $1", id, hash); err != nil {
		return creds, fmt.Errorf("new hosted password: %w", err)
	}
	return creds, writeAccount(ctx, tx, ed, audit.DatastreamPasswordReset, id, nil)
}

// SetAccountStatus blocks (StatusBlocked) or unblocks (StatusActive) an account: a blocked
// hosted account cannot log in, and its open sessions are refused from their next request.
// Recorded (datastream_account.blocked, datastream_account.unblocked). EFORBIDDEN, ENOTFOUND;
// EINVALID for another status or an archived account.
func SetAccountStatus(ctx context.Context, tx pgx.Tx, ed access.Editor, id uuid.UUID, status string) error {
	if err := ed.Allow(access.CanManageDatastreams(ed.Principal)); err != nil {
		return err
	}
	action, ok := map[string]string{StatusActive: audit.DatastreamAccountUnblocked, StatusBlocked: audit.DatastreamAccountBlocked}[status]
	if !ok {
		return apperr.New(apperr.EINVALID, "error.choose")
	}
	a, err := FindAccountByID(ctx, tx, id)
	if err != nil {
		return err
	}
	if a.Archived() {
		return apperr.New(apperr.EINVALID, "datastream.error.archived")
	}
	if _, err := tx.Exec(ctx, "UPDATE datastream_accounts SET status = $2, updated_at = now() WHERE id = $1", id, status); err != nil {
		return fmt.Errorf("set account status: %w", err)
	}
	return writeAccount(ctx, tx, ed, action, id, map[string]any{"before": map[string]any{"status": a.Status}})
}
