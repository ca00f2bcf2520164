package access_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/database/dbtest"
)

// The export decisions: seeing the employee first (404, blacklist included), then the rights
// (403); downloading also needs the creator or a provider user, and a creator who lost sight of
// the employee is told why (403) rather than shown a 404.
func TestExportRules(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.New(t)
	tenant := newTenant(t, db.Pool, "Arbo Export")
	view, all, exp := access.EmployeeDossierView, access.EmployeesAll, access.EmployeeExportCreate
	var emp, hidden uuid.UUID
	var creator, colleague, provider, noRight, noView, blacklisted, stranger uuid.UUID
	build(t, db.Pool, tenant, func(f *fixture) {
		a, b := f.employer("A"), f.employer("B")
		emp = f.employee(a, nil, "Jansen")
		hidden = f.employee(b, nil, "Elders")
		creator = f.user(access.KindEmployer, []access.Right{view, all, exp}, a)
		colleague = f.user(access.KindEmployer, []access.Right{view, all, exp}, a)
		provider = f.user(access.KindProvider, []access.Right{view, all, exp})
		noRight = f.user(access.KindProvider, []access.Right{view, all})
		noView = f.user(access.KindProvider, []access.Right{all, exp})
		blacklisted = f.user(access.KindProvider, []access.Right{view, all, exp})
		f.blacklist(blacklisted, emp)
		stranger = f.user(access.KindEmployer, []access.Right{view, all, exp}, b)
	})
	mine := access.ExportFacts{EmployeeID: emp, RequestedBy: creator}
	ofBlacklisted := access.ExportFacts{EmployeeID: emp, RequestedBy: blacklisted}
	tests := []struct {
		name              string
		user              uuid.UUID
		employee          uuid.UUID
		facts             access.ExportFacts
		export, dl, retry string
	}{
		{"creator", creator, emp, mine, "ok", "ok", "ok"},
		{"colleague employer user", colleague, emp, mine, "ok", "forbidden: export.error.not_creator", "forbidden: export.error.retry_other"},
		{"provider user with the right", provider, emp, mine, "ok", "ok", "forbidden: export.error.retry_other"},
		{"without employee_export.create", noRight, emp, mine, "forbidden", "forbidden: export.error.download_right", "forbidden"},
		{"without employee_dossier.view", noView, emp, mine, "forbidden", "forbidden", "forbidden"},
		{"blacklisted, not the creator", blacklisted, emp, mine, "not_found", "not_found", "not_found"},
		{"blacklisted after making it", blacklisted, emp, ofBlacklisted, "not_found", "forbidden: export.error.download_guard", "not_found"},
		{"another employer's user", stranger, emp, mine, "not_found", "not_found", "not_found"},
		{"hidden employee", creator, hidden, access.ExportFacts{EmployeeID: hidden, RequestedBy: provider}, "not_found", "not_found", "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			err := database.InTenant(ctx, db.Pool, tenant, func(tx pgx.Tx) error {
				p := principal(ctx, t, tx, tenant, tt.user)
				got = []string{decision(access.CanExportEmployee(ctx, tx, p, tt.employee)),
					decision(access.CanDownloadExport(ctx, tx, p, tt.facts)), decision(access.CanRetryExport(ctx, tx, p, tt.facts))}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{tt.export, tt.dl, tt.retry}, got); diff != "" {
				t.Errorf("export, download, retry (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("BlockedCreator", func(t *testing.T) {
		t.Parallel()
		err := database.InTenant(ctx, db.Pool, tenant, func(tx pgx.Tx) error {
			p := principal(ctx, t, tx, tenant, creator)
			if got := decision(access.CanGenerateRequestedExport(ctx, tx, p, false, mine)); got != "forbidden" {
				t.Errorf("blocked creator: %q, want forbidden", got)
			}
			if got := decision(access.CanGenerateRequestedExport(ctx, tx, p, true, mine)); got != "ok" {
				t.Errorf("active creator: %q, want ok", got)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ZeroPrincipal", func(t *testing.T) {
		t.Parallel()
		err := database.InTenant(ctx, db.Pool, tenant, func(tx pgx.Tx) error {
			got := decision(access.CanDownloadExport(ctx, tx, access.Principal{}, access.ExportFacts{EmployeeID: emp}))
			if got != "not_found" {
				t.Errorf("zero principal: %q, want not_found", got)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
