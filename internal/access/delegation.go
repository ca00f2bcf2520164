package access

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

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
			d.trajectory_id, d.reason, d.created_at, d.created_by, b.user_id IS NOT NULL, coalesce(b.reason, '')
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
			&d.Reason, &d.CreatedAt, &d.CreatedBy, &d.Blacklisted, &d.BlacklistReason)
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
	actor := ed.Actor
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
	d := Delegation{ID: uuid.Must(uuid.NewV7()), UserID: userID, EmployeeID: employeeID, Reason: reason, CreatedBy: actor.UserID}
	err = tx.QueryRow(ctx, `INSERT INTO dossier_delegations (tenant_id, id, user_id, employee_id, reason, created_by)
		VALUES (app_tenant(), $1, $2, $3, $4, $5) RETURNING valid_from, created_at`,
		d.ID, d.UserID, d.EmployeeID, d.Reason, d.CreatedBy).Scan(&d.ValidFrom, &d.CreatedAt)
	if err != nil {
		return Delegation{}, fmt.Errorf("grant delegation: %w", err)
	}
	err = audit.Write(ctx, tx, actor, audit.Event{Action: audit.DelegationGranted, SubjectType: "delegation", SubjectID: &d.ID,
		EmployeeID: &employeeID, Details: map[string]any{"user_id": userID, "reason": reason}})
	return d, err
}
