package export

import (
	"context"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/database/dbtest"
)

// Completeness is enforced: every table that holds an employee's data (has an employee_id
// column) is exported by a section or on the commented exclusion list, and neither names a
// table that does not exist (or no longer has the column).
func TestEveryEmployeeTableIsExported(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	owner, err := pgx.Connect(context.Background(), db.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(context.Background())
	rows, err := owner.Query(context.Background(), `SELECT c.table_name FROM information_schema.columns c
		JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
		WHERE c.table_schema = 'public' AND c.column_name = 'employee_id' AND t.table_type = 'BASE TABLE'
		ORDER BY c.table_name`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	exported := map[string]string{}
	for _, s := range dataSections {
		for _, tb := range s.tables {
			exported[tb] = s.sheet
		}
	}
	for _, tb := range tables {
		_, inSheet := exported[tb]
		_, left := excluded[tb]
		switch {
		case inSheet && left:
			t.Errorf("table %s is both exported (sheet %s) and excluded", tb, exported[tb])
		case !inSheet && !left:
			t.Errorf("table %s holds employees' data (employee_id) but no sheet exports it and it is not on the exclusion list", tb)
		}
	}
	for tb := range exported {
		if !slices.Contains(tables, tb) {
			t.Errorf("sheet %s names table %s, which has no employee_id column", exported[tb], tb)
		}
	}
	for tb, why := range excluded {
		if why == "" {
			t.Errorf("exclusion of %s says no why", tb)
		}
		if !slices.Contains(tables, tb) {
			t.Errorf("exclusion list names table %s, which has no employee_id column", tb)
		}
	}
}
