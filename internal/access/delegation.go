package access

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
)

// Delegation is time-bound access of one user (a coach) to one employee's dossier. It counts for
// visibility while now is in [ValidFrom, EndedAt).
type Delegation struct {
	ID           uuid.UUID
	UserID       uuid.UUID
	UserName     string
	EmployeeID   uuid.UUID
	ValidFrom    time.Time
	EndedAt      *time.Time
	TrajectoryID *uuid.UUID
	Reason       string
	CreatedAt    time.Time
	CreatedBy    *uuid.UUID
	EndReason    *EndReason // set once the end is recorded
	EndNote      string
	// Blacklisted: the user is on "Geen toegang tot" for the employee (now), with that reason.
	// The blacklist beats every path, so the delegation gives no access while he is.
	Blacklisted     bool
	BlacklistReason string
}

// Active reports whether the delegation runs at time t: started and not ended.
func (d Delegation) Active(t time.Time) bool {
	return !d.ValidFrom.After(t) && (d.EndedAt == nil || d.EndedAt.After(t))
}

// GivesAccess reports whether the delegation lets its user into the dossier at time t: it is
// active and the user is not on the employee's blacklist, which always wins.
func (d Delegation) GivesAccess(t time.Time) bool { return d.Active(t) && !d.Blacklisted }

// FindDelegations returns the current and past delegations of an employee's dossier, newest
// first, with the name of the user they were granted to and whether he is on the employee's
// blacklist. The caller has checked that the
// requester may see them.
func FindDelegations(ctx context.Context, tx pgx.Tx, employeeID uuid.UUID) ([]Delegation, error) {
	rows, err := tx.Query(ctx, `SELECT d.id, d.user_id, coalesce(u.name, ''), d.employee_id, d.valid_from, d.ended_at,
			d.trajectory_id, d.reason, d.created_at, d.created_by, d.end_reason, d.end_note,
			b.user_id IS NOT NULL, coalesce(b.reason, '')
		FROM dossier_delegations d LEFT JOIN users u ON u.id = d.user_id
			LEFT JOIN user_blacklist b ON b.user_id = d.user_id AND b.employee_id = d.employee_id
		WHERE d.employee_id = $1
		ORDER BY d.valid_from DESC, d.id DESC`, employeeID)
	if err != nil {
		return nil, fmt.Errorf("find delegations of %s: %w", employeeID, err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Delegation, error) {
		var d Delegation
		err := row.Scan(&d.ID, &d.UserID, &d.UserName, &d.EmployeeID, &d.ValidFrom, &d.EndedAt, &d.TrajectoryID,
			&d.Reason, &d.CreatedAt, &d.CreatedBy, &d.EndReason, &d.EndNote, &d.Blacklisted, &d.BlacklistReason)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("find delegations of %s: %w", employeeID, err)
	}
	return list, nil
}

// GrantDelegation gives a user access to an employee's dossier from now on, until it is ended,
// by ed, who records it in tx. ed must hold delegations.grant (EFORBIDDEN). The user must hold
// delegations.receive (EINVALID otherwise) and must not be blacklisted for the employee
// (EINVALID: the blacklist always wins, so such a grant would be a dead letter); an employee or
// user of another tenant is ENOTFOUND.
func GrantDelegation(ctx context.Context, tx pgx.Tx, ed Editor, userID, employeeID uuid.UUID, reason string) (Delegation, error) {
	if err := ed.Allow(Require(ed.Principal, DelegationsGrant)); err != nil {
		return Delegation{}, err
	}
	var rights []string
	var blacklisted bool
	err := tx.QueryRow(ctx, `SELECT ro.rights, EXISTS (SELECT 1 FROM user_blacklist b WHERE b.user_id = u.id AND b.employee_id = $2)
		FROM users u JOIN roles ro ON ro.id = u.role_id, employees e WHERE u.id = $1 AND e.id = $2`,
		userID, employeeID).Scan(&rights, &blacklisted)
	if errors.Is(err, pgx.ErrNoRows) {
		return Delegation{}, apperr.New(apperr.ENOTFOUND, "error.not_found")
	}
	if err != nil {
		return Delegation{}, fmt.Errorf("grant delegation: %w", err)
	}
	if !slices.Contains(rights, string(DelegationsReceive)) {
		return Delegation{}, apperr.New(apperr.EINVALID, "delegation.error.cannot_receive")
	}
	if blacklisted {
		return Delegation{}, apperr.New(apperr.EINVALID, "delegation.error.blacklisted")
	}
	return insertDelegation(ctx, tx, ed, Delegation{UserID: userID, EmployeeID: employeeID, Reason: reason})
}

// TrajectoryGrant is a delegation for an intervention: to a coach of ProviderID, tied to the
// guidance trajectory whose closing ends it, optionally ending by itself at EndsAt.
type TrajectoryGrant struct {
	UserID       uuid.UUID
	EmployeeID   uuid.UUID
	ProviderID   uuid.UUID
	TrajectoryID uuid.UUID
	EndsAt       *time.Time
	Reason       string
}

// GrantTrajectoryDelegation gives g.UserID access to the employee's dossier for the guidance
// trajectory g.TrajectoryID, recorded (delegation.granted, with the reason) by ed in tx. ed must
// hold delegations.grant (EFORBIDDEN); the workflow that grants on its own passes System with
// the acting user's audit actor. The user must pass CheckReceiver for g.ProviderID (EINVALID,
// message delegation.error.<refusal>); ENOTFOUND for an unknown user or employee; EINVALID
// (field ends_at) for an end that is not in the future.
func GrantTrajectoryDelegation(ctx context.Context, tx pgx.Tx, ed Editor, g TrajectoryGrant) (Delegation, error) {
	if err := ed.Allow(Require(ed.Principal, DelegationsGrant)); err != nil {
		return Delegation{}, err
	}
	refusal, err := CheckReceiver(ctx, tx, g.UserID, g.ProviderID, g.EmployeeID)
	if err != nil {
		return Delegation{}, err
	}
	if refusal != RefusalNone {
		return Delegation{}, apperr.Invalid(map[string]string{"user_id": "delegation.error." + string(refusal)})
	}
	if g.EndsAt != nil && !g.EndsAt.After(time.Now()) {
		return Delegation{}, apperr.Invalid(map[string]string{"ends_at": "delegation.error.end_past"})
	}
	trajectory := g.TrajectoryID
	return insertDelegation(ctx, tx, ed, Delegation{UserID: g.UserID, EmployeeID: g.EmployeeID, TrajectoryID: &trajectory,
		EndedAt: g.EndsAt, Reason: g.Reason})
}

func insertDelegation(ctx context.Context, tx pgx.Tx, ed Editor, d Delegation) (Delegation, error) {
	d.ID = uuid.Must(uuid.NewV7())
	d.CreatedBy = ed.Actor.UserID
	err := tx.QueryRow(ctx, `INSERT INTO dossier_delegations (tenant_id, id, user_id, employee_id, reason, created_by, trajectory_id, ended_at)
		VALUES (app_tenant(), $1, $2, $3, $4, $5, $6, $7) RETURNING valid_from, created_at`,
		d.ID, d.UserID, d.EmployeeID, d.Reason, d.CreatedBy, d.TrajectoryID, d.EndedAt).Scan(&d.ValidFrom, &d.CreatedAt)
	if err != nil {
		return Delegation{}, fmt.Errorf("grant delegation: %w", err)
	}
	details := map[string]any{"user_id": d.UserID, "reason": d.Reason}
	if d.TrajectoryID != nil {
		details["trajectory_id"] = *d.TrajectoryID
	}
	if d.EndedAt != nil {
		details["ends_at"] = d.EndedAt.UTC().Format(time.RFC3339)
	}
	err = audit.Write(ctx, tx, ed.Actor, audit.Event{Action: audit.DelegationGranted, SubjectType: "delegation", SubjectID: &d.ID,
		EmployeeID: &d.EmployeeID, Details: details})
	return d, err
}

// EndReason is why a delegation ended; its label is "delegation.end_reason.<reason>".
type EndReason string

// The end reasons.
const (
	EndTrajectoryClosed EndReason = "trajectory_closed" // traject afgesloten
	EndRevoked          EndReason = "revoked"           // ingetrokken
	EndExpired          EndReason = "expired"           // verlopen
)

// endDelegations records the end of the delegations the condition where (on dossier_delegations
// d, with args) selects, that still give or will give access: access ends now (a delegation yet
// to start ends at its start), with reason, by and note, and one delegation.ended event each,
// signed by actor. It returns the ids it ended.
func endDelegations(ctx context.Context, tx pgx.Tx, actor audit.Actor, reason EndReason, note string, where string, args ...any) ([]uuid.UUID, error) {
	n := len(args)
	args = append(args, string(reason), actor.UserID, note)
	rows, err := tx.Query(ctx, fmt.Sprintf(`UPDATE dossier_delegations d SET ended_at = greatest(now(), d.valid_from),
			end_reason = $%d, ended_by = $%d, end_note = $%d
		WHERE (d.ended_at IS NULL OR d.ended_at > now()) AND %s
		RETURNING d.id, d.employee_id, d.user_id, d.trajectory_id`, n+1, n+2, n+3, where), args...)
	if err != nil {
		return nil, fmt.Errorf("end delegations: %w", err)
	}
	type ended struct {
		ID, EmployeeID, UserID uuid.UUID
		TrajectoryID           *uuid.UUID
	}
	list, err := pgx.CollectRows(rows, pgx.RowToStructByPos[ended])
	if err != nil {
		return nil, fmt.Errorf("end delegations: %w", err)
	}
	ids := make([]uuid.UUID, len(list))
	for i, d := range list {
		ids[i] = d.ID
		details := map[string]any{"user_id": d.UserID, "reason": reason}
		if note != "" {
			details["note"] = note
		}
		if d.TrajectoryID != nil {
			details["trajectory_id"] = *d.TrajectoryID
		}
		if err := audit.Write(ctx, tx, actor, audit.Event{Action: audit.DelegationEnded, SubjectType: "delegation",
			SubjectID: &d.ID, EmployeeID: &d.EmployeeID, Details: details}); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// EndTrajectoryDelegations ends, in tx, the delegations of a trajectory that is being closed
// (reason trajectory_closed), each audited with actor. The caller has checked the closing.
func EndTrajectoryDelegations(ctx context.Context, tx pgx.Tx, actor audit.Actor, trajectoryID uuid.UUID) ([]uuid.UUID, error) {
	return endDelegations(ctx, tx, actor, EndTrajectoryClosed, "", "d.trajectory_id = $1", trajectoryID)
}

// MaxEndNote is how many characters the note of an early end may have.
const MaxEndNote = 500

// EndDelegation ends the employee's delegation id early (reason revoked, with an optional
// note of at most MaxEndNote characters: EINVALID, field note, otherwise), by ed, who records
// it in tx. ed must see the employee (ENOTFOUND otherwise, as
// CanSeeEmployee) and hold delegations.grant (EFORBIDDEN). ENOTFOUND when the delegation is not
// the employee's; ECONFLICT (delegation.error.ended) when it has ended already.
func EndDelegation(ctx context.Context, tx pgx.Tx, ed Editor, employeeID, id uuid.UUID, note string) error {
	if err := ed.Allow(CanSeeEmployee(ctx, tx, ed.Principal, employeeID)); err != nil {
		return err
	}
	if err := ed.Allow(Require(ed.Principal, DelegationsGrant)); err != nil {
		return err
	}
	if utf8.RuneCountInString(note) > MaxEndNote {
		return apperr.Invalid(map[string]string{"note": "delegation.error.note_long"})
	}
	ids, err := endDelegations(ctx, tx, ed.Actor, EndRevoked, note, "d.id = $1 AND d.employee_id = $2", id, employeeID)
	if err != nil || len(ids) > 0 {
		return err
	}
	var exists bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM dossier_delegations WHERE id = $1 AND employee_id = $2)",
		id, employeeID).Scan(&exists); err != nil {
		return fmt.Errorf("end delegation: %w", err)
	}
	if !exists {
		return apperr.New(apperr.ENOTFOUND, "error.not_found")
	}
	return apperr.New(apperr.ECONFLICT, "delegation.error.ended")
}

// SetDelegationEnd changes when the employee's running delegation id ends by itself (nil: not by
// itself), by ed, who records it (delegation.updated) in tx; a new end date sends its warning
// again. Rules as EndDelegation; EINVALID (field ends_at) when the end is not in the future.
func SetDelegationEnd(ctx context.Context, tx pgx.Tx, ed Editor, employeeID, id uuid.UUID, endsAt *time.Time) error {
	if err := ed.Allow(CanSeeEmployee(ctx, tx, ed.Principal, employeeID)); err != nil {
		return err
	}
	if err := ed.Allow(Require(ed.Principal, DelegationsGrant)); err != nil {
		return err
	}
	if endsAt != nil && !endsAt.After(time.Now()) {
		return apperr.Invalid(map[string]string{"ends_at": "delegation.error.end_past"})
	}
	tag, err := tx.Exec(ctx, `UPDATE dossier_delegations SET ended_at = $3, warned_at = NULL
		WHERE id = $1 AND employee_id = $2 AND end_reason IS NULL AND (ended_at IS NULL OR ended_at > now())`, id, employeeID, endsAt)
	if err != nil {
		return fmt.Errorf("set delegation end: %w", err)
	}
	if tag.RowsAffected() == 0 {
		var exists bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM dossier_delegations WHERE id = $1 AND employee_id = $2)",
			id, employeeID).Scan(&exists); err != nil {
			return fmt.Errorf("set delegation end: %w", err)
		}
		if !exists {
			return apperr.New(apperr.ENOTFOUND, "error.not_found")
		}
		return apperr.New(apperr.ECONFLICT, "delegation.error.ended")
	}
	ends := ""
	if endsAt != nil {
		ends = endsAt.UTC().Format(time.RFC3339)
	}
	return audit.Write(ctx, tx, ed.Actor, audit.Event{Action: audit.DelegationUpdated, SubjectType: "delegation", SubjectID: &id,
		EmployeeID: &employeeID, Details: map[string]any{"ends_at": ends}})
}

// SweepDelegations is the defence in depth of DESIGN.md §8, run by a periodic job at time now.
// It ends the delegations that still give access although their trajectory is closed (closing
// ends them in its own transaction, so it should find none: each one found is a bug to look
// into), and records the end of those whose end date passed (reason expired; access ended at the
// date already, by the engine's own test of ended_at). Each end is audited with actor. It
// returns the ids of both.
func SweepDelegations(ctx context.Context, tx pgx.Tx, actor audit.Actor, now time.Time) (orphaned, expired []uuid.UUID, err error) {
	orphaned, err = endDelegations(ctx, tx, actor, EndTrajectoryClosed, "",
		"d.trajectory_id IN (SELECT t.id FROM trajectories t WHERE t.status = 'closed')")
	if err != nil {
		return nil, nil, err
	}
	rows, err := tx.Query(ctx, `UPDATE dossier_delegations d SET end_reason = 'expired'
		WHERE d.end_reason IS NULL AND d.ended_at IS NOT NULL AND d.ended_at <= $1
		RETURNING d.id, d.employee_id, d.user_id`, now)
	if err != nil {
		return nil, nil, fmt.Errorf("expire delegations: %w", err)
	}
	type row struct{ ID, EmployeeID, UserID uuid.UUID }
	list, err := pgx.CollectRows(rows, pgx.RowToStructByPos[row])
	if err != nil {
		return nil, nil, fmt.Errorf("expire delegations: %w", err)
	}
	for _, d := range list {
		expired = append(expired, d.ID)
		if err := audit.Write(ctx, tx, actor, audit.Event{Action: audit.DelegationEnded, SubjectType: "delegation",
			SubjectID: &d.ID, EmployeeID: &d.EmployeeID, Details: map[string]any{"user_id": d.UserID, "reason": EndExpired}}); err != nil {
			return nil, nil, err
		}
	}
	return orphaned, expired, nil
}

// MarkDelegationWarned records that the warning of delegation id's coming end went out, so it
// goes once per end date. It reports false when another run marked it first.
func MarkDelegationWarned(ctx context.Context, tx pgx.Tx, id uuid.UUID, now time.Time) (bool, error) {
	tag, err := tx.Exec(ctx, "UPDATE dossier_delegations SET warned_at = $2 WHERE id = $1 AND warned_at IS NULL", id, now)
	if err != nil {
		return false, fmt.Errorf("mark delegation warned: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// FindDelegationEmployee returns the employee whose dossier delegation id opens, so that a
// request addressed by the delegation alone can check access to his dossier first; ENOTFOUND
// when it does not exist.
func FindDelegationEmployee(ctx context.Context, tx pgx.Tx, id uuid.UUID) (uuid.UUID, error) {
	var employeeID uuid.UUID
	err := tx.QueryRow(ctx, "SELECT employee_id FROM dossier_delegations WHERE id = $1", id).Scan(&employeeID)
	if errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, apperr.New(apperr.ENOTFOUND, "error.not_found")
	}
	if err != nil {
		return uuid.Nil, fmt.Errorf("find employee of delegation %s: %w", id, err)
	}
	return employeeID, nil
}

// CanSeeDelegations returns nil when p may see the delegations of a dossier he can see: who
// manages access (CanManageLinks) or hands out delegations (delegations.grant). EFORBIDDEN
// otherwise.
func CanSeeDelegations(p Principal) error {
	if CanManageLinks(p) == nil || p.Has(DelegationsGrant) {
		return nil
	}
	return apperr.New(apperr.EFORBIDDEN, "error.forbidden")
}
