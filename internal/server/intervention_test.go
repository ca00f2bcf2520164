package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/intervention"
)

// The default executor per viewer kind: who may not see him reads "Niet geautoriseerd voor
// inzien standaard uitvoerder", gets no form, and a POST that tries anyway is refused with 403
// and audited.
func TestDefaultExecutorPerViewer(t *testing.T) {
	t.Parallel()
	b := setup(t, 20)
	ctx := context.Background()
	var coach, provider, other uuid.UUID
	b.inTenant(t, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, "SELECT id, provider_id FROM users WHERE email = 'coach@demo.dossierkast.nl'").Scan(&coach, &provider); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, "SELECT id FROM intervention_providers WHERE id <> $1 LIMIT 1", provider).Scan(&other); err != nil {
			return err
		}
		if err := intervention.SetProviderExecutor(ctx, tx, access.System(audit.Actor{}), provider, &coach); err != nil {
			return err
		}
		// Viewers holding interventions.manage of every kind: an employer user, a coach of the
		// same provider and one of another provider.
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`INSERT INTO roles (tenant_id, name, kind, rights) VALUES
				(app_tenant(), 'Werkgever interventies', 'employer', '{interventions.manage}'),
				(app_tenant(), 'Coachbeheer', 'coach', '{interventions.manage,delegations.receive}')`, nil},
			{`INSERT INTO users (tenant_id, email, name, kind, role_id, provider_id, password_hash)
				SELECT app_tenant(), 'wg-interventies@demo.dossierkast.nl', 'Werkgever Interventies', 'employer', r.id, NULL, u.password_hash
				FROM roles r, users u WHERE r.name = 'Werkgever interventies' AND u.email = 'coach@demo.dossierkast.nl'`, nil},
			{`INSERT INTO user_employers (tenant_id, user_id, employer_id)
				SELECT app_tenant(), u.id, (SELECT id FROM employers ORDER BY name LIMIT 1) FROM users u WHERE u.email = 'wg-interventies@demo.dossierkast.nl'`, nil},
			{`INSERT INTO users (tenant_id, email, name, kind, role_id, provider_id, password_hash)
				SELECT app_tenant(), $2, $3, 'coach', r.id, $1, u.password_hash
				FROM roles r, users u WHERE r.name = 'Coachbeheer' AND u.email = 'coach@demo.dossierkast.nl'`,
				[]any{provider, "coachbeheer@demo.dossierkast.nl", "Coach Beheer"}},
			{`INSERT INTO users (tenant_id, email, name, kind, role_id, provider_id, password_hash)
				SELECT app_tenant(), $2, $3, 'coach', r.id, $1, u.password_hash
				FROM roles r, users u WHERE r.name = 'Coachbeheer' AND u.email = 'coach@demo.dossierkast.nl'`,
				[]any{other, "anderecoach@demo.dossierkast.nl", "Andere Coach"}},
		} {
			if _, err := tx.Exec(ctx, q.sql, q.args...); err != nil {
				return err
			}
		}
		return nil
	})
	tests := []struct {
		email string
		sees  bool
	}{
		{"beheerder@demo.dossierkast.nl", true},
		{"wg-interventies@demo.dossierkast.nl", false},
		{"coachbeheer@demo.dossierkast.nl", true},
		{"anderecoach@demo.dossierkast.nl", false},
	}
	for _, tt := range tests {
		t.Run(tt.email, func(t *testing.T) {
			c := b.login(t, tt.email)
			r, doc := b.get(t, c, "/admin/interventions")
			if r.StatusCode != http.StatusOK {
				t.Fatalf("status %d", r.StatusCode)
			}
			row := doc.Find(`#providers tr[data-id="` + provider.String() + `"]`)
			cell := strings.TrimSpace(row.Find(".executor").Text())
			forms := row.Find(".executor-form").Length()
			programmeCells := doc.Find(`#programme-overview td.executor`).Text()
			if tt.sees {
				if cell != "Luuk Smit" || forms != 1 {
					t.Errorf("provider row: executor %q, forms %d; want Luuk Smit and a form", cell, forms)
				}
			} else {
				if cell != "Niet geautoriseerd voor inzien standaard uitvoerder" || forms != 0 {
					t.Errorf("provider row: executor %q, forms %d; want the not-authorised text and no form", cell, forms)
				}
				if strings.Contains(programmeCells, "Luuk Smit") || strings.Contains(doc.Text(), "Luuk Smit") {
					t.Error("the page names the executor to a viewer who may not see him")
				}
			}
			before := b.auditCount(t, audit.InterventionRefused)
			resp := b.post(t, c, "/admin/providers/"+provider.String()+"/executor", url.Values{"executor_user_id": {coach.String()}})
			switch {
			case tt.sees && resp.StatusCode != http.StatusSeeOther:
				t.Errorf("POST: status %d, want 303", resp.StatusCode)
			case !tt.sees && resp.StatusCode != http.StatusForbidden:
				t.Errorf("POST: status %d, want 403", resp.StatusCode)
			case !tt.sees && b.auditCount(t, audit.InterventionRefused) != before+1:
				t.Error("the refused POST is not audited")
			}
			// Clearing it is refused the same way.
			resp = b.post(t, c, "/admin/providers/"+provider.String()+"/executor", url.Values{"executor_user_id": {""}})
			if !tt.sees && resp.StatusCode != http.StatusForbidden {
				t.Errorf("clearing: status %d, want 403", resp.StatusCode)
			}
			if tt.sees {
				b.post(t, c, "/admin/providers/"+provider.String()+"/executor", url.Values{"executor_user_id": {coach.String()}})
			}
			var executor *uuid.UUID
			b.inTenant(t, func(tx pgx.Tx) error {
				return tx.QueryRow(ctx, "SELECT executor_user_id FROM intervention_providers WHERE id = $1", provider).Scan(&executor)
			})
			if executor == nil || *executor != coach {
				t.Errorf("executor now %v, want the coach", executor)
			}
		})
	}
}
