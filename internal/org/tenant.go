// Package org keeps the organisation inside a tenant: tenants, employers, departments, employer
// groups, employees, intervention providers, users and their roles.
package org

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/database"
)

// Tenant is one customer organisation; all its data is isolated from other tenants'.
type Tenant struct {
	ID        uuid.UUID
	Name      string
	IsDemo    bool
	CreatedAt time.Time
}

// CreateTenant creates a tenant with the default roles. EINVALID when the name is empty.
func CreateTenant(ctx context.Context, pool *pgxpool.Pool, name string, isDemo bool) (Tenant, error) {
	t := Tenant{ID: uuid.Must(uuid.NewV7()), Name: strings.TrimSpace(name), IsDemo: isDemo}
	if t.Name == "" {
		return Tenant{}, apperr.Invalid(map[string]string{"name": "error.required"})
	}
	// One transaction with the new tenant set: the tenant, its system document categories (made
	// by a trigger) and its roles appear together.
	err := database.InTenant(ctx, pool, t.ID, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, "INSERT INTO tenants (id, name, is_demo) VALUES ($1, $2, $3) RETURNING created_at",
			t.ID, t.Name, t.IsDemo).Scan(&t.CreatedAt); err != nil {
			return err
		}
		for _, r := range DefaultRoles() {
			if _, err := createRole(ctx, tx, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Tenant{}, fmt.Errorf("create tenant: %w", err)
	}
	return t, nil
}

// FindTenants lists every tenant, oldest first.
func FindTenants(ctx context.Context, pool *pgxpool.Pool) ([]Tenant, error) {
	return database.FindAll[Tenant](ctx, pool, "tenants", "SELECT id, name, is_demo, created_at FROM tenants ORDER BY created_at, id")
}

// TenantIDs lists the id of every tenant, for the sweeps and checks that visit each one in
// its own tenant transaction.
func TenantIDs(ctx context.Context, pool *pgxpool.Pool) ([]uuid.UUID, error) {
	rows, err := pool.Query(ctx, "SELECT id FROM tenants ORDER BY id")
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
}

// FindTenantByID returns one tenant, or ENOTFOUND.
func FindTenantByID(ctx context.Context, pool *pgxpool.Pool, id uuid.UUID) (Tenant, error) {
	return database.FindOne[Tenant](ctx, pool, "tenant", "SELECT id, name, is_demo, created_at FROM tenants WHERE id = $1", id)
}
