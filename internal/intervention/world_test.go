package intervention_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/casefile"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/database/dbtest"
	"github.com/dossierkast/dossierkast/internal/intervention"
	"github.com/dossierkast/dossierkast/internal/org"
)

// world is a fresh database with one tenant: the default protocols and roles, an employer with
// two employees, a case manager, two providers (A and B) with coaches, one programme of A, and
// the standard guidance protocol configured.
type world struct {
	db                   dbtest.DB
	tenant               uuid.UUID
	employer             uuid.UUID
	employee, employee2  uuid.UUID
	manager              uuid.UUID // provider user, role Casemanager
	admin                uuid.UUID // provider user, role Beheerder
	providerA, providerB uuid.UUID
	coachA, coachA2      uuid.UUID // coaches of A (role Coach)
	coachB               uuid.UUID // coach of B
	coachNoReceive       uuid.UUID // coach of A whose role lacks delegations.receive
	programme            uuid.UUID // of provider A, following the provider
	deployment, guidance casefile.Protocol
}

func setupWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	db := dbtest.New(t)
	tenant, err := org.CreateTenant(ctx, db.Pool, "Arbo Interventies", false)
	if err != nil {
		t.Fatal(err)
	}
	w := &world{db: db, tenant: tenant.ID}
	w.in(t, func(tx pgx.Tx) error {
		if err := casefile.EnsureDefaultProtocols(ctx, tx); err != nil {
			return err
		}
		q := func(dst *uuid.UUID, sql string, args ...any) {
			if err == nil {
				err = tx.QueryRow(ctx, sql, args...).Scan(dst)
			}
		}
		q(&w.employer, `INSERT INTO employers (tenant_id, name, employer_number) VALUES (app_tenant(), 'Bakkerij', 'W1') RETURNING id`)
		q(&w.employee, `INSERT INTO employees (tenant_id, employer_id, personnel_number, last_name) VALUES (app_tenant(), $1, '1', 'Visser') RETURNING id`, w.employer)
		q(&w.employee2, `INSERT INTO employees (tenant_id, employer_id, personnel_number, last_name) VALUES (app_tenant(), $1, '2', 'Smit') RETURNING id`, w.employer)
		q(&w.providerA, `INSERT INTO intervention_providers (tenant_id, name) VALUES (app_tenant(), 'Coaching A') RETURNING id`)
		q(&w.providerB, `INSERT INTO intervention_providers (tenant_id, name) VALUES (app_tenant(), 'Training B') RETURNING id`)
		user := func(dst *uuid.UUID, name, kind, role string, provider *uuid.UUID) {
			q(dst, `INSERT INTO users (tenant_id, email, name, kind, role_id, provider_id, password_hash)
				SELECT app_tenant(), lower(replace($1, ' ', '.')) || '-' || app_tenant() || '@example.test', $1, $2, id, $4, 'x' FROM roles WHERE name = $3 RETURNING id`,
				name, kind, role, provider)
		}
		user(&w.manager, "Casemanager", "provider", "Casemanager", nil)
		user(&w.admin, "Beheerder", "provider", "Beheerder", nil)
		user(&w.coachA, "Coach Anna", "coach", "Coach", &w.providerA)
		user(&w.coachA2, "Coach Bram", "coach", "Coach", &w.providerA)
		user(&w.coachB, "Coach Cees", "coach", "Coach", &w.providerB)
		var plain uuid.UUID
		q(&plain, `INSERT INTO roles (tenant_id, name, kind, rights) VALUES (app_tenant(), 'Coach zonder delegatie', 'coach',
			'{employee_dossier.view,documents.upload}') RETURNING id`)
		q(&w.coachNoReceive, `INSERT INTO users (tenant_id, email, name, kind, role_id, provider_id, password_hash)
			VALUES (app_tenant(), 'plain-' || app_tenant() || '@example.test', 'Coach Dirk', 'coach', $1, $2, 'x') RETURNING id`, plain, w.providerA)
		q(&w.programme, `INSERT INTO programmes (tenant_id, provider_id, name) VALUES (app_tenant(), $1, 'Loopbaancoaching') RETURNING id`, w.providerA)
		return err
	})
	w.in(t, func(tx pgx.Tx) error {
		list, err := casefile.FindProtocols(ctx, tx)
		for _, p := range list {
			switch p.Kind {
			case casefile.ProtocolInterventionDeployment:
				w.deployment = p
			case casefile.ProtocolInterventionGuidance:
				w.guidance = p
			}
		}
		if err != nil {
			return err
		}
		return intervention.SetGuidanceProtocol(ctx, tx, access.System(audit.Actor{}), &w.guidance.ID)
	})
	return w
}

func (w *world) in(t *testing.T, fn func(tx pgx.Tx) error) {
	t.Helper()
	if err := database.InTenant(context.Background(), w.db.Pool, w.tenant, fn); err != nil {
		t.Fatal(err)
	}
}

func (w *world) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	w.in(t, func(tx pgx.Tx) error { _, err := tx.Exec(context.Background(), sql, args...); return err })
}

func (w *world) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	w.in(t, func(tx pgx.Tx) error { return tx.QueryRow(context.Background(), sql, args...).Scan(&n) })
	return n
}

// principal loads a user as the engine sees him.
func (w *world) principal(t *testing.T, user uuid.UUID) access.Principal {
	t.Helper()
	var p access.Principal
	w.in(t, func(tx pgx.Tx) (err error) {
		_, p, err = org.LoadPrincipal(context.Background(), tx, w.tenant, user)
		return err
	})
	return p
}

// ed is user as the editor of a change, his id on its events.
func (w *world) ed(t *testing.T, user uuid.UUID) access.Editor {
	t.Helper()
	id := user
	return access.Editor{Principal: w.principal(t, user), Actor: audit.Actor{UserID: &id}}
}

// deploymentTask opens a deployment trajectory for the employee and returns its confirm task.
func (w *world) deploymentTask(t *testing.T, employee uuid.UUID) casefile.Task {
	t.Helper()
	ed := w.ed(t, w.manager)
	var confirm casefile.Task
	w.in(t, func(tx pgx.Tx) error {
		_, tasks, err := casefile.OpenTrajectory(context.Background(), tx, ed, casefile.TrajectoryStart{EmployeeID: employee, ProtocolID: w.deployment.ID})
		for _, k := range tasks {
			if k.Type == casefile.TaskDeployIntervention {
				confirm = k
			}
		}
		return err
	})
	if confirm.ID == uuid.Nil {
		t.Fatal("the deployment protocol has no confirm task")
	}
	return confirm
}

// confirm completes the confirm task as the case manager, choosing the world's programme.
func (w *world) confirm(t *testing.T, task casefile.Task) (intervention.Deployment, error) {
	t.Helper()
	ed := w.ed(t, w.manager)
	var d intervention.Deployment
	err := database.InTenant(context.Background(), w.db.Pool, w.tenant, func(tx pgx.Tx) (err error) {
		d, err = intervention.ConfirmDeployment(context.Background(), tx, ed, task.EmployeeID, task.ID, &w.programme)
		return err
	})
	return d, err
}
