package demo_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/database/dbtest"
	"github.com/dossierkast/dossierkast/internal/demo"
)

// The demo can walk the intervention workflow: the guidance protocol set, the coach his
// provider's default executor, one deployment task to confirm and one manual delegation task;
// a second load adds nothing.
func TestDemoInterventions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.New(t)
	type counts struct{ settings, executor, confirm, manual, trajectories, delegations int }
	read := func(res demo.Result) counts {
		var c counts
		err := database.InTenant(ctx, db.Pool, res.TenantID, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT
				(SELECT count(*) FROM intervention_settings WHERE guidance_protocol_id IS NOT NULL),
				(SELECT count(*) FROM intervention_providers v JOIN users u ON u.id = v.executor_user_id WHERE u.email = 'coach@demo.dossierkast.nl'),
				(SELECT count(*) FROM tasks WHERE type = 'deploy_intervention' AND status = 'open'),
				(SELECT count(*) FROM tasks WHERE type = 'grant_delegation' AND status = 'open'),
				(SELECT count(*) FROM trajectories),
				(SELECT count(*) FROM dossier_delegations)`).
				Scan(&c.settings, &c.executor, &c.confirm, &c.manual, &c.trajectories, &c.delegations)
		})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	res, err := demo.Load(ctx, db.Pool, demo.Options{Employees: 30, Examples: true})
	if err != nil {
		t.Fatal(err)
	}
	first := read(res)
	if first.settings != 1 || first.executor != 1 || first.confirm != 1 || first.manual != 1 {
		t.Errorf("after the first load: %+v, want the settings, the coach as executor, one task to confirm and one to delegate", first)
	}
	res, err = demo.Load(ctx, db.Pool, demo.Options{Employees: 30, Examples: true})
	if err != nil {
		t.Fatal(err)
	}
	if again := read(res); again != first {
		t.Errorf("a second load changed %+v into %+v", first, again)
	}
}
