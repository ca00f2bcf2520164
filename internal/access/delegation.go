package access

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
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
}

// Active reports whether the delegation gives access at time t.
func (d Delegation) Active(t time.Time) bool {
	return !d.ValidFrom.After(t) && (d.EndedAt == nil || d.EndedAt.After(t))
}

// FindDelegations returns the current and past delegations of an employee's dossier, newest
// first, with the name of the user they were granted to. The caller has checked that the
// requester may see them.
func FindDelegations(ctx context.Context, tx pgx.Tx, employeeID uuid.UUID) ([]Delegation, error) {
	rows, err := tx.Query(ctx, `SELECT d.id, d.user_id, coalesce(u.name, ''), d.employee_id, d.valid_from, d.ended_at,
			d.trajectory_id, d.reason, d.created_at, d.created_by
		FROM dossier_delegations d LEFT JOIN users u ON u.id = d.user_id
		WHERE d.employee_id = $1
		ORDER BY d.valid_from DESC, d.id DESC`, employeeID)
	if err != nil {
		return nil, fmt.Errorf("find delegations of %s: %w", employeeID, err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Delegation, error) {
		var d Delegation
		err := row.Scan(&d.ID, &d.UserID, &d.UserName, &d.EmployeeID, &d.ValidFrom, &d.EndedAt, &d.TrajectoryID,
			&d.Reason, &d.CreatedAt, &d.CreatedBy)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("find delegations of %s: %w", employeeID, err)
	}
	return list, nil
}
