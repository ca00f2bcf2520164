package bundle

import (
	"archive/zip"
	"compress/flate"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/document"
	"github.com/dossierkast/dossierkast/internal/i18n"
	"github.com/dossierkast/dossierkast/internal/org"
)

// GenerateTimeout is how long one attempt may run: at the blob store's usual 50–100 MB/s, some
// hundreds of gigabytes. River rescues the job of a process that died mid-job only after this
// (jobs.Config sets River's rescue interval past the longest attempt timeout).
const GenerateTimeout = 2 * time.Hour

// progressInterval is how often a running generation writes docs_done to its row.
const progressInterval = time.Second

// GenerateBundleWorker generates a bundle (GenerateBundleArgs): it re-reads the bundle and the
// requester's access under the tenant, plans (into a planFile), writes each part as a
// standalone ZIP straight from the blob store into a new blob (part 1 starts with the metadata
// workbook), reading the plan back an entry at a time, and publishes the parts as documents of
// the employer dossier in one transaction at the end. Its memory does not grow with the number
// of documents.
//
// Safe to retry after a crash at any point: a part's storage key is recorded in bundle_uploads
// (committed) before its first byte is written, and no document row points to it until the
// final transaction, which also removes the upload records. Every attempt first deletes what an
// earlier one left (blobs, then their records). A session advisory lock on the bundle keeps two
// attempts from running at once, and tells the delete job and the expiry sweep a bundle is busy.
type GenerateBundleWorker struct {
	river.WorkerDefaults[GenerateBundleArgs]
	Pool     *pgxpool.Pool
	Blobs    document.BlobStore
	PartSize int64 // BUNDLE_PART_SIZE
	Log      *slog.Logger
	// AttemptTimeout is how long one attempt may run; GenerateTimeout when 0 (tests shorten it).
	AttemptTimeout time.Duration
	// AfterDocumentFunc, when set, is called after each document is written into a part, with
	// the number written so far in this attempt (tests interrupt the job with it).
	AfterDocumentFunc func(done int)
}

// Timeout gives a generation AttemptTimeout (GenerateTimeout) instead of River's default minute.
func (w *GenerateBundleWorker) Timeout(*river.Job[GenerateBundleArgs]) time.Duration {
	if w.AttemptTimeout > 0 {
		return w.AttemptTimeout
	}
	return GenerateTimeout
}

// permanentError ends a generation for good with a reason the screen shows.
type permanentError struct {
	reason string // message catalogue key
	err    error
}

func (e *permanentError) Error() string { return e.reason + ": " + e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func permanent(reason string, err error) error { return &permanentError{reason: reason, err: err} }

// errGone means the bundle was deleted or marked failed by someone else (a dossier deletion)
// while the job ran: the job stops and cleans up after itself.
var errGone = errors.New("bundle no longer wanted")

// Work runs one attempt. A permanent failure or a cancellation on /admin/jobs marks the bundle
// failed with its reason, removes the attempt's blobs and ends the job; any other error is
// retried by River, and on the last attempt also marks the bundle failed.
func (w *GenerateBundleWorker) Work(ctx context.Context, job *river.Job[GenerateBundleArgs]) error {
	a := job.Args
	unlock, ok, err := lockBundle(ctx, w.Pool, a.BundleID)
	if err != nil {
		return err
	}
	if !ok {
		return river.JobSnooze(30 * time.Second)
	}
	defer unlock()

	err = w.generate(ctx, a)
	var perm *permanentError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errGone):
		w.logger().InfoContext(ctx, "bundle no longer wanted", "tenant_id", a.TenantID, "bundle_id", a.BundleID)
		if cerr := removeUploads(context.WithoutCancel(ctx), w.Pool, w.Blobs, a.TenantID, a.BundleID); cerr != nil {
			return cerr
		}
		return river.JobCancel(err)
	case errors.Is(context.Cause(ctx), river.ErrJobCancelledRemotely):
		// Cancelled on /admin/jobs: River will not run it again, so the bundle ends as failed
		// and the requester may retry or ask anew.
		if ferr := w.fail(context.WithoutCancel(ctx), a, "bundle.error.cancelled"); ferr != nil {
			return errors.Join(err, ferr)
		}
		return err
	case errors.As(err, &perm):
		if ferr := w.fail(context.WithoutCancel(ctx), a, perm.reason); ferr != nil {
			return errors.Join(err, ferr)
		}
		return river.JobCancel(err)
	case job.Attempt >= job.MaxAttempts:
		if ferr := w.fail(context.WithoutCancel(ctx), a, "bundle.error.internal"); ferr != nil {
			return errors.Join(err, ferr)
		}
	}
	return err
}

func (w *GenerateBundleWorker) logger() *slog.Logger {
	if w.Log == nil {
		return slog.Default()
	}
	return w.Log
}

// lockBundle takes the session advisory lock of a bundle on a connection of its own, held until
// unlock (or until the process dies: PostgreSQL then ends the session and the lock goes with
// it). ok is false when another session holds it. The connection is not the pool's: a pool of a
// few connections, each held by a running generation, would leave the generations none to work
// with.
func lockBundle(ctx context.Context, pool *pgxpool.Pool, bundleID uuid.UUID) (unlock func(), ok bool, err error) {
	conn, err := pgx.ConnectConfig(ctx, pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, false, fmt.Errorf("lock bundle %s: %w", bundleID, err)
	}
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock(hashtextextended($1, 0))", lockKey(bundleID)).Scan(&ok); err != nil || !ok {
		conn.Close(context.Background())
		if err != nil {
			return nil, false, fmt.Errorf("lock bundle %s: %w", bundleID, err)
		}
		return nil, false, nil
	}
	// Closing the session releases the lock.
	return func() { conn.Close(context.Background()) }, true, nil
}

// lockKey is the advisory lock of a bundle (hashed to a bigint in SQL); the delete job and the
// expiry sweep take it with pg_try_advisory_xact_lock to learn whether a generation runs.
func lockKey(bundleID uuid.UUID) string { return "bundle:" + bundleID.String() }

// job is one attempt's view of its bundle.
type genJob struct {
	args       GenerateBundleArgs
	bundle     Bundle
	user       org.User
	employer   org.Employer
	pl         plan
	entries    *planFile
	lastUpdate time.Time
	done       int
}

func (w *GenerateBundleWorker) generate(ctx context.Context, a GenerateBundleArgs) error {
	g := &genJob{args: a}
	err := database.InTenant(ctx, w.Pool, a.TenantID, func(tx pgx.Tx) error {
		b, err := FindBundleByID(ctx, tx, a.BundleID)
		if apperr.CodeOf(err) == apperr.ENOTFOUND {
			return errGone
		}
		if err != nil {
			return err
		}
		if !b.Active() {
			return errDone
		}
		g.bundle = b
		_, err = tx.Exec(ctx, "UPDATE bundles SET status = 'running', docs_done = 0 WHERE id = $1", a.BundleID)
		return err
	})
	if errors.Is(err, errDone) {
		return nil // an earlier attempt finished it, or it failed for good: nothing to do
	}
	if err != nil {
		return err
	}
	if err := removeUploads(ctx, w.Pool, w.Blobs, a.TenantID, a.BundleID); err != nil {
		return err
	}
	if err := w.plan(ctx, g); err != nil {
		return err
	}
	defer g.entries.close()
	parts, err := w.writeParts(ctx, g)
	if err != nil {
		return err
	}
	return w.publish(ctx, g, parts)
}

// errDone stops an attempt whose bundle needs no more work.
var errDone = errors.New("bundle already finished")

// plan reloads the requester's principal and categories now (not as they were when he asked),
// checks he may still generate, and plans the bundle.
func (w *GenerateBundleWorker) plan(ctx context.Context, g *genJob) error {
	err := database.InTenant(ctx, w.Pool, g.args.TenantID, func(tx pgx.Tx) error {
		u, p, err := org.LoadPrincipal(ctx, tx, g.args.TenantID, g.bundle.RequestedBy)
		if apperr.CodeOf(err) == apperr.ENOTFOUND {
			return permanent("bundle.error.requester", err)
		}
		if err != nil {
			return err
		}
		if u.Status != "active" || access.CanSeeEmployer(p, g.bundle.EmployerID) != nil ||
			access.Require(p, access.FullDossierGenerate) != nil || p.Kind != g.bundle.RequesterKind {
			return permanent("bundle.error.requester", fmt.Errorf("user %s may not generate", u.ID))
		}
		if g.employer, err = enabledEmployer(ctx, tx, g.bundle.EmployerID); err != nil {
			if apperr.CodeOf(err) == apperr.EINVALID {
				return permanent("bundle.error.product", err)
			}
			return err
		}
		cats, err := access.LoadCategories(ctx, tx, p)
		if err != nil {
			return err
		}
		if g.pl, g.entries, err = planBundle(ctx, tx, p, cats, g.bundle.EmployerID, w.PartSize); err != nil {
			return err
		}
		g.user = u
		_, err = tx.Exec(ctx, `UPDATE bundles SET docs_total = $2, bytes_total = $3, left_out = $4, parts = $5
			WHERE id = $1`, g.args.BundleID, g.pl.Docs, g.pl.Bytes, g.pl.LeftOut, g.pl.Parts)
		return err
	})
	if err != nil && g.entries != nil {
		g.entries.close()
	}
	return err
}

// partBlob is a written part, not yet published.
type partBlob struct {
	id   uuid.UUID
	blob document.Blob
}

// writeParts writes every part of the plan, reading the plan back in order:
// part 1 starts with the workbook, and a part is finished when the first entry of the next one
// comes. Each part's storage key is recorded in bundle_uploads before its first byte. The
// documents are read ahead on a goroutine of their own (readDocuments), so opening and reading
// the next ones runs beside writing the current one.
func (w *GenerateBundleWorker) writeParts(ctx context.Context, g *genJob) ([]partBlob, error) {
	parts := make([]partBlob, 0, g.pl.Parts)
	cur, err := w.openPart(ctx, g, 1)
	if err != nil {
		return nil, err
	}
	rctx, stop := context.WithCancel(ctx)
	chunks, free := make(chan docChunk, readBlocks), make(chan []byte, readBlocks)
	go w.readDocuments(rctx, g, chunks, free)
	defer func() {
		stop()
		for range chunks { // until readDocuments has ended
		}
	}()
	var ew io.Writer
	for c := range chunks {
		if c.err != nil {
			err = c.err
			break
		}
		ew, err = w.writeChunk(ctx, g, &cur, &parts, ew, c)
		free <- c.buf[:cap(c.buf)]
		if err != nil {
			break
		}
	}
	if err == nil && g.done != g.pl.Docs {
		err = fmt.Errorf("bundle %s: wrote %d documents, the plan has %d", g.args.BundleID, g.done, g.pl.Docs)
	}
	if err != nil {
		cur.abort()
		return nil, err
	}
	b, err := cur.finish()
	if err != nil {
		return nil, err
	}
	parts = append(parts, partBlob{id: cur.id, blob: b})
	if len(parts) != g.pl.Parts {
		return nil, fmt.Errorf("bundle %s: wrote %d parts, the plan has %d", g.args.BundleID, len(parts), g.pl.Parts)
	}
	return parts, w.progress(ctx, g, true)
}

// writeChunk writes c into the archive: a document's first chunk starts its entry, in the
// part the plan gives it (finishing the parts before), and the entry writer is returned for
// the chunks that follow; its last chunk counts the document done.
func (w *GenerateBundleWorker) writeChunk(ctx context.Context, g *genJob, cur **partWriter, parts *[]partBlob, ew io.Writer, c docChunk) (io.Writer, error) {
	e := c.e
	if c.first {
		for e.Part > (*cur).number {
			b, err := (*cur).finish()
			if err != nil {
				return nil, err
			}
			*parts = append(*parts, partBlob{id: (*cur).id, blob: b})
			if *cur, err = w.openPart(ctx, g, (*cur).number+1); err != nil {
				return nil, err
			}
		}
		var err error
		ew, err = (*cur).zw.CreateHeader(&zip.FileHeader{Name: e.Path, Method: e.Method(), Modified: e.UploadedAt.In(i18n.Amsterdam)})
		if err != nil {
			return nil, err
		}
	}
	if _, err := ew.Write(c.buf); err != nil {
		return nil, fmt.Errorf("copy document %s: %w", e.DocumentID, err)
	}
	if !c.last {
		return ew, nil
	}
	g.done++
	if w.AfterDocumentFunc != nil {
		w.AfterDocumentFunc(g.done)
	}
	return ew, w.progress(ctx, g, false)
}

// The read-ahead holds documents in blocks of readBlock bytes (a smaller document takes a
// block of its own, a larger one several in turn), at most readBlocks of them at a time. The
// blocks are small so that the bytes in flight stay in the processors' caches between the
// read, the archive, the hash and the write: with blocks of a megabyte the generation took
// more processor time, not less.
const (
	readBlock  = 128 << 10
	readBlocks = 8
)

// docChunk is a piece of a document read ahead, or the error that ended the read-ahead.
type docChunk struct {
	e           *entry
	buf         []byte // the document's bytes, in a block of the read-ahead
	first, last bool
	err         error
}

// readAhead is the goroutine that reads the documents of the plan in order into blocks and
// sends them to chunks, taking free blocks from free (making new ones while fewer than
// readBlocks exist).
type readAhead struct {
	ctx    context.Context
	chunks chan<- docChunk
	free   chan []byte
	made   int
}

// readDocuments runs the read-ahead; an error is sent as the last chunk. It closes chunks when
// done or when ctx is cancelled.
func (w *GenerateBundleWorker) readDocuments(ctx context.Context, g *genJob, chunks chan<- docChunk, free chan []byte) {
	defer close(chunks)
	ra := &readAhead{ctx: ctx, chunks: chunks, free: free}
	err := g.entries.each(ctx, func(e *entry) error { return w.readDocument(ra, e) })
	if err != nil && ctx.Err() == nil {
		_ = ra.send(docChunk{err: err})
	}
}

// block returns an empty block: a free one, a new one while fewer than readBlocks exist, or
// else the next one the archive is done with.
func (ra *readAhead) block() ([]byte, error) {
	select {
	case b := <-ra.free:
		return b, nil
	default:
	}
	if ra.made < readBlocks {
		ra.made++
		return make([]byte, readBlock), nil
	}
	select {
	case b := <-ra.free:
		return b, nil
	case <-ra.ctx.Done():
		return nil, ra.ctx.Err()
	}
}

// release returns a block that is not sent.
func (ra *readAhead) release(b []byte) { ra.free <- b[:cap(b)] }

func (ra *readAhead) send(c docChunk) error {
	select {
	case ra.chunks <- c:
		return nil
	case <-ra.ctx.Done():
		if c.buf != nil {
			ra.release(c.buf)
		}
		return ra.ctx.Err()
	}
}

// readDocument reads e's blob and sends it in chunks. A missing blob, or one whose size is not
// the row's, fails the bundle for good: retrying will not bring it back.
func (w *GenerateBundleWorker) readDocument(ra *readAhead, e *entry) error {
	r, err := w.Blobs.NewRangeReader(ra.ctx, e.StorageKey, 0, -1)
	if errors.Is(err, fs.ErrNotExist) {
		return permanent("bundle.error.document_missing", err)
	}
	if err != nil {
		return err
	}
	defer r.Close()
	wrongSize := func(n int64) error {
		return permanent("bundle.error.document_missing", fmt.Errorf("document %s: blob has %d bytes, row says %d", e.DocumentID, n, e.Size))
	}
	// A store's reader knows the blob's size: reading exactly that many bytes then saves the
	// read that finds the end.
	sized, known := r.(interface{ Size() int64 })
	if known && sized.Size() != e.Size {
		return wrongSize(sized.Size())
	}
	var n int64
	for first := true; first || n < e.Size; first = false {
		b, err := ra.block()
		if err != nil {
			return err
		}
		k, err := io.ReadFull(r, b[:min(int64(len(b)), e.Size-n)])
		n += int64(k)
		if err == nil && n == e.Size && !known {
			if extra, _ := io.ReadFull(r, make([]byte, 1)); extra > 0 {
				n, err = n+1, io.ErrShortBuffer // longer than the row says
			}
		}
		if err != nil {
			ra.release(b)
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrShortBuffer) {
				return wrongSize(n)
			}
			return fmt.Errorf("copy document %s: %w", e.DocumentID, err)
		}
		if err := ra.send(docChunk{e: e, buf: b[:k], first: first, last: n == e.Size}); err != nil {
			return err
		}
	}
	return nil
}

// partWriter streams one standalone ZIP into a new blob.
type partWriter struct {
	number int
	id     uuid.UUID
	key    string
	bw     io.WriteCloser
	cancel context.CancelFunc // aborts the blob write
	out    *partOutput
	zw     *zipWriter
	closed bool // finished or aborted
}

// openPart records the storage key of part number in bundle_uploads (errGone when the bundle
// no longer runs) and starts writing it; part 1 gets the workbook first, written from the plan.
// On error nothing is left open.
func (w *GenerateBundleWorker) openPart(ctx context.Context, g *genJob, number int) (*partWriter, error) {
	id := uuid.Must(uuid.NewV7())
	key := document.StorageKey(g.args.TenantID, id)
	err := database.InTenant(ctx, w.Pool, g.args.TenantID, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO bundle_uploads (tenant_id, bundle_id, storage_key)
			SELECT app_tenant(), id, $2 FROM bundles WHERE id = $1 AND status = 'running'`, g.args.BundleID, key)
		if err == nil && tag.RowsAffected() == 0 {
			return errGone
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithCancel(ctx)
	bw, err := w.Blobs.NewWriter(wctx, key, "application/zip")
	if err != nil {
		cancel()
		return nil, err
	}
	pw := &partWriter{number: number, id: id, key: key, bw: bw, cancel: cancel, out: newPartOutput(bw)}
	pw.zw = newZipWriter(pw.out)
	if number > 1 {
		return pw, nil
	}
	ew, err := pw.zw.CreateHeader(&zip.FileHeader{Name: WorkbookName, Method: zip.Store, Modified: g.bundle.CreatedAt.In(i18n.Amsterdam)})
	if err == nil {
		err = writeWorkbook(ew, g.pl, workbookInfo{Lang: g.user.Language, EmployerName: g.employer.Name,
			Requester: g.user.Name, CreatedAt: g.bundle.CreatedAt}, func(fn func(*entry) error) error {
			return g.entries.each(ctx, fn)
		})
	}
	if err != nil {
		pw.abort()
		return nil, err
	}
	return pw, nil
}

// abort stops the write unless it is over: nothing is stored under the part's key.
func (pw *partWriter) abort() {
	if pw.closed {
		return
	}
	pw.closed = true
	pw.cancel() // cancelling before Close aborts the write
	pw.zw.release()
	_ = pw.out.close()
	_ = pw.bw.Close()
}

// finish completes the archive and the blob. The blob is stored only when finish returns nil.
func (pw *partWriter) finish() (document.Blob, error) {
	defer pw.cancel()
	if err := pw.zw.Close(); err != nil {
		pw.abort()
		return document.Blob{}, err
	}
	if err := pw.out.close(); err != nil {
		pw.abort()
		return document.Blob{}, fmt.Errorf("write part %s: %w", pw.key, err)
	}
	pw.closed = true
	if err := pw.bw.Close(); err != nil {
		return document.Blob{}, fmt.Errorf("write part %s: %w", pw.key, err)
	}
	return document.Blob{Key: pw.key, Size: pw.out.size(), SHA256: pw.out.sum(), ContentType: "application/zip"}, nil
}

// progress writes docs_done to the row at most every progressInterval (always when force), and
// reports errGone when the row is no longer running.
func (w *GenerateBundleWorker) progress(ctx context.Context, g *genJob, force bool) error {
	if !force && time.Since(g.lastUpdate) < progressInterval {
		return nil
	}
	g.lastUpdate = time.Now()
	return database.InTenant(ctx, w.Pool, g.args.TenantID, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "UPDATE bundles SET docs_done = $2 WHERE id = $1 AND status = 'running'", g.args.BundleID, g.done)
		if err == nil && tag.RowsAffected() == 0 {
			return errGone
		}
		return err
	})
}

// publish makes the written parts documents of the employer dossier, records the employees in
// the bundle, marks it done and audits the generation and, per employee, the copy of his
// dossier: all in one transaction.
func (w *GenerateBundleWorker) publish(ctx context.Context, g *genJob, parts []partBlob) error {
	return database.InTenant(ctx, w.Pool, g.args.TenantID, func(tx pgx.Tx) error {
		var status Status
		err := tx.QueryRow(ctx, "SELECT status FROM bundles WHERE id = $1 FOR UPDATE", g.args.BundleID).Scan(&status)
		if database.IsNoRows(err) || (err == nil && status != StatusRunning) {
			return errGone
		}
		if err != nil {
			return err
		}
		system := document.SystemFullDossierProvider
		if g.bundle.RequesterKind == access.KindEmployer {
			system = document.SystemFullDossierEmployer
		}
		cat, err := document.FindSystemCategory(ctx, tx, system)
		if err != nil {
			return err
		}
		date := g.bundle.CreatedAt.In(i18n.Amsterdam).Format(time.DateOnly)
		for i, p := range parts {
			name := i18n.Translate(g.user.Language, "bundle.part_name", g.employer.Name, date, i+1, len(parts))
			_, err := document.CreateDocument(ctx, tx, p.id, document.NewDocument{EmployerID: g.bundle.EmployerID, CategoryID: cat.ID,
				FileName: name, ExpiresAt: &g.bundle.ExpiresAt, BundleID: &g.args.BundleID, BundlePart: i + 1}, p.blob)
			if err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, "DELETE FROM bundle_uploads WHERE bundle_id = $1", g.args.BundleID); err != nil {
			return err
		}
		employees := make([]uuid.UUID, len(g.pl.Employees))
		for i, e := range g.pl.Employees {
			employees[i] = e.ID
		}
		if _, err := tx.Exec(ctx, `INSERT INTO bundle_employees (tenant_id, bundle_id, employee_id)
			SELECT app_tenant(), $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING`, g.args.BundleID, employees); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE bundles SET status = 'done', docs_done = docs_total, parts = $2, finished_at = now(),
			category_ids = $3 WHERE id = $1`, g.args.BundleID, len(parts), g.pl.CategoryIDs)
		if err != nil {
			return err
		}
		actor := audit.Actor{UserID: &g.bundle.RequestedBy}
		err = audit.Write(ctx, tx, actor, audit.Event{Action: audit.BundleGenerated, SubjectType: "bundle", SubjectID: &g.args.BundleID,
			EmployerID: &g.bundle.EmployerID, Details: map[string]any{"documents": g.pl.Docs, "bytes": g.pl.Bytes,
				"left_out": g.pl.LeftOut, "parts": len(parts), "employees": len(employees)}})
		if err != nil {
			return err
		}
		// The copies are audited copyBatch employees at a time: the events of them all at once,
		// each with its details and its place in the statement's arrays, took megabytes for a
		// dossier of thousands of employees.
		events := make([]audit.Event, 0, min(len(employees), copyBatch))
		for i, c := range g.pl.Employees {
			events = append(events, audit.Event{Action: audit.BundleCopied, SubjectType: "bundle", SubjectID: &g.args.BundleID,
				EmployeeID: &employees[i], EmployerID: &g.bundle.EmployerID, Details: map[string]any{"documents": c.Docs}})
			if len(events) == copyBatch || i == len(employees)-1 {
				if err := audit.WriteEach(ctx, tx, actor, events); err != nil {
					return err
				}
				events = events[:0]
			}
		}
		return nil
	})
}

// copyBatch is how many employees' copies publishing audits in one statement.
const copyBatch = 512

// fail marks the bundle failed with reason (a catalogue key), audits it and removes what the
// attempt wrote.
func (w *GenerateBundleWorker) fail(ctx context.Context, a GenerateBundleArgs, reason string) error {
	err := database.InTenant(ctx, w.Pool, a.TenantID, func(tx pgx.Tx) error {
		var employerID, requester uuid.UUID
		err := tx.QueryRow(ctx, `UPDATE bundles SET status = 'failed', error = $2, finished_at = now()
			WHERE id = $1 AND status IN ('pending', 'running') RETURNING employer_id, requested_by`, a.BundleID, reason).Scan(&employerID, &requester)
		if database.IsNoRows(err) {
			return nil
		}
		if err != nil {
			return err
		}
		return audit.Write(ctx, tx, audit.Actor{UserID: &requester}, audit.Event{Action: audit.BundleFailed, SubjectType: "bundle",
			SubjectID: &a.BundleID, EmployerID: &employerID, Details: map[string]any{"reason": reason}})
	})
	if err != nil {
		return fmt.Errorf("mark bundle %s failed: %w", a.BundleID, err)
	}
	return removeUploads(ctx, w.Pool, w.Blobs, a.TenantID, a.BundleID)
}

// JobCancelled ends the bundle of a generation job that /admin/jobs cancelled before it ran
// (waiting to start or to be retried): River will not call the worker, so the bundle is marked
// failed here and what an earlier attempt wrote is removed. A running job ends its bundle
// itself (GenerateBundleWorker.Work); so does one that starts meanwhile, holding the lock.
func JobCancelled(ctx context.Context, pool *pgxpool.Pool, blobs document.BlobStore, job *rivertype.JobRow) error {
	if job.Kind != (GenerateBundleArgs{}).Kind() || job.State != rivertype.JobStateCancelled {
		return nil
	}
	var a GenerateBundleArgs
	if err := json.Unmarshal(job.EncodedArgs, &a); err != nil {
		return fmt.Errorf("bundle job %d: %w", job.ID, err)
	}
	unlock, ok, err := lockBundle(ctx, pool, a.BundleID)
	if err != nil || !ok {
		return err
	}
	defer unlock()
	w := &GenerateBundleWorker{Pool: pool, Blobs: blobs}
	return w.fail(ctx, a, "bundle.error.cancelled")
}

// removeUploads deletes the blobs an earlier attempt wrote for the bundle and did not publish,
// then their records. Only the holder of the bundle's lock (or one who knows no
// generation runs) may call it.
func removeUploads(ctx context.Context, pool *pgxpool.Pool, blobs document.BlobStore, tenantID, bundleID uuid.UUID) error {
	var keys []string
	err := database.InTenant(ctx, pool, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, "SELECT storage_key FROM bundle_uploads WHERE bundle_id = $1", bundleID)
		if err != nil {
			return err
		}
		keys, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil || len(keys) == 0 {
		return err
	}
	for _, k := range keys {
		if err := blobs.Delete(ctx, k); err != nil {
			return err
		}
		if err := blobs.RemoveUnfinished(ctx, k); err != nil {
			return err
		}
	}
	return database.InTenant(ctx, pool, tenantID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "DELETE FROM bundle_uploads WHERE bundle_id = $1 AND storage_key = ANY ($2)", bundleID, keys)
		return err
	})
}

// partOutput is where a part's ZIP goes: it gathers the archive's writes into the blocks of a
// document.BlockPipe, which hashes each full block (SHA-256, the costliest step of a stored
// entry) and writes it to the blob on goroutines of its own. So the hash, the write to the store
// and the archive's own work (framing, CRC-32, taking in the next document) run side by side on
// two cores, and the store gets large writes.
type partOutput struct {
	pipe *document.BlockPipe
	cur  []byte // the block being filled, nil between blocks
}

// The output's blocks: large, to keep system calls few. With 256 KiB blocks a 1 GB bundle took
// 1.29-1.38 s, with 1 MiB blocks 1.06-1.14 s, runs alternating (2 MiB, and 8 blocks instead of
// 4, no better).
const (
	outBlock  = 1 << 20
	outBlocks = 4
)

func newPartOutput(w io.Writer) *partOutput {
	o := &partOutput{pipe: document.NewBlockPipe(outBlock, outBlocks)}
	o.pipe.Start(w)
	return o
}

// Write takes in p. A failed write to the store shows in a later Write, and always in close.
func (o *partOutput) Write(p []byte) (int, error) {
	if err := o.pipe.Err(); err != nil {
		return 0, err
	}
	n := len(p)
	for len(p) > 0 {
		if o.cur == nil {
			o.cur = o.pipe.Block()
		}
		k := copy(o.cur[len(o.cur):cap(o.cur)], p)
		o.cur = o.cur[:len(o.cur)+k]
		p = p[k:]
		if len(o.cur) == cap(o.cur) {
			o.pipe.Send(o.cur)
			o.cur = nil
		}
	}
	return n, nil
}

// close hands on the last block and waits until every block is written; it returns the first
// error writing to the store.
func (o *partOutput) close() error {
	if o.cur != nil {
		o.pipe.Send(o.cur)
		o.cur = nil
	}
	return o.pipe.Close()
}

// size is the number of bytes written.
func (o *partOutput) size() int64 { return o.pipe.Written() }

// sum returns the SHA-256 of everything written; only after close.
func (o *partOutput) sum() string { return hex.EncodeToString(o.pipe.Sum()) }

// flateWriters keeps deflate writers for reuse: each holds about a megabyte of state, and a
// bundle may deflate tens of thousands of entries.
var flateWriters sync.Pool

// newFlateWriter is the archive's deflate compressor: the fastest level, since throughput
// matters more here than the last percent of size.
func newFlateWriter(w io.Writer) (io.WriteCloser, error) {
	fw, ok := flateWriters.Get().(*flate.Writer)
	if ok {
		fw.Reset(w)
		return &pooledFlate{fw}, nil
	}
	fw, err := flate.NewWriter(w, flate.BestSpeed)
	if err != nil {
		return nil, err
	}
	return &pooledFlate{fw}, nil
}

type pooledFlate struct{ *flate.Writer }

func (p *pooledFlate) Close() error {
	err := p.Writer.Close()
	flateWriters.Put(p.Writer)
	return err
}
