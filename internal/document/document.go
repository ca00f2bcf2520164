// Package document keeps the documents of employer and employee dossiers: their categories,
// their rows, and their bytes in a blob store. Uploads stream to the store with their size and
// SHA-256 computed on the way; the row appears only once the blob is complete.
package document

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/database"
)

// Document is one stored file in a dossier: the employer dossier when EmployeeID is nil, else
// that employee's (EmployerID is then the employee's employer).
type Document struct {
	ID             uuid.UUID
	EmployerID     uuid.UUID
	EmployeeID     *uuid.UUID
	CategoryID     uuid.UUID
	CategoryName   string
	FileName       string // as uploaded, sanitised (SanitizeFileName); for display and download only
	StorageKey     string // documents/<tenant>/<id>: never derived from the file name
	Size           int64
	ContentType    string // sniffed from the content, not taken from the client
	SHA256         string // lower-case hex
	DocumentDate   *time.Time
	UploadedBy     *uuid.UUID
	UploadedByName string
	UploadedAt     time.Time
	ExpiresAt      *time.Time // full-dossier bundles expire; other documents do not
	BundleID       *uuid.UUID // a full-dossier bundle's part: its bundle (package bundle)
}

// Dossier reports which dossier d belongs to.
func (d Document) Dossier() Dossier {
	if d.EmployeeID != nil {
		return DossierEmployee
	}
	return DossierEmployer
}

const documentColumns = `d.id, d.employer_id, d.employee_id, d.category_id, c.name, d.file_name, d.storage_key,
	d.size, d.content_type, d.sha256, d.document_date, d.uploaded_by, coalesce(u.name, ''), d.uploaded_at, d.expires_at, d.bundle_id`

const documentJoins = ` JOIN document_categories c ON c.id = d.category_id LEFT JOIN users u ON u.id = d.uploaded_by`

func scanDocument(row pgx.Row) (Document, error) {
	var d Document
	err := row.Scan(&d.ID, &d.EmployerID, &d.EmployeeID, &d.CategoryID, &d.CategoryName, &d.FileName, &d.StorageKey,
		&d.Size, &d.ContentType, &d.SHA256, &d.DocumentDate, &d.UploadedBy, &d.UploadedByName, &d.UploadedAt, &d.ExpiresAt, &d.BundleID)
	return d, err
}

// FindDocumentByID returns a document whatever the requester may see: ask
// access.CanReadDocument first. ENOTFOUND when it does not exist in the tenant.
func FindDocumentByID(ctx context.Context, tx pgx.Tx, id uuid.UUID) (Document, error) {
	d, err := scanDocument(tx.QueryRow(ctx, "SELECT "+documentColumns+" FROM documents d"+documentJoins+" WHERE d.id = $1", id))
	if database.IsNoRows(err) {
		return Document{}, apperr.New(apperr.ENOTFOUND, "error.not_found")
	}
	if err != nil {
		return Document{}, fmt.Errorf("find document %s: %w", id, err)
	}
	return d, nil
}

// Section is one category of a dossier page with the documents in it that the viewer may read.
type Section struct {
	Category  Category
	Level     access.Level
	Documents []Document // newest first
}

// FindDossierDocuments returns, for every category of the dossier (dossier, id: an employer or
// an employee) that viewer may read by cats, the documents in it that he may read, through the
// same rule as access.CanReadDocument (SQL function visible_documents). Categories he may not
// read are absent, empty ones present. The caller has checked the dossier is visible to him.
func FindDossierDocuments(ctx context.Context, tx pgx.Tx, viewer access.Principal, cats access.Categories, dossier Dossier, id uuid.UUID) ([]Section, error) {
	all, err := FindCategories(ctx, tx)
	if err != nil {
		return nil, err
	}
	var sections []Section
	index := map[uuid.UUID]int{}
	for _, c := range all {
		if level, ok := cats[c.ID]; ok && c.Dossier == dossier {
			index[c.ID] = len(sections)
			sections = append(sections, Section{Category: c, Level: level})
		}
	}
	if len(sections) == 0 {
		return nil, nil
	}
	from, args := access.VisibleDocuments(viewer, cats, []any{id})
	where := " WHERE d.employer_id = $1 AND d.employee_id IS NULL"
	if dossier == DossierEmployee {
		where = " WHERE d.employee_id = $1"
	}
	rows, err := tx.Query(ctx, "SELECT "+documentColumns+" FROM "+from+" d"+documentJoins+where+
		" ORDER BY d.uploaded_at DESC, d.id DESC", args...)
	if err != nil {
		return nil, fmt.Errorf("find dossier documents: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		d, err := scanDocument(rows)
		if err != nil {
			return nil, fmt.Errorf("find dossier documents: %w", err)
		}
		if i, ok := index[d.CategoryID]; ok {
			sections[i].Documents = append(sections[i].Documents, d)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find dossier documents: %w", err)
	}
	return sections, nil
}

// FindBundleParts returns the parts of the full-dossier bundles ids (documents with a
// bundle_id), by bundle and in part order, whatever the requester may see: the caller decides.
func FindBundleParts(ctx context.Context, tx pgx.Tx, ids []uuid.UUID) (map[uuid.UUID][]Document, error) {
	rows, err := tx.Query(ctx, "SELECT "+documentColumns+" FROM documents d"+documentJoins+
		" WHERE d.bundle_id = ANY ($1) ORDER BY d.bundle_id, d.bundle_part", ids)
	if err != nil {
		return nil, fmt.Errorf("find bundle parts: %w", err)
	}
	defer rows.Close()
	parts := map[uuid.UUID][]Document{}
	for rows.Next() {
		d, err := scanDocument(rows)
		if err != nil {
			return nil, fmt.Errorf("find bundle parts: %w", err)
		}
		parts[*d.BundleID] = append(parts[*d.BundleID], d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find bundle parts: %w", err)
	}
	return parts, nil
}

// NewDocument is what a new document row records besides its blob.
type NewDocument struct {
	EmployerID   uuid.UUID  // the employer dossier; for an employee's document set by CheckNewDocument
	EmployeeID   *uuid.UUID // nil: the employer dossier
	CategoryID   uuid.UUID
	FileName     string // as sent; CreateDocument sanitises it
	DocumentDate *time.Time
	UploadedBy   *uuid.UUID // nil for documents a job makes
	ExpiresAt    *time.Time
	BundleID     *uuid.UUID // a full-dossier bundle's part: its bundle (package bundle)
	BundlePart   int        // and its part number, from 1; 0 when BundleID is nil
}

// CheckNewDocument checks that the category belongs to the dossier n names and that the dossier
// exists, and fills in n.EmployerID for an employee's document. It decides nothing about the
// uploader's rights (access.CanUpload does). EINVALID for a category of the other dossier;
// ENOTFOUND for an unknown category, employer or employee.
func CheckNewDocument(ctx context.Context, tx pgx.Tx, n *NewDocument) (Category, error) {
	c, err := FindCategoryByID(ctx, tx, n.CategoryID)
	if err != nil {
		return Category{}, err
	}
	want := DossierEmployer
	if n.EmployeeID != nil {
		want = DossierEmployee
		err = tx.QueryRow(ctx, "SELECT employer_id FROM employees WHERE id = $1", *n.EmployeeID).Scan(&n.EmployerID)
	} else {
		err = tx.QueryRow(ctx, "SELECT id FROM employers WHERE id = $1", n.EmployerID).Scan(&n.EmployerID)
	}
	if database.IsNoRows(err) {
		return Category{}, apperr.New(apperr.ENOTFOUND, "error.not_found")
	}
	if err != nil {
		return Category{}, fmt.Errorf("check new document: %w", err)
	}
	if c.Dossier != want {
		return Category{}, &apperr.Error{Code: apperr.EINVALID, Message: "document.error.category_dossier",
			Fields: map[string]string{"category_id": "document.error.category_dossier"}}
	}
	return c, nil
}

// CreateDocument records a document whose blob b is complete, under id (the id its storage key
// was made from; see StorageKey). Errors as CheckNewDocument.
func CreateDocument(ctx context.Context, tx pgx.Tx, id uuid.UUID, n NewDocument, b Blob) (Document, error) {
	if _, err := CheckNewDocument(ctx, tx, &n); err != nil {
		return Document{}, err
	}
	var part *int
	if n.BundleID != nil {
		part = &n.BundlePart
	}
	_, err := tx.Exec(ctx, `INSERT INTO documents (tenant_id, id, employer_id, employee_id, category_id, file_name,
			storage_key, size, content_type, sha256, document_date, uploaded_by, expires_at, bundle_id, bundle_part)
		VALUES (app_tenant(), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		id, n.EmployerID, n.EmployeeID, n.CategoryID, SanitizeFileName(n.FileName), b.Key, b.Size, b.ContentType,
		b.SHA256, n.DocumentDate, n.UploadedBy, n.ExpiresAt, n.BundleID, part)
	if err != nil {
		return Document{}, fmt.Errorf("create document: %w", err)
	}
	return FindDocumentByID(ctx, tx, id)
}

// DeleteDocument removes a document's row and returns it; the caller removes its blob after
// commit (Service.Delete does both). ENOTFOUND when it does not exist.
func DeleteDocument(ctx context.Context, tx pgx.Tx, id uuid.UUID) (Document, error) {
	d, err := FindDocumentByID(ctx, tx, id)
	if err != nil {
		return Document{}, err
	}
	if _, err := tx.Exec(ctx, "DELETE FROM documents WHERE id = $1", id); err != nil {
		return Document{}, fmt.Errorf("delete document %s: %w", id, err)
	}
	return d, nil
}

// StorageKey is the blob key of document id in a tenant: documents/<tenant>/<id>.
func StorageKey(tenantID, id uuid.UUID) string {
	return "documents/" + tenantID.String() + "/" + id.String()
}

// SameNameCount is how many other documents of d's dossier and category have d's file name:
// an upload keeps both, and says so, so nobody thinks the old file was replaced.
func SameNameCount(ctx context.Context, tx pgx.Tx, d Document) (int, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT count(*) FROM documents WHERE employer_id = $1 AND employee_id IS NOT DISTINCT FROM $2
		AND category_id = $3 AND file_name = $4 AND id <> $5`, d.EmployerID, d.EmployeeID, d.CategoryID, d.FileName, d.ID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("documents named %q: %w", d.FileName, err)
	}
	return n, nil
}
