package access

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/database"
)

// Matrix is the authorisation matrix: per role, per document category, the level the role has
// there. A missing entry is LevelNone. The two system categories are not in it: they are read by
// user kind (see Categories).
type Matrix map[uuid.UUID]map[uuid.UUID]Level

// Level returns what role may do in category.
func (m Matrix) Level(roleID, categoryID uuid.UUID) Level { return m[roleID][categoryID] }

// FindMatrix reads the whole matrix of the tenant.
func FindMatrix(ctx context.Context, tx pgx.Tx) (Matrix, error) {
	rows, err := tx.Query(ctx, "SELECT role_id, category_id, level FROM category_permissions")
	if err != nil {
		return nil, fmt.Errorf("find matrix: %w", err)
	}
	m := Matrix{}
	var roleID, categoryID uuid.UUID
	var level Level
	_, err = pgx.ForEachRow(rows, []any{&roleID, &categoryID, &level}, func() error {
		if m[roleID] == nil {
			m[roleID] = map[uuid.UUID]Level{}
		}
		m[roleID][categoryID] = level
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("find matrix: %w", err)
	}
	return m, nil
}

// SetMatrix sets what a role may do in a category; LevelNone removes the entry. EINVALID for an
// unknown level or a system category (those are read by user kind, not by the matrix);
// ENOTFOUND for an unknown role or category.
func SetMatrix(ctx context.Context, tx pgx.Tx, roleID, categoryID uuid.UUID, level Level) error {
	if !level.Valid() {
		return apperr.New(apperr.EINVALID, "error.choose")
	}
	var system *string
	err := tx.QueryRow(ctx, "SELECT system FROM document_categories WHERE id = $1", categoryID).Scan(&system)
	if database.IsNoRows(err) {
		return apperr.New(apperr.ENOTFOUND, "error.not_found")
	}
	if err != nil {
		return fmt.Errorf("set matrix: %w", err)
	}
	if system != nil {
		return apperr.New(apperr.EINVALID, "matrix.error.system")
	}
	var exists bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM roles WHERE id = $1)", roleID).Scan(&exists); err != nil {
		return fmt.Errorf("set matrix: %w", err)
	}
	if !exists {
		return apperr.New(apperr.ENOTFOUND, "error.not_found")
	}
	if level == LevelNone {
		_, err = tx.Exec(ctx, "DELETE FROM category_permissions WHERE role_id = $1 AND category_id = $2", roleID, categoryID)
	} else {
		_, err = tx.Exec(ctx, `INSERT INTO category_permissions (tenant_id, role_id, category_id, level)
			VALUES (app_tenant(), $1, $2, $3)
			ON CONFLICT (tenant_id, role_id, category_id) DO UPDATE SET level = EXCLUDED.level`, roleID, categoryID, level)
	}
	if err != nil {
		return fmt.Errorf("set matrix: %w", err)
	}
	return nil
}

// MatrixChange is one cell of the matrix that SetRoleLevels changed.
type MatrixChange struct {
	CategoryID uuid.UUID
	Before     Level
	After      Level
}

// SetRoleLevels sets a role's row of the matrix: for every category in levels, the level given.
// Categories not in levels keep theirs. It returns the cells that changed, for the audit log.
// Errors as SetMatrix.
func SetRoleLevels(ctx context.Context, tx pgx.Tx, roleID uuid.UUID, levels map[uuid.UUID]Level) ([]MatrixChange, error) {
	m, err := FindMatrix(ctx, tx)
	if err != nil {
		return nil, err
	}
	var changes []MatrixChange
	for categoryID, level := range levels {
		before := m.Level(roleID, categoryID)
		if before == level {
			continue
		}
		if err := SetMatrix(ctx, tx, roleID, categoryID, level); err != nil {
			return nil, err
		}
		changes = append(changes, MatrixChange{CategoryID: categoryID, Before: before, After: level})
	}
	slices.SortFunc(changes, func(a, b MatrixChange) int { return strings.Compare(a.CategoryID.String(), b.CategoryID.String()) })
	return changes, nil
}
