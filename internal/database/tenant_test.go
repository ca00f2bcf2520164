package database_test

import (
	"context"
	"errors"
	"net/url"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/database/dbtest"
)

// TestTenantBound checks that InTenant and Read set the tenant for their own statements and
// leave nothing behind on the connection, which the pool hands to the next request. The pool
// has one connection, so every statement here runs on the same one.
func TestTenantBound(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.New(t)
	u, err := url.Parse(db.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("pool_max_conns", "1")
	u.RawQuery = q.Encode()
	pool, err := database.Open(ctx, u.String(), true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	const setting = "SELECT current_setting('app.tenant_id', true)"
	left := func(t *testing.T) {
		t.Helper()
		var got string
		if err := pool.QueryRow(ctx, setting).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != "" {
			t.Errorf("after the transaction app.tenant_id = %q, want empty", got)
		}
	}
	tenant := uuid.New()

	t.Run("InTenant", func(t *testing.T) {
		var got string
		err := database.InTenant(ctx, pool, tenant, func(tx pgx.Tx) error { return tx.QueryRow(ctx, setting).Scan(&got) })
		if err != nil {
			t.Fatal(err)
		}
		if got != tenant.String() {
			t.Errorf("inside: app.tenant_id = %q, want %s", got, tenant)
		}
		left(t)
	})

	t.Run("Read", func(t *testing.T) {
		var first, second string
		b := &pgx.Batch{}
		b.Queue(setting).QueryRow(func(row pgx.Row) error { return row.Scan(&first) })
		b.Queue(setting).QueryRow(func(row pgx.Row) error { return row.Scan(&second) })
		if err := database.Read(ctx, pool, tenant, b); err != nil {
			t.Fatal(err)
		}
		if first != tenant.String() || second != tenant.String() {
			t.Errorf("inside: app.tenant_id = %q, %q, want %s twice", first, second, tenant)
		}
		left(t)
	})

	t.Run("ReadFails", func(t *testing.T) {
		ran := false
		b := &pgx.Batch{}
		b.Queue("SELECT 1 / 0").Exec(func(pgconn.CommandTag) error { return nil })
		b.Queue(setting).QueryRow(func(row pgx.Row) error { ran = true; return nil })
		if err := database.Read(ctx, pool, tenant, b); err == nil {
			t.Fatal("a failing statement: no error")
		}
		if ran {
			t.Error("the statement after a failing one ran")
		}
		left(t)
	})

	t.Run("NoTenant", func(t *testing.T) {
		if err := database.Read(ctx, pool, uuid.Nil, &pgx.Batch{}); err == nil || errors.Is(err, context.Canceled) {
			t.Errorf("no tenant: %v, want an error", err)
		}
	})
}
