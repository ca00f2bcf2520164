package bundle_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/database/dbtest"
	"github.com/dossierkast/dossierkast/internal/document"
	"github.com/dossierkast/dossierkast/internal/org"
)

// fixture is a tenant with one employer that has the full-dossier product, a category in each
// dossier plus a medical one, a blob store in a temporary folder and an insert-only River client.
type fixture struct {
	ctx      context.Context
	db       dbtest.DB
	tenant   uuid.UUID
	employer org.Employer
	dir      string
	blobs    document.BlobStore
	svc      *document.Service
	rc       *river.Client[pgx.Tx]
	log      *slog.Logger

	catEmployer, catEmployee, catMedical document.Category
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
	f.inTenant(t, func(tx pgx.Tx) (err error) {
		f.employer, err = org.CreateEmployer(ctx, tx, access.System(audit.Actor{}), org.Employer{Name: "Bouwbedrijf De Vries B.V.", EmployerNumber: "100",
			Products: []string{org.ProductFullDossier}})
		if err != nil {
			return err
		}
		mk := func(name string, d document.Dossier, medical bool) document.Category {
			if err != nil {
				return document.Category{}
			}
			var c document.Category
			c, err = document.CreateCategory(ctx, tx, access.System(audit.Actor{}), document.Category{Name: name, Dossier: d, Medical: medical})
			return c
		}
		f.catEmployer = mk("Contracten", document.DossierEmployer, false)
		f.catEmployee = mk("Correspondentie", document.DossierEmployee, false)
		f.catMedical = mk("Medisch", document.DossierEmployee, true)
		return err
	})
	if f.blobs, err = document.OpenBlobStore(ctx, "file://"+filepath.ToSlash(f.dir)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.blobs.Close() })
	f.svc = document.NewService(f.blobs, 0, f.log)
	if f.rc, err = river.NewClient[pgx.Tx](riverpgxv5.New(f.db.Pool), &river.Config{Logger: f.log}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) inTenant(t testing.TB, fn func(tx pgx.Tx) error) {
	t.Helper()
	if err := database.InTenant(f.ctx, f.db.Pool, f.tenant, fn); err != nil {
		t.Fatal(err)
	}
}

// try runs fn in a transaction of the fixture's tenant and returns its error.
func (f *fixture) try(fn func(tx pgx.Tx) error) error {
	return database.InTenant(f.ctx, f.db.Pool, f.tenant, fn)
}

// role makes a role of kind with rights, and the matrix levels given per category.
func (f *fixture) role(t testing.TB, kind access.Kind, levels map[uuid.UUID]access.Level, rights ...access.Right) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	f.inTenant(t, func(tx pgx.Tx) error {
		r, err := org.CreateRole(f.ctx, tx, access.System(audit.Actor{}), org.Role{Name: "Rol " + uuid.NewString()[:8], Kind: kind, Rights: rights})
		if err != nil {
			return err
		}
		id = r.ID
		for c, l := range levels {
			if _, err := access.SetRoleLevels(f.ctx, tx, access.System(audit.Actor{}), r.ID, map[uuid.UUID]access.Level{c: l}); err != nil {
				return err
			}
		}
		return nil
	})
	return id
}

// readAll is the matrix level read for the fixture's three categories.
func (f *fixture) readAll() map[uuid.UUID]access.Level {
	return map[uuid.UUID]access.Level{f.catEmployer.ID: access.LevelRead, f.catEmployee.ID: access.LevelRead, f.catMedical.ID: access.LevelRead}
}

// fullRights are the rights of a user who may see and bundle everything.
var fullRights = []access.Right{access.EmployerDossierView, access.EmployeeDossierView, access.EmployeesAll,
	access.MedicalView, access.FullDossierGenerate, access.FullDossierDelete}

// user makes an active user of kind with the role (employer users belong to the fixture's
// employer) and returns his id.
func (f *fixture) user(t testing.TB, kind access.Kind, roleID uuid.UUID) uuid.UUID {
	t.Helper()
	in := org.UserInput{Email: "u-" + uuid.NewString()[:8] + "@example.test", Name: "Gebruiker " + string(kind), Kind: kind, RoleID: roleID}
	if kind == access.KindEmployer {
		in.EmployerIDs = []uuid.UUID{f.employer.ID}
	}
	var id uuid.UUID
	f.inTenant(t, func(tx pgx.Tx) error {
		u, err := org.CreateUser(f.ctx, tx, access.System(audit.Actor{}), in, "not-a-hash")
		id = u.ID
		return err
	})
	return id
}

// principal loads the user's principal and categories as a request would.
func (f *fixture) principal(t testing.TB, userID uuid.UUID) (access.Principal, access.Categories) {
	t.Helper()
	var p access.Principal
	var cats access.Categories
	f.inTenant(t, func(tx pgx.Tx) (err error) {
		if _, p, err = org.LoadPrincipal(f.ctx, tx, f.tenant, userID); err != nil {
			return err
		}
		cats, err = access.LoadCategories(f.ctx, tx, p)
		return err
	})
	return p, cats
}

// employee adds an employee of the fixture's employer.
func (f *fixture) employee(t testing.TB, number, lastName string) org.Employee {
	t.Helper()
	var e org.Employee
	f.inTenant(t, func(tx pgx.Tx) (err error) {
		e, err = org.CreateEmployee(f.ctx, tx, access.System(audit.Actor{}), org.Employee{EmployerID: f.employer.ID, PersonnelNumber: number, FirstName: "Jan", LastName: lastName})
		return err
	})
	return e
}

// upload stores a document in the employer dossier (employee nil) or an employee's.
func (f *fixture) upload(t testing.TB, employee *uuid.UUID, category uuid.UUID, name string, content []byte) document.Document {
	t.Helper()
	return f.uploadTo(t, f.employer.ID, employee, category, name, content)
}

// uploadTo stores a document in another employer's dossier.
func (f *fixture) uploadTo(t testing.TB, employer uuid.UUID, employee *uuid.UUID, category uuid.UUID, name string, content []byte) document.Document {
	t.Helper()
	d, err := f.svc.Upload(f.ctx, f.db.Pool, access.System(audit.Actor{}), f.tenant, document.NewDocument{EmployerID: employer, EmployeeID: employee,
		CategoryID: category, FileName: name}, bytes.NewReader(content))
	if err != nil {
		t.Fatalf("upload %s: %v", name, err)
	}
	return d
}

// pdf returns n bytes that sniff as a PDF, random after the header (so they do not compress).
func pdf(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	copy(b, "%PDF-1.7\n")
	return b
}

// text returns n bytes of compressible text.
func text(n int) []byte {
	return []byte(strings.Repeat("Verslag van het gesprek. ", n/25+1)[:n])
}

// blobFiles lists the regular files in the blob folder, relative to it.
func (f *fixture) blobFiles(t testing.TB) []string {
	t.Helper()
	var list []string
	err := filepath.WalkDir(f.dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			rel, _ := filepath.Rel(f.dir, path)
			list = append(list, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// storageKeys lists the storage keys of every document row of the tenant.
func (f *fixture) storageKeys(t testing.TB) []string {
	t.Helper()
	var keys []string
	f.inTenant(t, func(tx pgx.Tx) error {
		rows, err := tx.Query(f.ctx, "SELECT storage_key FROM documents ORDER BY storage_key")
		if err != nil {
			return err
		}
		keys, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	return keys
}

// auditCount counts the tenant's audit events of action.
func (f *fixture) auditCount(t testing.TB, action string) int {
	t.Helper()
	var n int
	f.inTenant(t, func(tx pgx.Tx) error {
		return tx.QueryRow(f.ctx, "SELECT count(*) FROM audit_events WHERE action = $1", action).Scan(&n)
	})
	return n
}

func wantCode(t testing.TB, err error, code apperr.Code) {
	t.Helper()
	if got := apperr.CodeOf(err); got != code {
		t.Errorf("error %v has code %s, want %s", err, got, code)
	}
}

func actor(userID uuid.UUID) audit.Actor { return audit.Actor{UserID: &userID, IP: "192.0.2.1"} }

func name(i int) string { return fmt.Sprintf("%04d", i) }
