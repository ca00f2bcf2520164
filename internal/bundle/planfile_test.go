package bundle

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
)

// TestPlanFile writes entries to a plan file and reads them back twice, as a generation does:
// every field as written, an absent employee or document date included after entries that had
// one, and no name of the file left in the temporary folder.
func TestPlanFile(t *testing.T) {
	t.Parallel()
	employee := uuid.New()
	date := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	want := []entry{
		{Seq: 1, DocumentID: uuid.New(), StorageKey: "documents/a/1", Size: 12, ContentType: "application/pdf", SHA256: "ab",
			FileName: "brief.pdf", CategoryID: uuid.New(), CategoryName: "Verzuim", DocumentDate: &date, UploadedByName: "Els",
			UploadedAt: time.Date(2026, 5, 2, 10, 0, 0, 0, time.UTC), EmployeeID: &employee, PersonnelNumber: "7",
			EmployeeName: "Jan de Vries", Path: "Werknemers/7 - Jan de Vries/Verzuim/brief.pdf", Part: 1},
		{Seq: 2, DocumentID: uuid.New(), StorageKey: "documents/a/2", FileName: "leeg.txt", UploadedAt: time.Date(2026, 5, 3, 0, 0, 0, 0, time.UTC),
			Path: "Werkgever/leeg.txt", Part: 2},
	}
	tmp := t.TempDir()
	pf, err := newPlanFile(tmp)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.close()
	for i := range want {
		if err := pf.add(&want[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := pf.finish(); err != nil {
		t.Fatal(err)
	}
	if names, _ := os.ReadDir(tmp); len(names) != 0 {
		t.Errorf("the plan file has a name in %s: %v", tmp, names)
	}
	for pass := range 2 {
		var got []entry
		if err := pf.each(context.Background(), func(e *entry) error { got = append(got, *e); return nil }); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("pass %d (-want +got):\n%s", pass+1, diff)
		}
	}
}
