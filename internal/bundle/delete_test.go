package bundle_test

import (
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/bundle"
	"github.com/dossierkast/dossierkast/internal/document"
	"github.com/dossierkast/dossierkast/internal/org"
)

// deleteFixture is a dossier to delete: documents of the employer and two employees, a
// generated bundle, a report (case data) and another employer's document, which must all stay
// but the documents and the bundle.
type deleteFixture struct {
	*fixture
	provider uuid.UUID
	count    int   // documents of the employer, bundle parts included
	bytes    int64 // their size
	other    document.Document
}

func setupDelete(t *testing.T) deleteFixture {
	t.Helper()
	f := setup(t)
	d := deleteFixture{fixture: f}
	a, b := f.employee(t, "1", "Aalbers"), f.employee(t, "2", "Bakker")
	add := func(emp *uuid.UUID, cat uuid.UUID, n int) {
		doc := f.upload(t, emp, cat, "doc.pdf", pdf(n))
		d.count++
		d.bytes += doc.Size
	}
	add(nil, f.catEmployer.ID, 3000)
	for i := range 4 {
		add(&a.ID, f.catEmployee.ID, 1000+i)
		add(&b.ID, f.catMedical.ID, 2000+i)
	}
	d.provider = f.user(t, access.KindProvider, f.role(t, access.KindProvider, f.readAll(), fullRights...))
	bun := f.generate(t, d.provider, 1<<30)
	for _, p := range bun.Parts {
		d.count++
		d.bytes += p.Size
	}
	f.inTenant(t, func(tx pgx.Tx) error {
		_, err := tx.Exec(f.ctx, `INSERT INTO reports (tenant_id, employee_id, employer_id, author_id, body, expertise, hidden, medical)
			VALUES (app_tenant(), $1, $2, $3, 'Gesprek', 'bedrijfsarts', false, false)`, a.ID, f.employer.ID, d.provider)
		if err != nil {
			return err
		}
		other, err := org.CreateEmployer(f.ctx, tx, access.System(audit.Actor{}), org.Employer{Name: "Andere werkgever", EmployerNumber: "300"})
		if err != nil {
			return err
		}
		d.other.EmployerID = other.ID
		return nil
	})
	d.other = f.uploadTo(t, d.other.EmployerID, nil, f.catEmployer.ID, "ander.pdf", pdf(500))
	return d
}

// request asks for the deletion and returns its job's args.
func (d deleteFixture) request(t *testing.T) bundle.DeleteDossierArgs {
	t.Helper()
	p, _ := d.principal(t, d.provider)
	var del bundle.Deletion
	d.inTenant(t, func(tx pgx.Tx) (err error) {
		del, err = bundle.RequestDeletion(d.ctx, tx, d.rc, access.Editor{Principal: p, Actor: actor(d.provider)}, d.employer.ID, d.employer.Name)
		return err
	})
	return bundle.DeleteDossierArgs{TenantID: d.tenant, DeletionID: del.ID}
}

// check checks the outcome: the employer's documents, blobs and bundles are gone and counted;
// the report, the employees and the other employer's document stay.
func (d deleteFixture) check(t *testing.T, args bundle.DeleteDossierArgs) {
	t.Helper()
	d.inTenant(t, func(tx pgx.Tx) error {
		var docs, bundles, reports, employees, otherDocs int
		err := tx.QueryRow(d.ctx, `SELECT (SELECT count(*) FROM documents WHERE employer_id = $1), (SELECT count(*) FROM bundles),
			(SELECT count(*) FROM reports), (SELECT count(*) FROM employees WHERE employer_id = $1),
			(SELECT count(*) FROM documents WHERE employer_id = $2)`, d.employer.ID, d.other.EmployerID).
			Scan(&docs, &bundles, &reports, &employees, &otherDocs)
		if err != nil {
			return err
		}
		if docs != 0 || bundles != 0 || reports != 1 || employees != 2 || otherDocs != 1 {
			t.Errorf("after deletion: %d documents, %d bundles, %d reports, %d employees, %d other documents; want 0, 0, 1, 2, 1",
				docs, bundles, reports, employees, otherDocs)
		}
		list, err := bundle.FindDeletions(d.ctx, tx, d.employer.ID)
		if err != nil {
			return err
		}
		if len(list) != 1 || list[0].Status != bundle.StatusDone || list[0].DocumentsDeleted != d.count || list[0].BytesDeleted != d.bytes ||
			list[0].FinishedAt == nil {
			t.Errorf("deletion %+v, want done with %d documents and %d bytes", list, d.count, d.bytes)
		}
		return nil
	})
	d.checkNoOrphans(t)
	if n := d.auditCount(t, "dossier.deleted"); n != 1 {
		t.Errorf("%d dossier.deleted events, want 1", n)
	}
}

func TestDeleteDossier(t *testing.T) {
	t.Parallel()
	d := setupDelete(t)
	args := d.request(t)
	w := &bundle.DeleteDossierWorker{Pool: d.db.Pool, Blobs: d.blobs, BatchSize: 3, Log: d.log}
	if err := w.Work(d.ctx, job(args)); err != nil {
		t.Fatal(err)
	}
	d.check(t, args)
	// Running it again changes nothing.
	if err := w.Work(d.ctx, job(args)); err != nil {
		t.Fatal(err)
	}
	d.check(t, args)
}

// checkRowsHaveBlobs checks that no document row points to a missing blob.
func (f *fixture) checkRowsHaveBlobs(t *testing.T) {
	t.Helper()
	for _, key := range f.storageKeys(t) {
		if _, err := f.blobs.Attributes(f.ctx, key); err != nil {
			t.Errorf("document row with key %s has no blob: %v", key, err)
		}
	}
}
