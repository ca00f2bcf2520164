// Package delivery holds datastream configurations and their runs (issue 19): what an account
// delivers, how often, and the River job that delivers it through the account's transport with
// stream.Deliver. It sits beside package datastream (accounts, transports) and package stream
// (catalogue, files) because it needs both, and stream already imports datastream.
package delivery

import (
	"context"
	"crypto/rand"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/datastream"
	"github.com/dossierkast/dossierkast/internal/datastream/stream"
	"github.com/dossierkast/dossierkast/internal/secret"
)

// Frequencies of automatic delivery.
const (
	Weekly = "weekly"
	Daily  = "daily"
)

// Configuration statuses.
const (
	StatusActive   = "active"
	StatusArchived = "archived"
)

// Config is a datastream configuration. The pseudonym key is not in it, only the id of its
// sealed secret.
type Config struct {
	ID            uuid.UUID
	AccountID     uuid.UUID
	Name          string
	Folder        string
	Version       stream.Version
	Pseudonymised bool
	Streams       []string
	Columns       map[string][]string
	Scheduled     bool
	Frequency     string
	Mode          string
	KeySecretID   *uuid.UUID
	KeyVersion    int
	Position      string
	PositionAt    *time.Time
	// FullReason, when set, makes the next delivery full and says why (key rotated).
	FullReason string
	Status     string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Archived reports whether the configuration is archived (read-only, no runs).
func (c Config) Archived() bool { return c.Status == StatusArchived }

const configColumns = `c.id, c.account_id, c.name, c.folder, c.version, c.pseudonymised, c.streams, c.columns,
	c.scheduled, c.frequency, c.mode, c.key_secret_id, c.key_version, c.position, c.position_at, c.full_reason, c.status,
	c.created_at, c.updated_at`

// FindConfigs lists the configurations of account accountID by name, archived ones last.
func FindConfigs(ctx context.Context, tx pgx.Tx, accountID uuid.UUID) ([]Config, error) {
	return database.FindAll[Config](ctx, tx, "datastream configurations", `SELECT `+configColumns+`
		FROM datastream_configs c WHERE c.account_id = $1 ORDER BY c.status = 'archived', lower(c.name), c.id`, accountID)
}

// FindConfigByID returns configuration id. ENOTFOUND when the tenant has none.
func FindConfigByID(ctx context.Context, tx pgx.Tx, id uuid.UUID) (Config, error) {
	return database.FindOne[Config](ctx, tx, "datastream configuration", `SELECT `+configColumns+`
		FROM datastream_configs c WHERE c.id = $1`, id)
}

// Input is what an administrator fills in for a configuration.
type Input struct {
	Name          string
	Version       string
	Pseudonymised bool
	Streams       []string
	// Columns holds, per file, the optional columns chosen; mandatory ones are added.
	Columns   map[string][]string
	Scheduled bool
	Frequency string
	Mode      string
}

var unsafeFolder = regexp.MustCompile(`[^a-z0-9_-]+`)

// FolderName makes name safe as a folder name: lower case letters, digits, '-' and '_'.
func FolderName(name string) string {
	f := strings.Trim(unsafeFolder.ReplaceAllString(strings.ToLower(strings.TrimSpace(name)), "-"), "-_")
	if len(f) > 60 {
		f = strings.Trim(f[:60], "-_")
	}
	if f == "" {
		f = "configuratie"
	}
	return f
}

// validate checks in against the catalogue and returns the columns per file of the chosen
// streams with every mandatory column ticked.
func (in *Input) validate() (map[string][]string, error) {
	fields := map[string]string{}
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || len(in.Name) > 200 {
		fields["name"] = "error.required"
	}
	v := stream.Version(in.Version)
	if v != stream.V1 && v != stream.V2 {
		fields["version"] = "error.choose"
	}
	if in.Frequency != Weekly && in.Frequency != Daily {
		fields["frequency"] = "error.choose"
	}
	if in.Mode != string(stream.ModeIncremental) && in.Mode != string(stream.ModeFull) {
		fields["mode"] = "error.choose"
	}
	columns := map[string][]string{}
	if len(in.Streams) == 0 {
		fields["streams"] = "datastream.error.streams"
	}
	slices.Sort(in.Streams)
	in.Streams = slices.Compact(in.Streams)
	for _, id := range in.Streams {
		s, ok := stream.FindStream(id)
		if !ok || !s.In(v) {
			fields["streams"] = "datastream.error.streams"
			continue
		}
		for _, f := range s.Files {
			chosen := in.Columns[f.Name]
			var cols []string
			for _, c := range f.Columns {
				if c.Mandatory || slices.Contains(chosen, c.Name) {
					cols = append(cols, c.Name)
				}
			}
			for _, name := range chosen {
				if _, ok := f.Column(name); !ok {
					fields["columns"] = "datastream.error.columns"
				}
			}
			columns[f.Name] = cols
		}
	}
	for name := range in.Columns {
		if _, f, err := stream.FindFile(name); err != nil || !slices.Contains(in.Streams, streamOf(f.Name)) {
			fields["columns"] = "datastream.error.columns"
		}
	}
	if len(fields) > 0 {
		return nil, apperr.Invalid(fields)
	}
	return columns, nil
}

func streamOf(file string) string {
	s, _, err := stream.FindFile(file)
	if err != nil {
		return ""
	}
	return s.ID
}

// auditDetails describes c for the audit log: every setting, never the key.
func auditDetails(c Config) map[string]any {
	return map[string]any{"name": c.Name, "folder": c.Folder, "version": c.Version, "pseudonymised": c.Pseudonymised,
		"streams": c.Streams, "columns": c.Columns, "scheduled": c.Scheduled, "frequency": c.Frequency, "mode": c.Mode,
		"key_version": c.KeyVersion, "status": c.Status}
}

func writeAudit(ctx context.Context, tx pgx.Tx, ed access.Editor, action string, id uuid.UUID, details map[string]any) error {
	return audit.Write(ctx, tx, ed.Actor, audit.Event{Action: action, SubjectType: "datastream_config", SubjectID: &id, Details: details})
}

// uniqueFolder returns FolderName(name), with a number added when another configuration of the
// account already uses it.
func uniqueFolder(ctx context.Context, tx pgx.Tx, accountID uuid.UUID, name string, self uuid.UUID) (string, error) {
	base := FolderName(name)
	rows, err := tx.Query(ctx, `SELECT folder FROM datastream_configs WHERE account_id = $1 AND id <> $2`, accountID, self)
	if err != nil {
		return "", fmt.Errorf("configuration folders: %w", err)
	}
	taken, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return "", fmt.Errorf("configuration folders: %w", err)
	}
	folder := base
	for n := 2; slices.Contains(taken, folder); n++ {
		folder = base + "-" + strconv.Itoa(n)
	}
	return folder, nil
}

// newKey seals a fresh pseudonym key and returns its secret id.
func newKey(ctx context.Context, tx pgx.Tx, keys *secret.Keyring) (uuid.UUID, error) {
	return keys.Store(ctx, tx, []byte(rand.Text()+rand.Text()))
}

// CreateConfig creates a configuration on active account accountID, with a new sealed
// pseudonym key (version 1) and its own folder (datastream_config.created). EFORBIDDEN,
// ENOTFOUND, EINVALID.
func CreateConfig(ctx context.Context, tx pgx.Tx, ed access.Editor, keys *secret.Keyring, accountID uuid.UUID, in Input) (Config, error) {
	if err := ed.Allow(access.CanManageDatastreams(ed.Principal)); err != nil {
		return Config{}, err
	}
	a, err := datastream.FindAccountByID(ctx, tx, accountID)
	if err != nil {
		return Config{}, err
	}
	if a.Archived() {
		return Config{}, apperr.New(apperr.EINVALID, "datastream.error.archived")
	}
	columns, err := in.validate()
	if err != nil {
		return Config{}, err
	}
	id := uuid.Must(uuid.NewV7())
	folder, err := uniqueFolder(ctx, tx, accountID, in.Name, id)
	if err != nil {
		return Config{}, err
	}
	keyID, err := newKey(ctx, tx, keys)
	if err != nil {
		return Config{}, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO datastream_configs (tenant_id, id, account_id, name, folder, version,
		pseudonymised, streams, columns, scheduled, frequency, mode, key_secret_id)
		VALUES (app_tenant(), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		id, accountID, in.Name, folder, in.Version, in.Pseudonymised, in.Streams, columns, in.Scheduled, in.Frequency,
		in.Mode, keyID); err != nil {
		return Config{}, fmt.Errorf("create datastream configuration: %w", err)
	}
	c, err := FindConfigByID(ctx, tx, id)
	if err != nil {
		return Config{}, err
	}
	return c, writeAudit(ctx, tx, ed, audit.DatastreamConfigCreated, id, map[string]any{"after": auditDetails(c)})
}

// UpdateConfig changes configuration id (datastream_config.updated, before and after). Its
// folder follows a new name. EFORBIDDEN, ENOTFOUND, EINVALID (also for an archived one).
func UpdateConfig(ctx context.Context, tx pgx.Tx, ed access.Editor, id uuid.UUID, in Input) (Config, error) {
	if err := ed.Allow(access.CanManageDatastreams(ed.Principal)); err != nil {
		return Config{}, err
	}
	before, err := FindConfigByID(ctx, tx, id)
	if err != nil {
		return Config{}, err
	}
	if before.Archived() {
		return Config{}, apperr.New(apperr.EINVALID, "datastream.error.config_archived")
	}
	columns, err := in.validate()
	if err != nil {
		return Config{}, err
	}
	folder := before.Folder
	if in.Name != before.Name {
		if folder, err = uniqueFolder(ctx, tx, before.AccountID, in.Name, id); err != nil {
			return Config{}, err
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE datastream_configs SET name = $2, folder = $3, version = $4, pseudonymised = $5,
		streams = $6, columns = $7, scheduled = $8, frequency = $9, mode = $10, updated_at = now() WHERE id = $1`,
		id, in.Name, folder, in.Version, in.Pseudonymised, in.Streams, columns, in.Scheduled, in.Frequency, in.Mode); err != nil {
		return Config{}, fmt.Errorf("update datastream configuration: %w", err)
	}
	after, err := FindConfigByID(ctx, tx, id)
	if err != nil {
		return Config{}, err
	}
	return after, writeAudit(ctx, tx, ed, audit.DatastreamConfigUpdated, id,
		map[string]any{"before": auditDetails(before), "after": auditDetails(after)})
}

// ArchiveConfig archives configuration id: no further runs, kept read-only with its history
// (datastream_config.archived). Archiving an archived one changes nothing. EFORBIDDEN,
// ENOTFOUND.
func ArchiveConfig(ctx context.Context, tx pgx.Tx, ed access.Editor, id uuid.UUID) error {
	if err := ed.Allow(access.CanManageDatastreams(ed.Principal)); err != nil {
		return err
	}
	before, err := FindConfigByID(ctx, tx, id)
	if err != nil || before.Archived() {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE datastream_configs SET status = 'archived', scheduled = false, updated_at = now()
		WHERE id = $1`, id); err != nil {
		return fmt.Errorf("archive datastream configuration: %w", err)
	}
	return writeAudit(ctx, tx, ed, audit.DatastreamConfigArchived, id,
		map[string]any{"before": map[string]any{"status": before.Status, "scheduled": before.Scheduled}})
}

// RotateKey gives configuration id a new pseudonym key (version + 1) and deletes the old one:
// pseudonyms change, so the next delivery is full and its manifest says why
// (datastream_config.key_rotated, versions only). EFORBIDDEN, ENOTFOUND, EINVALID (archived).
func RotateKey(ctx context.Context, tx pgx.Tx, ed access.Editor, keys *secret.Keyring, id uuid.UUID) error {
	if err := ed.Allow(access.CanManageDatastreams(ed.Principal)); err != nil {
		return err
	}
	before, err := FindConfigByID(ctx, tx, id)
	if err != nil {
		return err
	}
	if before.Archived() {
		return apperr.New(apperr.EINVALID, "datastream.error.config_archived")
	}
	keyID, err := newKey(ctx, tx, keys)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE datastream_configs SET key_secret_id = $2, key_version = key_version + 1,
		full_reason = 'pseudonym key rotated', updated_at = now() WHERE id = $1`, id, keyID); err != nil {
		return fmt.Errorf("rotate pseudonym key: %w", err)
	}
	if before.KeySecretID != nil {
		if err := secret.Delete(ctx, tx, *before.KeySecretID); err != nil {
			return err
		}
	}
	return writeAudit(ctx, tx, ed, audit.DatastreamConfigKeyRotated, id,
		map[string]any{"before": map[string]any{"key_version": before.KeyVersion}, "after": map[string]any{"key_version": before.KeyVersion + 1}})
}
