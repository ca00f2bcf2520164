// Package jobs puts the app's River client together: the workers a worker process runs, its
// queues and periodic jobs, and how jobs whose process died are noticed: by their stale
// heartbeat (package heartbeat) within a couple of minutes, and, as a fallback, by River's own
// rescue. serve
// builds its client from it in every mode, and tests build theirs from it, so that a test of a
// crash runs the workers as production does.
package jobs

import (
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/dossierkast/dossierkast/internal/auth"
	"github.com/dossierkast/dossierkast/internal/bundle"
	"github.com/dossierkast/dossierkast/internal/config"
	"github.com/dossierkast/dossierkast/internal/datastream/delivery"
	"github.com/dossierkast/dossierkast/internal/document"
	"github.com/dossierkast/dossierkast/internal/export"
	"github.com/dossierkast/dossierkast/internal/intervention"
	"github.com/dossierkast/dossierkast/internal/jobs/heartbeat"
	"github.com/dossierkast/dossierkast/internal/jobs/orphans"
	"github.com/dossierkast/dossierkast/internal/mail"
	"github.com/dossierkast/dossierkast/internal/secret"
)

// Deps are what the workers work with.
type Deps struct {
	Pool     *pgxpool.Pool
	Blobs    document.BlobStore
	PartSize int64 // BUNDLE_PART_SIZE
	Log      *slog.Logger
	Mail     mail.Sender // export and delegation mails; with nil, exports send none and the delegation sweep uses the outbox
	BaseURL  string      // the address mails link to
	// Keys opens datastream secrets (pseudonym keys, external log-ins).
	Keys *secret.Keyring
}

// Workers are the app's workers, one per job kind. They are fields so that a test can set a
// worker's hooks or shorten its timeout before Config registers them.
type Workers struct {
	CleanupSessions  *auth.CleanupSessionsWorker
	GenerateBundle   *bundle.GenerateBundleWorker
	DeleteDossier    *bundle.DeleteDossierWorker
	ExpireBundles    *bundle.ExpireBundlesWorker
	CheckHeartbeats  *heartbeat.CheckWorker
	CheckOrphans     *orphans.Worker
	GenerateExport   *export.GenerateExportWorker
	ExpireExports    *export.ExpireExportsWorker
	SweepDelegations *intervention.SweepDelegationsWorker
	DeliverStream    *delivery.DeliverWorker
	ScheduleStreams  *delivery.ScheduleWorker
	PruneChanges     *delivery.PruneWorker
	// Heartbeat is the timing of the long jobs' heartbeats and of their check (heartbeat.Default).
	// Config gives the long workers its Period and the check its StaleAfter and CheckEvery.
	Heartbeat heartbeat.Settings
}

// NewWorkers returns the app's workers on d.
func NewWorkers(d Deps) *Workers {
	return &Workers{
		CleanupSessions:  &auth.CleanupSessionsWorker{Pool: d.Pool},
		GenerateBundle:   &bundle.GenerateBundleWorker{Pool: d.Pool, Blobs: d.Blobs, PartSize: d.PartSize, Log: d.Log},
		DeleteDossier:    &bundle.DeleteDossierWorker{Pool: d.Pool, Blobs: d.Blobs, Log: d.Log},
		ExpireBundles:    &bundle.ExpireBundlesWorker{Pool: d.Pool, Blobs: d.Blobs, Log: d.Log},
		CheckHeartbeats:  &heartbeat.CheckWorker{Pool: d.Pool, Log: d.Log},
		CheckOrphans:     &orphans.Worker{Pool: d.Pool, Blobs: d.Blobs, Log: d.Log},
		GenerateExport:   &export.GenerateExportWorker{Pool: d.Pool, Blobs: d.Blobs, Mail: d.Mail, BaseURL: d.BaseURL, Log: d.Log},
		ExpireExports:    &export.ExpireExportsWorker{Pool: d.Pool, Blobs: d.Blobs, Log: d.Log},
		SweepDelegations: &intervention.SweepDelegationsWorker{Pool: d.Pool, Mail: d.Mail, Log: d.Log},
		DeliverStream:    &delivery.DeliverWorker{Pool: d.Pool, Blobs: d.Blobs, Keys: d.Keys, Mail: d.Mail, Log: d.Log},
		ScheduleStreams:  &delivery.ScheduleWorker{Pool: d.Pool, Log: d.Log},
		PruneChanges:     &delivery.PruneWorker{Pool: d.Pool, Log: d.Log},
		Heartbeat:        heartbeat.Default,
	}
}

// LongestTimeout is the longest an attempt of any of the workers may run: River cancels an
// attempt's context after its worker's timeout, or after its own default for workers that set
// none.
func (w *Workers) LongestTimeout() time.Duration {
	return max(river.JobTimeoutDefault, w.GenerateBundle.Timeout(nil), w.DeleteDossier.Timeout(nil), w.GenerateExport.Timeout(nil),
		w.DeliverStream.Timeout(nil))
}

// rescueMargin is how long past the longest attempt timeout River waits before it takes a
// running job for stuck (its process died) and schedules its next attempt. An attempt that
// is still alive has been cancelled by then, and has had time to return.
const rescueMargin = 15 * time.Minute

// Config is River's configuration for a serve mode. A web-only process gets a client that
// inserts jobs but has no queues, so it neither works jobs nor takes part in leader election
// (and so never enqueues periodic jobs or rescues stuck ones).
//
// A long job (generation, deletion) whose process died (killed, out of memory, machine gone)
// stops renewing its heartbeat; the leader's heartbeat check hands it back to River for its
// next attempt once the heartbeat is w.Heartbeat.StaleAfter old (heartbeat.Default: within
// 90 seconds of the death). River's own rescue is not shortened to do this: it goes by how
// long a job has run, not by whether its process lives, so it cannot tell a dead generation
// from one that has rightly run an hour. It stays as the fallback for every kind: a job still
// running in River's table is rescued once the elected leader's rescuer finds it older than
// RescueStuckJobsAfter and older than its worker's timeout, and retried by its retry policy
// (River's default, attempt⁴ seconds) like any failed attempt. RescueStuckJobsAfter is the
// longest attempt timeout plus rescueMargin (2 h 15 min with the full-dossier generation's 2
// hours), so no job that still runs is ever taken for stuck; the workers' attempts are all safe
// to run again.
func Config(mode config.Mode, log *slog.Logger, w *Workers) *river.Config {
	w.GenerateBundle.Heartbeat = w.Heartbeat.Period
	w.DeleteDossier.Heartbeat = w.Heartbeat.Period
	w.GenerateExport.Heartbeat = w.Heartbeat.Period
	w.DeliverStream.Heartbeat = w.Heartbeat.Period
	w.CheckHeartbeats.StaleAfter = w.Heartbeat.StaleAfter
	w.CheckHeartbeats.Targets = []heartbeat.Target{w.GenerateBundle.HeartbeatTarget(), w.DeleteDossier.HeartbeatTarget(),
		w.GenerateExport.HeartbeatTarget(), w.DeliverStream.HeartbeatTarget()}
	workers := river.NewWorkers()
	river.AddWorker(workers, w.CleanupSessions)
	river.AddWorker(workers, w.GenerateBundle)
	river.AddWorker(workers, w.DeleteDossier)
	river.AddWorker(workers, w.ExpireBundles)
	river.AddWorker(workers, w.CheckHeartbeats)
	river.AddWorker(workers, w.CheckOrphans)
	river.AddWorker(workers, w.GenerateExport)
	river.AddWorker(workers, w.ExpireExports)
	river.AddWorker(workers, w.SweepDelegations)
	river.AddWorker(workers, w.DeliverStream)
	river.AddWorker(workers, w.ScheduleStreams)
	river.AddWorker(workers, w.PruneChanges)
	rcfg := &river.Config{Logger: log, Workers: workers, RescueStuckJobsAfter: w.LongestTimeout() + rescueMargin}
	if mode != config.ModeWeb {
		rcfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 10}}
		rcfg.PeriodicJobs = []*river.PeriodicJob{auth.CleanupSessionsPeriodic(), bundle.ExpireBundlesPeriodic(),
			heartbeat.CheckPeriodic(w.Heartbeat.CheckEvery), orphans.Periodic(), export.ExpireExportsPeriodic(),
			intervention.SweepDelegationsPeriodic(), delivery.SchedulePeriodic(),
			delivery.PrunePeriodic()}
	}
	return rcfg
}
