package bundle

import (
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
)

// BenchmarkWorkbook100k writes the metadata workbook of a bundle of 100,000 documents (1,000
// employees in 4 categories) and reports how long it takes (the target is under 10 s), the CPU
// time it used, and the process's peak resident memory while it ran.
func BenchmarkWorkbook100k(b *testing.B) {
	const n = 100_000
	cats := []uuid.UUID{uuid.New(), uuid.New(), uuid.New(), uuid.New()}
	entries := make([]entry, n)
	uploaded := time.Date(2026, 3, 4, 10, 30, 0, 0, time.UTC)
	var emp uuid.UUID
	for i := range entries {
		if i%100 == 0 {
			emp = uuid.New()
		}
		entries[i] = entry{DocumentID: uuid.New(), Size: int64(50_000 + i), ContentType: "application/pdf",
			SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", FileName: "Verslag gesprek " + strconv.Itoa(i) + ".pdf",
			CategoryID: cats[i%4], CategoryName: "Categorie " + strconv.Itoa(i%4), DocumentDate: &uploaded,
			UploadedByName: "Casemanager De Vries", UploadedAt: uploaded, EmployeeID: ptr(emp),
			PersonnelNumber: strconv.Itoa(100000 + i/100), EmployeeName: "Jan van der Medewerker " + strconv.Itoa(i/100)}
	}
	pl := makePlan(entries, 17, 2<<30)
	info := workbookInfo{Lang: "nl", EmployerName: "Bouwbedrijf De Vries B.V.", Requester: "Casemanager", CreatedAt: uploaded}
	for range b.N {
		debug.FreeOSMemory()
		if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
			b.Logf("cannot reset the peak RSS: %v", err)
		}
		start, cpu := time.Now(), cpuTime()
		w := &countingDiscard{}
		if err := writeWorkbook(w, pl, info); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(start).Seconds(), "s/workbook")
		b.ReportMetric((cpuTime() - cpu).Seconds(), "cpu_s/workbook")
		b.ReportMetric(float64(w.n)/1e6, "workbook_MB")
		b.ReportMetric(peakRSSMB(), "peak_RSS_MB")
	}
}

// cpuTime is the CPU time the process has used, user and system: on a shared machine it shows
// the work done apart from the wait for a core.
func cpuTime() time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// peakRSSMB is the process's peak resident set size (VmHWM) in MB, or 0 when unknown.
func peakRSSMB() float64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}

type countingDiscard struct{ n int64 }

func (c *countingDiscard) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return io.Discard.Write(p)
}

func ptr[T any](v T) *T { return &v }
