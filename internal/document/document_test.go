package document_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/database/dbtest"
	"github.com/dossierkast/dossierkast/internal/document"
	"github.com/dossierkast/dossierkast/internal/org"
)

// testBundle is a tenant with one employer and one employee, a blob store in a temporary folder
// and a document service on it.
type testBundle struct {
	ctx      context.Context
	db       dbtest.DB
	tenant   uuid.UUID
	employer uuid.UUID
	employee uuid.UUID
	dir      string
	blobs    document.BlobStore
	svc      *document.Service
}

func setup(t *testing.T, maxSize int64) *testBundle {
	t.Helper()
	ctx := context.Background()
	b := &testBundle{ctx: ctx, db: dbtest.New(t), dir: t.TempDir()}
	tenant, err := org.CreateTenant(ctx, b.db.Pool, "Arbodienst Test", false)
	if err != nil {
		t.Fatal(err)
	}
	b.tenant = tenant.ID
	b.inTenant(t, func(tx pgx.Tx) error {
		em, err := org.CreateEmployer(ctx, tx, access.System(audit.Actor{}), org.Employer{Name: "Bouwbedrijf Test", EmployerNumber: "100"})
		if err != nil {
			return err
		}
		e, err := org.CreateEmployee(ctx, tx, access.System(audit.Actor{}), org.Employee{EmployerID: em.ID, PersonnelNumber: "1", LastName: "Jansen"})
		b.employer, b.employee = em.ID, e.ID
		return err
	})
	if b.blobs, err = document.OpenBlobStore(ctx, "file://"+filepath.ToSlash(b.dir)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.blobs.Close() })
	b.svc = document.NewService(b.blobs, maxSize, slog.New(slog.NewTextHandler(io.Discard, nil)))
	return b
}

func (b *testBundle) inTenant(t *testing.T, fn func(tx pgx.Tx) error) {
	t.Helper()
	if err := database.InTenant(b.ctx, b.db.Pool, b.tenant, fn); err != nil {
		t.Fatal(err)
	}
}

// category makes a category of the employee dossier.
func (b *testBundle) category(t *testing.T, name string, dossier document.Dossier) document.Category {
	t.Helper()
	var c document.Category
	b.inTenant(t, func(tx pgx.Tx) (err error) {
		c, err = document.CreateCategory(b.ctx, tx, access.System(audit.Actor{}), document.Category{Name: name, Dossier: dossier})
		return err
	})
	return c
}

// files lists the regular files in the blob folder, relative to it.
func (b *testBundle) files(t *testing.T) []string {
	t.Helper()
	var list []string
	err := filepath.WalkDir(b.dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			rel, _ := filepath.Rel(b.dir, path)
			list = append(list, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func (b *testBundle) documentCount(t *testing.T) int {
	t.Helper()
	var n int
	b.inTenant(t, func(tx pgx.Tx) error { return tx.QueryRow(b.ctx, "SELECT count(*) FROM documents").Scan(&n) })
	return n
}

func wantCode(t *testing.T, err error, code apperr.Code) {
	t.Helper()
	if got := apperr.CodeOf(err); got != code {
		t.Errorf("error %v has code %s, want %s", err, got, code)
	}
}

func pdf(n int) []byte {
	b := append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("x"), max(n-9, 0))...)
	return b[:n]
}

func TestPutBlob(t *testing.T) {
	t.Parallel()
	b := setup(t, 1<<20)
	content := pdf(300 << 10)
	blob, err := b.svc.PutBlob(b.ctx, "documents/x/1", bytes.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	want := document.Blob{Key: "documents/x/1", Size: int64(len(content)), SHA256: hex.EncodeToString(sum[:]), ContentType: "application/pdf"}
	if diff := cmp.Diff(want, blob); diff != "" {
		t.Errorf("blob (-want +got):\n%s", diff)
	}
	stored, err := os.ReadFile(filepath.Join(b.dir, "documents", "x", "1"))
	if err != nil || !bytes.Equal(stored, content) {
		t.Errorf("stored bytes differ (err %v)", err)
	}
	if diff := cmp.Diff([]string{"documents/x/1"}, b.files(t)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}

	t.Run("ExactlyAtLimit", func(t *testing.T) {
		blob, err := b.svc.PutBlob(b.ctx, "documents/x/2", bytes.NewReader(make([]byte, 1<<20)))
		if err != nil || blob.Size != 1<<20 {
			t.Errorf("PutBlob at the limit = %+v, %v", blob, err)
		}
	})
	t.Run("Empty", func(t *testing.T) {
		blob, err := b.svc.PutBlob(b.ctx, "documents/x/3", bytes.NewReader(nil))
		if err != nil || blob.Size != 0 || blob.SHA256 != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
			t.Errorf("PutBlob(empty) = %+v, %v", blob, err)
		}
	})
}

// TestPutBlobManyBlocks streams a file of several blocks, handed over in uneven pieces, so that
// writing and hashing overlap: the stored bytes and the SHA-256 must still be the file's.
func TestPutBlobManyBlocks(t *testing.T) {
	t.Parallel()
	b := setup(t, 8<<20)
	content := make([]byte, 5<<20+12345)
	rand.Read(content)
	copy(content, "\x00\x01\x02\x03\x04\x05\x06\x07") // binary for the sniffer, whatever follows
	blob, err := b.svc.PutBlob(b.ctx, "documents/x/1", iotest.HalfReader(bytes.NewReader(content)))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	want := document.Blob{Key: "documents/x/1", Size: int64(len(content)), SHA256: hex.EncodeToString(sum[:]),
		ContentType: "application/octet-stream"}
	if diff := cmp.Diff(want, blob); diff != "" {
		t.Errorf("blob (-want +got):\n%s", diff)
	}
	stored, err := os.ReadFile(filepath.Join(b.dir, "documents", "x", "1"))
	if err != nil || !bytes.Equal(stored, content) {
		t.Errorf("stored bytes differ (err %v)", err)
	}
}

// failingReader gives n bytes, then an error: a client that goes away mid-upload.
type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, errors.New("connection reset")
	}
	k := min(len(p), r.n)
	r.n -= k
	return k, nil
}

func TestPutBlobLeavesNothingBehind(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		r    io.Reader
		code apperr.Code
	}{
		{"PastLimit", bytes.NewReader(make([]byte, 64<<10+1)), apperr.ETOOLARGE},
		{"FarPastLimit", bytes.NewReader(make([]byte, 5<<20)), apperr.ETOOLARGE},
		{"ClientGone", &failingReader{n: 40 << 10}, apperr.EINTERNAL},
		// A body cut short (net/http's error when a client leaves mid-upload) is no end of file.
		{"CutShort", io.MultiReader(bytes.NewReader(make([]byte, 40<<10)), iotest.ErrReader(io.ErrUnexpectedEOF)), apperr.EINTERNAL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, 64<<10)
			_, err := b.svc.PutBlob(b.ctx, "documents/x/1", tt.r)
			wantCode(t, err, tt.code)
			if e, ok := apperr.As(err); ok && tt.code == apperr.ETOOLARGE {
				if e.Message != "document.error.too_large" || len(e.Args) != 1 || e.Args[0] != "64 KB" {
					t.Errorf("error = %s %v, want document.error.too_large [64 KB]", e.Message, e.Args)
				}
			}
			if files := b.files(t); len(files) != 0 {
				t.Errorf("files left behind: %v", files)
			}
		})
	}
}

// fullStore's writers fail once they have taken 2 MiB, as on a full disk.
type fullStore struct{ document.BlobStore }

func (s fullStore) NewWriter(ctx context.Context, key, contentType string) (io.WriteCloser, error) {
	w, err := s.BlobStore.NewWriter(ctx, key, contentType)
	return &fullWriter{WriteCloser: w, room: 2 << 20}, err
}

type fullWriter struct {
	io.WriteCloser
	room int
}

func (w *fullWriter) Write(p []byte) (int, error) {
	if len(p) > w.room {
		return 0, errors.New("no space left on device")
	}
	w.room -= len(p)
	return w.WriteCloser.Write(p)
}

func TestPutBlobWriteFails(t *testing.T) {
	t.Parallel()
	b := setup(t, 64<<20)
	svc := document.NewService(fullStore{b.blobs}, 64<<20, slog.New(slog.NewTextHandler(io.Discard, nil)))
	_, err := svc.PutBlob(b.ctx, "documents/x/1", bytes.NewReader(make([]byte, 16<<20)))
	if err == nil || !strings.Contains(err.Error(), "no space left on device") {
		t.Errorf("PutBlob on a full disk = %v", err)
	}
	if files := b.files(t); len(files) != 0 {
		t.Errorf("files left behind: %v", files)
	}
}

func TestUploadStoresRowAndBlob(t *testing.T) {
	t.Parallel()
	b := setup(t, 1<<20)
	cat := b.category(t, "Verzuim", document.DossierEmployee)
	content := pdf(100 << 10)
	n := document.NewDocument{EmployeeID: &b.employee, CategoryID: cat.ID, FileName: `..\..\Verzuimverslag – Ä.pdf`}
	d, err := b.svc.Upload(b.ctx, b.db.Pool, access.System(audit.Actor{UserAgent: "upload test"}), b.tenant, n, bytes.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	var events int
	b.inTenant(t, func(tx pgx.Tx) error {
		return tx.QueryRow(b.ctx, "SELECT count(*) FROM audit_events WHERE action = $1 AND subject_id = $2 AND user_agent = 'upload test'",
			audit.DocumentUploaded, d.ID).Scan(&events)
	})
	if events != 1 {
		t.Errorf("document.uploaded events = %d, want 1", events)
	}
	if d.FileName != "Verzuimverslag – Ä.pdf" || d.EmployerID != b.employer || d.CategoryName != "Verzuim" ||
		d.Size != int64(len(content)) || d.ContentType != "application/pdf" {
		t.Errorf("document = %+v", d)
	}
	if want := document.StorageKey(b.tenant, d.ID); d.StorageKey != want {
		t.Errorf("storage key = %q, want %q", d.StorageKey, want)
	}
	if diff := cmp.Diff([]string{d.StorageKey}, b.files(t)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}

	t.Run("OpenWithRanges", func(t *testing.T) {
		r, err := b.svc.Open(b.ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if _, ok := r.(*document.BlobFile); !ok {
			t.Errorf("Open from a folder gives a %T, want its *document.BlobFile (for sendfile)", r)
		}
		buf := make([]byte, 10)
		if _, err := r.Seek(50_000, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(r, buf); err != nil || !bytes.Equal(buf, content[50_000:50_010]) {
			t.Errorf("read at 50000 = %q, %v", buf, err)
		}
		if _, err := r.Seek(0, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		all, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(all, content) {
			t.Errorf("read all: %d bytes, %v", len(all), err)
		}
		if end, _ := r.Seek(0, io.SeekEnd); end != int64(len(content)) {
			t.Errorf("seek end = %d", end)
		}
	})

	t.Run("OpenMissingBlob", func(t *testing.T) {
		ghost := d
		ghost.StorageKey = "documents/nothing/here"
		if _, err := b.svc.Open(b.ctx, ghost); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Open(missing blob) = %v, want fs.ErrNotExist", err)
		}
	})

	t.Run("OpenWrongSize", func(t *testing.T) {
		wrong := d
		wrong.Size++
		if r, err := b.svc.Open(b.ctx, wrong); err == nil {
			r.Close()
			t.Error("Open(blob of another size) succeeded")
		}
	})
}

func TestUploadUndoneWhenNotRecorded(t *testing.T) {
	t.Parallel()
	b := setup(t, 1<<20)
	cat := b.category(t, "Verzuim", document.DossierEmployee)
	employerCat := b.category(t, "Contracten", document.DossierEmployer)
	system := access.System(audit.Actor{})
	tests := []struct {
		name string
		n    document.NewDocument
		ed   access.Editor
		code apperr.Code
	}{
		{"NobodyRefused", document.NewDocument{EmployeeID: &b.employee, CategoryID: cat.ID, FileName: "a.txt"},
			access.Editor{}, apperr.ENOTFOUND},
		{"CategoryOfOtherDossier", document.NewDocument{EmployeeID: &b.employee, CategoryID: employerCat.ID, FileName: "a.txt"},
			system, apperr.EINVALID},
		{"UnknownCategory", document.NewDocument{EmployeeID: &b.employee, CategoryID: uuid.New(), FileName: "a.txt"},
			system, apperr.ENOTFOUND},
		{"UnknownEmployee", document.NewDocument{EmployeeID: new(uuid.New()), CategoryID: cat.ID, FileName: "a.txt"},
			system, apperr.ENOTFOUND},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := b.svc.Upload(b.ctx, b.db.Pool, tt.ed, b.tenant, tt.n, bytes.NewReader([]byte("hallo")))
			wantCode(t, err, tt.code)
			if files := b.files(t); len(files) != 0 {
				t.Errorf("files left behind: %v", files)
			}
			if n := b.documentCount(t); n != 0 {
				t.Errorf("%d document rows, want 0", n)
			}
		})
	}
}

func TestDelete(t *testing.T) {
	t.Parallel()
	b := setup(t, 1<<20)
	cat := b.category(t, "Contracten", document.DossierEmployer)
	d, err := b.svc.Upload(b.ctx, b.db.Pool, access.System(audit.Actor{}), b.tenant, document.NewDocument{EmployerID: b.employer, CategoryID: cat.ID,
		FileName: "contract.txt"}, bytes.NewReader([]byte("contract")))
	if err != nil {
		t.Fatal(err)
	}
	if d.EmployeeID != nil || d.Dossier() != document.DossierEmployer {
		t.Errorf("document of the employer dossier = %+v", d)
	}

	_, err = b.svc.Delete(b.ctx, b.db.Pool, access.Editor{}, b.tenant, d.ID)
	wantCode(t, err, apperr.ENOTFOUND)
	if b.documentCount(t) != 1 || len(b.files(t)) != 1 {
		t.Fatal("a refused delete removed the document")
	}

	got, err := b.svc.Delete(b.ctx, b.db.Pool, access.System(audit.Actor{}), b.tenant, d.ID)
	if err != nil || got.ID != d.ID {
		t.Fatalf("Delete = %+v, %v", got, err)
	}
	if n, files := b.documentCount(t), b.files(t); n != 0 || len(files) != 0 {
		t.Errorf("after delete: %d rows, files %v", n, files)
	}
	_, err = b.svc.Delete(b.ctx, b.db.Pool, access.System(audit.Actor{}), b.tenant, d.ID)
	wantCode(t, err, apperr.ENOTFOUND)
}

func TestCategories(t *testing.T) {
	t.Parallel()
	b := setup(t, 1<<20)
	ctx := b.ctx
	var system document.Category
	b.inTenant(t, func(tx pgx.Tx) (err error) {
		system, err = document.FindSystemCategory(ctx, tx, document.SystemFullDossierProvider)
		return err
	})
	if system.Name != "Volledig dossier (provider)" || system.Dossier != document.DossierEmployer || !system.IsSystem() {
		t.Fatalf("system category = %+v", system)
	}
	medical := document.Category{Name: "  Medische   gegevens ", Dossier: document.DossierEmployee, Medical: true}
	b.inTenant(t, func(tx pgx.Tx) (err error) {
		medical, err = document.CreateCategory(ctx, tx, access.System(audit.Actor{}), medical)
		return err
	})
	if medical.Name != "Medische gegevens" || !medical.Medical || medical.IsSystem() {
		t.Errorf("created = %+v", medical)
	}

	// Each case runs in its own transaction and is rolled back.
	tests := []struct {
		name  string
		fn    func(tx pgx.Tx) error
		code  apperr.Code
		field string
	}{
		{"SameNameOtherDossier", func(tx pgx.Tx) error {
			_, err := document.CreateCategory(ctx, tx, access.System(audit.Actor{}), document.Category{Name: "Medische gegevens", Dossier: document.DossierEmployer})
			return err
		}, "", ""},
		{"SameNameSameDossier", func(tx pgx.Tx) error {
			_, err := document.CreateCategory(ctx, tx, access.System(audit.Actor{}), document.Category{Name: "Medische gegevens", Dossier: document.DossierEmployee})
			return err
		}, apperr.ECONFLICT, "name"},
		{"NoName", func(tx pgx.Tx) error {
			_, err := document.CreateCategory(ctx, tx, access.System(audit.Actor{}), document.Category{Name: " ", Dossier: document.DossierEmployee})
			return err
		}, apperr.EINVALID, "name"},
		{"BadDossier", func(tx pgx.Tx) error {
			_, err := document.CreateCategory(ctx, tx, access.System(audit.Actor{}), document.Category{Name: "X", Dossier: "both"})
			return err
		}, apperr.EINVALID, "dossier"},
		{"Rename", func(tx pgx.Tx) error {
			c, err := document.UpdateCategory(ctx, tx, admin, medical.ID, document.CategoryUpdate{Name: "Medisch", Medical: false})
			if err == nil && (c.Name != "Medisch" || c.Medical || c.Dossier != document.DossierEmployee) {
				t.Errorf("updated = %+v", c)
			}
			return err
		}, "", ""},
		{"RenameSystem", func(tx pgx.Tx) error {
			_, err := document.UpdateCategory(ctx, tx, admin, system.ID, document.CategoryUpdate{Name: "Iets anders"})
			return err
		}, apperr.EINVALID, ""},
		{"DeleteSystem", func(tx pgx.Tx) error {
			return document.DeleteCategory(ctx, tx, admin, system.ID)
		}, apperr.EINVALID, ""},
		// The trigger guards against a bug that bypasses the checks above: a 500, not a user's error.
		{"TriggerKeepsSystem", func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, "UPDATE document_categories SET name = 'x' WHERE id = $1", system.ID)
			return err
		}, apperr.EINTERNAL, ""},
		{"DeleteUnknown", func(tx pgx.Tx) error {
			return document.DeleteCategory(ctx, tx, admin, uuid.New())
		}, apperr.ENOTFOUND, ""},
		{"DeleteEmpty", func(tx pgx.Tx) error {
			return document.DeleteCategory(ctx, tx, admin, medical.ID)
		}, "", ""},
	}
	rollback := errors.New("rollback")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got error
			err := database.InTenant(ctx, b.db.Pool, b.tenant, func(tx pgx.Tx) error {
				if got = tt.fn(tx); got != nil {
					return got
				}
				return rollback
			})
			if got == nil {
				if tt.code != "" {
					t.Errorf("no error, want %s", tt.code)
				}
				return
			}
			if tt.code == "" {
				t.Fatalf("error %v, want none", got)
			}
			wantCode(t, err, tt.code) // as InTenant maps it
			if e, ok := apperr.As(got); ok && tt.field != "" && e.Fields[tt.field] == "" {
				t.Errorf("field errors %v, want one for %s", e.Fields, tt.field)
			}
			if e, ok := apperr.As(got); ok && strings.HasSuffix(tt.name, "System") && tt.name != "TriggerKeepsSystem" &&
				e.Message != "category.error.system" {
				t.Errorf("message %q, want category.error.system", e.Message)
			}
		})
	}

	t.Run("DeleteHoldingDocuments", func(t *testing.T) {
		if _, err := b.svc.Upload(ctx, b.db.Pool, access.System(audit.Actor{}), b.tenant, document.NewDocument{EmployeeID: &b.employee, CategoryID: medical.ID,
			FileName: "a.txt"}, bytes.NewReader([]byte("a"))); err != nil {
			t.Fatal(err)
		}
		err := database.InTenant(ctx, b.db.Pool, b.tenant, func(tx pgx.Tx) error {
			return document.DeleteCategory(ctx, tx, admin, medical.ID)
		})
		wantCode(t, err, apperr.ECONFLICT)
		var counts map[uuid.UUID]int
		b.inTenant(t, func(tx pgx.Tx) (err error) {
			counts, err = document.CountByCategory(ctx, tx)
			return err
		})
		if counts[medical.ID] != 1 {
			t.Errorf("counts = %v, want 1 in %s", counts, medical.ID)
		}
	})

	t.Run("Order", func(t *testing.T) {
		b.category(t, "Arbeidsovereenkomst", document.DossierEmployer)
		var names []string
		b.inTenant(t, func(tx pgx.Tx) error {
			list, err := document.FindCategories(ctx, tx)
			for _, c := range list {
				names = append(names, string(c.Dossier)+":"+c.Name)
			}
			return err
		})
		want := []string{"employer:Arbeidsovereenkomst", "employer:Volledig dossier (provider)", "employer:Volledig dossier (werkgever)",
			"employee:Medische gegevens"}
		if diff := cmp.Diff(want, names); diff != "" {
			t.Errorf("categories (-want +got):\n%s", diff)
		}
	})
}

// TestMatrix covers the matrix store of the access engine (access/matrix.go) on real categories.
func TestMatrix(t *testing.T) {
	t.Parallel()
	b := setup(t, 1<<20)
	ctx := b.ctx
	cat := b.category(t, "Verzuim", document.DossierEmployee)
	other := b.category(t, "Contracten", document.DossierEmployer)
	var role org.Role
	var system document.Category
	b.inTenant(t, func(tx pgx.Tx) (err error) {
		if role, err = org.FindRoleByName(ctx, tx, "Casemanager"); err != nil {
			return err
		}
		system, err = document.FindSystemCategory(ctx, tx, document.SystemFullDossierEmployer)
		return err
	})
	set := func(categoryID uuid.UUID, l access.Level) error {
		return database.InTenant(ctx, b.db.Pool, b.tenant, func(tx pgx.Tx) error {
			_, err := access.SetRoleLevels(ctx, tx, access.System(audit.Actor{}), role.ID, map[uuid.UUID]access.Level{categoryID: l})
			return err
		})
	}
	matrix := func() access.Matrix {
		var m access.Matrix
		b.inTenant(t, func(tx pgx.Tx) (err error) {
			m, err = access.FindMatrix(ctx, tx)
			return err
		})
		return m
	}
	for _, step := range []struct {
		category uuid.UUID
		level    access.Level
		code     apperr.Code
		want     access.Level
	}{
		{cat.ID, access.LevelWrite, "", access.LevelWrite},
		{cat.ID, access.LevelRead, "", access.LevelRead},
		{cat.ID, access.LevelNone, "", access.LevelNone},
		{cat.ID, access.Level("admin"), apperr.EINVALID, access.LevelNone},
		{system.ID, access.LevelRead, apperr.EINVALID, access.LevelNone},
		{uuid.New(), access.LevelRead, apperr.ENOTFOUND, access.LevelNone},
	} {
		err := set(step.category, step.level)
		if step.code == "" && err != nil {
			t.Fatalf("SetRoleLevels(%q) = %v", step.level, err)
		}
		if step.code != "" {
			wantCode(t, err, step.code)
		}
		if got := matrix().Level(role.ID, cat.ID); got != step.want {
			t.Errorf("after SetRoleLevels(%q): level %q, want %q", step.level, got, step.want)
		}
	}
	var rows int
	b.inTenant(t, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, "SELECT count(*) FROM category_permissions").Scan(&rows)
	})
	if rows != 0 {
		t.Errorf("%d matrix rows after setting none, want 0", rows)
	}

	var changes []access.MatrixChange
	b.inTenant(t, func(tx pgx.Tx) (err error) {
		changes, err = access.SetRoleLevels(ctx, tx, admin, role.ID, map[uuid.UUID]access.Level{
			cat.ID: access.LevelRead, other.ID: access.LevelNone})
		return err
	})
	want := []access.MatrixChange{{CategoryID: cat.ID, Before: access.LevelNone, After: access.LevelRead}}
	if diff := cmp.Diff(want, changes); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	m := matrix()
	if !slices.Equal([]access.Level{m.Level(role.ID, cat.ID), m.Level(role.ID, other.ID)}, []access.Level{access.LevelRead, access.LevelNone}) {
		t.Errorf("matrix = %v", m)
	}
}
