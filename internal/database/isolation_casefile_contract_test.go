package database_test

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Rows for the programme, policy, agreement and participant tables (migration 00008) of one
// tenant.
func init() {
	extraFixtures = append(extraFixtures, func(ctx context.Context, tx pgx.Tx, b fixtureBase) error {
		if _, err := tx.Exec(ctx, `INSERT INTO programmes (tenant_id, provider_id, name, price_cents)
			VALUES (app_tenant(), $1, 'Programme ' || $2, 125000)`, b.ProviderID, b.Tag); err != nil {
			return fmt.Errorf("programme: %w", err)
		}
		var policyID uuid.UUID
		if err := tx.QueryRow(ctx, `INSERT INTO insurance_policies (tenant_id, employer_id, insurer, policy_number, starts_on)
			VALUES (app_tenant(), $1, 'Insurer', 'POL-' || $2, current_date) RETURNING id`, b.EmployerID, b.Tag).Scan(&policyID); err != nil {
			return fmt.Errorf("insurance policy: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO service_agreements (tenant_id, employer_id, contract_number, starts_on, group_id, policy_id)
			VALUES (app_tenant(), $1, 'C-' || $2, current_date, $3, $4)`, b.EmployerID, b.Tag, b.GroupID, policyID); err != nil {
			return fmt.Errorf("service agreement: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO policy_participants (tenant_id, employee_id, employer_id, policy_id, participating, reason, starts_on)
			VALUES (app_tenant(), $1, $2, $3, true, 'cao', current_date)`, b.EmployeeID, b.EmployerID, policyID); err != nil {
			return fmt.Errorf("policy participant: %w", err)
		}
		return nil
	})
}
