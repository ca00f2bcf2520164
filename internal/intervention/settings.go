// Package intervention is the workflow of DESIGN.md §8 (seed 004): deploying an intervention,
// the guidance trajectory it opens, the dossier delegation to the coach who guides it (granted
// automatically to the default executor or by hand), its end, and the coach's own start page
// "Mijn cliënten". Who may see what is decided by the access engine; this package applies it.
package intervention

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/casefile"
	"github.com/dossierkast/dossierkast/internal/database"
)

// Settings are the tenant's intervention settings.
type Settings struct {
	GuidanceProtocolID   *uuid.UUID // standard protocol for inhoudelijke interventiebegeleiding; nil: none
	GuidanceProtocolName string
}

// FindSettings returns the tenant's intervention settings; without a row, the empty settings.
func FindSettings(ctx context.Context, tx pgx.Tx) (Settings, error) {
	var s Settings
	err := tx.QueryRow(ctx, `SELECT s.guidance_protocol_id, coalesce(p.name, '') FROM intervention_settings s
		LEFT JOIN protocols p ON p.id = s.guidance_protocol_id`).Scan(&s.GuidanceProtocolID, &s.GuidanceProtocolName)
	if database.IsNoRows(err) {
		return Settings{}, nil
	}
	if err != nil {
		return Settings{}, fmt.Errorf("find intervention settings: %w", err)
	}
	return s, nil
}

// SetGuidanceProtocol sets (nil: clears) the tenant's standard guidance protocol, by ed, who
// records it (intervention.updated). ed must hold interventions.manage (EFORBIDDEN); EINVALID
// (field guidance_protocol_id) unless the protocol exists and is of the kind
// intervention_guidance.
func SetGuidanceProtocol(ctx context.Context, tx pgx.Tx, ed access.Editor, protocolID *uuid.UUID) error {
	if err := ed.Allow(access.Require(ed.Principal, access.InterventionsManage)); err != nil {
		return err
	}
	if protocolID != nil {
		p, err := casefile.FindProtocolByID(ctx, tx, *protocolID)
		if apperr.CodeOf(err) == apperr.ENOTFOUND || (err == nil && p.Kind != casefile.ProtocolInterventionGuidance) {
			return apperr.Invalid(map[string]string{"guidance_protocol_id": "intervention.error.guidance_kind"})
		}
		if err != nil {
			return err
		}
	}
	_, err := tx.Exec(ctx, `INSERT INTO intervention_settings (tenant_id, guidance_protocol_id, updated_by)
		VALUES (app_tenant(), $1, $2)
		ON CONFLICT (tenant_id) DO UPDATE SET guidance_protocol_id = EXCLUDED.guidance_protocol_id,
			updated_by = EXCLUDED.updated_by, updated_at = now()`, protocolID, ed.Actor.UserID)
	if err != nil {
		return fmt.Errorf("set guidance protocol: %w", err)
	}
	return audit.Write(ctx, tx, ed.Actor, audit.Event{Action: audit.InterventionUpdated, SubjectType: "intervention_settings",
		Details: map[string]any{"guidance_protocol_id": protocolID}})
}

// Provider is an intervention provider with its default executor.
type Provider struct {
	ID             uuid.UUID
	Name           string
	ExecutorUserID *uuid.UUID
	ExecutorName   string
}

// FindProviders lists the tenant's intervention providers by name with their default executors.
// Whether a viewer may see an executor is the caller's to decide (access.CanSeeExecutor).
func FindProviders(ctx context.Context, tx pgx.Tx) ([]Provider, error) {
	return database.FindAll[Provider](ctx, tx, "providers", `SELECT v.id, v.name, v.executor_user_id, coalesce(u.name, '')
		FROM intervention_providers v LEFT JOIN users u ON u.id = v.executor_user_id ORDER BY lower(v.name), v.id`)
}

// FindProviderByID returns one provider, or ENOTFOUND.
func FindProviderByID(ctx context.Context, tx pgx.Tx, id uuid.UUID) (Provider, error) {
	return database.FindOne[Provider](ctx, tx, "provider", `SELECT v.id, v.name, v.executor_user_id, coalesce(u.name, '')
		FROM intervention_providers v LEFT JOIN users u ON u.id = v.executor_user_id WHERE v.id = $1`, id)
}

// SetProviderExecutor sets (nil: clears) the default executor of provider providerID, by ed,
// who records it (intervention.updated). ed must be allowed by access.CanSetExecutor for that
// provider (EFORBIDDEN); ENOTFOUND for an unknown provider; EINVALID (field executor_user_id)
// unless the user is an active coach of the provider who holds delegations.receive.
func SetProviderExecutor(ctx context.Context, tx pgx.Tx, ed access.Editor, providerID uuid.UUID, userID *uuid.UUID) error {
	before, err := FindProviderByID(ctx, tx, providerID)
	if err != nil {
		return err
	}
	if err := ed.Allow(access.CanSetExecutor(ed.Principal, providerID)); err != nil {
		return err
	}
	if userID != nil {
		ok, err := isExecutorOf(ctx, tx, *userID, providerID)
		if err != nil {
			return err
		}
		if !ok {
			return apperr.Invalid(map[string]string{"executor_user_id": casefile.MsgExecutorInvalid})
		}
	}
	if _, err := tx.Exec(ctx, "UPDATE intervention_providers SET executor_user_id = $2 WHERE id = $1", providerID, userID); err != nil {
		return fmt.Errorf("set provider executor: %w", err)
	}
	return audit.Write(ctx, tx, ed.Actor, audit.Event{Action: audit.InterventionUpdated, SubjectType: casefile.SubjectProvider,
		SubjectID: &providerID, Details: map[string]any{"before": before.ExecutorUserID, "after": userID}})
}

// isExecutorOf reports whether the user may be a default executor of the provider: an active
// coach of it whose role holds delegations.receive (as casefile.FindExecutors lists them).
func isExecutorOf(ctx context.Context, tx pgx.Tx, userID, providerID uuid.UUID) (bool, error) {
	var ok bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users u JOIN roles r ON r.id = u.role_id
		WHERE u.id = $1 AND u.provider_id = $2 AND u.kind = 'coach' AND u.status = 'active' AND 'delegations.receive' = ANY (r.rights))`,
		userID, providerID).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("check executor: %w", err)
	}
	return ok, nil
}

// Effective is a programme's default executor as it resolves: the programme's own user when it
// has its own setting, else its provider's.
type Effective struct {
	UserID *uuid.UUID
	Name   string
}

// EffectiveExecutor resolves the default executor of programme g given its provider v.
func EffectiveExecutor(g casefile.Programme, v Provider) Effective {
	if g.ExecutorMode == casefile.ExecutorOwn {
		return Effective{UserID: g.ExecutorUserID, Name: g.ExecutorName}
	}
	return Effective{UserID: v.ExecutorUserID, Name: v.ExecutorName}
}
