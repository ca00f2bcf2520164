package server

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/dossierkast/dossierkast/internal/database"
)

// healthz answers while the process is up.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, err := fmt.Fprintln(w, "ok")
	return err
}

// readyz answers 200 when the database is reachable and its schema is this binary's, else 503.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	v, err := database.CurrentVersion(ctx, s.pool)
	switch {
	case err != nil:
		w.WriteHeader(http.StatusServiceUnavailable)
		_, err = fmt.Fprintln(w, "database unreachable")
	case v != database.LatestVersion():
		w.WriteHeader(http.StatusServiceUnavailable)
		_, err = fmt.Fprintf(w, "schema at version %d, want %d\n", v, database.LatestVersion())
	default:
		if _, err = fmt.Fprintln(w, "ready"); err != nil {
			return err
		}
		// Still ready: a missing statistic makes lists slow, not wrong.
		tables, serr := database.MissingStatistics(ctx, s.pool, statisticsMinRows)
		for _, t := range tables {
			_, err = fmt.Fprintf(w, "warning: no planner statistics for %s (%d rows): run ANALYZE\n", t.Table, t.Rows)
		}
		if serr != nil {
			logger(r).Warn("read planner statistics", "err", serr)
		}
	}
	return err
}

// statisticsMinRows is the size from which a table without planner statistics is worth a
// warning: below it, any plan is fast.
const statisticsMinRows = 10_000
