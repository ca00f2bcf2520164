// Package export makes employee dossier exports (DESIGN.md §7, issue 16): a complete copy of
// one employee's case file as an Excel workbook with a JSON twin, made by a River job, kept 24
// hours and then deleted by a sweep, with the row kept as a deleted-export record. It reuses the
// full dossier's job pattern (package bundle): the row and the job in one transaction,
// progress on the row, a heartbeat (package heartbeat), a download guard asked at download
// time through the access engine. This file holds the rows and the transactional API the page
// uses; generate.go, write.go and sections.go the job, expire.go the sweep.
package export

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/org"
)

// Lifetime is how long an export's files are kept after it was started: the expiry sweep
// deletes them after that (seed 001: 24 hours, never by hand).
const Lifetime = 24 * time.Hour

const lifetimeSeconds = int64(Lifetime / time.Second)

// MaxReason is the longest "reason / request reference" an export may carry, in characters.
const MaxReason = 500

// Status is where an export is.
type Status string

// The statuses of an export; the page shows them as In afwachting, Bezig, Klaar, Mislukt.
const (
	StatusPending Status = "pending" // started; the job has not begun
	StatusRunning Status = "running" // the job is writing the files
	StatusDone    Status = "done"    // both files stored and verified
	StatusFailed  Status = "failed"  // given up; Error says why
)

// File is one of an export's two files.
type File string

// The two files of an export: the workbook and its machine-readable twin.
const (
	FileXLSX File = "xlsx"
	FileJSON File = "json"
)

// Valid reports whether f is one of the two files.
func (f File) Valid() bool { return f == FileXLSX || f == FileJSON }

// ContentType is the file's media type.
func (f File) ContentType() string {
	if f == FileJSON {
		return "application/json"
	}
	return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
}

// StorageKey is where the blob of an export's file is kept: fixed by the export's id, so an
// attempt that starts again overwrites what an interrupted one left.
func StorageKey(tenantID, exportID uuid.UUID, f File) string {
	return StoragePrefix(tenantID) + exportID.String() + "." + string(f)
}

// StoragePrefix is the folder of a tenant's export blobs.
func StoragePrefix(tenantID uuid.UUID) string { return "exports/" + tenantID.String() + "/" }

// BlobRefs is what the orphan check needs of exports (in a tenant's transaction): the keys of
// every export not yet deleted, whatever its state, and of those the keys that must exist:
// both files of an export done before cutoff.
func BlobRefs(ctx context.Context, tx pgx.Tx, cutoff time.Time) (known, required []string, err error) {
	rows, err := tx.Query(ctx, `SELECT tenant_id, id, status = 'done' AND finished_at < $1 FROM employee_exports
		WHERE deleted_at IS NULL`, cutoff)
	if err != nil {
		return nil, nil, err
	}
	var tenantID, id uuid.UUID
	var must bool
	_, err = pgx.ForEachRow(rows, []any{&tenantID, &id, &must}, func() error {
		for _, f := range []File{FileXLSX, FileJSON} {
			k := StorageKey(tenantID, id, f)
			known = append(known, k)
			if must {
				required = append(required, k)
			}
		}
		return nil
	})
	return known, required, err
}

// Export is one export of an employee's dossier.
type Export struct {
	ID, EmployeeID, EmployerID, RequestedBy uuid.UUID
	RequestedByName                         string
	Reason                                  string // "reason / request reference" given when it was started
	Status                                  Status
	Interrupted                             bool // its job was interrupted (its process died) at least once and restarted
	SectionsDone, SectionsTotal             int  // progress while running
	RowsDone                                int
	Medical                                 bool   // medical items were included (the creator had medical.view)
	Error                                   string // why it failed: a message catalogue key (export.error.…), safe to show
	XLSXSize, JSONSize                      int64
	XLSXSHA256, JSONSHA256                  string
	CreatedAt                               time.Time
	FinishedAt                              *time.Time
	ExpiresAt                               time.Time
	DeletedAt                               *time.Time // the files were deleted (expired); the row stays as the record
}

// Active reports whether the export's job is still to run or running.
func (e Export) Active() bool { return e.Status == StatusPending || e.Status == StatusRunning }

// Deleted reports whether the export's files are gone (the sweep deleted them).
func (e Export) Deleted() bool { return e.DeletedAt != nil }

// Available reports whether the files can be downloaded at now: done, not deleted, not expired.
func (e Export) Available(now time.Time) bool {
	return e.Status == StatusDone && e.DeletedAt == nil && now.Before(e.ExpiresAt)
}

// Facts are the facts of e the access decisions need.
func (e Export) Facts() access.ExportFacts {
	return access.ExportFacts{EmployeeID: e.EmployeeID, RequestedBy: e.RequestedBy}
}

// Size is the size of file f.
func (e Export) Size(f File) int64 {
	if f == FileJSON {
		return e.JSONSize
	}
	return e.XLSXSize
}

// SHA256 is the SHA-256 (lower-case hex) of file f.
func (e Export) SHA256(f File) string {
	if f == FileJSON {
		return e.JSONSHA256
	}
	return e.XLSXSHA256
}

const exportColumns = `x.id, x.employee_id, x.employer_id, x.requested_by, coalesce(u.name, ''), x.reason, x.status,
	x.interrupted_at IS NOT NULL, x.sections_done, x.sections_total, x.rows_done, x.medical, x.error,
	x.xlsx_size, x.json_size, x.xlsx_sha256, x.json_sha256, x.created_at, x.finished_at, x.expires_at, x.deleted_at`

const exportFrom = ` FROM employee_exports x LEFT JOIN users u ON u.id = x.requested_by`

func scanExport(row pgx.Row) (Export, error) {
	var e Export
	err := row.Scan(&e.ID, &e.EmployeeID, &e.EmployerID, &e.RequestedBy, &e.RequestedByName, &e.Reason, &e.Status,
		&e.Interrupted, &e.SectionsDone, &e.SectionsTotal, &e.RowsDone, &e.Medical, &e.Error,
		&e.XLSXSize, &e.JSONSize, &e.XLSXSHA256, &e.JSONSHA256, &e.CreatedAt, &e.FinishedAt, &e.ExpiresAt, &e.DeletedAt)
	return e, err
}

// FindExportByID returns an export whoever may see it: the caller decides (access
// CanDownloadExport). ENOTFOUND when it does not exist in the tenant.
func FindExportByID(ctx context.Context, tx pgx.Tx, id uuid.UUID) (Export, error) {
	e, err := scanExport(tx.QueryRow(ctx, "SELECT "+exportColumns+exportFrom+" WHERE x.id = $1", id))
	if database.IsNoRows(err) {
		return Export{}, apperr.New(apperr.ENOTFOUND, "error.not_found")
	}
	if err != nil {
		return Export{}, fmt.Errorf("find export %s: %w", id, err)
	}
	return e, nil
}

// FindExports lists every export of the employee, newest first, those whose files are deleted
// included (the page lists them apart). The caller has checked the viewer may export him.
func FindExports(ctx context.Context, tx pgx.Tx, employeeID uuid.UUID) ([]Export, error) {
	rows, err := tx.Query(ctx, "SELECT "+exportColumns+exportFrom+
		" WHERE x.employee_id = $1 ORDER BY x.created_at DESC, x.id DESC", employeeID)
	if err != nil {
		return nil, fmt.Errorf("find exports: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Export, error) { return scanExport(r) })
	if err != nil {
		return nil, fmt.Errorf("find exports: %w", err)
	}
	return list, nil
}

// cleanReason trims the reason and checks its length: EINVALID with the field error "reason".
func cleanReason(reason string) (string, error) {
	reason = strings.TrimSpace(reason)
	if utf8.RuneCountInString(reason) > MaxReason {
		return "", apperr.Invalid(map[string]string{"reason": "export.error.reason_long"})
	}
	if !utf8.ValidString(reason) || strings.ContainsRune(reason, 0) {
		return "", apperr.Invalid(map[string]string{"reason": "export.error.reason_invalid"})
	}
	return reason, nil
}

// RequestExport starts a new export of the employee by ed, on behalf of reason (optional, up
// to MaxReason characters: EINVALID with the field error "reason" otherwise). It checks that he
// may (access.CanExportEmployee: ENOTFOUND outside his access, EFORBIDDEN without the rights),
// inserts the export row (pending), writes the audit event and enqueues GenerateExportArgs with
// InsertTx in tx, so the job exists only if tx commits. ECONFLICT (export.error.running) when
// he already has an export of this employee on its way. The system starts none: an export
// holds what its creator may see.
func RequestExport(ctx context.Context, tx pgx.Tx, rc *river.Client[pgx.Tx], ed access.Editor, employeeID uuid.UUID, reason string) (Export, error) {
	p := ed.Principal
	if err := access.CanExportEmployee(ctx, tx, p, employeeID); err != nil {
		return Export{}, err
	}
	reason, err := cleanReason(reason)
	if err != nil {
		return Export{}, err
	}
	emp, err := org.FindEmployeeByID(ctx, tx, employeeID)
	if err != nil {
		return Export{}, err
	}
	id := uuid.Must(uuid.NewV7())
	// ON CONFLICT keeps tx usable when p already has an export on its way.
	tag, err := tx.Exec(ctx, `INSERT INTO employee_exports (tenant_id, id, employee_id, employer_id, requested_by, reason, medical, expires_at)
		VALUES (app_tenant(), $1, $2, $3, $4, $5, $6, now() + $7 * interval '1 second')
		ON CONFLICT (tenant_id, employee_id, requested_by) WHERE status IN ('pending', 'running') DO NOTHING`,
		id, employeeID, emp.EmployerID, p.UserID, reason, access.CanReadMedical(p), lifetimeSeconds)
	if err != nil {
		return Export{}, fmt.Errorf("request export: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return Export{}, apperr.New(apperr.ECONFLICT, "export.error.running")
	}
	if err := enqueue(ctx, tx, rc, ed.Actor, audit.ExportRequested, p.TenantID, id, employeeID, emp.EmployerID,
		map[string]any{"reason": reason}); err != nil {
		return Export{}, err
	}
	return FindExportByID(ctx, tx, id)
}

// RetryExport starts a failed export again for ed: the same row goes back to pending with a
// fresh 24 hours and a new job (InsertTx in tx), and the retry is audited. Whether he may is
// decided by access.CanRetryExport on the row as locked here: ENOTFOUND when the export does
// not exist or he cannot see its employee, EFORBIDDEN when he may not export or did not start
// it; then ECONFLICT (export.error.not_failed) unless it failed, or (export.error.running) when
// he has another export of the employee on its way.
func RetryExport(ctx context.Context, tx pgx.Tx, rc *river.Client[pgx.Tx], ed access.Editor, exportID uuid.UUID) (Export, error) {
	p := ed.Principal
	var f access.ExportFacts
	var employerID uuid.UUID
	var status Status
	var deleted bool
	err := tx.QueryRow(ctx, `SELECT employee_id, employer_id, requested_by, status, deleted_at IS NOT NULL
		FROM employee_exports WHERE id = $1 FOR UPDATE`, exportID).Scan(&f.EmployeeID, &employerID, &f.RequestedBy, &status, &deleted)
	if database.IsNoRows(err) {
		return Export{}, apperr.New(apperr.ENOTFOUND, "error.not_found")
	}
	if err != nil {
		return Export{}, fmt.Errorf("retry export %s: %w", exportID, err)
	}
	if err := access.CanRetryExport(ctx, tx, p, f); err != nil {
		return Export{}, err
	}
	if status != StatusFailed || deleted {
		return Export{}, apperr.New(apperr.ECONFLICT, "export.error.not_failed")
	}
	var busy bool
	err = tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM employee_exports WHERE employee_id = $1 AND requested_by = $2
		AND status IN ('pending', 'running'))`, f.EmployeeID, f.RequestedBy).Scan(&busy)
	if err != nil {
		return Export{}, fmt.Errorf("retry export %s: %w", exportID, err)
	}
	if busy {
		return Export{}, apperr.New(apperr.ECONFLICT, "export.error.running")
	}
	_, err = tx.Exec(ctx, `UPDATE employee_exports SET status = 'pending', error = '', interrupted_at = NULL, sections_done = 0,
		sections_total = 0, rows_done = 0, medical = $2, xlsx_size = 0, json_size = 0, xlsx_sha256 = '', json_sha256 = '',
		created_at = now(), finished_at = NULL, expires_at = now() + $3 * interval '1 second'
		WHERE id = $1`, exportID, access.CanReadMedical(p), lifetimeSeconds)
	if err != nil {
		return Export{}, fmt.Errorf("retry export %s: %w", exportID, err)
	}
	if err := enqueue(ctx, tx, rc, ed.Actor, audit.ExportRetried, p.TenantID, exportID, f.EmployeeID, employerID, nil); err != nil {
		return Export{}, err
	}
	return FindExportByID(ctx, tx, exportID)
}

// enqueue audits action on the export and enqueues its generation job in tx.
func enqueue(ctx context.Context, tx pgx.Tx, rc *river.Client[pgx.Tx], actor audit.Actor, action string,
	tenantID, exportID, employeeID, employerID uuid.UUID, details map[string]any) error {
	err := audit.Write(ctx, tx, actor, audit.Event{Action: action, SubjectType: "employee_export", SubjectID: &exportID,
		EmployeeID: &employeeID, EmployerID: &employerID, Details: details})
	if err != nil {
		return err
	}
	if _, err := rc.InsertTx(ctx, tx, GenerateExportArgs{TenantID: tenantID, ExportID: exportID}, nil); err != nil {
		return fmt.Errorf("enqueue export %s: %w", exportID, err)
	}
	return nil
}

// Downloaded audits a download of file f of export e by actor (rng: the Range header asked
// for, "" for the whole file), in tx: the caller has checked access.CanDownloadExport and
// e.Available in the same transaction.
func Downloaded(ctx context.Context, tx pgx.Tx, actor audit.Actor, e Export, f File, rng string) error {
	details := map[string]any{"file": string(f), "size": e.Size(f), "sha256": e.SHA256(f)}
	if rng != "" {
		details["range"] = rng
	}
	return audit.Write(ctx, tx, actor, audit.Event{Action: audit.ExportDownloaded, SubjectType: "employee_export", SubjectID: &e.ID,
		EmployeeID: &e.EmployeeID, EmployerID: &e.EmployerID, Details: details})
}

// CheckAvailable returns nil when e's files may be downloaded at now: EGONE
// (export.error.expired) once they are deleted or past their 24 hours, ECONFLICT
// (export.error.not_ready) while the export is not done.
func CheckAvailable(e Export, now time.Time) error {
	if e.Deleted() || !now.Before(e.ExpiresAt) {
		return apperr.New(apperr.EGONE, "export.error.expired")
	}
	if e.Status != StatusDone {
		return apperr.New(apperr.ECONFLICT, "export.error.not_ready")
	}
	return nil
}
