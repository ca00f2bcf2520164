package stream

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCatalogueRules checks the invariants the delivery code and the privacy rules rely on.
func TestCatalogueRules(t *testing.T) {
	t.Parallel()
	name := regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	v1Name := regexp.MustCompile(`^[A-Z][A-Za-z0-9]*$`)
	types := map[string]bool{TypeID: true, TypeText: true, TypeDate: true, TypeTimestamp: true, TypeInteger: true, TypeBoolean: true}
	streams, files := map[string]bool{}, map[string]bool{}
	for _, s := range Catalogue {
		if !name.MatchString(s.ID) || streams[s.ID] || s.Name == "" || s.Description == "" || len(s.Files) == 0 {
			t.Errorf("stream %q: id not unique or not lower-case, or no name, description or files", s.ID)
		}
		streams[s.ID] = true
		for _, f := range s.Files {
			if !name.MatchString(f.Name) || files[f.Name] || f.table == "" || f.Description == "" {
				t.Errorf("file %q: name not unique or not lower-case, or no table or description", f.Name)
			}
			files[f.Name] = true
			k := f.Key()
			if !k.Mandatory || !k.Pseudonym || k.Identifying || k.Medical || k.Type != TypeID || k.expr != "t.id::text" {
				t.Errorf("file %s: the first column %s is not a mandatory, pseudonymised id of the row", f.Name, k.Name)
			}
			seen, seenV1 := map[string]bool{MutationColumn: true, MutationTimeColumn: true}, map[string]bool{MutationColumn: true, MutationTimeColumn: true}
			for _, c := range f.Columns {
				where := f.Name + "." + c.Name
				if !name.MatchString(c.Name) || seen[c.Name] {
					t.Errorf("%s: v2 name not unique in the file or not lower-case", where)
				}
				seen[c.Name] = true
				if c.V1 != "" {
					if !v1Name.MatchString(c.V1) || seenV1[c.V1] {
						t.Errorf("%s: v1 name %q not unique in the file or not PascalCase", where, c.V1)
					}
					seenV1[c.V1] = true
				}
				if !s.NewInV2 && c.Mandatory && c.V1 == "" {
					t.Errorf("%s: mandatory but absent in v1", where)
				}
				if c.Mandatory && (c.Identifying || c.Medical) {
					t.Errorf("%s: mandatory columns can be neither identifying nor medical (they could not be left out)", where)
				}
				if c.Pseudonym && c.Type != TypeID {
					t.Errorf("%s: pseudonymised but not an id", where)
				}
				if c.Type == TypeID && !c.Pseudonym && c.Identifying {
					t.Errorf("%s: an identifying id", where)
				}
				if !types[c.Type] || c.Description == "" || c.expr == "" {
					t.Errorf("%s: type %q, description or SQL missing", where, c.Type)
				}
			}
			// What a run records as the employees it carried (datastream_run_employees) reads the
			// werknemer_id column: every file naming a person has it, mandatory, with the
			// employee's id (the key of employees, or employee_id).
			ref, ok := f.Column(PersonColumn)
			switch {
			case !ok && slices.ContainsFunc(f.Columns, func(c Column) bool { return c.Identifying }):
				t.Errorf("file %s: identifies a person but has no %s column", f.Name, PersonColumn)
			case ok && (!ref.Mandatory || (ref.expr != exprID("employee_id") && (ref != f.Key() || f.table != "employees"))):
				t.Errorf("file %s: %s is not a mandatory employee id (%s)", f.Name, PersonColumn, ref.expr)
			}
			if _, ok := f.Column("werknemer_id"); ok && f.Name != "werknemers" {
				if c, _ := f.Column("werknemer_id"); !c.Pseudonym {
					t.Errorf("%s: the reference to the employee is not pseudonymised", f.Name)
				}
			}
		}
	}
	for _, id := range []string{"werknemers", "verzuim", "trajecten", "agenda", "beschikkingen", "dienstverlening", "polissen", "polisdeelnemers"} {
		if !streams[id] {
			t.Errorf("stream %s missing", id)
		}
	}
	// v2 matches an appointment to its consultation; v1 cannot.
	_, f, err := FindFile("afspraken")
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := f.Column("spreekuur_id"); !ok || c.V1 != "" {
		t.Errorf("afspraken.spreekuur_id: present %v, v1 name %q; want a v2-only column", ok, c.V1)
	}
}

// TestMarkdownIsCommitted fails when docs/datastreams.md is not what the catalogue writes:
// regenerate it with `go run ./cmd/dossierkast datastreams catalogue --markdown > docs/datastreams.md`.
func TestMarkdownIsCommitted(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf); err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "datastreams.md"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(committed), buf.String()); diff != "" {
		t.Errorf("docs/datastreams.md differs from the catalogue (-committed +catalogue); regenerate it with "+
			"`go run ./cmd/dossierkast datastreams catalogue --markdown > docs/datastreams.md`:\n%s", diff)
	}
}
