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

// TestHeartbeatNoticesDeadJobsWithinTwoMinutes: with the production timing, a dead worker's job
// is handed back within 2 minutes of its last beat (issue 14.1), even when the dead process
// was the leader, and a worker that lives misses more than two beats before it is taken for
// dead.
func TestHeartbeatNoticesDeadJobsWithinTwoMinutes(t *testing.T) {
	t.Parallel()
	// leaderHandover is how long River takes to elect a new leader when the leader died: its
	// leadership's TTL (5 s election interval and 10 s padding in River v0.51).
	const leaderHandover = 15 * time.Second
	h := jobs.NewWorkers(jobs.Deps{}).Heartbeat
	if worst := h.StaleAfter + h.CheckEvery + leaderHandover; worst > 2*time.Minute {
		t.Errorf("a dead job may go unnoticed for %s, want at most 2 minutes", worst)
	}
	if h.StaleAfter <= 2*h.Period {
		t.Errorf("stale after %s with a beat every %s: a living worker that misses one beat is taken for dead", h.StaleAfter, h.Period)
	}
}
