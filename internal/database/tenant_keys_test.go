package database_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/database/dbtest"
)

// TestTenantKeyedByForeignKeys checks the schema: every table with tenant_id has its tenant
// checked by a foreign key, either its own to tenants or a chain of them: a foreign key whose
// columns, all NOT NULL, begin with tenant_id and refer to a table's (tenant_id, …) that is
// itself so checked. Migration 00031 dropped the tenant keys a chain makes redundant on the
// tables the demo fills in bulk; this test keeps the chains whole. Two tables are let off, each
// with its reason below (unkeyed).
func TestTenantKeyedByForeignKeys(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	ctx := context.Background()

	// Every foreign key of a table with tenant_id that starts with it: the table it refers to,
	// whether that table is tenants itself, and whether all its columns are NOT NULL.
	type key struct {
		table, refers string
		notNull       bool
	}
	rows, err := db.Pool.Query(ctx, `
		SELECT c.conrelid::regclass::text, c.confrelid::regclass::text,
		       NOT EXISTS (SELECT 1 FROM unnest(c.conkey) k JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k
		                   WHERE NOT a.attnotnull)
		FROM pg_constraint c
		JOIN pg_attribute own ON own.attrelid = c.conrelid AND own.attnum = c.conkey[1]
		JOIN pg_attribute ref ON ref.attrelid = c.confrelid AND ref.attnum = c.confkey[1]
		WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace AND own.attname = 'tenant_id'
		  AND (ref.attname = 'tenant_id' OR c.confrelid = 'tenants'::regclass AND ref.attname = 'id')`)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (key, error) {
		var k key
		err := r.Scan(&k.table, &k.refers, &k.notNull)
		return k, err
	})
	if err != nil {
		t.Fatal(err)
	}

	unkeyed := map[string]string{
		// The search's words, written only by statement triggers on employees from their own
		// rows (migration 00026): a key per word would add five checks to every employee insert.
		"employee_search_words": "trigger copy of employees",
		// A delivery's record of carried employees, written in its snapshot transaction by the
		// delivery alone, keyed by a run id the stream package's tests make up without a run.
		"datastream_run_employees": "written by the delivery under its run id",
	}
	checked := map[string]bool{"tenants": true}
	for grew := true; grew; {
		grew = false
		for _, k := range keys {
			if !checked[k.table] && k.notNull && checked[k.refers] {
				checked[k.table], grew = true, true
			}
		}
	}
	tables := listTables(t, db.Pool)
	for _, tb := range tables {
		if _, ok := unkeyed[tb.Name]; tb.HasTenantID && !checked[tb.Name] && !ok {
			t.Errorf("table %s: no foreign key checks its tenant_id, neither to tenants nor through a NOT NULL (tenant_id, …) key to a table whose tenant is checked", tb.Name)
		}
	}
	if len(checked) < 10 || len(tables) < 10 {
		t.Errorf("%d of %d tables checked: the schema query found too little", len(checked), len(tables))
	}
}
