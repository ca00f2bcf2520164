package intervention

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/dossierkast/dossierkast/internal/access"
)

// Client is an employee delegated to a coach now, as "Mijn cliënten" shows him.
type Client struct {
	DelegationID   uuid.UUID
	EmployeeID     uuid.UUID
	FirstName      string
	LastName       string
	EmployerName   string
	EndsAt         *time.Time // the planned end; nil: until the trajectory closes
	TrajectoryID   *uuid.UUID // the guidance trajectory
	ProtocolName   string
	ProgrammeName  string
	OpenTasks      int
	NextTaskTitle  string
	NextTaskDueDay *time.Time
}

// ClientPage is one page of a coach's clients and how many he has in all.
type ClientPage struct {
	Clients []Client
	Total   int
}

// FindClients returns one page (limit rows from offset) of the employees delegated to p now,
// by name, with the programme, the guidance trajectory, its open tasks and the end date, and
// how many there are in all. It reads p's own delegations by index and applies the engine's
// delegation arm of visibility to each (access.DelegatedNow: running now, in reach unless he
// is a coach, not blacklisted), so an ended delegation or a blacklist entry removes the
// employee on the next request, exactly as from his pages. Only the page's rows are joined
// with their trajectory, programme and open tasks: one statement, whose window count over the
// delegations is the total. A page past the last client is counted apart.
func FindClients(ctx context.Context, tx pgx.Tx, p access.Principal, offset, limit int) (ClientPage, error) {
	delegated, args := access.DelegatedNow(p, "d", "e", nil)
	from := " FROM dossier_delegations d JOIN employees e ON e.id = d.employee_id WHERE " + delegated
	args = append(args, limit, max(offset, 0))
	rows, err := tx.Query(ctx, fmt.Sprintf(`SELECT c.id, c.employee_id, c.first_name, c.last_name, r.name, c.ended_at,
			c.trajectory_id, coalesce(pr.name, ''), coalesce(g.name, ''), coalesce(k.open, 0)::int, coalesce(k.title, ''), k.due_date, c.total
		FROM (SELECT d.id, d.employee_id, d.trajectory_id, d.ended_at, d.valid_from, e.first_name, e.last_name, e.employer_id,
				count(*) OVER () AS total`+from+`
			ORDER BY lower(e.last_name), lower(e.first_name), e.id, d.valid_from LIMIT $%d OFFSET $%d) c
		JOIN employers r ON r.id = c.employer_id
		LEFT JOIN trajectories t ON t.id = c.trajectory_id
		LEFT JOIN protocols pr ON pr.id = t.protocol_id
		LEFT JOIN programmes g ON g.id = t.programme_id
		LEFT JOIN LATERAL (SELECT count(*) OVER () AS open, k.title, k.due_date FROM tasks k
			WHERE k.trajectory_id = c.trajectory_id AND k.status = 'open'
			ORDER BY k.due_date NULLS LAST, k.position LIMIT 1) k ON true
		ORDER BY lower(c.last_name), lower(c.first_name), c.employee_id, c.valid_from`, len(args)-1, len(args)), args...)
	if err != nil {
		return ClientPage{}, fmt.Errorf("find clients: %w", err)
	}
	page := ClientPage{Clients: make([]Client, 0, limit)}
	for rows.Next() {
		page.Clients = append(page.Clients, Client{})
		c := &page.Clients[len(page.Clients)-1]
		var trajectory pgtype.UUID
		if err := rows.Scan((*[16]byte)(&c.DelegationID), (*[16]byte)(&c.EmployeeID), &c.FirstName, &c.LastName, &c.EmployerName,
			&c.EndsAt, &trajectory, &c.ProtocolName, &c.ProgrammeName, &c.OpenTasks, &c.NextTaskTitle, &c.NextTaskDueDay,
			&page.Total); err != nil {
			rows.Close()
			return ClientPage{}, fmt.Errorf("find clients: %w", err)
		}
		if trajectory.Valid {
			id := uuid.UUID(trajectory.Bytes)
			c.TrajectoryID = &id
		}
	}
	if err := rows.Err(); err != nil {
		return ClientPage{}, fmt.Errorf("find clients: %w", err)
	}
	if len(page.Clients) > 0 || offset <= 0 {
		return page, nil
	}
	if err := tx.QueryRow(ctx, "SELECT count(*)"+from, args[:len(args)-2]...).Scan(&page.Total); err != nil {
		return ClientPage{}, fmt.Errorf("count clients: %w", err)
	}
	return page, nil
}
