// Package benchtest measures what the benchmarks report beside their timings: the processor time
// and memory of the process, and the load on the machine.
package benchtest

import (
	"bufio"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ResetPeakRSS returns unused memory to the system and resets the process's peak resident set
// size (VmHWM; Linux: writing 5 to clear_refs), so PeakRSS measures from here. It returns the
// resident set size now, in MB: the baseline.
func ResetPeakRSS(b testing.TB) float64 {
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Logf("cannot reset the peak RSS: %v", err)
	}
	return procStatus(b, "VmRSS:")
}

// PeakRSS is the process's peak resident set size in MB since the last ResetPeakRSS.
func PeakRSS(b testing.TB) float64 { return procStatus(b, "VmHWM:") }

// procStatus reads a size in kB from /proc/self/status, in MB.
func procStatus(b testing.TB, field string) float64 {
	file, err := os.Open("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	defer file.Close()
	s := bufio.NewScanner(file)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), field); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return float64(kb) / 1024
		}
	}
	b.Fatalf("no %s in /proc/self/status", field)
	return 0
}

// CPUTime is the CPU time the process has used, user and system: on a shared machine it shows
// the work done apart from the wait for a core.
func CPUTime() time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// WatchLiveHeap samples the Go heap that the last garbage collection found live, every 10 ms,
// until the returned function is called; that returns the largest sample in bytes. Unlike the
// resident set size it leaves out garbage not yet collected and memory the runtime keeps, so
// it shows whether what the program holds grows.
func WatchLiveHeap() func() float64 {
	stop, done := make(chan struct{}), make(chan uint64)
	go func() {
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		var peak uint64
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-stop:
				done <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return func() float64 {
		close(stop)
		return float64(<-done)
	}
}

// LoadAverage is the first three fields of /proc/loadavg (the machine's load over 1, 5 and 15
// minutes), or "?": other work on the machine slows a benchmark down, not its subject alone.
func LoadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(data)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "?"
}
