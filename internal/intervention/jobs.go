package intervention

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/i18n"
	"github.com/dossierkast/dossierkast/internal/mail"
	"github.com/dossierkast/dossierkast/internal/org"
)

// sweepInterval is how often the delegation sweep runs. Access ends at the end date by the
// engine's own test, not by the sweep; the sweep records it, sends the warnings and catches
// what should not exist (a running delegation of a closed trajectory).
const sweepInterval = 15 * time.Minute

// WarnBefore is how long before a delegation's end date the coach and the case manager are told.
const WarnBefore = 7 * 24 * time.Hour

// SweepDelegationsArgs is the periodic delegation sweep over every tenant.
type SweepDelegationsArgs struct{}

// Kind is the job kind.
func (SweepDelegationsArgs) Kind() string { return "sweep_delegations" }

// SweepDelegationsPeriodic runs the sweep every sweepInterval, and once at start.
func SweepDelegationsPeriodic() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(sweepInterval),
		func() (river.JobArgs, *river.InsertOpts) { return SweepDelegationsArgs{}, nil },
		&river.PeriodicJobOpts{ID: "sweep_delegations", RunOnStart: true})
}

// SweepDelegationsWorker runs Sweep in every tenant and logs what it found.
type SweepDelegationsWorker struct {
	river.WorkerDefaults[SweepDelegationsArgs]
	Pool *pgxpool.Pool
	Mail mail.Sender // the outbox on Pool when nil
	Log  *slog.Logger
	// NowFunc is the clock; time.Now when nil.
	NowFunc func() time.Time
}

// Work sweeps every tenant.
func (w *SweepDelegationsWorker) Work(ctx context.Context, _ *river.Job[SweepDelegationsArgs]) error {
	now := time.Now()
	if w.NowFunc != nil {
		now = w.NowFunc()
	}
	tenants, err := org.TenantIDs(ctx, w.Pool)
	if err != nil {
		return fmt.Errorf("sweep delegations: %w", err)
	}
	sender := w.Mail
	if sender == nil {
		if sender, err = mail.NewSender("", "", w.Pool); err != nil {
			return err
		}
	}
	var total SweepResult
	for _, t := range tenants {
		r, err := Sweep(ctx, w.Pool, sender, t, now)
		if err != nil {
			return fmt.Errorf("sweep delegations of tenant %s: %w", t, err)
		}
		total.Orphaned += r.Orphaned
		total.Expired += r.Expired
		total.Warned += r.Warned
	}
	log := w.Log
	if log == nil {
		log = slog.Default()
	}
	// Closing a trajectory ends its delegations in its own transaction: an orphan found here
	// means a path that forgot to, and is a bug to look into.
	level := slog.LevelInfo
	if total.Orphaned > 0 {
		level = slog.LevelError
	}
	log.Log(ctx, level, "delegation sweep", "orphaned", total.Orphaned, "expired", total.Expired, "warned", total.Warned)
	return nil
}

// SweepResult counts what a sweep did.
type SweepResult struct {
	Orphaned int // running delegations of closed trajectories, ended now (should be none)
	Expired  int // delegations whose end date passed, recorded as expired
	Warned   int // warnings of an end date within WarnBefore sent
}

// Sweep, at time now, in one tenant: ends the delegations of closed trajectories and records
// those whose end date passed (access.SweepDelegations), then warns the coach and the case
// manager who deployed the intervention of each delegation ending within WarnBefore, once per
// end date (delegation.warned). A warning is sent in the transaction that marks it, so a failed
// send is tried again by the next sweep.
func Sweep(ctx context.Context, pool *pgxpool.Pool, sender mail.Sender, tenantID uuid.UUID, now time.Time) (SweepResult, error) {
	var r SweepResult
	var due []warning
	err := database.InTenant(ctx, pool, tenantID, func(tx pgx.Tx) error {
		orphaned, expired, err := access.SweepDelegations(ctx, tx, audit.Actor{}, now)
		if err != nil {
			return err
		}
		r.Orphaned, r.Expired = len(orphaned), len(expired)
		due, err = database.FindAll[warning](ctx, tx, "warnings", `SELECT d.id, d.employee_id, d.ended_at,
				trim(concat_ws(' ', e.first_name, e.last_name)), c.email, c.name, c.language,
				coalesce(m.email, ''), coalesce(m.language, 'nl')
			FROM dossier_delegations d JOIN employees e ON e.id = d.employee_id JOIN users c ON c.id = d.user_id
			LEFT JOIN intervention_deployments x ON x.guidance_trajectory_id = d.trajectory_id
			LEFT JOIN users m ON m.id = x.deployed_by AND m.status = 'active'
			WHERE d.end_reason IS NULL AND d.warned_at IS NULL AND d.ended_at > $1 AND d.ended_at <= $2
			ORDER BY d.ended_at, d.id`, now, now.Add(WarnBefore))
		return err
	})
	if err != nil {
		return SweepResult{}, err
	}
	for _, d := range due {
		err := database.InTenant(ctx, pool, tenantID, func(tx pgx.Tx) error {
			marked, err := access.MarkDelegationWarned(ctx, tx, d.ID, now)
			if err != nil || !marked {
				return err
			}
			to := []string{d.CoachEmail}
			for _, m := range d.messages() {
				if err := sender.Send(ctx, tenantID, m); err != nil {
					return fmt.Errorf("warn of delegation %s ending: %w", d.ID, err)
				}
			}
			if d.ManagerEmail != "" {
				to = append(to, d.ManagerEmail)
			}
			r.Warned++
			return audit.Write(ctx, tx, audit.Actor{}, audit.Event{Action: audit.DelegationWarned, SubjectType: "delegation",
				SubjectID: &d.ID, EmployeeID: &d.EmployeeID, Details: map[string]any{"to": to, "ends_at": d.EndsAt.UTC().Format(time.RFC3339)}})
		})
		if err != nil {
			return r, err
		}
	}
	return r, nil
}

// warning is a delegation whose end comes within WarnBefore, with who is told.
type warning struct {
	ID              uuid.UUID
	EmployeeID      uuid.UUID
	EndsAt          time.Time
	EmployeeName    string
	CoachEmail      string
	CoachName       string
	CoachLanguage   string
	ManagerEmail    string
	ManagerLanguage string
}

// messages are the warning mails: one to the coach, one to the case manager, each in his
// language. The employee is named, not described: both already work in his dossier.
func (d warning) messages() []mail.Message {
	msg := func(to, lang string) mail.Message {
		return mail.Message{To: []string{to}, Subject: i18n.Translate(lang, "delegation.warning.subject", d.EmployeeName),
			Body: i18n.Translate(lang, "delegation.warning.body", d.EmployeeName, d.CoachName, i18n.DateTime(d.EndsAt))}
	}
	list := []mail.Message{msg(d.CoachEmail, d.CoachLanguage)}
	if d.ManagerEmail != "" {
		list = append(list, msg(d.ManagerEmail, d.ManagerLanguage))
	}
	return list
}
