package bundle

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/document"
	"github.com/dossierkast/dossierkast/internal/i18n"
)

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
		cat, err := document.FindSystemCategory(ctx, tx, PartsCategory(g.bundle.RequesterKind))
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
		_, err = tx.Exec(ctx, `UPDATE bundles SET status = 'done', docs_done = docs_total, bytes_done = bytes_total, parts = $2, finished_at = now(),
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

// PartsCategory is the system category that holds the parts of a bundle asked for by a user of
// kind k: "Volledig dossier (werkgever)" for employer users, "(provider)" for the others, so each
// side sees only its own bundles.
func PartsCategory(k access.Kind) document.System {
	if k == access.KindEmployer {
		return document.SystemFullDossierEmployer
	}
	return document.SystemFullDossierProvider
}
