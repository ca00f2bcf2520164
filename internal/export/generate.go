package export

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/org"
)

// job is one attempt's view of its export.
type job struct {
	args       GenerateExportArgs
	export     Export
	principal  access.Principal
	cats       access.Categories
	user       org.User
	employee   org.Employee
	started    time.Time
	rows       int
	sections   int
	lastUpdate time.Time
}

// progressRows is how often (in rows) an attempt considers writing its progress.
const progressRows = 1000

// progressInterval is how often at most a running generation writes its progress to its row.
const progressInterval = time.Second

// sectionCount is how many sheets an export has.
func sectionCount() int { return len(dataSections) + 2 }

func (w *GenerateExportWorker) generate(ctx context.Context, a GenerateExportArgs) error {
	j := &job{args: a, started: time.Now()}
	err := database.InTenant(ctx, w.Pool, a.TenantID, func(tx pgx.Tx) error {
		x, err := FindExportByID(ctx, tx, a.ExportID)
		if apperr.CodeOf(err) == apperr.ENOTFOUND {
			return errGone
		}
		if err != nil {
			return err
		}
		if !x.Active() {
			return errDone
		}
		j.export = x
		_, err = tx.Exec(ctx, "UPDATE employee_exports SET status = 'running', sections_done = 0, rows_done = 0, sections_total = $2 WHERE id = $1",
			a.ExportID, sectionCount())
		return err
	})
	if err != nil {
		return err
	}
	if err := removeBlobs(ctx, w.Blobs, a.TenantID, a.ExportID); err != nil {
		return err
	}
	xlsx, js, err := w.write(ctx, j)
	if err != nil {
		return err
	}
	if err := verify(ctx, w, StorageKey(a.TenantID, a.ExportID, FileXLSX), xlsx); err != nil {
		return err
	}
	if err := verify(ctx, w, StorageKey(a.TenantID, a.ExportID, FileJSON), js); err != nil {
		return err
	}
	if err := w.publish(ctx, j, xlsx, js); err != nil {
		return err
	}
	w.notify(ctx, a.TenantID, j.export, "export.mail.ready")
	return nil
}

// stored is a blob written and what it should read back as.
type stored struct {
	size   int64
	sha256 string
}

// write writes both files. The dossier is read in one transaction, with the creator's
// principal and categories as they are now (not as they were when he asked): the export holds
// what he may see at the moment it is made.
func (w *GenerateExportWorker) write(ctx context.Context, j *job) (xlsx, js stored, err error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jsonBlob, err := w.Blobs.NewWriter(wctx, StorageKey(j.args.TenantID, j.args.ExportID, FileJSON), FileJSON.ContentType())
	if err != nil {
		return stored{}, stored{}, err
	}
	jsonHash := newCountingHash()
	var o *outputs
	abort := func(err error) (stored, stored, error) {
		cancel() // cancelling before Close aborts the write: nothing is published
		_ = jsonBlob.Close()
		if o != nil {
			o.close()
		}
		return stored{}, stored{}, err
	}
	err = database.InTenant(ctx, w.Pool, j.args.TenantID, func(tx pgx.Tx) error {
		if err := w.load(ctx, tx, j); err != nil {
			return err
		}
		head := map[string]any{"export_id": j.export.ID, "employee_id": j.export.EmployeeID, "created_by": j.user.Name,
			"created_at": j.export.CreatedAt.UTC().Format(time.RFC3339Nano), "generated_at": j.started.UTC().Format(time.RFC3339Nano),
			"on_behalf_of": j.export.Reason, "medical_included": j.export.Medical,
			"expires_at": j.export.ExpiresAt.UTC().Format(time.RFC3339Nano)}
		if o, err = newOutputs(io.MultiWriter(jsonBlob, jsonHash), head); err != nil {
			return err
		}
		for _, s := range dataSections {
			if err := w.writeSection(ctx, tx, j, o, s); err != nil {
				return err
			}
		}
		l, err := countLeftOut(ctx, tx, j, o.counts["documents"])
		if err != nil {
			return err
		}
		processing, err := processingRows(ctx, tx, j)
		if err != nil {
			return err
		}
		if err := writeRows(o, processingSection, processing); err != nil {
			return err
		}
		if err := w.sectionDone(ctx, j); err != nil {
			return err
		}
		if err := writeRows(o, overviewSection, overviewRows(j, l, o.counts)); err != nil {
			return err
		}
		return w.sectionDone(ctx, j)
	})
	if err == nil {
		err = o.finish()
	}
	if err != nil {
		return abort(err)
	}
	if err := jsonBlob.Close(); err != nil {
		return abort(fmt.Errorf("store export json: %w", err))
	}
	js = stored{size: jsonHash.n, sha256: jsonHash.sum()}

	bookBlob, err := w.Blobs.NewWriter(wctx, StorageKey(j.args.TenantID, j.args.ExportID, FileXLSX), FileXLSX.ContentType())
	if err != nil {
		o.close()
		return stored{}, stored{}, err
	}
	bookHash := newCountingHash()
	err = o.writeBook(io.MultiWriter(bookBlob, bookHash))
	o.close()
	if err != nil {
		cancel()
		_ = bookBlob.Close()
		return stored{}, stored{}, fmt.Errorf("write export workbook: %w", err)
	}
	if err := bookBlob.Close(); err != nil {
		return stored{}, stored{}, fmt.Errorf("store export workbook: %w", err)
	}
	return stored{size: bookHash.n, sha256: bookHash.sum()}, js, nil
}

// load reloads the creator's principal, categories and account and the employee, and asks
// access whether the export may still be made for him.
func (w *GenerateExportWorker) load(ctx context.Context, tx pgx.Tx, j *job) error {
	u, p, err := org.LoadPrincipal(ctx, tx, j.args.TenantID, j.export.RequestedBy)
	if apperr.CodeOf(err) == apperr.ENOTFOUND {
		return permanent("export.error.requester", err)
	}
	if err != nil {
		return err
	}
	if err := access.CanGenerateRequestedExport(ctx, tx, p, u.Status == org.StatusActive, j.export.Facts()); err != nil {
		if apperr.CodeOf(err) == "" {
			return err
		}
		return permanent("export.error.requester", fmt.Errorf("user %s may not export: %w", u.ID, err))
	}
	j.user, j.principal = u, p
	if j.cats, err = access.LoadCategories(ctx, tx, p); err != nil {
		return err
	}
	if j.employee, err = org.FindEmployeeByID(ctx, tx, j.export.EmployeeID); err != nil {
		return err
	}
	j.export.Medical = access.CanReadMedical(p)
	return nil
}

// writeSection writes one data section from its query, row by row.
func (w *GenerateExportWorker) writeSection(ctx context.Context, tx pgx.Tx, j *job, o *outputs, s section) error {
	sh, err := o.begin(s)
	if err != nil {
		return fmt.Errorf("section %s: %w", s.key, err)
	}
	sql, args := s.query(j)
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return fmt.Errorf("section %s: %w", s.key, err)
	}
	defer rows.Close()
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return fmt.Errorf("section %s: %w", s.key, err)
		}
		if err := sh.add(vals); err != nil {
			return err
		}
		j.rows++
		if j.rows%progressRows == 0 {
			if w.AfterRowsFunc != nil {
				w.AfterRowsFunc(j.rows)
			}
			if err := w.progress(ctx, j, false); err != nil {
				return err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("section %s: %w", s.key, err)
	}
	if err := sh.end(); err != nil {
		return fmt.Errorf("section %s: %w", s.key, err)
	}
	return w.sectionDone(ctx, j)
}

// writeRows writes a summary section from rows built in Go.
func writeRows(o *outputs, s section, rows [][]any) error {
	sh, err := o.begin(s)
	if err != nil {
		return fmt.Errorf("section %s: %w", s.key, err)
	}
	for _, r := range rows {
		if err := sh.add(r); err != nil {
			return err
		}
	}
	return sh.end()
}

func (w *GenerateExportWorker) sectionDone(ctx context.Context, j *job) error {
	j.sections++
	return w.progress(ctx, j, true)
}

// progress writes the sections and rows done to the row, in a transaction of its own, at most
// every progressInterval (always when force), and reports errGone when the row is no longer
// running.
func (w *GenerateExportWorker) progress(ctx context.Context, j *job, force bool) error {
	if !force && time.Since(j.lastUpdate) < progressInterval {
		return nil
	}
	j.lastUpdate = time.Now()
	return database.InTenant(ctx, w.Pool, j.args.TenantID, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "UPDATE employee_exports SET sections_done = $2, rows_done = $3 WHERE id = $1 AND status = 'running'",
			j.args.ExportID, j.sections, j.rows)
		if err == nil && tag.RowsAffected() == 0 {
			return errGone
		}
		return err
	})
}

// verify reads the blob key back and checks its size and SHA-256 against what was written.
func verify(ctx context.Context, w *GenerateExportWorker, key string, want stored) error {
	r, err := w.Blobs.NewRangeReader(ctx, key, 0, -1)
	if err != nil {
		return fmt.Errorf("verify %s: %w", key, err)
	}
	defer r.Close()
	h := newCountingHash()
	if _, err := io.Copy(h, r); err != nil {
		return fmt.Errorf("verify %s: %w", key, err)
	}
	if h.n != want.size || h.sum() != want.sha256 {
		return fmt.Errorf("verify %s: read back %d bytes (sha256 %s), wrote %d (%s)", key, h.n, h.sum(), want.size, want.sha256)
	}
	return nil
}

// publish marks the export done with both files' sizes and hashes and audits the copy of the
// employee's dossier, in one transaction; errGone when it is no longer running.
func (w *GenerateExportWorker) publish(ctx context.Context, j *job, xlsx, js stored) error {
	return database.InTenant(ctx, w.Pool, j.args.TenantID, func(tx pgx.Tx) error {
		var status Status
		err := tx.QueryRow(ctx, "SELECT status FROM employee_exports WHERE id = $1 FOR UPDATE", j.args.ExportID).Scan(&status)
		if database.IsNoRows(err) || (err == nil && status != StatusRunning) {
			return errGone
		}
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE employee_exports SET status = 'done', finished_at = now(), sections_done = sections_total,
			rows_done = $2, medical = $3, xlsx_size = $4, xlsx_sha256 = $5, json_size = $6, json_sha256 = $7 WHERE id = $1`,
			j.args.ExportID, j.rows, j.export.Medical, xlsx.size, xlsx.sha256, js.size, js.sha256)
		if err != nil {
			return err
		}
		return audit.Write(ctx, tx, audit.Actor{UserID: &j.export.RequestedBy}, audit.Event{Action: audit.ExportGenerated,
			SubjectType: "employee_export", SubjectID: &j.args.ExportID, EmployeeID: &j.export.EmployeeID, EmployerID: &j.export.EmployerID,
			Details: map[string]any{"rows": j.rows, "medical": j.export.Medical, "xlsx_sha256": xlsx.sha256, "json_sha256": js.sha256}})
	})
}
