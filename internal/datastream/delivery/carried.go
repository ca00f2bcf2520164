package delivery

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/database"
)

// EmployeeDelivery is a configuration that delivered an employee's data without
// pseudonymisation: its succeeded runs whose files carried a row about him or naming him
// (datastream_run_employees, recorded by stream.Deliver in the run's snapshot).
type EmployeeDelivery struct {
	ConfigID    uuid.UUID
	ConfigName  string
	AccountName string
	AccountType string
	// Delivered are the times those runs finished, oldest first.
	Delivered []time.Time
}

// FindEmployeeDeliveries lists the configurations that delivered employee employeeID's data
// without pseudonymisation, by their first such delivery. The record is kept as long as the
// runs (which are not pruned), so the list covers every delivery since the record began.
func FindEmployeeDeliveries(ctx context.Context, tx pgx.Tx, employeeID uuid.UUID) ([]EmployeeDelivery, error) {
	return database.FindAll[EmployeeDelivery](ctx, tx, "employee's datastream deliveries", `SELECT c.id, c.name, a.name, a.type,
			array_agg(r.finished_at ORDER BY r.finished_at, r.id)
		FROM datastream_runs r JOIN datastream_configs c ON c.id = r.config_id JOIN datastream_accounts a ON a.id = c.account_id
		WHERE r.status = 'succeeded'
			AND datastream_run_carried(r.id, $1)
		GROUP BY c.id, c.name, a.name, a.type
		ORDER BY min(r.finished_at), c.name, c.id`, employeeID)
}
