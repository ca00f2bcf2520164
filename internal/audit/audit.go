// Package audit keeps the append-only trail of who did what to which dossier, and reads it back
// for administrators.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/apperr"
)

// Actions logged. Keys are stable; their labels live in the message catalogue.
const (
	LoginSucceeded       = "login.succeeded"
	LoginFailed          = "login.failed"
	LoginThrottled       = "login.throttled"
	Logout               = "logout"
	EmployeeViewed       = "employee.viewed"
	EmployeeRefused      = "employee.refused"
	EmployeeCreated      = "employee.created"
	EmployeeUpdated      = "employee.updated"
	EmployerCreated      = "employer.created"
	EmployerUpdated      = "employer.updated"
	EmployerGroupCreated = "employer_group.created"
	DepartmentSaved      = "department.saved"
	UserCreated          = "user.created"
	UserUpdated          = "user.updated"
	UserBlocked          = "user.blocked"
	UserUnblocked        = "user.unblocked"
	RoleCreated          = "role.created"
	RoleUpdated          = "role.updated"
	AuditExported        = "audit.exported"
	JobRetried           = "job.retried"
	JobCancelled         = "job.cancelled"

	// Changes of a user's links and blacklist (subject: that user).
	AccessDepartmentLinked   = "access.department_linked"
	AccessDepartmentUnlinked = "access.department_unlinked"
	AccessEmployeeLinked     = "access.employee_linked"
	AccessEmployeeUnlinked   = "access.employee_unlinked"
	AccessBlacklisted        = "access.blacklisted"
	AccessUnblacklisted      = "access.unblacklisted"
	// Case data (subject_type: the entity, e.g. "absence"; employee_id when it is an employee's).
	CaseCreated = "case.created"
	CaseUpdated = "case.updated"
	CaseDeleted = "case.deleted"
	// Dossier delegations (subject: the delegation).
	DelegationGranted = "delegation.granted"
	DelegationEnded   = "delegation.ended"
	DelegationUpdated = "delegation.updated"
	DelegationWarned  = "delegation.warned"
	// Interventions: a confirmed deployment (subject: the deployment, employee: its employee),
	// a change of the intervention settings or a provider's default executor (subject: the
	// provider or the tenant's settings), and a refused change of a default executor.
	InterventionDeployed = "intervention.deployed"
	InterventionUpdated  = "intervention.updated"
	InterventionRefused  = "intervention.refused"

	// Documents (subject: the document) and the refusal of an upload, download or delete
	// (details: operation and reason). Events of an employee dossier carry its employee.
	DocumentUploaded   = "document.uploaded"
	DocumentDownloaded = "document.downloaded"
	DocumentDeleted    = "document.deleted"
	DocumentRefused    = "document.refused"

	// Document categories (subject: the category) and the authorisation matrix (subject: the role).
	CategoryCreated = "category.created"
	CategoryUpdated = "category.updated"
	CategoryDeleted = "category.deleted"
	MatrixUpdated   = "matrix.updated"

	// Full-dossier bundles (subject: the bundle, employer: its employer). BundleCopied is written
	// once per employee whose documents went into a bundle (NEN 7513: a copy is an access), with
	// that employee and the requester as the user.
	BundleRequested = "bundle.requested"
	BundleRetried   = "bundle.retried"
	BundleGenerated = "bundle.generated"
	BundleFailed    = "bundle.failed"
	BundleCopied    = "bundle.copied"
	BundleExpired   = "bundle.expired"
	// Full-dossier deletions (subject: the deletion, employer: its employer).
	DossierDeletionRequested = "dossier.deletion_requested"
	DossierDeleted           = "dossier.deleted"
	// A refused full-dossier action (subject: the employer; details: operation — generate,
	// retry or delete — reason and message).
	FullDossierRefused = "full_dossier.refused"

	// Employee dossier exports (subject: the export, employee: whose dossier). ExportGenerated
	// is the copy of the dossier (NEN 7513), with the creator as the user; ExportExpired is the
	// automatic deletion of its files after 24 hours; ExportRefused a refused page, start,
	// retry or download (details: operation, reason and message).
	ExportPageViewed = "export.page_viewed"
	ExportListViewed = "export.list_viewed"
	ExportRequested  = "export.requested"
	ExportRetried    = "export.retried"
	ExportGenerated  = "export.generated"
	ExportFailed     = "export.failed"
	ExportDownloaded = "export.downloaded"
	ExportExpired    = "export.expired"
	ExportRefused    = "export.refused"
	// Datastream accounts (subject: the account): changes with before and after, never a
	// secret; a refused change (details: operation, reason); log-ins to the hosted SFTP server
	// and what the account fetched or deleted there (details: path), and a file downloaded from
	// the account's folder in the browser.
	DatastreamAccountCreated   = "datastream_account.created"
	DatastreamAccountUpdated   = "datastream_account.updated"
	DatastreamAccountArchived  = "datastream_account.archived"
	DatastreamAccountTested    = "datastream_account.tested"
	DatastreamHostKeyAccepted  = "datastream_account.host_key_accepted"
	DatastreamAccountRefused   = "datastream_account.refused"
	DatastreamPasswordReset    = "datastream_account.password_reset"
	DatastreamAccountBlocked   = "datastream_account.blocked"
	DatastreamAccountUnblocked = "datastream_account.unblocked"
	SFTPLoginSucceeded         = "sftp.login_succeeded"
	SFTPLoginFailed            = "sftp.login_failed"
	SFTPDownloaded             = "sftp.downloaded"
	SFTPDeleted                = "sftp.deleted"
	DatastreamFileDownloaded   = "datastream_file.downloaded"
	// Datastream configurations (issue 19; subject: the configuration): before/after, never the
	// pseudonym key; run_requested carries the run's mode; delivered is written by the delivery
	// job when a run succeeds (no user; details: run, mode, files, pseudonymised and how many
	// employees' data it carried; which employees is in datastream_run_employees, shown per
	// employee in his export's Inzage and Verwerking).
	DatastreamConfigCreated      = "datastream_config.created"
	DatastreamConfigUpdated      = "datastream_config.updated"
	DatastreamConfigArchived     = "datastream_config.archived"
	DatastreamConfigRunRequested = "datastream_config.run_requested"
	DatastreamConfigKeyRotated   = "datastream_config.key_rotated"
	DatastreamConfigDelivered    = "datastream_config.delivered"
)

// Actions lists the action keys for the filter.
var Actions = []string{LoginSucceeded, LoginFailed, LoginThrottled, Logout, EmployeeViewed, EmployeeRefused, EmployeeCreated, EmployeeUpdated,
	EmployerCreated, EmployerUpdated, EmployerGroupCreated, DepartmentSaved, UserCreated, UserUpdated, UserBlocked, UserUnblocked,
	RoleCreated, RoleUpdated, AuditExported, JobRetried, JobCancelled,
	AccessDepartmentLinked, AccessDepartmentUnlinked, AccessEmployeeLinked, AccessEmployeeUnlinked,
	AccessBlacklisted, AccessUnblacklisted, DelegationGranted, CaseCreated, CaseUpdated, CaseDeleted,
	DocumentUploaded, DocumentDownloaded, DocumentDeleted, DocumentRefused,
	CategoryCreated, CategoryUpdated, CategoryDeleted, MatrixUpdated,
	BundleRequested, BundleRetried, BundleGenerated, BundleFailed, BundleCopied, BundleExpired,
	DossierDeletionRequested, DossierDeleted, FullDossierRefused,
	ExportPageViewed, ExportListViewed, ExportRequested, ExportRetried, ExportGenerated, ExportFailed, ExportDownloaded,
	ExportExpired, ExportRefused,
	DelegationEnded, DelegationUpdated, DelegationWarned, InterventionDeployed, InterventionUpdated, InterventionRefused,
	DatastreamAccountCreated, DatastreamAccountUpdated, DatastreamAccountArchived, DatastreamAccountTested,
	DatastreamHostKeyAccepted, DatastreamAccountRefused, DatastreamPasswordReset, DatastreamAccountBlocked,
	DatastreamAccountUnblocked, SFTPLoginSucceeded, SFTPLoginFailed, SFTPDownloaded, SFTPDeleted,
	DatastreamFileDownloaded,
	DatastreamConfigCreated, DatastreamConfigUpdated, DatastreamConfigArchived, DatastreamConfigRunRequested,
	DatastreamConfigKeyRotated, DatastreamConfigDelivered}

// Actor is who acts and from where: a user on a request, or nobody for a job.
type Actor struct {
	UserID    *uuid.UUID
	IP        string
	UserAgent string
}

// Event is one audit record.
type Event struct {
	ID           uuid.UUID
	At           time.Time
	UserID       *uuid.UUID
	UserName     string
	Action       string
	SubjectType  string
	SubjectID    *uuid.UUID
	SubjectName  string // read back only: the subject's name now, or as its details recorded it
	EmployeeID   *uuid.UUID
	EmployeeName string
	EmployerID   *uuid.UUID
	IP           string
	UserAgent    string
	Details      map[string]any
}

// Write appends one event in tx, so it commits or rolls back with the change it records.
func Write(ctx context.Context, tx pgx.Tx, actor Actor, e Event) error {
	b, err := detailsJSON(e)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO audit_events (tenant_id, user_id, action, subject_type, subject_id,
		employee_id, employer_id, ip, user_agent, details)
		VALUES (app_tenant(), $1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		actor.UserID, e.Action, e.SubjectType, e.SubjectID, e.EmployeeID, e.EmployerID, actor.IP,
		truncate(actor.UserAgent, 500), b)
	if err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return nil
}

// WriteEach appends events, all by actor, in tx in one statement: for a job that records
// thousands of events at once (one per employee), one round trip instead of thousands. Each
// event is stored as Write stores it.
func WriteEach(ctx context.Context, tx pgx.Tx, actor Actor, events []Event) error {
	if len(events) == 0 {
		return nil
	}
	n := len(events)
	actions, subjectTypes, details := make([]string, n), make([]string, n), make([]string, n)
	subjects, employees, employers := make([]*uuid.UUID, n), make([]*uuid.UUID, n), make([]*uuid.UUID, n)
	for i, e := range events {
		b, err := detailsJSON(e)
		if err != nil {
			return err
		}
		actions[i], subjectTypes[i], details[i] = e.Action, e.SubjectType, string(b)
		subjects[i], employees[i], employers[i] = e.SubjectID, e.EmployeeID, e.EmployerID
	}
	_, err := tx.Exec(ctx, `INSERT INTO audit_events (tenant_id, user_id, action, subject_type, subject_id,
		employee_id, employer_id, ip, user_agent, details)
		SELECT app_tenant(), $1, e.action, e.subject_type, e.subject_id, e.employee_id, e.employer_id, $2, $3, e.details::jsonb
		FROM unnest($4::text[], $5::text[], $6::uuid[], $7::uuid[], $8::uuid[], $9::text[])
			WITH ORDINALITY AS e (action, subject_type, subject_id, employee_id, employer_id, details, n)
		ORDER BY e.n`,
		actor.UserID, actor.IP, truncate(actor.UserAgent, 500), actions, subjectTypes, subjects, employees, employers, details)
	if err != nil {
		return fmt.Errorf("audit %s: %w", events[0].Action, err)
	}
	return nil
}

// detailsJSON is e's details as stored: a JSON object, empty when e has none.
func detailsJSON(e Event) ([]byte, error) {
	details := e.Details
	if details == nil {
		details = map[string]any{}
	}
	b, err := json.Marshal(details)
	if err != nil {
		return nil, fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return b, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// Filter selects audit events. Zero fields do not filter.
type Filter struct {
	UserID     *uuid.UUID
	EmployeeID *uuid.UUID
	// EmployeeSearch selects the events of the employees whose name, personnel number or BSN
	// match every LIKE pattern (lower case, as access.SearchPatterns makes them).
	EmployeeSearch []string
	Action         string
	From           *time.Time // inclusive
	Until          *time.Time // exclusive
	Offset         int
	Limit          int // 0: no limit (for the CSV download)
}

const eventColumns = `a.id, a.at, a.user_id, coalesce(u.name, ''), a.action, a.subject_type, a.subject_id,
	` + subjectName + `, a.employee_id, coalesce(nullif(concat_ws(' ', e.first_name, nullif(e.name_prefix, ''), e.last_name), ''), ''),
	a.employer_id, a.ip, a.user_agent, a.details`

// subjectName is the name of an event's subject: as it is called now, or, when it is gone (a
// deleted document or category), as the event's details recorded it.
const subjectName = `coalesce(CASE a.subject_type
		WHEN 'user' THEN (SELECT s.name FROM users s WHERE s.id = a.subject_id)
		WHEN 'role' THEN (SELECT s.name FROM roles s WHERE s.id = a.subject_id)
		WHEN 'category' THEN (SELECT s.name FROM document_categories s WHERE s.id = a.subject_id)
		WHEN 'document' THEN (SELECT s.file_name FROM documents s WHERE s.id = a.subject_id)
		WHEN 'employer' THEN (SELECT s.name FROM employers s WHERE s.id = a.subject_id)
		WHEN 'employer_group' THEN (SELECT s.name FROM employer_groups s WHERE s.id = a.subject_id)
		WHEN 'department' THEN (SELECT s.name FROM departments s WHERE s.id = a.subject_id)
		WHEN 'intervention_provider' THEN (SELECT s.name FROM intervention_providers s WHERE s.id = a.subject_id)
		WHEN 'programme' THEN (SELECT s.name FROM programmes s WHERE s.id = a.subject_id)
		WHEN 'employee' THEN (SELECT concat_ws(' ', nullif(s.first_name, ''), nullif(s.name_prefix, ''), s.last_name)
			FROM employees s WHERE s.id = a.subject_id)
		WHEN 'delegation' THEN (SELECT s.name FROM dossier_delegations d JOIN users s ON s.id = d.user_id WHERE d.id = a.subject_id)
		WHEN 'bundle' THEN (SELECT s.name FROM bundles b JOIN employers s ON s.id = b.employer_id WHERE b.id = a.subject_id)
		WHEN 'dossier_deletion' THEN a.details->>'employer'
		WHEN 'employee_export' THEN (SELECT concat_ws(' ', nullif(s.first_name, ''), nullif(s.name_prefix, ''), s.last_name)
			FROM employee_exports x JOIN employees s ON s.id = x.employee_id WHERE x.id = a.subject_id)
		WHEN 'deployment' THEN (SELECT s.name FROM intervention_deployments d JOIN programmes s ON s.id = d.programme_id WHERE d.id = a.subject_id)
		WHEN 'datastream_account' THEN (SELECT s.name FROM datastream_accounts s WHERE s.id = a.subject_id)
		WHEN 'datastream_config' THEN (SELECT s.name FROM datastream_configs s WHERE s.id = a.subject_id)
	END, nullif(a.details->>'name', ''), nullif(a.details->>'file_name', ''), nullif(a.details->>'role', ''),
		nullif(a.details#>>'{after,name}', ''), '')`

func (f Filter) where() (string, []any) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.UserID != nil {
		add("a.user_id = $%d", *f.UserID)
	}
	if f.EmployeeID != nil {
		add("a.employee_id = $%d", *f.EmployeeID)
	}
	if len(f.EmployeeSearch) > 0 {
		add("a.employee_id IN (SELECT s.id FROM employee_search($%d) s)", f.EmployeeSearch)
	}
	if f.Action != "" {
		add("a.action = $%d", f.Action)
	}
	if f.From != nil {
		add("a.at >= $%d", *f.From)
	}
	if f.Until != nil {
		add("a.at < $%d", *f.Until)
	}
	if len(where) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(where, " AND "), args
}

// FindEvents returns the events matching f, newest first, and the total that match.
func FindEvents(ctx context.Context, tx pgx.Tx, f Filter) ([]Event, int, error) {
	where, args := f.where()
	var total int
	if err := tx.QueryRow(ctx, "SELECT count(*) FROM audit_events a"+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count audit events: %w", err)
	}
	var list []Event
	err := EachEvent(ctx, tx, f, func(e Event) error {
		list = append(list, e)
		return nil
	})
	return list, total, err
}

// EachEvent streams the events matching f, newest first, to fn.
func EachEvent(ctx context.Context, tx pgx.Tx, f Filter, fn func(Event) error) error {
	where, args := f.where()
	if f.Limit > 0 {
		args = append(args, f.Limit, max(f.Offset, 0))
		where += fmt.Sprintf(" ORDER BY a.at DESC, a.id DESC LIMIT $%d OFFSET $%d", len(args)-1, len(args))
	} else {
		where += " ORDER BY a.at DESC, a.id DESC"
	}
	return eachEvent(ctx, tx, where, args, fn)
}

// eachEvent streams the events selected by rest (WHERE, ORDER BY, LIMIT, with args) to fn.
func eachEvent(ctx context.Context, tx pgx.Tx, rest string, args []any, fn func(Event) error) error {
	q := "SELECT " + eventColumns + ` FROM audit_events a LEFT JOIN users u ON u.id = a.user_id
		LEFT JOIN employees e ON e.id = a.employee_id` + rest
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("find audit events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e Event
		if err := rows.Scan(&e.ID, &e.At, &e.UserID, &e.UserName, &e.Action, &e.SubjectType, &e.SubjectID,
			&e.SubjectName, &e.EmployeeID, &e.EmployeeName, &e.EmployerID, &e.IP, &e.UserAgent, &e.Details); err != nil {
			return fmt.Errorf("find audit events: %w", err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return rows.Err()
}

// FindEventByID returns one event of the current tenant. ENOTFOUND when there is none with
// that id (another tenant's events are not visible under row-level security).
func FindEventByID(ctx context.Context, tx pgx.Tx, id uuid.UUID) (Event, error) {
	var found *Event
	err := eachEvent(ctx, tx, " WHERE a.id = $1", []any{id}, func(e Event) error {
		found = &e
		return nil
	})
	if err != nil {
		return Event{}, err
	}
	if found == nil {
		return Event{}, apperr.New(apperr.ENOTFOUND, "error.not_found")
	}
	return *found, nil
}
