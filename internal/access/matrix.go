package access

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
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

// setMatrix sets what a role may do in a category; LevelNone removes the entry. EINVALID for an
// unknown level or a system category (those are read by user kind, not by the matrix);
// ENOTFOUND for an unknown role or category.
func setMatrix(ctx context.Context, tx pgx.Tx, roleID, categoryID uuid.UUID, level Level) error {
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
// Categories not in levels keep theirs. It returns the cells that changed, and records them,
// before and after, in one matrix.updated event; a row that changes nothing records none.
// EFORBIDDEN unless ed holds roles.manage; ENOTFOUND for an unknown role; further errors as
// setMatrix.
func SetRoleLevels(ctx context.Context, tx pgx.Tx, ed Editor, roleID uuid.UUID, levels map[uuid.UUID]Level) ([]MatrixChange, error) {
	if err := ed.Allow(Require(ed.Principal, RolesManage)); err != nil {
		return nil, err
	}
	var role string
	if err := tx.QueryRow(ctx, "SELECT name FROM roles WHERE id = $1", roleID).Scan(&role); err != nil {
		if database.IsNoRows(err) {
			return nil, apperr.New(apperr.ENOTFOUND, "error.not_found")
		}
		return nil, fmt.Errorf("find role %s: %w", roleID, err)
	}
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
		if err := setMatrix(ctx, tx, roleID, categoryID, level); err != nil {
			return nil, err
		}
		changes = append(changes, MatrixChange{CategoryID: categoryID, Before: before, After: level})
	}
	if len(changes) == 0 {
		return nil, nil
	}
	slices.SortFunc(changes, func(a, b MatrixChange) int { return strings.Compare(a.CategoryID.String(), b.CategoryID.String()) })
	return changes, writeMatrixChanges(ctx, tx, ed, roleID, role, changes)
}

// writeMatrixChanges records the changed cells of a role's row, keyed by category id, with
// the categories' names.
func writeMatrixChanges(ctx context.Context, tx pgx.Tx, ed Editor, roleID uuid.UUID, role string, changes []MatrixChange) error {
	before, after, names := map[string]string{}, map[string]string{}, map[string]string{}
	for _, ch := range changes {
		var name string
		if err := tx.QueryRow(ctx, "SELECT name FROM document_categories WHERE id = $1", ch.CategoryID).Scan(&name); err != nil {
			return fmt.Errorf("find category %s: %w", ch.CategoryID, err)
		}
		key := ch.CategoryID.String()
		before[key], after[key], names[key] = levelName(ch.Before), levelName(ch.After), name
	}
	return audit.Write(ctx, tx, ed.Actor, audit.Event{Action: audit.MatrixUpdated, SubjectType: "role", SubjectID: &roleID,
		Details: map[string]any{"role": role, "categories": names, "before": before, "after": after}})
}

// levelName is a matrix level as the audit log records it.
func levelName(l Level) string {
	if l == LevelNone {
		return "none"
	}
	return string(l)
}
