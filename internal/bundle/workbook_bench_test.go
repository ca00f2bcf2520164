package bundle

import (
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/dossierkast/dossierkast/internal/benchtest"
)

// BenchmarkWorkbook100k writes the metadata workbook of a bundle of 100,000 documents (1,000
// employees in 4 categories), planned as a generation plans them but made on the fly rather
// than read from a plan file, and reports how long it takes (the target is under 10 s), the
// CPU time it used, the process's peak resident memory while it ran, and the peak of the Go
// heap that was still live after a collection.
func BenchmarkWorkbook100k(b *testing.B) {
	const n = 100_000
	cats := []uuid.UUID{uuid.New(), uuid.New(), uuid.New(), uuid.New()}
	uploaded := time.Date(2026, 3, 4, 10, 30, 0, 0, time.UTC)
	emps := make([]uuid.UUID, n/100)
	for i := range emps {
		emps[i] = uuid.New()
	}
	// entries plans the n documents in order and hands each to fn, holding one at a time.
	entries := func(fn func(e *entry) error) error {
		pn := newPlanner(2<<30, workbookBound(n, 0))
		for i := range n {
			e := entry{DocumentID: uuid.New(), Size: int64(50_000 + i), ContentType: "application/pdf",
				SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", FileName: "Verslag gesprek " + strconv.Itoa(i) + ".pdf",
				CategoryID: cats[i%100/25], CategoryName: "Categorie " + strconv.Itoa(i%100/25), DocumentDate: &uploaded,
				UploadedByName: "Casemanager De Vries", UploadedAt: uploaded, EmployeeID: &emps[i/100],
				PersonnelNumber: strconv.Itoa(100000 + i/100), EmployeeName: "Jan van der Medewerker " + strconv.Itoa(i/100)}
			pn.add(&e)
			if err := fn(&e); err != nil {
				return err
			}
		}
		return nil
	}
	var pl plan
	if err := entries(func(e *entry) error {
		pl.Docs, pl.Parts, pl.Bytes = e.Seq, e.Part, pl.Bytes+e.Size
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	pl.LeftOut = 17
	info := workbookInfo{Lang: "nl", EmployerName: "Bouwbedrijf De Vries B.V.", Requester: "Casemanager", CreatedAt: uploaded}
	for range b.N {
		benchtest.ResetPeakRSS(b)
		live := benchtest.WatchLiveHeap()
		start, cpu := time.Now(), benchtest.CPUTime()
		w := &countingDiscard{}
		if err := writeWorkbook(w, pl, info, entries); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(start).Seconds(), "s/workbook")
		b.ReportMetric((benchtest.CPUTime() - cpu).Seconds(), "cpu_s/workbook")
		b.ReportMetric(float64(w.n)/1e6, "workbook_MB")
		b.ReportMetric(benchtest.PeakRSS(b), "peak_RSS_MB")
		b.ReportMetric(live()/1e6, "peak_live_heap_MB")
	}
}

type countingDiscard struct{ n int64 }

func (c *countingDiscard) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return io.Discard.Write(p)
}
