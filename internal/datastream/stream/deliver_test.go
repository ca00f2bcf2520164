package stream_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/database/dbtest"
	"github.com/dossierkast/dossierkast/internal/datastream/stream"
	"github.com/dossierkast/dossierkast/internal/demo"
	"github.com/dossierkast/dossierkast/internal/org"
)

// allStreams is every stream id of the catalogue.
func allStreams() []string {
	var ids []string
	for _, s := range stream.Catalogue {
		ids = append(ids, s.ID)
	}
	return ids
}

// testBundle is a database with the demo tenant and its case data, and a folder to deliver to.
type testBundle struct {
	ctx    context.Context
	db     dbtest.DB
	tenant uuid.UUID
	dir    string
	folder *stream.Folder
}

func setup(t testing.TB, employees int) testBundle {
	t.Helper()
	ctx := context.Background()
	db := dbtest.New(t)
	res, err := demo.Load(ctx, db.Pool, demo.Options{Employees: employees, Examples: true})
	if err != nil {
		t.Fatal(err)
	}
	return setupFolder(t, testBundle{ctx: ctx, db: db, tenant: res.TenantID})
}

func setupFolder(t testing.TB, b testBundle) testBundle {
	t.Helper()
	b.dir = t.TempDir()
	f, err := stream.OpenFolder(b.dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	b.folder = f
	return b
}

func (b testBundle) inTenant(t testing.TB, fn func(tx pgx.Tx) error) {
	t.Helper()
	if err := database.InTenant(b.ctx, b.db.Pool, b.tenant, fn); err != nil {
		t.Fatal(err)
	}
}

func (b testBundle) deliver(t testing.TB, cfg stream.Config, req stream.Request) (stream.Result, delivered) {
	t.Helper()
	res, err := stream.Deliver(b.ctx, b.db.Pool, b.tenant, b.folder, cfg, req)
	if err != nil {
		t.Fatalf("deliver %s: %v", req.Mode, err)
	}
	return res, readDelivery(t, filepath.Join(b.dir, filepath.FromSlash(res.Dir)), res.Manifest)
}

// delivered is a delivery as read back from the folder: per file name, its header and rows.
type delivered map[string]csvFile

type csvFile struct {
	header []string
	rows   [][]string
}

// byKey returns the file's rows by record key (the first field).
func (f csvFile) byKey() map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, r := range f.rows {
		m := map[string]string{}
		for i, h := range f.header {
			m[h] = r[i]
		}
		out[r[0]] = m
	}
	return out
}

// readDelivery reads a delivery folder and checks it against its manifest: the manifest on disk
// equals the one returned, every file in it exists with its size, SHA-256 and counts, parses
// as CSV with encoding/csv (UTF-8, no BOM, CRLF), no file is missing from it and no .part
// file remains.
func readDelivery(t testing.TB, dir string, want stream.Manifest) delivered {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, stream.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	var m stream.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("manifest.json differs from the result (-result +file):\n%s", diff)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{stream.ManifestName}
	for _, f := range m.Files {
		names = append(names, f.Name)
	}
	for _, e := range entries {
		if !slices.Contains(names, e.Name()) {
			t.Errorf("file %s in the delivery is not in its manifest", e.Name())
		}
	}
	out := delivered{}
	for _, f := range m.Files {
		data, err := os.ReadFile(filepath.Join(dir, f.Name))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if int64(len(data)) != f.Bytes || hex.EncodeToString(sum[:]) != f.SHA256 {
			t.Errorf("%s: %d bytes, sha256 %x; manifest says %d, %s", f.Name, len(data), sum, f.Bytes, f.SHA256)
		}
		if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
			t.Errorf("%s starts with a byte-order mark", f.Name)
		}
		if !bytes.HasSuffix(data, []byte("\r\n")) {
			t.Errorf("%s: the last line does not end in CRLF", f.Name)
		}
		r := csv.NewReader(bytes.NewReader(data))
		records, err := r.ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		if len(records) == 0 {
			t.Fatalf("%s: no header", f.Name)
		}
		file := csvFile{header: records[0], rows: records[1:]}
		var n stream.Rows
		keys := map[string]bool{}
		for _, row := range file.rows {
			switch row[1] {
			case "insert":
				n.Insert++
			case "update":
				n.Update++
			case "delete":
				n.Delete++
			default:
				t.Errorf("%s: mutation %q", f.Name, row[1])
			}
			if _, err := time.Parse("2006-01-02T15:04:05.999999Z", row[2]); err != nil || !strings.HasSuffix(row[2], "Z") {
				t.Errorf("%s: mutation_time %q is not UTC ISO 8601", f.Name, row[2])
			}
			if keys[row[0]] {
				t.Errorf("%s: record key %s twice", f.Name, row[0])
			}
			keys[row[0]] = true
		}
		if n != f.Rows {
			t.Errorf("%s: rows %+v, manifest says %+v", f.Name, n, f.Rows)
		}
		out[f.Name] = file
	}
	return out
}

// TestFullDelivery delivers every stream in full, non-pseudonymised with medical access, and
// compares each file with the database: the employees column by column, the other files by
// their record keys and employees.
func TestFullDelivery(t *testing.T) {
	t.Parallel()
	b := setup(t, 60)
	cfg := stream.Config{Folder: "Alles", Version: stream.V2, Streams: allStreams(), Medical: true}
	started := time.Date(2027, 1, 4, 1, 0, 0, 0, time.UTC)
	res, files := b.deliver(t, cfg, stream.Request{Mode: stream.ModeFull, Started: started})
	if res.Dir != "Alles/20270104T010000Z" || res.Position.IsZero() {
		t.Errorf("dir %q, position %q", res.Dir, res.Position)
	}

	employees := b.employees(t)
	got := files["werknemers.csv"].byKey()
	if len(got) != len(employees) || len(employees) != 60 {
		t.Fatalf("werknemers.csv: %d rows, %d employees in the database (want 60)", len(got), len(employees))
	}
	date := func(d *time.Time) string {
		if d == nil {
			return ""
		}
		return d.Format("2006-01-02")
	}
	for _, e := range employees {
		dept := ""
		if e.DepartmentID != nil {
			dept = e.DepartmentID.String()
		}
		want := map[string]string{
			"werknemer_id": e.ID.String(), "mutation": "insert", "mutation_time": e.UpdatedAt.UTC().Format("2006-01-02T15:04:05.999999Z"),
			"werkgever_id": e.EmployerID.String(), "afdeling_id": dept, "personeelsnummer": e.PersonnelNumber,
			"voorletters": e.Initials, "voornaam": e.FirstName, "tussenvoegsel": e.NamePrefix, "achternaam": e.LastName,
			"geboortedatum": date(e.BirthDate), "geboortejaar": fmt.Sprint(e.BirthDate.Year()), "bsn": e.BSN,
			"email": e.Email, "telefoon": e.Phone, "straat": e.Street, "huisnummer": e.HouseNumber,
			"postcode": e.PostalCode, "woonplaats": e.City, "datum_in_dienst": date(e.EmploymentStart),
			"datum_uit_dienst": date(e.EmploymentEnd),
		}
		if diff := cmp.Diff(want, got[e.ID.String()]); diff != "" {
			t.Errorf("employee %s (-database +file):\n%s", e.PersonnelNumber, diff)
		}
	}

	// Every other file: its record keys and employees are the table's.
	for _, s := range stream.Catalogue {
		for _, f := range s.Files {
			file, ok := files[f.Name+".csv"]
			if !ok {
				t.Errorf("%s.csv not delivered", f.Name)
				continue
			}
			var wantHeader []string
			wantHeader = append(wantHeader, f.Key().Name, "mutation", "mutation_time")
			for _, c := range f.Columns[1:] {
				wantHeader = append(wantHeader, c.Name)
			}
			if diff := cmp.Diff(wantHeader, file.header); diff != "" {
				t.Errorf("%s.csv header (-want +got):\n%s", f.Name, diff)
			}
			if f.Name == "werknemers" {
				continue
			}
			ref := "''"
			if _, ok := f.Column("werknemer_id"); ok {
				ref = "employee_id::text"
			}
			var want []string
			b.inTenant(t, func(tx pgx.Tx) (err error) {
				want, err = queryList[string](b.ctx, tx, "SELECT id::text || '/' || "+ref+" FROM "+tableOf(t, f.Name)+" ORDER BY 1")
				return err
			})
			var rows []string
			for _, r := range file.byKey() {
				rows = append(rows, r[f.Key().Name]+"/"+r["werknemer_id"])
			}
			slices.Sort(rows)
			if len(want) == 0 {
				t.Errorf("%s: the demo has no rows of it; the test proves nothing", f.Name)
			}
			if diff := cmp.Diff(want, rows); diff != "" {
				t.Errorf("%s.csv keys/employees (-database +file):\n%s", f.Name, diff)
			}
		}
	}

	// A retry of the same delivery rewrites its folder: a stray file of the failed attempt goes.
	if err := os.WriteFile(filepath.Join(b.dir, "Alles", "20270104T010000Z", "verzuimmeldingen.csv.part"), []byte("half"), 0o644); err != nil {
		t.Fatal(err)
	}
	b.deliver(t, cfg, stream.Request{Mode: stream.ModeFull, Started: started})
}

// employees reads every employee of the tenant through org.
func (b testBundle) employees(t testing.TB) []org.Employee {
	t.Helper()
	var list []org.Employee
	b.inTenant(t, func(tx pgx.Tx) error {
		ids, err := queryList[uuid.UUID](b.ctx, tx, "SELECT id FROM employees ORDER BY id")
		if err != nil {
			return err
		}
		for _, id := range ids {
			e, err := org.FindEmployeeByID(b.ctx, tx, id)
			if err != nil {
				return err
			}
			list = append(list, e)
		}
		return nil
	})
	return list
}

// queryList returns the one column of every row of sql.
func queryList[T any](ctx context.Context, tx pgx.Tx, sql string, args ...any) ([]T, error) {
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[T])
}

// tableOf is the table behind a stream file, as the test knows it independently of the code.
func tableOf(t testing.TB, file string) string {
	tables := map[string]string{
		"werknemers": "employees", "verzuimmeldingen": "absences", "verzuimpercentages": "absence_percentages",
		"trajecten": "trajectories", "taken": "tasks", "afspraken": "appointments", "spreekuren": "consultations",
		"beschikkingen": "decisions", "dienstverleningsovereenkomsten": "service_agreements",
		"polissen": "insurance_policies", "polisdeelnemers": "policy_participants",
	}
	table, ok := tables[file]
	if !ok {
		t.Fatalf("no table known for %s", file)
	}
	return table
}
