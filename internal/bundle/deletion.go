package bundle

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/org"
)

// Deletion is one request to delete an employer's full dossier: every document and blob of the
// employer and its employees, whoever may see them. Case data other than documents stays.
type Deletion struct {
	ID, EmployerID, RequestedBy uuid.UUID
	RequestedByName             string
	Status                      Status
	Interrupted                 bool   // its job was interrupted (its process died) at least once and restarted
	DocumentsDeleted            int    // so far while running
	BytesDeleted                int64  // so far while running
	Error                       string // why it failed: a message catalogue key, safe to show
	CreatedAt                   time.Time
	FinishedAt                  *time.Time
}

// RequestDeletion asks for the deletion of the employer's full dossier by ed. It checks that he
// may (access.CanDeleteFullDossier: ENOTFOUND outside his reach or for an unknown employer,
// EFORBIDDEN unless he is a provider user with full_dossier.delete, or when the employer lacks
// the product) and that confirmName, trimmed, equals the employer's name exactly (EINVALID with
// the field error "confirm_name" otherwise), inserts the deletion row, writes the audit event
// and enqueues DeleteDossierArgs with InsertTx in tx. ECONFLICT (bundle.error.deleting) when a
// deletion of it is already on its way.
func RequestDeletion(ctx context.Context, tx pgx.Tx, rc *river.Client[pgx.Tx], ed access.Editor,
	employerID uuid.UUID, confirmName string) (Deletion, error) {
	p := ed.Principal
	e, err := org.FindEmployerByID(ctx, tx, employerID)
	if err != nil {
		return Deletion{}, err
	}
	if err := access.CanDeleteFullDossier(p, employerID, Enabled(e)); err != nil {
		return Deletion{}, err
	}
	if strings.TrimSpace(confirmName) != e.Name {
		return Deletion{}, &apperr.Error{Code: apperr.EINVALID, Message: "error.invalid",
			Fields: map[string]string{"confirm_name": "bundle.error.confirm_name"}}
	}
	id := uuid.Must(uuid.NewV7())
	tag, err := tx.Exec(ctx, `INSERT INTO dossier_deletions (tenant_id, id, employer_id, requested_by)
		VALUES (app_tenant(), $1, $2, $3)
		ON CONFLICT (tenant_id, employer_id) WHERE status IN ('pending', 'running') DO NOTHING`, id, employerID, p.UserID)
	if err != nil {
		return Deletion{}, fmt.Errorf("request deletion: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return Deletion{}, apperr.New(apperr.ECONFLICT, "bundle.error.deleting")
	}
	err = audit.Write(ctx, tx, ed.Actor, audit.Event{Action: audit.DossierDeletionRequested, SubjectType: "dossier_deletion",
		SubjectID: &id, EmployerID: &employerID, Details: map[string]any{"employer": e.Name}})
	if err != nil {
		return Deletion{}, err
	}
	if _, err := rc.InsertTx(ctx, tx, DeleteDossierArgs{TenantID: p.TenantID, DeletionID: id}, nil); err != nil {
		return Deletion{}, fmt.Errorf("enqueue deletion %s: %w", id, err)
	}
	list, err := findDeletions(ctx, tx, "d.id = $1", id)
	if err != nil {
		return Deletion{}, err
	}
	return list[0], nil
}

// FindDeletions lists the employer's deletions, newest first.
func FindDeletions(ctx context.Context, tx pgx.Tx, employerID uuid.UUID) ([]Deletion, error) {
	return findDeletions(ctx, tx, "d.employer_id = $1", employerID)
}

func findDeletions(ctx context.Context, tx pgx.Tx, where string, arg uuid.UUID) ([]Deletion, error) {
	return database.FindAll[Deletion](ctx, tx, "deletions", `SELECT d.id, d.employer_id, d.requested_by, coalesce(u.name, ''), d.status,
		d.interrupted_at IS NOT NULL, d.documents_deleted, d.bytes_deleted, d.error, d.created_at, d.finished_at
		FROM dossier_deletions d LEFT JOIN users u ON u.id = d.requested_by
		WHERE `+where+` ORDER BY d.created_at DESC, d.id DESC`, arg)
}
