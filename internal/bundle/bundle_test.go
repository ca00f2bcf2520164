package bundle_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertest"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/bundle"
	"github.com/dossierkast/dossierkast/internal/casefile"
	"github.com/dossierkast/dossierkast/internal/org"
)

// dossier is a small full dossier: an employer document, and employees A and B with an ordinary
// and a medical document each.
type dossier struct {
	a, b  org.Employee
	sizes map[string]int64 // by file name
}

func (f *fixture) smallDossier(t *testing.T) dossier {
	t.Helper()
	d := dossier{a: f.employee(t, "1001", "Aalbers"), b: f.employee(t, "1002", "Bakker"), sizes: map[string]int64{}}
	add := func(emp *uuid.UUID, cat uuid.UUID, name string, n int) {
		f.upload(t, emp, cat, name, pdf(n))
		d.sizes[name] = int64(n)
	}
	add(nil, f.catEmployer.ID, "contract.pdf", 1000)
	add(&d.a.ID, f.catEmployee.ID, "brief-a.pdf", 2000)
	add(&d.a.ID, f.catMedical.ID, "medisch-a.pdf", 3000)
	add(&d.b.ID, f.catEmployee.ID, "brief-b.pdf", 4000)
	add(&d.b.ID, f.catMedical.ID, "medisch-b.pdf", 5000)
	return d
}

func (d dossier) bytes(names ...string) int64 {
	var n int64
	for _, name := range names {
		n += d.sizes[name]
	}
	return n
}

// blacklist puts employee on user's "Geen toegang tot" list.
func (f *fixture) blacklist(t *testing.T, userID, employeeID uuid.UUID) {
	t.Helper()
	f.inTenant(t, func(tx pgx.Tx) error {
		_, err := tx.Exec(f.ctx, "INSERT INTO user_blacklist (tenant_id, user_id, employee_id) VALUES (app_tenant(), $1, $2)", userID, employeeID)
		return err
	})
}

// TestPreviewBundle checks the counts a generation would include, through the same rule as the
// dossier pages: the blacklist, the matrix and medical.view each leave documents out.
func TestPreviewBundle(t *testing.T) {
	t.Parallel()
	f := setup(t)
	d := f.smallDossier(t)

	full := f.user(t, access.KindProvider, f.role(t, access.KindProvider, f.readAll(), fullRights...))
	blacklisted := f.user(t, access.KindEmployer, f.role(t, access.KindEmployer, f.readAll(),
		access.EmployerDossierView, access.EmployeeDossierView, access.EmployeesAll, access.MedicalView, access.FullDossierGenerate))
	f.blacklist(t, blacklisted, d.b.ID)
	// The matrix lets him read the employee category only: not the employer's, not the medical one.
	matrix := f.user(t, access.KindEmployer, f.role(t, access.KindEmployer, map[uuid.UUID]access.Level{f.catEmployee.ID: access.LevelRead},
		access.EmployerDossierView, access.EmployeeDossierView, access.EmployeesAll, access.MedicalView, access.FullDossierGenerate))
	noMedical := f.user(t, access.KindProvider, f.role(t, access.KindProvider, f.readAll(),
		access.EmployerDossierView, access.EmployeeDossierView, access.EmployeesAll, access.FullDossierGenerate))

	for _, c := range []struct {
		name string
		user uuid.UUID
		want bundle.Preview
	}{
		{"Everything", full, bundle.Preview{Documents: 5, Bytes: d.bytes("contract.pdf", "brief-a.pdf", "medisch-a.pdf", "brief-b.pdf", "medisch-b.pdf")}},
		{"Blacklist", blacklisted, bundle.Preview{Documents: 3, Bytes: d.bytes("contract.pdf", "brief-a.pdf", "medisch-a.pdf"), LeftOut: 2,
			LeftBytes: d.bytes("brief-b.pdf", "medisch-b.pdf")}},
		{"Matrix", matrix, bundle.Preview{Documents: 2, Bytes: d.bytes("brief-a.pdf", "brief-b.pdf"), LeftOut: 3,
			LeftBytes: d.bytes("contract.pdf", "medisch-a.pdf", "medisch-b.pdf")}},
		{"NoMedicalView", noMedical, bundle.Preview{Documents: 3, Bytes: d.bytes("contract.pdf", "brief-a.pdf", "brief-b.pdf"), LeftOut: 2,
			LeftBytes: d.bytes("medisch-a.pdf", "medisch-b.pdf")}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, cats := f.principal(t, c.user)
			var got bundle.Preview
			f.inTenant(t, func(tx pgx.Tx) (err error) {
				got, err = bundle.PreviewBundle(f.ctx, tx, p, cats, f.employer.ID)
				return err
			})
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("preview (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRequestBundle(t *testing.T) {
	t.Parallel()
	f := setup(t)
	provider := f.user(t, access.KindProvider, f.role(t, access.KindProvider, f.readAll(), fullRights...))
	p, _ := f.principal(t, provider)

	var b bundle.Bundle
	f.inTenant(t, func(tx pgx.Tx) (err error) {
		if b, err = bundle.RequestBundle(f.ctx, tx, f.rc, access.Editor{Principal: p, Actor: actor(provider)}, f.employer.ID); err != nil {
			return err
		}
		job := rivertest.RequireInsertedTx[*riverpgxv5.Driver](f.ctx, t, tx, &bundle.GenerateBundleArgs{}, nil)
		if job.Args.BundleID != b.ID || job.Args.TenantID != f.tenant {
			t.Errorf("job args %+v, want bundle %s of tenant %s", job.Args, b.ID, f.tenant)
		}
		return nil
	})
	if b.Status != bundle.StatusPending || b.RequesterKind != access.KindProvider || b.RequestedBy != provider ||
		b.EmployerID != f.employer.ID || b.ExpiresAt.Sub(b.CreatedAt) != bundle.Lifetime || b.RequestedByName == "" {
		t.Errorf("requested bundle %+v", b)
	}
	if n := f.auditCount(t, audit.BundleRequested); n != 1 {
		t.Errorf("%d bundle.requested events, want 1", n)
	}

	t.Run("SecondWhilePending", func(t *testing.T) {
		err := f.try(func(tx pgx.Tx) error {
			_, err := bundle.RequestBundle(f.ctx, tx, f.rc, access.Editor{Principal: p, Actor: actor(provider)}, f.employer.ID)
			return err
		})
		wantCode(t, err, apperr.ECONFLICT)
	})
	t.Run("OtherUserMayRequest", func(t *testing.T) {
		other := f.user(t, access.KindProvider, f.role(t, access.KindProvider, f.readAll(), fullRights...))
		po, _ := f.principal(t, other)
		if err := f.try(func(tx pgx.Tx) error {
			_, err := bundle.RequestBundle(f.ctx, tx, f.rc, access.Editor{Principal: po, Actor: actor(other)}, f.employer.ID)
			return err
		}); err != nil {
			t.Error(err)
		}
	})
	t.Run("WithoutProduct", func(t *testing.T) {
		var plain org.Employer
		f.inTenant(t, func(tx pgx.Tx) (err error) {
			plain, err = org.CreateEmployer(f.ctx, tx, access.System(audit.Actor{}), org.Employer{Name: "Zonder product", EmployerNumber: "200"})
			return err
		})
		pp, _ := f.principal(t, provider) // his reach now holds the new employer
		err := f.try(func(tx pgx.Tx) error {
			_, err := bundle.RequestBundle(f.ctx, tx, f.rc, access.Editor{Principal: pp, Actor: actor(provider)}, plain.ID)
			return err
		})
		// The access rule refuses it, as the full-dossier page does.
		wantCode(t, err, apperr.EFORBIDDEN)
		if e, _ := apperr.As(err); e == nil || e.Message != "fulldossier.error.product" {
			t.Errorf("error %v, want fulldossier.error.product", err)
		}
	})
	t.Run("Coach", func(t *testing.T) {
		var provID uuid.UUID
		f.inTenant(t, func(tx pgx.Tx) error {
			pr, err := casefile.CreateProvider(f.ctx, tx, access.System(audit.Actor{}), "Coaching B.V.")
			provID = pr.ID
			return err
		})
		roleID := f.role(t, access.KindCoach, nil, access.EmployeeDossierView)
		var coach uuid.UUID
		f.inTenant(t, func(tx pgx.Tx) error {
			u, err := org.CreateUser(f.ctx, tx, access.System(audit.Actor{}), org.UserInput{Email: "coach@example.test", Name: "Coach", Kind: access.KindCoach,
				RoleID: roleID, ProviderID: &provID}, "x")
			coach = u.ID
			return err
		})
		pc, _ := f.principal(t, coach)
		err := f.try(func(tx pgx.Tx) error {
			_, err := bundle.RequestBundle(f.ctx, tx, f.rc, access.Editor{Principal: pc, Actor: actor(coach)}, f.employer.ID)
			return err
		})
		wantCode(t, err, apperr.EFORBIDDEN)
	})
	t.Run("FindBundlesByKind", func(t *testing.T) {
		employerUser := f.user(t, access.KindEmployer, f.role(t, access.KindEmployer, f.readAll(), access.EmployerDossierView, access.FullDossierGenerate))
		pe, _ := f.principal(t, employerUser)
		f.inTenant(t, func(tx pgx.Tx) error {
			list, err := bundle.FindBundles(f.ctx, tx, p, f.employer.ID)
			if err != nil {
				return err
			}
			if len(list) != 2 || list[1].ID != b.ID {
				t.Errorf("provider sees %d bundles, want 2 with the first request last", len(list))
			}
			list, err = bundle.FindBundles(f.ctx, tx, pe, f.employer.ID)
			if err != nil {
				return err
			}
			if len(list) != 0 {
				t.Errorf("employer user sees %d provider bundles, want 0", len(list))
			}
			return nil
		})
	})
	t.Run("Retry", func(t *testing.T) {
		err := f.try(func(tx pgx.Tx) error {
			_, err := bundle.RetryBundle(f.ctx, tx, f.rc, access.Editor{Principal: p, Actor: actor(provider)}, b.ID)
			return err
		})
		wantCode(t, err, apperr.ECONFLICT)
		f.inTenant(t, func(tx pgx.Tx) error {
			_, err := tx.Exec(f.ctx, "UPDATE bundles SET status = 'failed', error = 'bundle.error.internal', finished_at = now() WHERE id = $1", b.ID)
			return err
		})
		// Who may retry is the access engine's decision: only the requester, not a colleague of
		// his kind who could generate himself, nor a user of the other kind.
		colleague := f.user(t, access.KindProvider, f.role(t, access.KindProvider, f.readAll(), fullRights...))
		employerUser := f.user(t, access.KindEmployer, f.role(t, access.KindEmployer, f.readAll(), access.EmployerDossierView, access.FullDossierGenerate))
		for name, tc := range map[string]struct {
			user uuid.UUID
			want apperr.Code
		}{"Colleague": {colleague, apperr.EFORBIDDEN}, "OtherKind": {employerUser, apperr.ENOTFOUND}} {
			pc, _ := f.principal(t, tc.user)
			err := f.try(func(tx pgx.Tx) error {
				_, err := bundle.RetryBundle(f.ctx, tx, f.rc, access.Editor{Principal: pc, Actor: actor(tc.user)}, b.ID)
				return err
			})
			if got := apperr.CodeOf(err); got != tc.want {
				t.Errorf("%s: retry gives %v, want %s", name, err, tc.want)
			}
		}
		f.inTenant(t, func(tx pgx.Tx) error {
			got, err := bundle.RetryBundle(f.ctx, tx, f.rc, access.Editor{Principal: p, Actor: actor(provider)}, b.ID)
			if err != nil {
				return err
			}
			if got.Status != bundle.StatusPending || got.Error != "" || got.FinishedAt != nil || got.RequestedBy != provider {
				t.Errorf("retried bundle %+v", got)
			}
			return nil
		})
		if n := f.auditCount(t, audit.BundleRetried); n != 1 {
			t.Errorf("%d bundle.retried events, want 1", n)
		}
		wantCode(t, f.try(func(tx pgx.Tx) error {
			_, err := bundle.FindBundleByID(f.ctx, tx, uuid.New())
			return err
		}), apperr.ENOTFOUND)
	})
}

func TestRequestDeletion(t *testing.T) {
	t.Parallel()
	f := setup(t)
	provider := f.user(t, access.KindProvider, f.role(t, access.KindProvider, f.readAll(), fullRights...))
	p, _ := f.principal(t, provider)
	request := func(confirm string) (bundle.Deletion, error) {
		var d bundle.Deletion
		err := f.try(func(tx pgx.Tx) (err error) {
			d, err = bundle.RequestDeletion(f.ctx, tx, f.rc, access.Editor{Principal: p, Actor: actor(provider)}, f.employer.ID, confirm)
			return err
		})
		return d, err
	}
	for _, wrong := range []string{"", "bouwbedrijf de vries b.v.", "Bouwbedrijf De Vries"} {
		_, err := request(wrong)
		wantCode(t, err, apperr.EINVALID)
		if e, _ := apperr.As(err); e == nil || e.Fields["confirm_name"] != "bundle.error.confirm_name" {
			t.Errorf("confirm %q: error %v, want a confirm_name field error", wrong, err)
		}
	}
	d, err := request("  " + f.employer.Name + " ")
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != bundle.StatusPending || d.EmployerID != f.employer.ID || d.RequestedBy != provider {
		t.Errorf("deletion %+v", d)
	}
	_, err = request(f.employer.Name)
	wantCode(t, err, apperr.ECONFLICT)
	f.inTenant(t, func(tx pgx.Tx) error {
		list, err := bundle.FindDeletions(f.ctx, tx, f.employer.ID)
		if err != nil {
			return err
		}
		if len(list) != 1 || list[0].ID != d.ID {
			t.Errorf("deletions %+v, want the one requested", list)
		}
		rivertest.RequireInsertedTx[*riverpgxv5.Driver](f.ctx, t, tx, &bundle.DeleteDossierArgs{}, nil)
		return nil
	})
	if n := f.auditCount(t, audit.DossierDeletionRequested); n != 1 {
		t.Errorf("%d deletion requests audited, want 1", n)
	}
}
