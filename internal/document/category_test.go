package document_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/document"
	"github.com/dossierkast/dossierkast/internal/org"
)

// admin administers the categories and the matrix: he holds roles.manage.
var admin = access.Editor{Principal: access.Principal{Kind: access.KindProvider, Rights: []access.Right{access.RolesManage}}}

// TestCategoryChangesCheckAndAudit: every change of the categories and the matrix asks for
// roles.manage itself, and records itself in its own transaction; a refused one changes and
// records nothing.
func TestCategoryChangesCheckAndAudit(t *testing.T) {
	t.Parallel()
	b := setup(t, 1<<20)
	ctx := b.ctx
	cat := b.category(t, "Verzuim", document.DossierEmployee)
	var role org.Role
	b.inTenant(t, func(tx pgx.Tx) (err error) {
		role, err = org.FindRoleByName(ctx, tx, "Casemanager")
		return err
	})
	changes := []struct {
		name   string
		action string
		fn     func(tx pgx.Tx, ed access.Editor) error
	}{
		{"Create", audit.CategoryCreated, func(tx pgx.Tx, ed access.Editor) error {
			_, err := document.CreateCategory(ctx, tx, ed, document.Category{Name: "Re-integratie", Dossier: document.DossierEmployee})
			return err
		}},
		{"Update", audit.CategoryUpdated, func(tx pgx.Tx, ed access.Editor) error {
			_, err := document.UpdateCategory(ctx, tx, ed, cat.ID, document.CategoryUpdate{Name: "Verzuimdossier", Medical: true})
			return err
		}},
		{"Delete", audit.CategoryDeleted, func(tx pgx.Tx, ed access.Editor) error {
			return document.DeleteCategory(ctx, tx, ed, cat.ID)
		}},
		{"Matrix", audit.MatrixUpdated, func(tx pgx.Tx, ed access.Editor) error {
			_, err := access.SetRoleLevels(ctx, tx, ed, role.ID, map[uuid.UUID]access.Level{cat.ID: access.LevelRead})
			return err
		}},
	}
	withoutRight := slices.DeleteFunc(slices.Clone(access.Catalogue), func(r access.Right) bool { return r == access.RolesManage })
	editors := []struct {
		name string
		ed   access.Editor
		code apperr.Code // "" for a change that is made
	}{
		{"Nobody", access.Editor{}, apperr.EFORBIDDEN},
		{"WithoutRolesManage", access.Editor{Principal: access.Principal{Kind: access.KindProvider, Rights: withoutRight}}, apperr.EFORBIDDEN},
		{"RolesManage", admin, ""},
		{"System", access.System(audit.Actor{IP: "192.0.2.7"}), ""},
	}
	for _, ch := range changes {
		for _, e := range editors {
			t.Run(ch.name+"/"+e.name, func(t *testing.T) {
				actions, got := rolledBack(t, b, func(tx pgx.Tx) error { return ch.fn(tx, e.ed) })
				if e.code == "" && got != nil || e.code != "" && apperr.CodeOf(got) != e.code {
					t.Fatalf("error %v, want code %q", got, e.code)
				}
				want := []string{}
				if e.code == "" {
					want = []string{ch.action}
				}
				if diff := cmp.Diff(want, actions); diff != "" {
					t.Errorf("audit actions (-want +got):\n%s", diff)
				}
			})
		}
	}

	t.Run("MatrixUnchanged", func(t *testing.T) {
		actions, _ := rolledBack(t, b, func(tx pgx.Tx) error {
			_, err := access.SetRoleLevels(ctx, tx, admin, role.ID, map[uuid.UUID]access.Level{cat.ID: access.LevelNone})
			return err
		})
		if len(actions) != 0 {
			t.Errorf("a row that changes nothing recorded %v", actions)
		}
	})
	t.Run("MatrixUnknownRole", func(t *testing.T) {
		actions, got := rolledBack(t, b, func(tx pgx.Tx) error {
			_, err := access.SetRoleLevels(ctx, tx, admin, uuid.New(), map[uuid.UUID]access.Level{cat.ID: access.LevelRead})
			return err
		})
		if apperr.CodeOf(got) != apperr.ENOTFOUND || len(actions) != 0 {
			t.Errorf("unknown role: error %v, actions %v; want ENOTFOUND and none", got, actions)
		}
	})
}

// rolledBack runs fn in a tenant transaction that is rolled back, and returns the actions of
// the audit events written in it and fn's error.
func rolledBack(t *testing.T, b *testBundle, fn func(tx pgx.Tx) error) ([]string, error) {
	t.Helper()
	var got error
	var actions []string
	rollback := errors.New("rollback")
	err := database.InTenant(b.ctx, b.db.Pool, b.tenant, func(tx pgx.Tx) error {
		got = fn(tx)
		// now() is when the transaction began: the events written before it are left out.
		rows, err := tx.Query(b.ctx, "SELECT action FROM audit_events WHERE at >= now() ORDER BY at, id")
		if err != nil {
			return err
		}
		if actions, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return err
		}
		return rollback
	})
	if !errors.Is(err, rollback) {
		t.Fatal(err)
	}
	return actions, got
}
