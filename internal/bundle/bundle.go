// Package bundle makes an employer's full dossier (DESIGN.md §6): every document the requesting
// user may read, of the employer dossier and of every employee dossier he can see, as one or more
// standalone ZIP parts with a metadata workbook first, placed in the employer dossier for 48
// hours; and it deletes an employer's full dossier. The work runs in River jobs (jobs.go,
// generate.go, expire.go, delete.go); this file holds the rows and the transactional API the
// screen uses.
package bundle

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/document"
	"github.com/dossierkast/dossierkast/internal/org"
)

// Lifetime is how long a bundle is kept after it was asked for: the expiry sweep deletes it, its
// parts and their blobs after that.
const Lifetime = 48 * time.Hour

const lifetimeSeconds = int64(Lifetime / time.Second)

// Status is where a bundle or a deletion is.
type Status string

// The statuses of bundles and deletions.
const (
	StatusPending Status = "pending" // asked for; the job has not started
	StatusRunning Status = "running" // the job is working on it
	StatusDone    Status = "done"    // complete: the parts are there (a deletion: everything is gone)
	StatusFailed  Status = "failed"  // given up; Error says why
)

// Bundle is one full-dossier generation and its parts.
type Bundle struct {
	ID, EmployerID, RequestedBy uuid.UUID
	RequestedByName             string
	RequesterKind               access.Kind // provider or employer: which system category holds the parts
	Status                      Status
	Interrupted                 bool  // its job was interrupted (its process died) at least once and restarted
	DocsDone, DocsTotal         int   // progress while running; DocsTotal is known once the job has planned
	BytesDone                   int64 // the documents' bytes written so far, of BytesTotal
	BytesTotal                  int64
	LeftOut                     int    // documents of the dossier the requester may not read: a count, never names
	Error                       string // why it failed: a message catalogue key (bundle.error.…), safe to show
	CreatedAt                   time.Time
	FinishedAt                  *time.Time
	ExpiresAt                   time.Time
	Parts                       []document.Document // ordered by part number; FileName says "deel i van n"
}

// Active reports whether the bundle's job is still to run or running.
func (b Bundle) Active() bool { return b.Status == StatusPending || b.Status == StatusRunning }

// Preview is what a generation by a user would include right now.
type Preview struct {
	Documents int   // documents he may read, of the employer and the employees he can see
	Bytes     int64 // their total size
	LeftOut   int   // documents of the employer and its employees he may not read
	LeftBytes int64 // their total size
}

// Enabled reports whether full dossiers are available for employer e: it has the product
// "970 Dossiervorming extended".
func Enabled(e org.Employer) bool { return e.HasProduct(org.ProductFullDossier) }

// visibleDossierDocuments returns the FROM clause and arguments of the documents of the employer
// (its own dossier and its employees') that p may read by cats, through the same rule as the
// dossier pages (access.VisibleDocuments), as d, and the condition on them. Bundle parts are never
// part of a bundle. The employer is $1.
func visibleDossierDocuments(p access.Principal, cats access.Categories, employerID uuid.UUID) (from, where string, args []any) {
	from, args = access.VisibleDocuments(p, cats, []any{employerID})
	return from + " d", " WHERE d.employer_id = $1 AND d.bundle_id IS NULL", args
}

// PreviewBundle counts the documents and bytes of the employer's full dossier that p may read by
// cats, and the documents left out because he may not. The caller has checked p may see the
// employer.
func PreviewBundle(ctx context.Context, tx pgx.Tx, p access.Principal, cats access.Categories, employerID uuid.UUID) (Preview, error) {
	from, where, args := visibleDossierDocuments(p, cats, employerID)
	var pv Preview
	var all int
	var allBytes int64
	err := tx.QueryRow(ctx, `SELECT v.n, v.bytes, a.n, a.bytes
		FROM (SELECT count(*) AS n, coalesce(sum(d.size), 0) AS bytes FROM `+from+where+`) v,
			(SELECT count(*) AS n, coalesce(sum(size), 0) AS bytes FROM documents WHERE employer_id = $1 AND bundle_id IS NULL) a`,
		args...).Scan(&pv.Documents, &pv.Bytes, &all, &allBytes)
	if err != nil {
		return Preview{}, fmt.Errorf("preview bundle: %w", err)
	}
	pv.LeftOut, pv.LeftBytes = all-pv.Documents, allBytes-pv.Bytes
	return pv, nil
}

const bundleColumns = `b.id, b.employer_id, b.requested_by, coalesce(u.name, ''), b.requester_kind, b.status,
	b.interrupted_at IS NOT NULL, b.docs_done, b.docs_total, b.bytes_done, b.bytes_total, b.left_out, b.error, b.created_at, b.finished_at, b.expires_at`

const bundleFrom = ` FROM bundles b LEFT JOIN users u ON u.id = b.requested_by`

func scanBundle(row pgx.Row) (Bundle, error) {
	var b Bundle
	err := row.Scan(&b.ID, &b.EmployerID, &b.RequestedBy, &b.RequestedByName, &b.RequesterKind, &b.Status,
		&b.Interrupted, &b.DocsDone, &b.DocsTotal, &b.BytesDone, &b.BytesTotal, &b.LeftOut, &b.Error, &b.CreatedAt, &b.FinishedAt, &b.ExpiresAt)
	return b, err
}

// withParts fills in the parts of bundles.
func withParts(ctx context.Context, tx pgx.Tx, bundles []Bundle) error {
	if len(bundles) == 0 {
		return nil
	}
	ids := make([]uuid.UUID, len(bundles))
	for i, b := range bundles {
		ids[i] = b.ID
	}
	parts, err := document.FindBundleParts(ctx, tx, ids)
	if err != nil {
		return err
	}
	for i := range bundles {
		bundles[i].Parts = parts[bundles[i].ID]
	}
	return nil
}

// FindBundleByID returns a bundle with its parts, whatever the requester may see: the caller
// decides. ENOTFOUND when it does not exist (or has expired and been swept).
func FindBundleByID(ctx context.Context, tx pgx.Tx, id uuid.UUID) (Bundle, error) {
	b, err := scanBundle(tx.QueryRow(ctx, "SELECT "+bundleColumns+bundleFrom+" WHERE b.id = $1", id))
	if database.IsNoRows(err) {
		return Bundle{}, apperr.New(apperr.ENOTFOUND, "error.not_found")
	}
	if err != nil {
		return Bundle{}, fmt.Errorf("find bundle %s: %w", id, err)
	}
	list := []Bundle{b}
	if err := withParts(ctx, tx, list); err != nil {
		return Bundle{}, err
	}
	return list[0], nil
}

// FindBundles lists the employer's unexpired bundles of p's requester kind (a provider user sees
// the provider bundles, an employer user the employer bundles; a coach none), newest first, with
// their parts. The caller has checked p may see the employer.
func FindBundles(ctx context.Context, tx pgx.Tx, p access.Principal, employerID uuid.UUID) ([]Bundle, error) {
	rows, err := tx.Query(ctx, "SELECT "+bundleColumns+bundleFrom+
		" WHERE b.employer_id = $1 AND b.requester_kind = $2 AND b.expires_at > now() ORDER BY b.created_at DESC, b.id DESC",
		employerID, p.Kind)
	if err != nil {
		return nil, fmt.Errorf("find bundles: %w", err)
	}
	bundles, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Bundle, error) { return scanBundle(r) })
	if err != nil {
		return nil, fmt.Errorf("find bundles: %w", err)
	}
	return bundles, withParts(ctx, tx, bundles)
}

// Contents is what a bundle holds, for the download guard of its parts.
type Contents struct {
	Employees  []uuid.UUID // whose documents went in
	Categories []uuid.UUID // the categories of the documents that went in
}

// BundleContents returns what the bundle that document documentID is a part of holds; ok is
// false when the document is no bundle part.
func BundleContents(ctx context.Context, tx pgx.Tx, documentID uuid.UUID) (c Contents, ok bool, err error) {
	var bundleID *uuid.UUID
	err = tx.QueryRow(ctx, `SELECT b.id, b.category_ids FROM documents d JOIN bundles b ON b.id = d.bundle_id
		WHERE d.id = $1`, documentID).Scan(&bundleID, &c.Categories)
	if database.IsNoRows(err) {
		return Contents{}, false, nil
	}
	if err != nil {
		return Contents{}, false, fmt.Errorf("bundle contents of %s: %w", documentID, err)
	}
	rows, err := tx.Query(ctx, "SELECT employee_id FROM bundle_employees WHERE bundle_id = $1 ORDER BY employee_id", *bundleID)
	if err != nil {
		return Contents{}, false, fmt.Errorf("bundle contents of %s: %w", documentID, err)
	}
	if c.Employees, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID]); err != nil {
		return Contents{}, false, fmt.Errorf("bundle contents of %s: %w", documentID, err)
	}
	return c, true, nil
}

// requesterKind is the kind whose system category holds p's bundles. EFORBIDDEN for coaches:
// there is no full-dossier category for them.
func requesterKind(p access.Principal) (access.Kind, error) {
	if p.Kind != access.KindProvider && p.Kind != access.KindEmployer {
		return "", apperr.New(apperr.EFORBIDDEN, "bundle.error.kind")
	}
	return p.Kind, nil
}

// RequestBundle asks for a new full dossier of the employer by ed: it checks that he may
// (access.CanGenerateFullDossier: ENOTFOUND outside his reach, EFORBIDDEN without
// employer_dossier.view or full_dossier.generate, or when the employer lacks the product;
// ENOTFOUND for an unknown employer), inserts the bundle row (pending), writes the audit event
// and enqueues GenerateBundleArgs with InsertTx in tx, so the job exists only if tx commits.
// ECONFLICT (bundle.error.running) when he already has a pending or running bundle for it;
// EFORBIDDEN for a coach. A bundle holds what its requester may see: the system asks for none.
func RequestBundle(ctx context.Context, tx pgx.Tx, rc *river.Client[pgx.Tx], ed access.Editor, employerID uuid.UUID) (Bundle, error) {
	p := ed.Principal
	kind, err := requesterKind(p)
	if err != nil {
		return Bundle{}, err
	}
	e, err := org.FindEmployerByID(ctx, tx, employerID)
	if err != nil {
		return Bundle{}, err
	}
	if err := access.CanGenerateFullDossier(p, employerID, Enabled(e)); err != nil {
		return Bundle{}, err
	}
	id := uuid.Must(uuid.NewV7())
	// ON CONFLICT keeps tx usable when p already has a bundle on its way.
	tag, err := tx.Exec(ctx, `INSERT INTO bundles (tenant_id, id, employer_id, requested_by, requester_kind, expires_at)
		VALUES (app_tenant(), $1, $2, $3, $4, now() + $5 * interval '1 second')
		ON CONFLICT (tenant_id, employer_id, requested_by) WHERE status IN ('pending', 'running') DO NOTHING`,
		id, employerID, p.UserID, kind, lifetimeSeconds)
	if err != nil {
		return Bundle{}, fmt.Errorf("request bundle: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return Bundle{}, apperr.New(apperr.ECONFLICT, "bundle.error.running")
	}
	if err := enqueueGeneration(ctx, tx, rc, ed.Actor, audit.BundleRequested, p.TenantID, id, employerID); err != nil {
		return Bundle{}, err
	}
	return FindBundleByID(ctx, tx, id)
}

// RetryBundle starts a failed bundle again for ed: the same row goes back to pending with a
// fresh 48 hours and a new job (InsertTx in tx), and the retry is audited. The requester stays
// who he was, and the job works with his access. Whether p may retry it is decided by
// access.CanRetryFullDossier on the row as locked here, so no caller can let anyone else set a
// bundle going: ENOTFOUND when the bundle does not exist or does not show on p's screen of its
// employer, EFORBIDDEN when p may not generate or is not its requester (or the employer lost the
// product); then ECONFLICT (bundle.error.not_failed) unless it failed, or (bundle.error.running)
// when p has another bundle on its way for the employer.
func RetryBundle(ctx context.Context, tx pgx.Tx, rc *river.Client[pgx.Tx], ed access.Editor, bundleID uuid.UUID) (Bundle, error) {
	p := ed.Principal
	var facts access.BundleFacts
	var status Status
	err := tx.QueryRow(ctx, "SELECT employer_id, requester_kind, requested_by, status FROM bundles WHERE id = $1 FOR UPDATE", bundleID).
		Scan(&facts.EmployerID, &facts.RequesterKind, &facts.RequestedBy, &status)
	if database.IsNoRows(err) {
		return Bundle{}, apperr.New(apperr.ENOTFOUND, "error.not_found")
	}
	if err != nil {
		return Bundle{}, fmt.Errorf("retry bundle %s: %w", bundleID, err)
	}
	e, err := org.FindEmployerByID(ctx, tx, facts.EmployerID)
	if err != nil {
		return Bundle{}, err
	}
	if err := access.CanRetryFullDossier(p, facts.EmployerID, Enabled(e), facts); err != nil {
		return Bundle{}, err
	}
	if status != StatusFailed {
		return Bundle{}, apperr.New(apperr.ECONFLICT, "bundle.error.not_failed")
	}
	var busy bool
	err = tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM bundles WHERE employer_id = $1 AND requested_by = $2
		AND status IN ('pending', 'running'))`, facts.EmployerID, facts.RequestedBy).Scan(&busy)
	if err != nil {
		return Bundle{}, fmt.Errorf("retry bundle %s: %w", bundleID, err)
	}
	if busy {
		return Bundle{}, apperr.New(apperr.ECONFLICT, "bundle.error.running")
	}
	_, err = tx.Exec(ctx, `UPDATE bundles SET status = 'pending', error = '', interrupted_at = NULL, docs_done = 0, docs_total = 0,
		bytes_done = 0, bytes_total = 0, left_out = 0, parts = 0, created_at = now(), finished_at = NULL, expires_at = now() + $2 * interval '1 second'
		WHERE id = $1`, bundleID, lifetimeSeconds)
	if err != nil {
		return Bundle{}, fmt.Errorf("retry bundle %s: %w", bundleID, err)
	}
	if err := enqueueGeneration(ctx, tx, rc, ed.Actor, audit.BundleRetried, p.TenantID, bundleID, facts.EmployerID); err != nil {
		return Bundle{}, err
	}
	return FindBundleByID(ctx, tx, bundleID)
}

// enqueueGeneration audits action on the bundle and enqueues its generation job in tx.
func enqueueGeneration(ctx context.Context, tx pgx.Tx, rc *river.Client[pgx.Tx], actor audit.Actor, action string,
	tenantID, bundleID, employerID uuid.UUID) error {
	err := audit.Write(ctx, tx, actor, audit.Event{Action: action, SubjectType: "bundle", SubjectID: &bundleID, EmployerID: &employerID})
	if err != nil {
		return err
	}
	if _, err := rc.InsertTx(ctx, tx, GenerateBundleArgs{TenantID: tenantID, BundleID: bundleID}, nil); err != nil {
		return fmt.Errorf("enqueue bundle %s: %w", bundleID, err)
	}
	return nil
}
