package jobs_test

import (
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/dossierkast/dossierkast/internal/config"
	"github.com/dossierkast/dossierkast/internal/jobs"
)

func TestConfigByMode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		mode       string
		wantQueues bool
	}{{"all", true}, {"worker", true}, {"web", false}} {
		cfg := jobs.Config(config.Mode(tc.mode), nil, jobs.NewWorkers(jobs.Deps{}))
		if got := len(cfg.Queues) > 0; got != tc.wantQueues {
			t.Errorf("mode %s: has queues = %v, want %v", tc.mode, got, tc.wantQueues)
		}
		if got := len(cfg.PeriodicJobs) > 0; got != tc.wantQueues {
			t.Errorf("mode %s: has periodic jobs = %v, want %v", tc.mode, got, tc.wantQueues)
		}
	}
}

// TestRescueAfterLongestTimeout: River takes a running job for stuck (its process died) only
// after every attempt, of the longest-running kind too, has timed out; also when a worker's
// timeout is set longer.
func TestRescueAfterLongestTimeout(t *testing.T) {
	t.Parallel()
	w := jobs.NewWorkers(jobs.Deps{})
	check := func() {
		t.Helper()
		cfg := jobs.Config(config.ModeAll, nil, w)
		for kind, timeout := range map[string]time.Duration{
			"generate_bundle": w.GenerateBundle.Timeout(nil), "delete_dossier": w.DeleteDossier.Timeout(nil),
			"cleanup_sessions": w.CleanupSessions.Timeout(nil), "expire_bundles": w.ExpireBundles.Timeout(nil),
			"default": river.JobTimeoutDefault,
		} {
			if cfg.RescueStuckJobsAfter <= timeout {
				t.Errorf("RescueStuckJobsAfter %s, not past the %s timeout of %s", cfg.RescueStuckJobsAfter, kind, timeout)
			}
		}
	}
	check()
	if got, want := jobs.Config(config.ModeAll, nil, w).RescueStuckJobsAfter, 2*time.Hour+15*time.Minute; got != want {
		t.Errorf("RescueStuckJobsAfter %s, want %s (generation's 2 hours and the margin)", got, want)
	}
	w.DeleteDossier.AttemptTimeout = 5 * time.Hour
	check()
}
