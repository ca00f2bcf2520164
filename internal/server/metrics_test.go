package server_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestMetricsOrphans: /metrics reports what the latest orphan check found, from its output in
// River's job row (whichever process ran it), and nothing before the first check.
func TestMetricsOrphans(t *testing.T) {
	t.Parallel()
	b := setup(t, 5)
	c := b.client(t)
	scrape := func() string {
		t.Helper()
		resp, body := b.fetch(t, c, "/metrics", nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("/metrics: status %d", resp.StatusCode)
		}
		return string(body)
	}
	if body := scrape(); strings.Contains(body, "dossierkast_orphans{") {
		t.Errorf("orphans reported before any check:\n%s", body)
	}
	for _, output := range []string{
		`{"blobs_without_row": 9, "rows_without_blob": 9, "unfinished_removed": 9}`,
		`{"blobs_without_row": 2, "rows_without_blob": 1, "unfinished_removed": 3}`,
	} {
		if _, err := b.db.Pool.Exec(t.Context(), `INSERT INTO river_job (kind, args, max_attempts, state, attempt, attempted_at, finalized_at, metadata)
			VALUES ('check_orphans', '{}', 1, 'completed', 1, now(), clock_timestamp(), jsonb_build_object('output', $1::jsonb))`, output); err != nil {
			t.Fatal(err)
		}
	}
	body := scrape()
	for _, want := range []string{`dossierkast_orphans{kind="blob_without_row"} 2`, `dossierkast_orphans{kind="row_without_blob"} 1`,
		`dossierkast_orphans{kind="unfinished_upload_removed"} 3`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
