package casefile_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/casefile"
	"github.com/dossierkast/dossierkast/internal/org"
)

func TestParsePrice(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{
		"": 0, "0": 0, "1250": 125000, "1.250": 125000, "1.250,50": 125050, "1250,5": 125050, "€ 12,00": 1200,
		"1250.50": 125050, "1250.5": 125050, "1.234.567,89": 123456789, " 7 ": 700,
	} {
		got, err := casefile.ParsePrice(in)
		if err != nil || got != want {
			t.Errorf("ParsePrice(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"-5", "abc", "1,234", "12,", ",5", "1.2.3,4,5", "+3", "99999999999999999999"} {
		if _, err := casefile.ParsePrice(in); apperr.CodeOf(err) != apperr.EINVALID {
			t.Errorf("ParsePrice(%q): error %v, want EINVALID", in, err)
		}
	}
}

func TestFormatPrice(t *testing.T) {
	t.Parallel()
	for cents, want := range map[int64]string{0: "0,00", 5: "0,05", 125050: "1.250,50", 123456789: "1.234.567,89"} {
		if got := casefile.FormatPrice(cents); got != want {
			t.Errorf("FormatPrice(%d) = %q, want %q", cents, got, want)
		}
	}
}

func TestProgrammes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := ctrSetup(t)
	system := access.System(audit.Actor{})

	var provider, other org.Provider
	var coachID, otherCoachID, deafCoachID string
	b.in(t, func(tx pgx.Tx) (err error) {
		if provider, err = casefile.CreateProvider(ctx, tx, system, "Vitaal Verder"); err != nil {
			return err
		}
		if other, err = casefile.CreateProvider(ctx, tx, system, "Balans"); err != nil {
			return err
		}
		var receive, plain string
		if err := tx.QueryRow(ctx, `INSERT INTO roles (tenant_id, name, kind, rights) VALUES (app_tenant(), 'Ontvangende coach', 'coach',
			'{delegations.receive}') RETURNING id`).Scan(&receive); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `INSERT INTO roles (tenant_id, name, kind) VALUES (app_tenant(), 'Kijkende coach', 'coach') RETURNING id`).Scan(&plain); err != nil {
			return err
		}
		user := func(email, role, providerID string) (id string) {
			if err == nil {
				err = tx.QueryRow(ctx, `INSERT INTO users (tenant_id, email, name, kind, role_id, provider_id, password_hash)
					VALUES (app_tenant(), $1, $1, 'coach', $2, $3, 'x') RETURNING id`, email, role, providerID).Scan(&id)
			}
			return id
		}
		coachID = user("coach@example.test", receive, provider.ID.String())
		otherCoachID = user("other@example.test", receive, other.ID.String())
		deafCoachID = user("deaf@example.test", plain, provider.ID.String())
		return err
	})
	if err := b.try(func(tx pgx.Tx) error {
		_, err := casefile.CreateProvider(ctx, tx, system, "Vitaal Verder")
		return err
	}); apperr.CodeOf(err) != apperr.ECONFLICT {
		t.Errorf("duplicate provider: %v, want ECONFLICT", err)
	}

	var executors []casefile.Executor
	b.in(t, func(tx pgx.Tx) (err error) {
		executors, err = casefile.FindExecutors(ctx, tx)
		return err
	})
	if len(executors) != 2 {
		t.Errorf("executors = %+v, want the two coaches with delegations.receive", executors)
	}

	var g casefile.Programme
	b.in(t, func(tx pgx.Tx) (err error) {
		g, err = casefile.CreateProgramme(ctx, tx, system, casefile.Programme{ProviderID: provider.ID, Name: "Herstelcoaching",
			PriceCents: 125000})
		return err
	})
	if g.ExecutorMode != casefile.ExecutorProvider || g.ProviderName != "Vitaal Verder" {
		t.Errorf("programme = %+v", g)
	}
	coach := ctrUUID(t, coachID)
	g.ExecutorMode, g.ExecutorUserID = casefile.ExecutorOwn, &coach
	b.in(t, func(tx pgx.Tx) (err error) {
		g, err = casefile.UpdateProgramme(ctx, tx, system, g)
		return err
	})
	if g.ExecutorName != "coach@example.test" {
		t.Errorf("executor name = %q", g.ExecutorName)
	}

	otherCoach, deafCoach := ctrUUID(t, otherCoachID), ctrUUID(t, deafCoachID)
	for name, c := range map[string]struct {
		g      casefile.Programme
		code   apperr.Code
		fields map[string]string
	}{
		"CoachOfOtherProvider": {casefile.Programme{ProviderID: provider.ID, Name: "A", ExecutorMode: casefile.ExecutorOwn,
			ExecutorUserID: &otherCoach}, apperr.EINVALID, map[string]string{"executor_user_id": casefile.MsgExecutorInvalid}},
		"CoachWithoutRight": {casefile.Programme{ProviderID: provider.ID, Name: "A", ExecutorMode: casefile.ExecutorOwn,
			ExecutorUserID: &deafCoach}, apperr.EINVALID, map[string]string{"executor_user_id": casefile.MsgExecutorInvalid}},
		"UserWhileFollowingProvider": {casefile.Programme{ProviderID: provider.ID, Name: "A", ExecutorMode: casefile.ExecutorProvider,
			ExecutorUserID: &coach}, apperr.EINVALID, map[string]string{"executor_user_id": casefile.MsgExecutorInvalid}},
		"Missing": {casefile.Programme{}, apperr.EINVALID, map[string]string{"provider_id": "error.required", "name": "error.required"}},
		"Duplicate": {casefile.Programme{ProviderID: provider.ID, Name: "Herstelcoaching"}, apperr.ECONFLICT,
			map[string]string{"name": casefile.MsgProgrammeDuplicate}},
	} {
		err := b.try(func(tx pgx.Tx) error {
			_, err := casefile.CreateProgramme(ctx, tx, system, c.g)
			return err
		})
		code, fields := ctrCode(err)
		if code != c.code || !cmp.Equal(fields, c.fields) {
			t.Errorf("%s: code %s fields %v, want %s %v (%v)", name, code, fields, c.code, c.fields, err)
		}
	}
	// Same name at another provider is fine.
	b.in(t, func(tx pgx.Tx) error {
		_, err := casefile.CreateProgramme(ctx, tx, system, casefile.Programme{ProviderID: other.ID, Name: "Herstelcoaching"})
		return err
	})
	ev, _ := b.counts(t, casefile.SubjectProgramme, "programmes")
	if ev != 3 {
		t.Errorf("programme audit events = %d, want 3 (two creates, one update)", ev)
	}
}

func ctrUUID(t *testing.T, s string) uuid.UUID {
	t.Helper()
	id, err := uuid.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
