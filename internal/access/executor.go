package access

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/apperr"
)

// Default executors (standaard uitvoerders) of intervention providers and programmes, and who
// may receive a dossier delegation (DESIGN.md §8).

// CanSeeExecutor reports whether p may see who the default executor of an intervention
// provider's programmes is, the executor being a coach user of providerID. The name of a coach
// tells who guides an employee's intervention, so it is for those who hand out or manage that
// work, and for nobody on the employer's side:
//   - provider users (the tenant's own staff) holding interventions.manage, users.manage or
//     delegations.grant;
//   - coach users of that same provider holding interventions.manage or users.manage;
//   - never employer users, coaches of another provider, or the zero principal.
func CanSeeExecutor(p Principal, providerID uuid.UUID) bool {
	switch p.Kind {
	case KindProvider:
		return p.Has(InterventionsManage) || p.Has(UsersManage) || p.Has(DelegationsGrant)
	case KindCoach:
		return p.ProviderID == providerID && providerID != uuid.Nil && (p.Has(InterventionsManage) || p.Has(UsersManage))
	default:
		return false
	}
}

// CanSetExecutor returns nil when p may change the default-executor setting of a provider or of
// one of its programmes: he holds interventions.manage (EFORBIDDEN otherwise) and may see that
// provider's executors (CanSeeExecutor; EFORBIDDEN otherwise, so who cannot see the chosen user
// cannot replace him either).
func CanSetExecutor(p Principal, providerID uuid.UUID) error {
	if !p.Has(InterventionsManage) || !CanSeeExecutor(p, providerID) {
		return apperr.New(apperr.EFORBIDDEN, "error.forbidden")
	}
	return nil
}

// Refusal is why a user may not receive a delegation of an employee's dossier; "" when he may.
type Refusal string

// The refusals, in the order CheckReceiver tests them. RefusalNoExecutor is no test of a user:
// it is the outcome when no default executor was set.
const (
	RefusalNone          Refusal = ""
	RefusalNoExecutor    Refusal = "no_executor"
	RefusalBlocked       Refusal = "blocked"
	RefusalCannotReceive Refusal = "cannot_receive"
	RefusalOtherProvider Refusal = "other_provider"
	RefusalBlacklisted   Refusal = "blacklisted"
)

// CheckReceiver tells whether user userID may receive a delegation of the employee's dossier
// for an intervention of provider providerID: he must be active (else RefusalBlocked), hold
// delegations.receive (RefusalCannotReceive), be a coach of that provider (RefusalOtherProvider)
// and not be blacklisted for the employee (RefusalBlacklisted, the blacklist always wins). It is
// the one eligibility rule of the automatic grant, the manual grant and its list of choices.
// ENOTFOUND when the user or the employee does not exist in the tenant.
func CheckReceiver(ctx context.Context, tx pgx.Tx, userID, providerID, employeeID uuid.UUID) (Refusal, error) {
	var status string
	var kind Kind
	var rights []string
	var provider *uuid.UUID
	var blacklisted bool
	err := tx.QueryRow(ctx, `SELECT u.status, u.kind, ro.rights, u.provider_id,
			EXISTS (SELECT 1 FROM user_blacklist b WHERE b.user_id = u.id AND b.employee_id = e.id)
		FROM users u JOIN roles ro ON ro.id = u.role_id, employees e WHERE u.id = $1 AND e.id = $2`,
		userID, employeeID).Scan(&status, &kind, &rights, &provider, &blacklisted)
	if errors.Is(err, pgx.ErrNoRows) {
		return RefusalNone, apperr.New(apperr.ENOTFOUND, "error.not_found")
	}
	if err != nil {
		return RefusalNone, fmt.Errorf("check receiver %s: %w", userID, err)
	}
	switch {
	case status != "active":
		return RefusalBlocked, nil
	case !slices.Contains(rights, string(DelegationsReceive)):
		return RefusalCannotReceive, nil
	case kind != KindCoach || provider == nil || *provider != providerID:
		return RefusalOtherProvider, nil
	case blacklisted:
		return RefusalBlacklisted, nil
	}
	return RefusalNone, nil
}

// ReceiverWhere is the SQL condition, on users u joined with their roles ro, of the users
// CheckReceiver lets receive a delegation for provider $n's interventions for employee $m, to
// list the choices of the manual grant. Arguments: the placeholders of provider and employee.
func ReceiverWhere(provider, employee string) string {
	return ` u.status = 'active' AND 'delegations.receive' = ANY (ro.rights) AND u.kind = 'coach' AND u.provider_id = ` + provider +
		` AND NOT EXISTS (SELECT 1 FROM user_blacklist b WHERE b.user_id = u.id AND b.employee_id = ` + employee + `) `
}

// CanListClients returns nil when p has a list of clients of his own ("Mijn cliënten"): the
// users who reach employees only through delegations (SeesOnlyDelegated, the coaches).
// EFORBIDDEN for everyone else, whose start page lists employers and employees instead.
func CanListClients(p Principal) error {
	if !SeesOnlyDelegated(p) {
		return apperr.New(apperr.EFORBIDDEN, "error.forbidden")
	}
	return nil
}
