package export_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/database/dbtest"
	"github.com/dossierkast/dossierkast/internal/document"
	"github.com/dossierkast/dossierkast/internal/export"
	"github.com/dossierkast/dossierkast/internal/org"
)

// fixture is a tenant with one employer, an employee whose dossier has data in every section,
// a blob store in a temporary folder and an insert-only River client.
type fixture struct {
	ctx      context.Context
	db       dbtest.DB
	tenant   uuid.UUID
	employer org.Employer
	employee org.Employee
	dir      string
	blobs    document.BlobStore
	rc       *river.Client[pgx.Tx]
	log      *slog.Logger
	worker   *export.GenerateExportWorker

	catGeneral, catMedical uuid.UUID
}

func setup(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{ctx: ctx, db: dbtest.New(t), dir: t.TempDir(), log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	tenant, err := org.CreateTenant(ctx, f.db.Pool, "Arbodienst Test", false)
	if err != nil {
		t.Fatal(err)
	}
	f.tenant = tenant.ID
	sys := access.System(audit.Actor{})
	f.inTenant(t, func(tx pgx.Tx) (err error) {
		if f.employer, err = org.CreateEmployer(ctx, tx, sys, org.Employer{Name: "Bouwbedrijf De Vries B.V.", EmployerNumber: "100"}); err != nil {
			return err
		}
		f.employee, err = org.CreateEmployee(ctx, tx, sys, org.Employee{EmployerID: f.employer.ID, PersonnelNumber: "P-1",
			FirstName: "Jan", LastName: "Jansen", BSN: "123456782", City: "Utrecht"})
		if err != nil {
			return err
		}
		g, err := document.CreateCategory(ctx, tx, sys, document.Category{Name: "Correspondentie", Dossier: document.DossierEmployee})
		if err != nil {
			return err
		}
		m, err := document.CreateCategory(ctx, tx, sys, document.Category{Name: "Medisch", Dossier: document.DossierEmployee, Medical: true})
		f.catGeneral, f.catMedical = g.ID, m.ID
		return err
	})
	if f.blobs, err = document.OpenBlobStore(ctx, "file://"+filepath.ToSlash(f.dir)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.blobs.Close() })
	if f.rc, err = river.NewClient[pgx.Tx](riverpgxv5.New(f.db.Pool), &river.Config{Logger: f.log}); err != nil {
		t.Fatal(err)
	}
	f.worker = &export.GenerateExportWorker{Pool: f.db.Pool, Blobs: f.blobs, Log: f.log}
	return f
}

func (f *fixture) inTenant(t testing.TB, fn func(tx pgx.Tx) error) {
	t.Helper()
	if err := database.InTenant(f.ctx, f.db.Pool, f.tenant, fn); err != nil {
		t.Fatal(err)
	}
}

// user makes an active user of kind with a role holding rights, reading both categories, and
// returns his id.
func (f *fixture) user(t testing.TB, kind access.Kind, name string, rights ...access.Right) uuid.UUID {
	t.Helper()
	sys := access.System(audit.Actor{})
	var id uuid.UUID
	f.inTenant(t, func(tx pgx.Tx) error {
		r, err := org.CreateRole(f.ctx, tx, sys, org.Role{Name: "Rol " + uuid.NewString()[:8], Kind: kind, Rights: rights})
		if err != nil {
			return err
		}
		for _, c := range []uuid.UUID{f.catGeneral, f.catMedical} {
			if _, err := access.SetRoleLevels(f.ctx, tx, sys, r.ID, map[uuid.UUID]access.Level{c: access.LevelRead}); err != nil {
				return err
			}
		}
		in := org.UserInput{Email: "u-" + uuid.NewString()[:8] + "@example.test", Name: name, Kind: kind, RoleID: r.ID}
		if kind == access.KindEmployer {
			in.EmployerIDs = []uuid.UUID{f.employer.ID}
		}
		u, err := org.CreateUser(f.ctx, tx, sys, in, "not-a-hash")
		id = u.ID
		return err
	})
	return id
}

// editor is the editor of a request by user.
func (f *fixture) editor(t testing.TB, user uuid.UUID) access.Editor {
	t.Helper()
	var p access.Principal
	f.inTenant(t, func(tx pgx.Tx) (err error) {
		_, p, err = org.LoadPrincipal(f.ctx, tx, f.tenant, user)
		return err
	})
	return access.Editor{Principal: p, Actor: audit.Actor{UserID: &user, IP: "192.0.2.1"}}
}

// request starts an export of the fixture's employee by user and returns it.
func (f *fixture) request(t testing.TB, user uuid.UUID, reason string) export.Export {
	t.Helper()
	var x export.Export
	f.inTenant(t, func(tx pgx.Tx) (err error) {
		x, err = export.RequestExport(f.ctx, tx, f.rc, f.editor(t, user), f.employee.ID, reason)
		return err
	})
	return x
}

// work runs one attempt of the export's job with w and returns its error.
func (f *fixture) work(w *export.GenerateExportWorker, x export.Export, attempt int) error {
	return w.Work(f.ctx, &river.Job[export.GenerateExportArgs]{JobRow: &rivertype.JobRow{Attempt: attempt, MaxAttempts: 5},
		Args: export.GenerateExportArgs{TenantID: f.tenant, ExportID: x.ID}})
}

// find reads the export back.
func (f *fixture) find(t testing.TB, id uuid.UUID) export.Export {
	t.Helper()
	var x export.Export
	f.inTenant(t, func(tx pgx.Tx) (err error) {
		x, err = export.FindExportByID(f.ctx, tx, id)
		return err
	})
	return x
}

// exec runs sql in the tenant.
func (f *fixture) exec(t testing.TB, sql string, args ...any) {
	t.Helper()
	f.inTenant(t, func(tx pgx.Tx) error {
		_, err := tx.Exec(f.ctx, sql, args...)
		return err
	})
}

// count runs a count query in the tenant.
func (f *fixture) count(t testing.TB, sql string, args ...any) int {
	t.Helper()
	var n int
	f.inTenant(t, func(tx pgx.Tx) error { return tx.QueryRow(f.ctx, sql, args...).Scan(&n) })
	return n
}
