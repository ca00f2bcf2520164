package stream_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/datastream/stream"
	"github.com/dossierkast/dossierkast/internal/org"
)

var hex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)

func pseudonymOf(key []byte, id uuid.UUID) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id.String()))
	return hex.EncodeToString(m.Sum(nil))
}

// TestPseudonymisedDelivery: a pseudonymised configuration's files hold no value of any
// identifying column of any employee and no medical column without medical access; record keys
// and references are HMAC pseudonyms, stable across deliveries and different per configuration.
func TestPseudonymisedDelivery(t *testing.T) {
	t.Parallel()
	b := setup(t, 60)
	keyA, keyB := []byte(strings.Repeat("a", 32)), []byte(strings.Repeat("b", 32))
	cfgA := stream.Config{Folder: "A", Version: stream.V2, Streams: allStreams(), Pseudonymised: true, Key: keyA, KeyVersion: 2}
	cfgB := cfgA
	cfgB.Folder, cfgB.Key = "B", keyB
	start := time.Date(2027, 1, 4, 1, 0, 0, 0, time.UTC)
	resA, filesA := b.deliver(t, cfgA, stream.Request{Mode: stream.ModeFull, Started: start})
	_, filesB := b.deliver(t, cfgB, stream.Request{Mode: stream.ModeFull, Started: start})
	if resA.Manifest.PseudonymKeyVersion != 2 || !resA.Manifest.Pseudonymised {
		t.Errorf("manifest: pseudonymised %v, key version %d", resA.Manifest.Pseudonymised, resA.Manifest.PseudonymKeyVersion)
	}

	// Headers: neither identifying nor medical columns; the birth year is there.
	for _, s := range stream.Catalogue {
		for _, f := range s.Files {
			header := filesA[f.Name+".csv"].header
			for _, c := range f.Columns {
				if (c.Identifying || c.Medical) && slices.Contains(header, c.Name) {
					t.Errorf("%s.csv carries %s (identifying %v, medical %v)", f.Name, c.Name, c.Identifying, c.Medical)
				}
				// Every pseudonym column holds pseudonyms (or nothing).
				if i := slices.Index(header, c.Name); c.Pseudonym && i >= 0 {
					for _, row := range filesA[f.Name+".csv"].rows {
						if row[i] != "" && !hex64.MatchString(row[i]) {
							t.Fatalf("%s.csv %s = %q, not a pseudonym", f.Name, c.Name, row[i])
						}
					}
				}
			}
		}
	}
	if !slices.Contains(filesA["werknemers.csv"].header, "geboortejaar") {
		t.Errorf("werknemers.csv has no birth year: %v", filesA["werknemers.csv"].header)
	}

	employees := b.employees(t)
	rowsA, rowsB := filesA["werknemers.csv"].byKey(), filesB["werknemers.csv"].byKey()
	for _, e := range employees {
		pa, pb := pseudonymOf(keyA, e.ID), pseudonymOf(keyB, e.ID)
		if _, ok := rowsA[pa]; !ok {
			t.Fatalf("employee %s: no row under its pseudonym in A", e.PersonnelNumber)
		}
		if _, ok := rowsB[pb]; !ok || pa == pb {
			t.Fatalf("employee %s: no row under B's pseudonym, or the same pseudonym in A and B", e.PersonnelNumber)
		}
		if got := rowsA[pa]["geboortejaar"]; e.BirthDate != nil && got != e.BirthDate.Format("2006") {
			t.Errorf("employee %s: birth year %q, want %d", e.PersonnelNumber, got, e.BirthDate.Year())
		}
	}
	for k := range rowsA {
		if _, ok := rowsB[k]; ok {
			t.Errorf("pseudonym %s appears in both configurations' files", k)
		}
	}
	scanIdentifying(t, filesA, employees, keyA)

	// Stable across deliveries: an employee's change comes under the same pseudonym.
	e := employees[7]
	b.inTenant(t, func(tx pgx.Tx) error {
		_, err := tx.Exec(b.ctx, "UPDATE employees SET employment_end = DATE '2027-03-31', updated_at = now() WHERE id = $1", e.ID)
		return err
	})
	_, inc := b.deliver(t, cfgA, stream.Request{Mode: stream.ModeIncremental, From: resA.Position, Started: start.Add(time.Hour)})
	got := inc["werknemers.csv"].byKey()
	if len(got) != 1 || got[pseudonymOf(keyA, e.ID)]["datum_uit_dienst"] != "2027-03-31" || got[pseudonymOf(keyA, e.ID)]["mutation"] != "update" {
		t.Errorf("increment after one change: %v; want one update of %s", got, pseudonymOf(keyA, e.ID))
	}
	scanIdentifying(t, inc, employees, keyA)
}

// scanIdentifying fails when any file holds an identifying value of any employee. Values that
// single a person out (BSN, e-mail, phone, personnel number, postal code with house number,
// full name, raw id) are searched in every field; common ones (a first name, a town, a birth
// date) in every field of the rows about that employee. Pseudonym fields are 64 hexadecimal
// digits and are compared whole.
func scanIdentifying(t *testing.T, files map[string]csvFile, employees []org.Employee, key []byte) {
	t.Helper()
	type value struct{ what, v string }
	var global []value
	personal := map[string][]value{}
	for _, e := range employees {
		global = append(global,
			value{"BSN", e.BSN}, value{"e-mail", e.Email}, value{"phone", e.Phone}, value{"personnel number", e.PersonnelNumber},
			value{"postal code", e.PostalCode}, value{"address", e.Street + " " + e.HouseNumber}, value{"name", e.FullName()},
			value{"id", e.ID.String()})
		mine := []value{{"first name", e.FirstName}, {"last name", e.LastName}, {"initials", e.Initials},
			{"prefix", e.NamePrefix}, {"street", e.Street}, {"town", e.City}}
		if e.BirthDate != nil {
			mine = append(mine, value{"birth date", e.BirthDate.Format("2006-01-02")})
		}
		personal[pseudonymOf(key, e.ID)] = mine
	}
	for name, f := range files {
		ref := slices.Index(f.header, "werknemer_id")
		for _, row := range f.rows {
			var mine []value
			if ref >= 0 {
				mine = personal[row[ref]]
			}
			for i, field := range row {
				if field == "" {
					continue
				}
				for _, v := range global {
					if v.v != "" && (field == v.v || !hex64.MatchString(field) && strings.Contains(field, v.v)) {
						t.Errorf("%s, column %s: holds an employee's %s %q", name, f.header[i], v.what, v.v)
					}
				}
				for _, v := range mine {
					if v.v != "" && field == v.v {
						t.Errorf("%s, column %s: holds the employee's %s %q", name, f.header[i], v.what, v.v)
					}
				}
			}
		}
	}
}

// TestScopeMedicalAndVersion: the employer scope filters every file; medical columns come only
// with medical access; v1 files carry v1 names and none of v2's additions.
func TestScopeMedicalAndVersion(t *testing.T) {
	t.Parallel()
	b := setup(t, 60)
	var employer uuid.UUID
	var want int
	b.inTenant(t, func(tx pgx.Tx) error {
		return tx.QueryRow(b.ctx, `SELECT employer_id, count(*) FROM absences GROUP BY employer_id ORDER BY count(*) DESC LIMIT 1`).Scan(&employer, &want)
	})
	start := time.Date(2027, 1, 4, 1, 0, 0, 0, time.UTC)
	_, files := b.deliver(t, stream.Config{Folder: "Scope", Version: stream.V2, Streams: allStreams(), Employers: []uuid.UUID{employer}}, stream.Request{Mode: stream.ModeFull, Started: start})
	for name, f := range files {
		i := slices.Index(f.header, "werkgever_id")
		for _, row := range f.rows {
			if row[i] != employer.String() {
				t.Fatalf("%s: a row of employer %s outside the scope", name, row[i])
			}
		}
		if slices.Contains(f.header, "oorzaak") || slices.Contains(f.header, "uitkomst") && name == "spreekuren.csv" {
			t.Errorf("%s: medical column without medical access: %v", name, f.header)
		}
	}
	if n := len(files["verzuimmeldingen.csv"].rows); n != want || n == 0 {
		t.Errorf("verzuimmeldingen.csv: %d rows, the employer has %d absences", n, want)
	}

	cfg := stream.Config{Folder: "Oud", Version: stream.V1, Streams: []string{"werknemers", "agenda"}, Medical: true,
		Columns: map[string][]string{"werknemers": {"achternaam", "geboortejaar"}}}
	_, files = b.deliver(t, cfg, stream.Request{Mode: stream.ModeFull, Started: start})
	if got, want := files["werknemers.csv"].header, []string{"WerknemerID", "mutation", "mutation_time", "WerkgeverID", "Achternaam"}; !slices.Equal(got, want) {
		t.Errorf("v1 werknemers.csv header %v, want %v (mandatory, chosen, no v2-only birth year)", got, want)
	}
	if h := files["afspraken.csv"].header; slices.Contains(h, "spreekuur_id") || !slices.Contains(h, "AfspraakID") {
		t.Errorf("v1 afspraken.csv header %v: want v1 names without the consultation match", h)
	}
	for _, bad := range []stream.Config{
		{Folder: "X", Version: stream.V1, Streams: []string{"beschikkingen"}},
		{Folder: "X", Version: "v3", Streams: []string{"werknemers"}},
		{Folder: "X", Version: stream.V2, Streams: []string{"werknemers"}, Pseudonymised: true, Key: []byte("short")},
		{Folder: "X", Version: stream.V2, Streams: []string{"werknemers"}, Columns: map[string][]string{"werknemers": {"schoenmaat"}}},
		{Folder: "../X", Version: stream.V2, Streams: []string{"werknemers"}},
	} {
		if _, err := stream.Deliver(b.ctx, b.db.Pool, b.tenant, b.folder, bad, stream.Request{Mode: stream.ModeFull, Started: start}); err == nil {
			t.Errorf("configuration %+v delivered; want it refused", bad)
		}
	}
}

// TestSinceDelivery: a delivery since a moment carries the rows changed after it, as their
// last mutation, and the deletions.
func TestSinceDelivery(t *testing.T) {
	t.Parallel()
	b := setup(t, 20)
	var since time.Time
	var kept, gone, added uuid.UUID
	b.inTenant(t, func(tx pgx.Tx) error {
		if err := tx.QueryRow(b.ctx, "SELECT clock_timestamp()").Scan(&since); err != nil {
			return err
		}
		return nil
	})
	b.inTenant(t, func(tx pgx.Tx) error {
		ids, err := queryList[uuid.UUID](b.ctx, tx, "SELECT id FROM absences ORDER BY id LIMIT 2")
		if err != nil {
			return err
		}
		kept, gone = ids[0], ids[1]
		if _, err := tx.Exec(b.ctx, "UPDATE absences SET notes = 'bijgewerkt', updated_at = now() WHERE id = $1", kept); err != nil {
			return err
		}
		if _, err := tx.Exec(b.ctx, "DELETE FROM absence_percentages WHERE absence_id = $1", gone); err != nil {
			return err
		}
		if _, err := tx.Exec(b.ctx, "DELETE FROM absences WHERE id = $1", gone); err != nil {
			return err
		}
		return tx.QueryRow(b.ctx, `INSERT INTO absences (tenant_id, employee_id, employer_id, first_sick_day)
			SELECT tenant_id, employee_id, employer_id, DATE '2027-01-05' FROM absences WHERE id = $1 RETURNING id`, kept).Scan(&added)
	})
	res, files := b.deliver(t, stream.Config{Folder: "Sinds", Version: stream.V2, Streams: []string{"verzuim"}, Medical: true},
		stream.Request{Mode: stream.ModeSince, Since: since, Started: time.Date(2027, 1, 4, 1, 0, 0, 0, time.UTC)})
	got := map[string]string{}
	for k, r := range files["verzuimmeldingen.csv"].byKey() {
		got[k] = r["mutation"] + " " + r["toelichting"]
	}
	want := map[string]string{kept.String(): "update bijgewerkt", gone.String(): "delete ", added.String(): "insert "}
	if !maps.Equal(got, want) {
		t.Errorf("since delivery: %v, want %v", got, want)
	}
	if res.Manifest.Since == nil || !res.Manifest.Since.Equal(since) {
		t.Errorf("manifest since %v, want %v", res.Manifest.Since, since)
	}
}
