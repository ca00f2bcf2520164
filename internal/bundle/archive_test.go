package bundle_test

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/xuri/excelize/v2"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/bundle"
	"github.com/dossierkast/dossierkast/internal/i18n"
	"github.com/dossierkast/dossierkast/internal/org"
)

// worker is a generation worker on the fixture's pool and blob store.
func (f *fixture) worker(partSize int64) *bundle.GenerateBundleWorker {
	return &bundle.GenerateBundleWorker{Pool: f.db.Pool, Blobs: f.blobs, PartSize: partSize, Log: f.log}
}

// job is a River job of args at its first attempt.
func job[T river.JobArgs](args T) *river.Job[T] {
	return &river.Job[T]{JobRow: &rivertype.JobRow{ID: 1, Attempt: 1, MaxAttempts: 5, Kind: args.Kind()}, Args: args}
}

// request asks for a bundle as the user and returns its job's args.
func (f *fixture) request(t testing.TB, userID uuid.UUID) bundle.GenerateBundleArgs {
	t.Helper()
	p, _ := f.principal(t, userID)
	var b bundle.Bundle
	f.inTenant(t, func(tx pgx.Tx) (err error) {
		b, err = bundle.RequestBundle(f.ctx, tx, f.rc, access.Editor{Principal: p, Actor: actor(userID)}, f.employer.ID)
		return err
	})
	return bundle.GenerateBundleArgs{TenantID: f.tenant, BundleID: b.ID}
}

// generate asks for a bundle as the user and runs its job to the end.
func (f *fixture) generate(t testing.TB, userID uuid.UUID, partSize int64) bundle.Bundle {
	t.Helper()
	args := f.request(t, userID)
	if err := f.worker(partSize).Work(f.ctx, job(args)); err != nil {
		t.Fatalf("generate: %v", err)
	}
	return f.find(t, args.BundleID)
}

func (f *fixture) find(t testing.TB, id uuid.UUID) bundle.Bundle {
	t.Helper()
	var b bundle.Bundle
	f.inTenant(t, func(tx pgx.Tx) (err error) {
		b, err = bundle.FindBundleByID(f.ctx, tx, id)
		return err
	})
	return b
}

// zipEntry is one entry of a part as read back with archive/zip (which checks its CRC-32).
type zipEntry struct {
	Name   string
	Method uint16
	Data   []byte
	// DOSTime is the legacy MS-DOS time stamp, a wall clock without a zone: what extractors
	// that ignore the extended (UTC) time stamp show.
	DOSTime time.Time
}

// readPart reads a stored part completely.
func (f *fixture) readPart(t testing.TB, key string) []zipEntry {
	t.Helper()
	r, err := f.blobs.NewRangeReader(f.ctx, key, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("part %s is no valid ZIP: %v", key, err)
	}
	var entries []zipEntry
	for _, file := range zr.File {
		rc, err := file.Open()
		if err != nil {
			t.Fatalf("open %s: %v", file.Name, err)
		}
		b, err := io.ReadAll(rc) // checks the CRC-32 at the end
		rc.Close()
		if err != nil {
			t.Fatalf("read %s: %v", file.Name, err)
		}
		d, c := file.ModifiedDate, file.ModifiedTime //nolint:staticcheck // the legacy fields are what is checked
		dos := time.Date(int(d>>9)+1980, time.Month(d>>5&0xf), int(d&0x1f), int(c>>11), int(c>>5&0x3f), int(c&0x1f)*2, 0, time.UTC)
		entries = append(entries, zipEntry{Name: file.Name, Method: file.Method, Data: b, DOSTime: dos})
	}
	return entries
}

// workbookRow is one row of the workbook's documents sheet.
type workbookRow struct {
	Path, Part, FileName, Dossier, PersonnelNumber, Name, Category, DocumentDate, UploadedBy, UploadedAt, Size, SHA256 string
}

// checked is what checkBundle read back from a bundle.
type checked struct {
	Parts   [][]zipEntry    // per part, the document entries (the workbook left out)
	Rows    []workbookRow   // the workbook's documents sheet
	Summary [][]string      // the summary sheet
	ByPath  map[string]int  // part number per document path
	SHAs    map[string]bool // SHA-256 of every document in the bundle
}

// checkBundle reads every part of a done bundle and checks what holds for every bundle: each
// part is a complete ZIP; the workbook is the first entry of part 1 and nowhere else; it lists
// every document entry exactly once, with the part it is in, its path and its SHA-256 (which the
// bytes match); no other entries exist; the parts are named "deel i van n" and expire with the
// bundle; the blob folder holds exactly the blobs of the document rows.
func (f *fixture) checkBundle(t testing.TB, b bundle.Bundle) checked {
	t.Helper()
	if b.Status != bundle.StatusDone {
		t.Fatalf("bundle status %s (%s), want done", b.Status, b.Error)
	}
	if b.DocsDone != b.DocsTotal {
		t.Errorf("progress %d of %d at the end", b.DocsDone, b.DocsTotal)
	}
	c := checked{ByPath: map[string]int{}, SHAs: map[string]bool{}}
	var workbook []byte
	for i, part := range b.Parts {
		want := "deel " + strconv.Itoa(i+1) + " van " + strconv.Itoa(len(b.Parts)) + ".zip"
		if !strings.HasSuffix(part.FileName, want) || !strings.Contains(part.FileName, "Bouwbedrijf De Vries") {
			t.Errorf("part %d is named %q, want employer, date and %q", i+1, part.FileName, want)
		}
		if part.ExpiresAt == nil || !part.ExpiresAt.Equal(b.ExpiresAt) {
			t.Errorf("part %d expires at %v, want %v", i+1, part.ExpiresAt, b.ExpiresAt)
		}
		entries := f.readPart(t, part.StorageKey)
		if i == 0 {
			if len(entries) == 0 || entries[0].Name != bundle.WorkbookName {
				t.Fatalf("part 1 does not start with the workbook")
			}
			workbook, entries = entries[0].Data, entries[1:]
		}
		for _, e := range entries {
			if e.Name == bundle.WorkbookName {
				t.Errorf("part %d holds a second workbook", i+1)
			}
			if _, dup := c.ByPath[e.Name]; dup {
				t.Errorf("path %s is in the bundle twice", e.Name)
			}
			c.ByPath[e.Name] = i + 1
		}
		c.Parts = append(c.Parts, entries)
	}
	x, err := excelize.OpenReader(bytes.NewReader(workbook))
	if err != nil {
		t.Fatalf("workbook: %v", err)
	}
	defer x.Close()
	sheets := x.GetSheetList()
	if len(sheets) != 2 {
		t.Fatalf("workbook sheets %v, want documents and summary", sheets)
	}
	rows, err := x.GetRows(sheets[0])
	if err != nil {
		t.Fatal(err)
	}
	if c.Summary, err = x.GetRows(sheets[1]); err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 || rows[0][0] != "Pad in het archief" || len(rows[0]) != 12 {
		t.Fatalf("workbook header %v", rows)
	}
	data := map[string][]byte{}
	for _, entries := range c.Parts {
		for _, e := range entries {
			data[e.Name] = e.Data
		}
	}
	listed := map[string]bool{}
	for _, r := range rows[1:] {
		r = append(r, make([]string, 12-len(r))...)
		w := workbookRow{r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11]}
		c.Rows = append(c.Rows, w)
		if listed[w.Path] {
			t.Errorf("workbook lists %s twice", w.Path)
		}
		listed[w.Path] = true
		part, ok := c.ByPath[w.Path]
		if !ok {
			t.Errorf("workbook lists %s, which is in no part", w.Path)
			continue
		}
		if strconv.Itoa(part) != w.Part {
			t.Errorf("workbook puts %s in part %s, it is in part %d", w.Path, w.Part, part)
		}
		sum := sha256.Sum256(data[w.Path])
		if hex.EncodeToString(sum[:]) != w.SHA256 || strconv.Itoa(len(data[w.Path])) != w.Size {
			t.Errorf("%s: bytes do not match the workbook's SHA-256 and size", w.Path)
		}
		c.SHAs[w.SHA256] = true
	}
	for p := range c.ByPath {
		if !listed[p] {
			t.Errorf("entry %s is not in the workbook", p)
		}
	}
	if len(c.Rows) != b.DocsTotal {
		t.Errorf("workbook lists %d documents, bundle says %d", len(c.Rows), b.DocsTotal)
	}
	f.checkNoOrphans(t)
	return c
}

// checkNoOrphans checks that the blob folder holds exactly the blobs of the document rows: no
// blob without a row, no row without a blob, no unfinished upload and no plan left behind.
func (f *fixture) checkNoOrphans(t testing.TB) {
	t.Helper()
	keys := f.storageKeys(t)
	files := f.blobFiles(t)
	slices.Sort(files)
	if diff := cmp.Diff(keys, files); diff != "" {
		t.Errorf("blob files differ from document rows (-rows +files):\n%s", diff)
	}
	var uploads, deletions int
	f.inTenant(t, func(tx pgx.Tx) error {
		return tx.QueryRow(f.ctx, `SELECT (SELECT count(*) FROM bundle_uploads), (SELECT count(*) FROM blob_deletions)`).
			Scan(&uploads, &deletions)
	})
	if uploads != 0 || deletions != 0 {
		t.Errorf("%d upload records and %d pending blob deletions left", uploads, deletions)
	}
}

func shaOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// TestGenerateBundle generates a small full dossier and checks it entry by entry.
func TestGenerateBundle(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a, b := f.employee(t, "10", "Aalbers"), f.employee(t, "9", "Bakker")
	contents := map[string][]byte{
		"contract.pdf":  pdf(20 << 10),
		"notities.txt":  text(30 << 10),
		"brief-a.pdf":   pdf(10 << 10),
		"medisch-a.txt": text(5 << 10),
		"brief-b.pdf":   pdf(7 << 10),
	}
	f.upload(t, nil, f.catEmployer.ID, "contract.pdf", contents["contract.pdf"])
	f.upload(t, nil, f.catEmployer.ID, "notities.txt", contents["notities.txt"])
	f.upload(t, &a.ID, f.catEmployee.ID, "brief-a.pdf", contents["brief-a.pdf"])
	f.upload(t, &a.ID, f.catMedical.ID, "medisch-a.txt", contents["medisch-a.txt"])
	f.upload(t, &b.ID, f.catEmployee.ID, "brief-b.pdf", contents["brief-b.pdf"])
	user := f.user(t, access.KindProvider, f.role(t, access.KindProvider, f.readAll(), fullRights...))

	got := f.generate(t, user, 1<<30)
	c := f.checkBundle(t, got)
	// Extractors that show the MS-DOS time stamp show Amsterdam time, as the screen does.
	first := f.readPart(t, got.Parts[0].StorageKey)[0]
	wall := got.CreatedAt.In(i18n.Amsterdam)
	if want := time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second()/2*2, 0, time.UTC); !first.DOSTime.Equal(want) {
		t.Errorf("workbook's MS-DOS time %s, want the Amsterdam wall clock %s", first.DOSTime, want)
	}
	if got.DocsTotal != 5 || got.LeftOut != 0 || got.BytesTotal != int64(20<<10+30<<10+10<<10+5<<10+7<<10) || len(got.Parts) != 1 {
		t.Errorf("bundle %+v", got)
	}
	// Stable order: the employer first, then employees by personnel number (9 before 10), by
	// category order within each.
	var paths []string
	methods := map[string]uint16{}
	for _, e := range c.Parts[0] {
		paths = append(paths, e.Name)
		methods[path.Base(e.Name)] = e.Method
	}
	want := []string{
		"Werkgever/Contracten/contract.pdf",
		"Werkgever/Contracten/notities.txt",
		"Werknemers/9 - Jan Bakker/Correspondentie/brief-b.pdf",
		"Werknemers/10 - Jan Aalbers/Correspondentie/brief-a.pdf",
		"Werknemers/10 - Jan Aalbers/Medisch/medisch-a.txt",
	}
	if diff := cmp.Diff(want, paths); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	if methods["contract.pdf"] != zip.Store || methods["notities.txt"] != zip.Deflate {
		t.Errorf("methods %v: want PDFs stored and text deflated", methods)
	}
	for name, content := range contents {
		if !c.SHAs[shaOf(content)] {
			t.Errorf("%s is not in the bundle", name)
		}
	}
	if c.Rows[2].PersonnelNumber != "9" || c.Rows[2].Name != "Jan Bakker" || c.Rows[2].Dossier != "Werknemer" ||
		c.Rows[2].Category != "Correspondentie" || c.Rows[2].FileName != "brief-b.pdf" || c.Rows[0].Dossier != "Werkgever" {
		t.Errorf("workbook rows %+v", c.Rows[:3])
	}
	if c.Summary[len(c.Summary)-1][1] != "0" {
		t.Errorf("summary %v: want 0 left out last", c.Summary)
	}

	// The parts are documents of the provider's full-dossier category, and the bundle knows its employees.
	f.inTenant(t, func(tx pgx.Tx) error {
		var system string
		if err := tx.QueryRow(f.ctx, "SELECT c.system FROM documents d JOIN document_categories c ON c.id = d.category_id WHERE d.id = $1",
			got.Parts[0].ID).Scan(&system); err != nil {
			return err
		}
		if system != "full_dossier_provider" {
			t.Errorf("part in category %s", system)
		}
		contents, ok, err := bundle.BundleContents(f.ctx, tx, got.Parts[0].ID)
		if err != nil {
			return err
		}
		wantEmps := []uuid.UUID{a.ID, b.ID}
		slices.SortFunc(wantEmps, func(x, y uuid.UUID) int { return strings.Compare(x.String(), y.String()) })
		if !ok || !cmp.Equal(contents.Employees, wantEmps) {
			t.Errorf("bundle employees %v %v, want %v", contents.Employees, ok, wantEmps)
		}
		wantCats := []uuid.UUID{f.catEmployer.ID, f.catEmployee.ID, f.catMedical.ID}
		if !cmp.Equal(contents.Categories, wantCats) {
			t.Errorf("bundle categories %v, want %v (in order of first use)", contents.Categories, wantCats)
		}
		var plain uuid.UUID
		if err := tx.QueryRow(f.ctx, "SELECT id FROM documents WHERE bundle_id IS NULL LIMIT 1").Scan(&plain); err != nil {
			return err
		}
		if _, ok, err := bundle.BundleContents(f.ctx, tx, plain); ok || err != nil {
			t.Errorf("an ordinary document is a bundle part (%v, %v)", ok, err)
		}
		return nil
	})
	if n := f.auditCount(t, "bundle.generated"); n != 1 {
		t.Errorf("%d bundle.generated events, want 1", n)
	}
	if n := f.auditCount(t, "bundle.copied"); n != 2 {
		t.Errorf("%d bundle.copied events, want one per employee (2)", n)
	}

	// A second bundle leaves the first one's parts out.
	second := f.generate(t, user, 1<<30)
	if second.DocsTotal != 5 {
		t.Errorf("second bundle has %d documents, want 5 (no parts of the first)", second.DocsTotal)
	}
	f.checkBundle(t, second)
}

// TestGenerateSplitsParts checks the split at the part size, with an oversized document alone
// in a part of its own while the part being filled goes on: the documents after it join part 1
// (before, part 1 closed and a third part opened).
func TestGenerateSplitsParts(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a, b := f.employee(t, "1", "Aalbers"), f.employee(t, "2", "Bakker")
	const k = 100 << 10
	f.upload(t, nil, f.catEmployer.ID, "e1.pdf", pdf(k))
	f.upload(t, &a.ID, f.catEmployee.ID, "a1.pdf", pdf(k))
	f.upload(t, &a.ID, f.catEmployee.ID, "a2.pdf", pdf(k))
	f.upload(t, &a.ID, f.catEmployee.ID, "a3-groot.pdf", pdf(1<<20))
	f.upload(t, &a.ID, f.catEmployee.ID, "a4.pdf", pdf(k))
	f.upload(t, &b.ID, f.catEmployee.ID, "b1.pdf", pdf(k))
	user := f.user(t, access.KindProvider, f.role(t, access.KindProvider, f.readAll(), fullRights...))

	got := f.generate(t, user, 600<<10)
	c := f.checkBundle(t, got)
	var parts [][]string
	for _, entries := range c.Parts {
		var names []string
		for _, e := range entries {
			names = append(names, path.Base(e.Name))
		}
		parts = append(parts, names)
	}
	want := [][]string{{"e1.pdf", "a1.pdf", "a2.pdf", "a4.pdf", "b1.pdf"}, {"a3-groot.pdf"}}
	if diff := cmp.Diff(want, parts); diff != "" {
		t.Errorf("parts (-want +got):\n%s", diff)
	}
	for i, p := range got.Parts {
		if i != 1 && p.Size > 600<<10 {
			t.Errorf("part %d has %d bytes, past the part size", i+1, p.Size)
		}
	}
}

// TestGenerateGoneBetweenParts marks the bundle failed (as a dossier deletion does) once part 1
// is written: opening part 2 finds it no longer running, and the job stops, removes what it
// wrote and ends for good.
func TestGenerateGoneBetweenParts(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.employee(t, "1", "Aalbers")
	const k = 100 << 10
	f.upload(t, nil, f.catEmployer.ID, "e1.pdf", pdf(k))
	f.upload(t, &a.ID, f.catEmployee.ID, "a1.pdf", pdf(k))
	f.upload(t, &a.ID, f.catEmployee.ID, "a2.pdf", pdf(k))
	f.upload(t, &a.ID, f.catEmployee.ID, "a3-groot.pdf", pdf(1<<20))
	user := f.user(t, access.KindProvider, f.role(t, access.KindProvider, f.readAll(), fullRights...))
	args := f.request(t, user)
	w := f.worker(400 << 10) // parts {e1, a1, a2} and {a3-groot}, as in TestGenerateSplitsParts
	w.AfterDocumentFunc = func(done int) {
		if done == 3 {
			f.inTenant(t, func(tx pgx.Tx) error {
				_, err := tx.Exec(f.ctx, "UPDATE bundles SET status = 'failed' WHERE id = $1", args.BundleID)
				return err
			})
		}
	}
	err := w.Work(f.ctx, job(args))
	var cancel *river.JobCancelError
	if !errors.As(err, &cancel) {
		t.Fatalf("Work = %v, want the job cancelled", err)
	}
	if b := f.find(t, args.BundleID); b.Status != bundle.StatusFailed || len(b.Parts) != 0 {
		t.Errorf("bundle %s with %d parts, want failed with none", b.Status, len(b.Parts))
	}
	f.checkNoOrphans(t)
}

// TestGenerateDocumentMissing takes a document's blob away, or changes its length, after it was
// stored: the bundle fails for good with the reason the screen shows, and nothing is written.
func TestGenerateDocumentMissing(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		change func(file string) error
	}{
		{"Gone", os.Remove},
		{"Shorter", func(file string) error { return os.Truncate(file, 1000) }},
		{"Longer", func(file string) error {
			w, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				return err
			}
			_, err = w.Write([]byte("x"))
			return errors.Join(err, w.Close())
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			a := f.employee(t, "1", "Aalbers")
			f.upload(t, nil, f.catEmployer.ID, "contract.pdf", pdf(5000))
			d := f.upload(t, &a.ID, f.catEmployee.ID, "brief.pdf", pdf(5000))
			user := f.user(t, access.KindProvider, f.role(t, access.KindProvider, f.readAll(), fullRights...))
			args := f.request(t, user)
			if err := c.change(filepath.Join(f.dir, filepath.FromSlash(d.StorageKey))); err != nil {
				t.Fatal(err)
			}
			err := f.worker(1<<30).Work(f.ctx, job(args))
			var cancel *river.JobCancelError
			if !errors.As(err, &cancel) {
				t.Fatalf("Work = %v, want the job cancelled", err)
			}
			if b := f.find(t, args.BundleID); b.Status != bundle.StatusFailed || b.Error != "bundle.error.document_missing" || len(b.Parts) != 0 {
				t.Errorf("bundle %s with error %q and %d parts, want failed, bundle.error.document_missing, none", b.Status, b.Error, len(b.Parts))
			}
			var uploads int
			f.inTenant(t, func(tx pgx.Tx) error { return tx.QueryRow(f.ctx, "SELECT count(*) FROM bundle_uploads").Scan(&uploads) })
			if uploads != 0 {
				t.Errorf("%d upload records left", uploads)
			}
		})
	}
}

// TestGenerateLeavesOutWhatTheUserMayNotSee generates as a user with a blacklist entry, one whose
// matrix reads one category only, and one without medical.view.
func TestGenerateLeavesOutWhatTheUserMayNotSee(t *testing.T) {
	t.Parallel()
	f := setup(t)
	d := f.smallDossier(t)
	rights := []access.Right{access.EmployerDossierView, access.EmployeeDossierView, access.EmployeesAll, access.MedicalView, access.FullDossierGenerate}
	blacklisted := f.user(t, access.KindEmployer, f.role(t, access.KindEmployer, f.readAll(), rights...))
	f.blacklist(t, blacklisted, d.b.ID)
	matrix := f.user(t, access.KindEmployer, f.role(t, access.KindEmployer, map[uuid.UUID]access.Level{f.catEmployee.ID: access.LevelRead}, rights...))
	noMedical := f.user(t, access.KindProvider, f.role(t, access.KindProvider, f.readAll(), rights[:3:3]...))
	f.inTenant(t, func(tx pgx.Tx) error { // noMedical may still generate
		_, err := tx.Exec(f.ctx, "UPDATE roles SET rights = rights || '{full_dossier.generate}' WHERE id = (SELECT role_id FROM users WHERE id = $1)", noMedical)
		return err
	})
	for _, c := range []struct {
		name    string
		user    uuid.UUID
		want    []string
		leftOut int
	}{
		{"Blacklist", blacklisted, []string{"contract.pdf", "brief-a.pdf", "medisch-a.pdf"}, 2},
		{"ReadOnlyMatrix", matrix, []string{"brief-a.pdf", "brief-b.pdf"}, 3},
		{"NoMedicalView", noMedical, []string{"contract.pdf", "brief-a.pdf", "brief-b.pdf"}, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := f.generate(t, c.user, 1<<30)
			ch := f.checkBundle(t, got)
			var names []string
			for _, r := range ch.Rows {
				names = append(names, r.FileName)
			}
			if diff := cmp.Diff(c.want, names); diff != "" {
				t.Errorf("documents (-want +got):\n%s", diff)
			}
			if got.LeftOut != c.leftOut || ch.Summary[len(ch.Summary)-1][1] != strconv.Itoa(c.leftOut) {
				t.Errorf("left out %d (summary %v), want %d", got.LeftOut, ch.Summary[len(ch.Summary)-1], c.leftOut)
			}
			if c.name == "Blacklist" && got.RequesterKind != access.KindEmployer {
				t.Errorf("requester kind %s", got.RequesterKind)
			}
		})
	}
}

// TestGenerateAsksAccessAgain changes the requester or the employer after the request: the job
// asks access again when it starts (access.CanGenerateRequestedFullDossier, the rule a retry
// follows, as things are then), so the bundle ends as failed with the reason the screen shows
// and nothing is written.
func TestGenerateAsksAccessAgain(t *testing.T) {
	t.Parallel()
	withoutRight := func(r access.Right) func(f *fixture, tx pgx.Tx, user uuid.UUID) error {
		return func(f *fixture, tx pgx.Tx, user uuid.UUID) error {
			_, err := tx.Exec(f.ctx, "UPDATE roles SET rights = array_remove(rights, $2) WHERE id = (SELECT role_id FROM users WHERE id = $1)", user, string(r))
			return err
		}
	}
	for _, c := range []struct {
		name   string
		change func(f *fixture, tx pgx.Tx, user uuid.UUID) error
		want   string
	}{
		{"Blocked", func(f *fixture, tx pgx.Tx, user uuid.UUID) error {
			return org.SetUserStatus(f.ctx, tx, access.System(audit.Actor{}), user, org.StatusBlocked)
		}, "bundle.error.requester"},
		{"WithoutGenerate", withoutRight(access.FullDossierGenerate), "bundle.error.requester"},
		{"WithoutEmployerDossierView", withoutRight(access.EmployerDossierView), "bundle.error.requester"},
		{"ProductOff", func(f *fixture, tx pgx.Tx, _ uuid.UUID) error {
			_, err := tx.Exec(f.ctx, "UPDATE employers SET products = '{}' WHERE id = $1", f.employer.ID)
			return err
		}, "bundle.error.product"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			f.upload(t, nil, f.catEmployer.ID, "contract.pdf", pdf(1000))
			user := f.user(t, access.KindProvider, f.role(t, access.KindProvider, f.readAll(), fullRights...))
			args := f.request(t, user)
			f.inTenant(t, func(tx pgx.Tx) error { return c.change(f, tx, user) })
			if err := f.worker(1<<30).Work(f.ctx, job(args)); err == nil {
				t.Fatal("the job succeeded")
			}
			if b := f.find(t, args.BundleID); b.Status != bundle.StatusFailed || b.Error != c.want || len(b.Parts) != 0 {
				t.Errorf("bundle %s with error %q and %d parts, want failed, %s, none", b.Status, b.Error, len(b.Parts), c.want)
			}
			f.checkNoOrphans(t)
		})
	}
}

// TestGenerateHostileNames stores documents whose names try to escape the extraction folder or
// break it on Windows, and extracts the bundle.
func TestGenerateHostileNames(t *testing.T) {
	t.Parallel()
	f := setup(t)
	e := f.employee(t, "../../1", "Con")
	long := strings.Repeat("lang", 75) + ".pdf"
	names := []string{"../x", `C:\x`, "con.txt", "NUL", "aux.pdf.pdf", long, "dubbel.pdf", "dubbel.pdf", "Brief.pdf", "brief.pdf",
		"a/b/../../etc/passwd", ".verborgen", "eindigt op punt. ", "x:y?z*<>|.pdf", "..", "\u202egpj.exe", "   ", "com1"}
	contents := map[string][]byte{}
	for i, n := range names {
		content := pdf(1000 + i)
		d := f.upload(t, &e.ID, f.catEmployee.ID, "placeholder.pdf", content)
		// Stored as is, past the upload's own sanitising: names imported from elsewhere may be anything.
		f.inTenant(t, func(tx pgx.Tx) error {
			_, err := tx.Exec(f.ctx, "UPDATE documents SET file_name = $2 WHERE id = $1", d.ID, n)
			return err
		})
		contents[shaOf(content)] = content
	}
	f.inTenant(t, func(tx pgx.Tx) error {
		_, err := tx.Exec(f.ctx, "UPDATE document_categories SET name = $2 WHERE id = $1", f.catEmployee.ID, `..\Cat/../egorie: `)
		return err
	})
	user := f.user(t, access.KindProvider, f.role(t, access.KindProvider, f.readAll(), fullRights...))
	got := f.generate(t, user, 1<<30)
	c := f.checkBundle(t, got)
	if len(c.Rows) != len(names) {
		t.Fatalf("%d documents in the bundle, want %d", len(c.Rows), len(names))
	}

	// Every path is local, free of characters or names Windows refuses, short enough, and distinct
	// ignoring case.
	seen := map[string]bool{}
	dir := t.TempDir()
	for _, entry := range c.Parts[0] {
		p := entry.Name
		if !filepath.IsLocal(p) || strings.ContainsAny(p, "\\:*?\"<>|") || strings.HasPrefix(p, "/") {
			t.Errorf("unsafe path %q", p)
		}
		for _, comp := range strings.Split(p, "/") {
			base, _, _ := strings.Cut(comp, ".")
			switch {
			case comp == "" || comp == "." || comp == ".." || strings.HasPrefix(comp, "."):
				t.Errorf("path %q has component %q", p, comp)
			case strings.HasSuffix(comp, ".") || strings.HasSuffix(comp, " "):
				t.Errorf("path %q: component %q ends in a dot or space", p, comp)
			case slices.Contains([]string{"CON", "PRN", "AUX", "NUL", "COM1", "LPT1"}, strings.ToUpper(base)):
				t.Errorf("path %q: component %q is a Windows device name", p, comp)
			case utf8.RuneCountInString(comp) > 100 || strings.ContainsRune(comp, '\u202e'):
				t.Errorf("path %q: component %q too long or reordering", p, comp)
			}
		}
		if len(p) > 240 {
			t.Errorf("path %q is %d bytes long", p, len(p))
		}
		key := strings.ToLower(p)
		if seen[key] {
			t.Errorf("path %q clashes with another ignoring case", p)
		}
		seen[key] = true
		// Extract it.
		target := filepath.Join(dir, filepath.FromSlash(p))
		if err := mkdirWrite(target, entry.Data); err != nil {
			t.Errorf("extract %q: %v", p, err)
		}
	}
	extracted := map[string]bool{}
	for _, file := range filesUnder(t, dir) {
		extracted[shaOf(file)] = true
	}
	for sum := range contents {
		if !extracted[sum] {
			t.Errorf("a document is missing after extraction")
		}
	}
	if len(extracted) != len(contents) {
		t.Errorf("%d distinct files extracted, want %d", len(extracted), len(contents))
	}
}

// mkdirWrite writes data to target, making its folder first; it refuses to replace a file.
func mkdirWrite(target string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	file, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := file.Write(data); err != nil {
		file.Close()
		return err
	}
	return file.Close()
}

// filesUnder returns the contents of every regular file under dir.
func filesUnder(t testing.TB, dir string) [][]byte {
	t.Helper()
	var out [][]byte
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		out = append(out, b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
