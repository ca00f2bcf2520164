package accesstest

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/benchtest"
)

// CPU is processor time spent so far: by this process (server and in-process clients alike)
// and by the PostgreSQL backends of one database, by process id. On a busy machine processor
// time per request says more than wall-clock latency, which waits on other programs.
type CPU struct {
	Go       time.Duration
	Postgres map[int]time.Duration
}

// userHZ is the unit of the times in /proc/<pid>/stat: Linux fixes it at 100 per second for
// every program, whatever the kernel's own tick.
const userHZ = 100

// ReadCPU returns the processor time of this process and of the client backends connected to
// conn's database, conn's own excepted. A backend whose /proc entry cannot be read (a server on
// another machine) counts as none, so the PostgreSQL figures are then zero.
func ReadCPU(ctx context.Context, conn *pgx.Conn) (CPU, error) {
	c := CPU{Go: benchtest.CPUTime(), Postgres: map[int]time.Duration{}}
	rows, err := conn.Query(ctx, `SELECT pid FROM pg_stat_activity
		WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()`)
	if err != nil {
		return CPU{}, fmt.Errorf("backends: %w", err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return CPU{}, fmt.Errorf("backends: %w", err)
	}
	for _, pid := range pids {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(int(pid)) + "/stat")
		if err != nil {
			continue
		}
		// The fields after the command name (which may hold spaces) start at state; utime and
		// stime are the 14th and 15th fields of the line, the 12th and 13th after it.
		_, rest, ok := strings.Cut(string(b), ") ")
		f := strings.Fields(rest)
		if !ok || len(f) < 13 {
			continue
		}
		utime, err1 := strconv.ParseInt(f[11], 10, 64)
		stime, err2 := strconv.ParseInt(f[12], 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		c.Postgres[int(pid)] = time.Duration(utime+stime) * time.Second / userHZ
	}
	return c, nil
}

// Since returns the processor time spent from earlier to c: by this process, and by the
// backends (those started in between from nothing; those gone in between are lost).
func (c CPU) Since(earlier CPU) (goTime, postgres time.Duration) {
	for pid, t := range c.Postgres {
		postgres += t - earlier.Postgres[pid]
	}
	return c.Go - earlier.Go, postgres
}

// ReportPerOp reports the processor time from earlier to c per operation, in milliseconds: of
// this process (go-cpu-ms/op) and of PostgreSQL's backends (pg-cpu-ms/op).
func (c CPU) ReportPerOp(b *testing.B, earlier CPU, ops int) {
	goTime, postgres := c.Since(earlier)
	perOp := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / float64(ops) }
	b.ReportMetric(perOp(goTime), "go-cpu-ms/op")
	b.ReportMetric(perOp(postgres), "pg-cpu-ms/op")
}
