package database_test

import (
	"context"
	"testing"

	"github.com/dossierkast/dossierkast/internal/database/dbtest"
)

func TestSmoke(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	var role string
	if err := db.Pool.QueryRow(context.Background(), "SELECT current_user").Scan(&role); err != nil {
		t.Fatal(err)
	}
	t.Log(role)
}
