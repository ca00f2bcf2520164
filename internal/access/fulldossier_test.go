package access_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/database/dbtest"
)

// The full-dossier screen: reach first (404), then employer_dossier.view (403); generate and
// delete need their right and the employer's product (403), delete only for provider users.
// Retrying a failed bundle is generating again, and only for the user who asked for it; so is
// the generation job's check when it starts, which also refuses a blocked requester.
func TestFullDossierDecisions(t *testing.T) {
	t.Parallel()
	mine, other := uuid.New(), uuid.New()
	edv, gen, del := access.EmployerDossierView, access.FullDossierGenerate, access.FullDossierDelete
	principal := func(kind access.Kind, rights ...access.Right) access.Principal {
		return access.Principal{UserID: uuid.New(), Kind: kind, Rights: rights, Facts: access.Facts{Reach: []uuid.UUID{mine}}}
	}
	const (
		ok        = "ok"
		notFound  = "not_found"
		forbidden = "forbidden"
		product   = "forbidden: fulldossier.error.product"
	)
	tests := []struct {
		name     string
		p        access.Principal
		employer uuid.UUID
		enabled  bool
		view     string
		generate string
		delete   string
	}{
		{"provider with every right", principal(access.KindProvider, edv, gen, del), mine, true, ok, ok, ok},
		{"provider with every right, product off", principal(access.KindProvider, edv, gen, del), mine, false, ok, product, product},
		{"provider, employer outside reach", principal(access.KindProvider, edv, gen, del), other, true, notFound, notFound, notFound},
		{"provider without employer_dossier.view", principal(access.KindProvider, gen, del), mine, true, forbidden, forbidden, forbidden},
		{"provider without full_dossier.generate", principal(access.KindProvider, edv, del), mine, true, ok, forbidden, ok},
		{"provider without full_dossier.delete", principal(access.KindProvider, edv, gen), mine, true, ok, ok, forbidden},
		{"provider without either right, product off", principal(access.KindProvider, edv), mine, false, ok, forbidden, forbidden},
		{"employer user with generate", principal(access.KindEmployer, edv, gen), mine, true, ok, ok, forbidden},
		{"employer user whose role lists full_dossier.delete", principal(access.KindEmployer, edv, gen, del), mine, true, ok, ok, forbidden},
		{"employer user, another employer", principal(access.KindEmployer, edv, gen), other, true, notFound, notFound, notFound},
		{"coach with every right", access.Principal{Kind: access.KindCoach, Rights: access.Catalogue}, mine, true, notFound, notFound, notFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want := []string{tt.view, tt.generate, tt.delete}
			got := []string{
				decision(access.CanViewFullDossier(tt.p, tt.employer)),
				decision(access.CanGenerateFullDossier(tt.p, tt.employer, tt.enabled)),
				decision(access.CanDeleteFullDossier(tt.p, tt.employer, tt.enabled)),
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("view, generate, delete (-want +got):\n%s", diff)
			}
			own := access.BundleFacts{EmployerID: tt.employer, RequesterKind: tt.p.Kind, RequestedBy: tt.p.UserID}
			if got := decision(access.CanRetryFullDossier(tt.p, tt.employer, tt.enabled, own)); got != tt.generate {
				t.Errorf("retry of his own bundle = %q, want %q as generate", got, tt.generate)
			}
			wantOther := tt.generate
			if wantOther == ok {
				wantOther = "forbidden: fulldossier.error.retry_other"
			}
			colleague := own
			colleague.RequestedBy = uuid.New()
			if got := decision(access.CanRetryFullDossier(tt.p, tt.employer, tt.enabled, colleague)); got != wantOther {
				t.Errorf("retry of a colleague's bundle = %q, want %q", got, wantOther)
			}
			// A bundle of another employer, or of the other kind, is not on his screen.
			wantHidden := tt.view
			if wantHidden == ok {
				wantHidden = notFound
			}
			elsewhere := own
			elsewhere.EmployerID = uuid.New()
			otherKind := own
			otherKind.RequesterKind = access.KindCoach
			for name, b := range map[string]access.BundleFacts{"another employer's": elsewhere, "the other kind's": otherKind} {
				if got := decision(access.CanRetryFullDossier(tt.p, tt.employer, tt.enabled, b)); got != wantHidden {
					t.Errorf("retry of %s bundle = %q, want %q", name, got, wantHidden)
				}
			}
			// The generation job decides as a retry does, on the bundle's own employer, and
			// refuses a blocked requester.
			if got := decision(access.CanGenerateRequestedFullDossier(tt.p, true, tt.enabled, elsewhere)); got != notFound {
				t.Errorf("generation of a bundle of an employer outside his reach = %q, want %q", got, notFound)
			}
			if got := decision(access.CanGenerateRequestedFullDossier(tt.p, true, tt.enabled, otherKind)); got != wantHidden {
				t.Errorf("generation of the other kind's bundle = %q, want %q", got, wantHidden)
			}
			if got := decision(access.CanGenerateRequestedFullDossier(tt.p, true, tt.enabled, own)); got != tt.generate {
				t.Errorf("generation of his own bundle = %q, want %q as generate", got, tt.generate)
			}
			if got := decision(access.CanGenerateRequestedFullDossier(tt.p, true, tt.enabled, colleague)); got != wantOther {
				t.Errorf("generation of a colleague's bundle = %q, want %q", got, wantOther)
			}
			wantBlocked := tt.generate
			if wantBlocked == ok {
				wantBlocked = forbidden
			}
			if got := decision(access.CanGenerateRequestedFullDossier(tt.p, false, tt.enabled, own)); got != wantBlocked {
				t.Errorf("generation of his own bundle while blocked = %q, want %q", got, wantBlocked)
			}
		})
	}
}

// decision is outcome, plus the message when it is not the generic one.
func decision(err error) string {
	if e, ok := apperr.As(err); ok && e.Message != "error.forbidden" && e.Message != "error.not_found" {
		return string(e.Code) + ": " + e.Message
	}
	return outcome(err)
}

// The download guard admits a user who sees every employee of the bundle now: a blacklist entry
// made after his facts were loaded still refuses, as do an employee of another employer, one
// that no longer exists, and the lack of employee_dossier.view.
func TestCanSeeEveryEmployee(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.New(t)
	tenant := newTenant(t, db.Pool, "Arbo Bundel")
	other := newTenant(t, db.Pool, "Arbo Elders")

	var elsewhere uuid.UUID
	build(t, db.Pool, other, func(f *fixture) {
		x := f.employer("X")
		elsewhere = f.employee(x, nil, "Elders")
	})
	var hr, hrNoView, provider, e1, e2, e3, eB, blacklisted uuid.UUID
	build(t, db.Pool, tenant, func(f *fixture) {
		a, b := f.employer("A"), f.employer("B")
		a1 := f.department(a, "A1")
		e1, e2, e3 = f.employee(a, &a1, "Een"), f.employee(a, &a1, "Twee"), f.employee(a, nil, "Drie")
		blacklisted = f.employee(a, &a1, "Zwart")
		eB = f.employee(b, nil, "Bee")
		all := []access.Right{access.EmployerDossierView, access.EmployeeDossierView, access.EmployeesAll}
		hr = f.user(access.KindEmployer, all, a)
		hrNoView = f.user(access.KindEmployer, []access.Right{access.EmployerDossierView, access.EmployeesAll}, a)
		provider = f.user(access.KindProvider, []access.Right{access.EmployerDossierView, access.EmployeeDossierView})
		f.linkDepartment(provider, a1)
		f.blacklist(hr, blacklisted)
	})

	tests := []struct {
		name string
		user *uuid.UUID
		ids  []uuid.UUID
		want string
	}{
		{"no employees", &hrNoView, nil, "ok"},
		{"every employee visible", &hr, []uuid.UUID{e1, e2, e3}, "ok"},
		{"the same employee twice", &hr, []uuid.UUID{e1, e1}, "ok"},
		{"one blacklisted", &hr, []uuid.UUID{e1, blacklisted, e2}, "forbidden: fulldossier.error.download_guard"},
		{"one of another employer", &hr, []uuid.UUID{e1, eB}, "forbidden: fulldossier.error.download_guard"},
		{"one of another tenant", &hr, []uuid.UUID{e1, elsewhere}, "forbidden: fulldossier.error.download_guard"},
		{"one that no longer exists", &hr, []uuid.UUID{e1, uuid.New()}, "forbidden: fulldossier.error.download_guard"},
		{"without employee_dossier.view", &hrNoView, []uuid.UUID{e1}, "forbidden: fulldossier.error.download_guard"},
		{"linked department only", &provider, []uuid.UUID{e1, e2}, "ok"},
		{"outside the linked department", &provider, []uuid.UUID{e1, e3}, "forbidden: fulldossier.error.download_guard"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got string
			err := database.InTenant(ctx, db.Pool, tenant, func(tx pgx.Tx) error {
				p := principal(ctx, t, tx, tenant, *tt.user)
				got = decision(access.CanSeeEveryEmployee(ctx, tx, p, tt.ids))
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("CanSeeEveryEmployee = %q, want %q", got, tt.want)
			}
		})
	}

	t.Run("BlacklistAfterFactsLoaded", func(t *testing.T) {
		t.Parallel()
		var user uuid.UUID
		build(t, db.Pool, tenant, func(f *fixture) {
			user = f.user(access.KindProvider, []access.Right{access.EmployeeDossierView, access.EmployeesAll})
		})
		var p access.Principal
		err := database.InTenant(ctx, db.Pool, tenant, func(tx pgx.Tx) error {
			p = principal(ctx, t, tx, tenant, user)
			if got := decision(access.CanSeeEveryEmployee(ctx, tx, p, []uuid.UUID{e1, e2})); got != "ok" {
				t.Errorf("before the blacklist entry: %q, want ok", got)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		build(t, db.Pool, tenant, func(f *fixture) { f.blacklist(user, e2) })
		err = database.InTenant(ctx, db.Pool, tenant, func(tx pgx.Tx) error {
			if got := decision(access.CanSeeEveryEmployee(ctx, tx, p, []uuid.UUID{e1, e2})); got != "forbidden: fulldossier.error.download_guard" {
				t.Errorf("after the blacklist entry: %q, want the download guard's refusal", got)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// The download guard's category half admits a user who may read every category the bundle holds
// documents of, at either level; one category he may not read, or one that no longer exists,
// refuses.
func TestCanReadEveryCategory(t *testing.T) {
	t.Parallel()
	read, write, hidden := uuid.New(), uuid.New(), uuid.New()
	cats := access.Categories{read: access.LevelRead, write: access.LevelWrite}
	refused := "forbidden: fulldossier.error.download_categories"
	for _, tt := range []struct {
		name string
		ids  []uuid.UUID
		want string
	}{
		{"NoCategories", nil, "ok"},
		{"ReadAndWrite", []uuid.UUID{read, write}, "ok"},
		{"OneUnreadable", []uuid.UUID{read, hidden, write}, refused},
		{"Gone", []uuid.UUID{uuid.New()}, refused},
	} {
		if got := decision(access.CanReadEveryCategory(cats, tt.ids)); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}
