package document

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/database"
)

// Dossier says which dossier a category (and its documents) belongs to.
type Dossier string

// The two dossiers.
const (
	DossierEmployer Dossier = "employer"
	DossierEmployee Dossier = "employee"
)

// Dossiers lists the dossiers in display order.
var Dossiers = []Dossier{DossierEmployer, DossierEmployee}

// Valid reports whether d is a known dossier.
func (d Dossier) Valid() bool { return d == DossierEmployer || d == DossierEmployee }

// System names a system category. Every tenant has both; they hold full-dossier bundles and
// cannot be renamed, changed or deleted.
type System string

// The system categories.
const (
	SystemFullDossierProvider System = "full_dossier_provider" // bundles asked for by provider users
	SystemFullDossierEmployer System = "full_dossier_employer" // bundles asked for by employer users
)

// MaxCategoryName is the longest category name, in characters.
const MaxCategoryName = 100

// Category is a kind of document in the employer or the employee dossier. A medical category
// can only be read with the right medical.view besides the authorisation matrix.
type Category struct {
	ID      uuid.UUID
	Name    string
	Dossier Dossier
	Medical bool
	System  System // "" for categories the tenant made
}

// IsSystem reports whether c is one of the two system categories.
func (c Category) IsSystem() bool { return c.System != "" }

const categoryColumns = "c.id, c.name, c.dossier, c.medical, coalesce(c.system, '')"

func scanCategory(row pgx.Row) (Category, error) {
	var c Category
	err := row.Scan(&c.ID, &c.Name, &c.Dossier, &c.Medical, &c.System)
	return c, err
}

// FindCategories returns every category of the tenant: the employer dossier's first, then the
// employee dossier's, by name, the system categories last.
func FindCategories(ctx context.Context, tx pgx.Tx) ([]Category, error) {
	rows, err := tx.Query(ctx, "SELECT "+categoryColumns+` FROM document_categories c
		ORDER BY c.dossier = 'employee', c.position, lower(c.name), c.id`)
	if err != nil {
		return nil, fmt.Errorf("find categories: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Category, error) { return scanCategory(row) })
	if err != nil {
		return nil, fmt.Errorf("find categories: %w", err)
	}
	return list, nil
}

// FindCategoryByID returns one category. ENOTFOUND when it does not exist.
func FindCategoryByID(ctx context.Context, tx pgx.Tx, id uuid.UUID) (Category, error) {
	c, err := scanCategory(tx.QueryRow(ctx, "SELECT "+categoryColumns+" FROM document_categories c WHERE c.id = $1", id))
	if database.IsNoRows(err) {
		return Category{}, apperr.New(apperr.ENOTFOUND, "error.not_found")
	}
	if err != nil {
		return Category{}, fmt.Errorf("find category %s: %w", id, err)
	}
	return c, nil
}

// FindSystemCategory returns the system category s (which every tenant has).
func FindSystemCategory(ctx context.Context, tx pgx.Tx, s System) (Category, error) {
	c, err := scanCategory(tx.QueryRow(ctx, "SELECT "+categoryColumns+" FROM document_categories c WHERE c.system = $1", s))
	if err != nil {
		return Category{}, fmt.Errorf("find system category %s: %w", s, err)
	}
	return c, nil
}

func validateName(name string) (string, map[string]string) {
	name = strings.Join(strings.Fields(name), " ")
	switch {
	case name == "":
		return name, map[string]string{"name": "error.required"}
	case utf8.RuneCountInString(name) > MaxCategoryName:
		return name, map[string]string{"name": "category.error.name_long"}
	}
	return name, nil
}

// nameTaken turns a unique violation on (dossier, name) into ECONFLICT with a field error.
func nameTaken(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return &apperr.Error{Code: apperr.ECONFLICT, Message: "category.error.name_taken",
			Fields: map[string]string{"name": "category.error.name_taken"}}
	}
	return err
}

// createCategory adds a category. EINVALID on an empty or too long name or an unknown dossier;
// ECONFLICT when the dossier already has a category of that name. It checks no right and writes
// no event: CreateCategory does both around it.
func createCategory(ctx context.Context, tx pgx.Tx, c Category) (Category, error) {
	name, fields := validateName(c.Name)
	if !c.Dossier.Valid() {
		if fields == nil {
			fields = map[string]string{}
		}
		fields["dossier"] = "error.choose"
	}
	if fields != nil {
		return Category{}, apperr.Invalid(fields)
	}
	c.Name, c.ID, c.System = name, uuid.Must(uuid.NewV7()), ""
	_, err := tx.Exec(ctx, `INSERT INTO document_categories (tenant_id, id, name, dossier, medical)
		VALUES (app_tenant(), $1, $2, $3, $4)`, c.ID, c.Name, c.Dossier, c.Medical)
	if err != nil {
		return Category{}, fmt.Errorf("create category: %w", nameTaken(err))
	}
	return c, nil
}

// CreateCategory adds a category made by ed, who records it (category.created).
// EFORBIDDEN unless he holds roles.manage (the matrix and its categories are administered
// together); further errors as createCategory.
func CreateCategory(ctx context.Context, tx pgx.Tx, ed access.Editor, c Category) (Category, error) {
	if err := ed.Allow(access.Require(ed.Principal, access.RolesManage)); err != nil {
		return Category{}, err
	}
	c, err := createCategory(ctx, tx, c)
	if err != nil {
		return Category{}, err
	}
	return c, writeCategory(ctx, tx, ed, audit.CategoryCreated, c.ID, categoryDetails(c))
}

func categoryDetails(c Category) map[string]any {
	return map[string]any{"name": c.Name, "dossier": c.Dossier, "medical": c.Medical}
}

func writeCategory(ctx context.Context, tx pgx.Tx, ed access.Editor, action string, id uuid.UUID, details map[string]any) error {
	return audit.Write(ctx, tx, ed.Actor, audit.Event{Action: action, SubjectType: "category", SubjectID: &id, Details: details})
}

// CategoryUpdate is what may change about a category: its name and whether it is medical. The
// dossier it belongs to never changes, since its documents stay where they are.
type CategoryUpdate struct {
	Name    string
	Medical bool
}

// UpdateCategory renames a category and sets whether it is medical, and records the change,
// before and after (category.updated). EFORBIDDEN unless ed holds roles.manage; ENOTFOUND for
// an unknown category; EINVALID for a system category or a bad name; ECONFLICT for a name the
// dossier has.
func UpdateCategory(ctx context.Context, tx pgx.Tx, ed access.Editor, id uuid.UUID, u CategoryUpdate) (Category, error) {
	if err := ed.Allow(access.Require(ed.Principal, access.RolesManage)); err != nil {
		return Category{}, err
	}
	c, err := lockCategory(ctx, tx, id)
	if err != nil {
		return Category{}, err
	}
	before := categoryDetails(c)
	if c.IsSystem() {
		return Category{}, apperr.New(apperr.EINVALID, "category.error.system")
	}
	name, fields := validateName(u.Name)
	if fields != nil {
		return Category{}, apperr.Invalid(fields)
	}
	c.Name, c.Medical = name, u.Medical
	if _, err := tx.Exec(ctx, "UPDATE document_categories SET name = $2, medical = $3 WHERE id = $1", id, c.Name, c.Medical); err != nil {
		return Category{}, fmt.Errorf("update category %s: %w", id, nameTaken(err))
	}
	return c, writeCategory(ctx, tx, ed, audit.CategoryUpdated, id, map[string]any{"before": before, "after": categoryDetails(c)})
}

// DeleteCategory removes a category and its row of the matrix, and records what it was
// (category.deleted). EFORBIDDEN unless ed holds roles.manage; ENOTFOUND for an unknown
// category; EINVALID for a system category; ECONFLICT while the category holds documents (they
// must be deleted or moved first).
func DeleteCategory(ctx context.Context, tx pgx.Tx, ed access.Editor, id uuid.UUID) error {
	if err := ed.Allow(access.Require(ed.Principal, access.RolesManage)); err != nil {
		return err
	}
	c, err := lockCategory(ctx, tx, id)
	if err != nil {
		return err
	}
	if c.IsSystem() {
		return apperr.New(apperr.EINVALID, "category.error.system")
	}
	var n int
	if err := tx.QueryRow(ctx, "SELECT count(*) FROM documents WHERE category_id = $1", id).Scan(&n); err != nil {
		return fmt.Errorf("delete category %s: %w", id, err)
	}
	if n > 0 {
		return apperr.New(apperr.ECONFLICT, "category.error.in_use")
	}
	if _, err := tx.Exec(ctx, "DELETE FROM document_categories WHERE id = $1", id); err != nil {
		return fmt.Errorf("delete category %s: %w", id, err)
	}
	return writeCategory(ctx, tx, ed, audit.CategoryDeleted, id, categoryDetails(c))
}

// lockCategory reads a category and locks it for the rest of the transaction.
func lockCategory(ctx context.Context, tx pgx.Tx, id uuid.UUID) (Category, error) {
	c, err := scanCategory(tx.QueryRow(ctx, "SELECT "+categoryColumns+" FROM document_categories c WHERE c.id = $1 FOR UPDATE", id))
	if database.IsNoRows(err) {
		return Category{}, apperr.New(apperr.ENOTFOUND, "error.not_found")
	}
	if err != nil {
		return Category{}, fmt.Errorf("find category %s: %w", id, err)
	}
	return c, nil
}

// CountByCategory returns how many documents each category holds (absent: none), for the
// category administration, where a category that holds documents cannot be deleted.
func CountByCategory(ctx context.Context, tx pgx.Tx) (map[uuid.UUID]int, error) {
	rows, err := tx.Query(ctx, "SELECT category_id, count(*) FROM documents GROUP BY category_id")
	if err != nil {
		return nil, fmt.Errorf("count documents by category: %w", err)
	}
	counts := map[uuid.UUID]int{}
	var id uuid.UUID
	var n int
	_, err = pgx.ForEachRow(rows, []any{&id, &n}, func() error {
		counts[id] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("count documents by category: %w", err)
	}
	return counts, nil
}
