package database_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/database/dbtest"
)

// TestAnalyzeGathersMissingStatistics: a bulk-loaded table without statistics is named by
// MissingStatistics (where autovacuum is off, as on this project's CI) and is not once Analyze ran.
func TestAnalyzeGathersMissingStatistics(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.New(t)
	conn, err := pgx.Connect(ctx, db.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	var autovacuum string
	if err := conn.QueryRow(ctx, "SHOW autovacuum").Scan(&autovacuum); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE bulk AS SELECT g AS n FROM generate_series(1, 20000) g"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx) // a session reports its statistics when it ends, at the latest
	listed := func() bool {
		tables, err := database.MissingStatistics(ctx, db.Pool, 10_000)
		if err != nil {
			t.Fatal(err)
		}
		return slices.ContainsFunc(tables, func(r database.TableRows) bool { return r.Table == "bulk" && r.Rows >= 10_000 })
	}
	// The statistics of another session arrive a moment later.
	waitFor := func(want bool) bool {
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if listed() == want {
				return true
			}
		}
		return false
	}
	if autovacuum == "off" && !waitFor(true) {
		t.Error("a loaded, never analysed table is not listed")
	}
	if err := database.Analyze(ctx, db.OwnerURL); err != nil {
		t.Fatal(err)
	}
	if !waitFor(false) {
		t.Error("the table is still listed after Analyze")
	}
}
