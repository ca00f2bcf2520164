package bundle

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// GenerateBundleArgs asks for bundle BundleID of tenant TenantID to be generated
// (GenerateBundleWorker). It carries ids only: the worker re-reads everything under the tenant.
type GenerateBundleArgs struct {
	TenantID uuid.UUID `json:"tenant_id"`
	BundleID uuid.UUID `json:"bundle_id"`
}

// Kind names the job.
func (GenerateBundleArgs) Kind() string { return "generate_bundle" }

// InsertOpts gives a generation a few attempts: a transient failure (the database or the blob
// store away for a moment) is retried within minutes, and the 48-hour bundle is not kept waiting
// for days of River's default 25 attempts.
func (GenerateBundleArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: generateAttempts}
}

const generateAttempts = 5

// DeleteDossierArgs asks for deletion DeletionID of tenant TenantID to be carried out
// (DeleteDossierWorker).
type DeleteDossierArgs struct {
	TenantID   uuid.UUID `json:"tenant_id"`
	DeletionID uuid.UUID `json:"deletion_id"`
}

// Kind names the job.
func (DeleteDossierArgs) Kind() string { return "delete_dossier" }

// ExpireBundlesArgs asks for every bundle of every tenant older than Lifetime to be deleted
// (ExpireBundlesWorker). It carries no tenant: it runs for the platform.
type ExpireBundlesArgs struct{}

// Kind names the job.
func (ExpireBundlesArgs) Kind() string { return "expire_bundles" }

// RetriedByRequester reports whether a job of kind, once River will not run it again
// (cancelled, discarded), has ended its row for good (JobEnded): retrying that job would do
// nothing, and the requester starts the work again from the full-dossier page.
func RetriedByRequester(kind string) bool {
	return kind == (GenerateBundleArgs{}).Kind() || kind == (DeleteDossierArgs{}).Kind()
}

// JobEmployers returns the employer each generation or deletion job of jobs works on, by the
// ids in its args, read in tx (the jobs' tenant). A job whose row is gone (an expired bundle)
// or of another kind is not in the map.
func JobEmployers(ctx context.Context, tx pgx.Tx, jobs []*rivertype.JobRow) (map[int64]uuid.UUID, error) {
	bundles, deletions := map[uuid.UUID][]int64{}, map[uuid.UUID][]int64{}
	for _, j := range jobs {
		var a struct {
			BundleID   uuid.UUID `json:"bundle_id"`
			DeletionID uuid.UUID `json:"deletion_id"`
		}
		if j.Kind != (GenerateBundleArgs{}).Kind() && j.Kind != (DeleteDossierArgs{}).Kind() {
			continue
		}
		if err := json.Unmarshal(j.EncodedArgs, &a); err != nil {
			return nil, fmt.Errorf("job %d: %w", j.ID, err)
		}
		if j.Kind == (GenerateBundleArgs{}).Kind() {
			bundles[a.BundleID] = append(bundles[a.BundleID], j.ID)
		} else {
			deletions[a.DeletionID] = append(deletions[a.DeletionID], j.ID)
		}
	}
	out := map[int64]uuid.UUID{}
	if len(bundles) == 0 && len(deletions) == 0 {
		return out, nil
	}
	rows, err := tx.Query(ctx, `SELECT id, employer_id, true FROM bundles WHERE id = ANY ($1)
		UNION ALL SELECT id, employer_id, false FROM dossier_deletions WHERE id = ANY ($2)`,
		slices.Collect(maps.Keys(bundles)), slices.Collect(maps.Keys(deletions)))
	if err != nil {
		return nil, fmt.Errorf("employers of jobs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, employer uuid.UUID
		var isBundle bool
		if err := rows.Scan(&id, &employer, &isBundle); err != nil {
			return nil, fmt.Errorf("employers of jobs: %w", err)
		}
		ids := deletions[id]
		if isBundle {
			ids = bundles[id]
		}
		for _, j := range ids {
			out[j] = employer
		}
	}
	return out, rows.Err()
}
