package bundle

import (
	"github.com/google/uuid"
	"github.com/riverqueue/river"
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
