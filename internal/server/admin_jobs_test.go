package server_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"

	"github.com/riverqueue/river"
)

// TestJobsPageRetriesOnlyWhereMeaningful: a completed job offers no retry and a posted retry of
// it is refused; a job waiting for a later attempt offers one.
func TestJobsPageRetriesOnlyWhereMeaningful(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, 5)
	insert := func() int64 {
		t.Helper()
		res, err := b.river.Insert(ctx, exampleArgs{TenantID: b.tenant}, &river.InsertOpts{ScheduledAt: farFuture})
		if err != nil {
			t.Fatal(err)
		}
		return res.Job.ID
	}
	completed, waiting := insert(), insert()
	if _, err := b.db.Pool.Exec(ctx, "UPDATE river_job SET state = 'completed', finalized_at = now() WHERE id = $1", completed); err != nil {
		t.Fatal(err)
	}
	c := b.login(t, adminEmail)
	_, doc := b.get(t, c, "/admin/jobs")
	retries := func(id int64) int {
		return doc.Find(`#jobs tr[data-job="` + strconv.FormatInt(id, 10) + `"] form[action$="/retry"]`).Length()
	}
	if got := retries(completed); got != 0 {
		t.Errorf("retry offered on a completed job")
	}
	if got := retries(waiting); got != 1 {
		t.Errorf("retry forms on a waiting job = %d, want 1", got)
	}
	if got := b.post(t, c, "/admin/jobs/"+strconv.FormatInt(completed, 10)+"/retry", nil).StatusCode; got != http.StatusConflict {
		t.Errorf("retry of a completed job: status %d, want 409", got)
	}
}
