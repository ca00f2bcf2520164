package access

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/apperr"
)

// Level is what a role may do in a document category (the authorisation matrix).
type Level string

// The levels of the matrix. LevelNone is stored as the absence of a row.
const (
	LevelNone  Level = ""
	LevelRead  Level = "read"
	LevelWrite Level = "write"
)

// Valid reports whether l is a level of the matrix.
func (l Level) Valid() bool { return l == LevelNone || l == LevelRead || l == LevelWrite }

// Categories holds, per document category, what p may do in it: absent means nothing. It is the
// outcome of the SQL function category_levels: the matrix of his role, medical categories only
// with medical.view, employer-dossier categories only with employer_dossier.view, employee-dossier
// ones only with employee_dossier.view, the two full-dossier categories by user kind and read-only.
type Categories map[uuid.UUID]Level

// LoadCategories reads what p may do per category.
func LoadCategories(ctx context.Context, tx pgx.Tx, p Principal) (Categories, error) {
	rows, err := tx.Query(ctx, "SELECT category_id, can_write FROM category_levels($1)", p.UserID)
	if err != nil {
		return nil, fmt.Errorf("load category levels: %w", err)
	}
	c := Categories{}
	var id uuid.UUID
	var write bool
	_, err = pgx.ForEachRow(rows, []any{&id, &write}, func() error {
		c[id] = LevelRead
		if write {
			c[id] = LevelWrite
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load category levels: %w", err)
	}
	return c, nil
}

// Readable lists the categories p may read, for SQL.
func (c Categories) Readable() []uuid.UUID {
	ids := make([]uuid.UUID, 0, len(c))
	for id := range c {
		ids = append(ids, id)
	}
	return ids
}

// VisibleDocuments returns a FROM item holding the documents p may read (SQL function
// visible_documents: a readable category in a dossier he can see), with its arguments appended
// to args. Document lists and CanReadDocument read it.
func VisibleDocuments(p Principal, c Categories, args []any) (string, []any) {
	params, args := visibleArgs(p, args)
	args = append(args, binaryIDs(c.Readable()))
	return fmt.Sprintf("visible_documents(%s, $%d)", params, len(args)), args
}

// CanReadDocument returns nil when p may read the document; ENOTFOUND otherwise (its existence is
// not revealed).
func CanReadDocument(ctx context.Context, tx pgx.Tx, p Principal, c Categories, documentID uuid.UUID) error {
	from, args := VisibleDocuments(p, c, []any{documentID})
	var ok bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM "+from+" d WHERE d.id = $1)", args...).Scan(&ok); err != nil {
		return fmt.Errorf("can read document %s: %w", documentID, err)
	}
	if !ok {
		return apperr.New(apperr.ENOTFOUND, "error.not_found")
	}
	return nil
}

// CanUpload returns nil when p may add a document in the category: he holds documents.upload
// and may write there. The caller has checked the dossier is visible to him. EFORBIDDEN for a
// category he may read but not write, or without the right; ENOTFOUND for a category he may not
// even read.
func CanUpload(p Principal, c Categories, categoryID uuid.UUID) error {
	level, ok := c[categoryID]
	if !ok {
		return apperr.New(apperr.ENOTFOUND, "document.error.category")
	}
	if level != LevelWrite || !p.Has(DocumentsUpload) {
		return apperr.New(apperr.EFORBIDDEN, "document.error.no_write")
	}
	return nil
}

// CanDeleteDocument returns nil when p may delete a document he can read: he holds
// documents.delete. The caller has checked CanReadDocument. EFORBIDDEN otherwise.
func CanDeleteDocument(p Principal) error {
	if !p.Has(DocumentsDelete) {
		return apperr.New(apperr.EFORBIDDEN, "error.forbidden")
	}
	return nil
}
