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

// The employer dossier's parts: reach first (404), then the right of the action (403). Reading
// needs employer_dossier.view; writing contracts is for provider administrators (users.manage),
// who also need documents.delete to delete them.
func TestEmployerDossierRules(t *testing.T) {
	t.Parallel()
	mine, other := uuid.New(), uuid.New()
	edv, um, dd := access.EmployerDossierView, access.UsersManage, access.DocumentsDelete
	principal := func(kind access.Kind, rights ...access.Right) access.Principal {
		return access.Principal{UserID: uuid.New(), Kind: kind, Rights: rights, Facts: access.Facts{Reach: []uuid.UUID{mine}}}
	}
	tests := []struct {
		name     string
		p        access.Principal
		employer uuid.UUID
		read     string
		write    string
		delete   string
	}{
		{"provider administrator with every right", principal(access.KindProvider, edv, um, dd), mine, "ok", "ok", "ok"},
		{"provider administrator, employer outside reach", principal(access.KindProvider, edv, um, dd), other, "not_found", "not_found", "not_found"},
		{"provider administrator without employer_dossier.view", principal(access.KindProvider, um, dd), mine, "forbidden", "ok", "ok"},
		{"provider administrator without documents.delete", principal(access.KindProvider, edv, um), mine, "ok", "ok", "forbidden"},
		{"provider reader", principal(access.KindProvider, edv, dd), mine, "ok", "forbidden", "forbidden"},
		{"employer user with users.manage", principal(access.KindEmployer, edv, um, dd), mine, "ok", "forbidden", "forbidden"},
		{"employer user, another employer", principal(access.KindEmployer, edv, um, dd), other, "not_found", "not_found", "not_found"},
		{"coach with every right", access.Principal{Kind: access.KindCoach, Rights: access.Catalogue}, mine, "not_found", "not_found", "not_found"},
		{"the zero principal", access.Principal{}, mine, "not_found", "not_found", "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want := []string{tt.read, tt.write, tt.delete}
			got := []string{
				outcome(access.CanReadEmployerDossier(tt.p, tt.employer)),
				outcome(access.CanWriteEmployerContracts(tt.p, tt.employer)),
				outcome(access.CanDeleteEmployerContracts(tt.p, tt.employer)),
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("read, write, delete (-want +got):\n%s", diff)
			}
			if got := outcome(access.CanViewFullDossier(tt.p, tt.employer)); got != tt.read {
				t.Errorf("CanViewFullDossier = %q, want %q as CanReadEmployerDossier", got, tt.read)
			}
		})
	}
}

// Medical parts are read by holders of medical.view only, whatever the kind; the zero
// Principal, the system, reads none.
func TestCanReadMedical(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		p    access.Principal
		want bool
	}{
		{"provider with medical.view", access.Principal{Kind: access.KindProvider, Rights: []access.Right{access.MedicalView}}, true},
		{"employer user with medical.view", access.Principal{Kind: access.KindEmployer, Rights: []access.Right{access.MedicalView}}, true},
		{"coach with medical.view", access.Principal{Kind: access.KindCoach, Rights: []access.Right{access.MedicalView}}, true},
		{"provider with every other right", access.Principal{Kind: access.KindProvider, Rights: []access.Right{access.EmployeeDossierView,
			access.EmployeesAll, access.DocumentsUpload, access.DocumentsDelete, access.UsersManage}}, false},
		{"the zero principal", access.Principal{}, false},
	} {
		if got := access.CanReadMedical(tt.p); got != tt.want {
			t.Errorf("%s: CanReadMedical = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// Case data is written with documents.upload (CaseDataWrite) and deleted with documents.upload
// and documents.delete together, whatever the kind; the zero Principal, the system, does neither.
func TestCaseDataRules(t *testing.T) {
	t.Parallel()
	up, dd := access.DocumentsUpload, access.DocumentsDelete
	for _, tt := range []struct {
		name   string
		p      access.Principal
		write  string
		delete string
	}{
		{"provider with upload and delete", access.Principal{Kind: access.KindProvider, Rights: []access.Right{up, dd}}, "ok", "ok"},
		{"provider with upload", access.Principal{Kind: access.KindProvider, Rights: []access.Right{up}}, "ok", "forbidden"},
		{"provider with delete", access.Principal{Kind: access.KindProvider, Rights: []access.Right{dd}}, "forbidden", "forbidden"},
		{"employer user with upload", access.Principal{Kind: access.KindEmployer, Rights: []access.Right{up}}, "ok", "forbidden"},
		{"coach with upload", access.Principal{Kind: access.KindCoach, Rights: []access.Right{up}}, "ok", "forbidden"},
		{"provider with every other right", access.Principal{Kind: access.KindProvider, Rights: []access.Right{access.EmployeeDossierView,
			access.EmployeesAll, access.MedicalView, access.UsersManage}}, "forbidden", "forbidden"},
		{"the zero principal", access.Principal{}, "forbidden", "forbidden"},
	} {
		want := []string{tt.write, tt.delete}
		got := []string{outcome(access.CanWriteCaseData(tt.p)), outcome(access.CanDeleteCaseData(tt.p))}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: write, delete (-want +got):\n%s", tt.name, diff)
		}
	}
}

// The links screen is for access.manage only; links add nothing for a user with employees.all.
func TestLinkRules(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		rights []access.Right
		manage string
		none   bool
	}{
		{"access.manage", []access.Right{access.AccessManage}, "ok", false},
		{"users.manage only", []access.Right{access.UsersManage, access.RolesManage}, "forbidden", false},
		{"employees.all", []access.Right{access.EmployeesAll, access.EmployeeDossierView}, "forbidden", true},
		{"both", []access.Right{access.AccessManage, access.EmployeesAll}, "ok", true},
		{"nothing", nil, "forbidden", false},
	} {
		p := access.Principal{Kind: access.KindProvider, Rights: tt.rights}
		if got := outcome(access.CanManageLinks(p)); got != tt.manage {
			t.Errorf("%s: CanManageLinks = %q, want %q", tt.name, got, tt.manage)
		}
		if got := access.LinksAddNothing(tt.rights); got != tt.none {
			t.Errorf("%s: LinksAddNothing = %v, want %v", tt.name, got, tt.none)
		}
	}
}

// A document's dossier is the employee's when it names one (visibility, then
// employee_dossier.view), the employer's otherwise (reach only). A bundle part needs every
// category it holds to be readable, then every employee visible now.
func TestDossierAndBundlePartRules(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.New(t)
	tenant := newTenant(t, db.Pool, "Arbo Regels")

	var a, b, seen, hidden, blacklisted, hr, hrNoView, plain, medical uuid.UUID
	build(t, db.Pool, tenant, func(f *fixture) {
		a, b = f.employer("A"), f.employer("B")
		a1 := f.department(a, "A1")
		seen, hidden, blacklisted = f.employee(a, &a1, "Zichtbaar"), f.employee(a, nil, "Onzichtbaar"), f.employee(a, &a1, "Zwart")
		hr = f.user(access.KindEmployer, []access.Right{access.EmployeeDossierView}, a)
		hrNoView = f.user(access.KindEmployer, nil, a)
		f.linkDepartment(hr, a1)
		f.linkDepartment(hrNoView, a1)
		f.blacklist(hr, blacklisted)
		plain, medical = f.category("Brieven", "employee", false), f.category("Medisch", "employee", true)
		f.permit(f.roleOf(hr), plain, access.LevelRead)
	})
	ptr := func(id uuid.UUID) *uuid.UUID { return &id }
	dossiers := []struct {
		name     string
		user     *uuid.UUID
		employer uuid.UUID
		employee *uuid.UUID
		want     string
	}{
		{"own employer", &hr, a, nil, "ok"},
		{"own employer without employee_dossier.view", &hrNoView, a, nil, "ok"},
		{"another employer", &hr, b, nil, "not_found"},
		{"linked employee", &hr, a, ptr(seen), "ok"},
		{"linked employee without employee_dossier.view", &hrNoView, a, ptr(seen), "forbidden"},
		{"employee outside his links", &hr, a, ptr(hidden), "not_found"},
		{"blacklisted employee", &hr, a, ptr(blacklisted), "not_found"},
		{"employee that does not exist", &hr, a, ptr(uuid.New()), "not_found"},
	}
	parts := []struct {
		name       string
		employees  []uuid.UUID
		categories []uuid.UUID
		want       string
	}{
		{"empty bundle", nil, nil, "ok"},
		{"visible employee, readable category", []uuid.UUID{seen}, []uuid.UUID{plain}, "ok"},
		{"unreadable category", []uuid.UUID{seen}, []uuid.UUID{plain, medical}, "forbidden: fulldossier.error.download_categories"},
		{"hidden employee", []uuid.UUID{seen, hidden}, []uuid.UUID{plain}, "forbidden: fulldossier.error.download_guard"},
		{"blacklisted employee", []uuid.UUID{blacklisted}, nil, "forbidden: fulldossier.error.download_guard"},
		{"both refused: the categories answer", []uuid.UUID{hidden}, []uuid.UUID{medical}, "forbidden: fulldossier.error.download_categories"},
	}
	err := database.InTenant(ctx, db.Pool, tenant, func(tx pgx.Tx) error {
		for _, tt := range dossiers {
			p := principal(ctx, t, tx, tenant, *tt.user)
			if got := outcome(access.CanSeeDossier(ctx, tx, p, tt.employer, tt.employee)); got != tt.want {
				t.Errorf("CanSeeDossier, %s: %q, want %q", tt.name, got, tt.want)
			}
		}
		p := principal(ctx, t, tx, tenant, hr)
		cats, err := access.LoadCategories(ctx, tx, p)
		if err != nil {
			return err
		}
		for _, tt := range parts {
			if got := decision(access.CanDownloadBundlePart(ctx, tx, p, cats, tt.employees, tt.categories)); got != tt.want {
				t.Errorf("CanDownloadBundlePart, %s: %q, want %q", tt.name, got, tt.want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
