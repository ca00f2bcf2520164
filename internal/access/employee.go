package access

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/apperr"
)

// VisibleEmployees is a FROM item: the employees the user whose id is the given placeholder may
// see (SQL function visible_employees, created by a migration). Every list query and
// CanSeeEmployee read it, so a list never shows what a detail page refuses.
func VisibleEmployees(userParam string) string {
	return "visible_employees(" + userParam + ")"
}

// CanSeeEmployee returns nil when p may see the employee's dossier; ENOTFOUND when the employee is
// outside p's access (or absent), EFORBIDDEN when visible but p lacks employee_dossier.view.
func CanSeeEmployee(ctx context.Context, tx pgx.Tx, p Principal, employeeID uuid.UUID) error {
	var ok bool
	err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM "+VisibleEmployees("$1")+" e WHERE e.id = $2)",
		p.UserID, employeeID).Scan(&ok)
	if err != nil {
		return fmt.Errorf("can see employee %s: %w", employeeID, err)
	}
	if !ok {
		return apperr.New(apperr.ENOTFOUND, "error.not_found")
	}
	if !p.Has(EmployeeDossierView) {
		return apperr.New(apperr.EFORBIDDEN, "error.forbidden")
	}
	return nil
}

// VisibleEmployers is a FROM item: the employers in reach of the user whose id is the given
// placeholder (SQL function visible_employers).
func VisibleEmployers(userParam string) string {
	return "visible_employers(" + userParam + ")"
}

// CanSeeEmployer returns nil when the employer is in p's reach: every employer for provider
// users, their own employers for employer users, none for coaches. ENOTFOUND otherwise.
func CanSeeEmployer(ctx context.Context, tx pgx.Tx, p Principal, employerID uuid.UUID) error {
	var ok bool
	err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM "+VisibleEmployers("$1")+" r WHERE r.id = $2)",
		p.UserID, employerID).Scan(&ok)
	if err != nil {
		return fmt.Errorf("can see employer %s: %w", employerID, err)
	}
	if !ok {
		return apperr.New(apperr.ENOTFOUND, "error.not_found")
	}
	return nil
}

// Require returns EFORBIDDEN unless p holds r.
func Require(p Principal, r Right) error {
	if !p.Has(r) {
		return apperr.New(apperr.EFORBIDDEN, "error.forbidden")
	}
	return nil
}

// ManageOrganisation returns nil when p may create and edit employers, departments and employees:
// provider users who manage users (the application administrators). EFORBIDDEN otherwise.
func ManageOrganisation(p Principal) error {
	if p.Kind != KindProvider || !p.Has(UsersManage) {
		return apperr.New(apperr.EFORBIDDEN, "error.forbidden")
	}
	return nil
}
