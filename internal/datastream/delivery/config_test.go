package delivery_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/database/dbtest"
	"github.com/dossierkast/dossierkast/internal/datastream"
	"github.com/dossierkast/dossierkast/internal/datastream/delivery"
	"github.com/dossierkast/dossierkast/internal/org"
	"github.com/dossierkast/dossierkast/internal/secret"
)

type fixture struct {
	db        dbtest.DB
	tenantID  uuid.UUID
	keys      *secret.Keyring
	accountID uuid.UUID
	ed        access.Editor
}

func setup(t testing.TB) fixture {
	t.Helper()
	ctx := context.Background()
	db := dbtest.New(t)
	tn, err := org.CreateTenant(ctx, db.Pool, "Arbo Noord", false)
	if err != nil {
		t.Fatal(err)
	}
	f := fixture{db: db, tenantID: tn.ID, keys: secret.NewKeyring(secret.GenerateKey()), ed: editorWith(tn.ID, access.DatastreamsManage)}
	err = f.inTenant(t, func(tx pgx.Tx) error {
		a, _, err := datastream.CreateAccount(ctx, tx, f.ed, f.keys, datastream.AccountInput{Name: "Warehouse",
			Type: datastream.TypeHosted, Language: "nl", AllEmployers: true, AuthMethod: datastream.AuthPassword})
		f.accountID = a.ID
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f fixture) inTenant(t testing.TB, fn func(tx pgx.Tx) error) error {
	t.Helper()
	return database.InTenant(context.Background(), f.db.Pool, f.tenantID, fn)
}

func editorWith(tenant uuid.UUID, rights ...access.Right) access.Editor {
	p := access.Principal{TenantID: tenant, UserID: uuid.New(), Kind: access.KindProvider, Rights: rights}
	return access.Editor{Principal: p, Actor: audit.Actor{IP: "192.0.2.1"}}
}

func werknemersInput(name string) delivery.Input {
	return delivery.Input{Name: name, Version: "v2", Pseudonymised: true, Streams: []string{"werknemers"},
		Columns: map[string][]string{"werknemers": {"geboortejaar"}}, Scheduled: true, Frequency: delivery.Weekly,
		Mode: "incremental"}
}

// TestConfigLifecycle creates two configurations with the same name (unique safe folders,
// mandatory columns added), edits and archives one, and checks the refusals and the audit
// trail: before/after in the same transaction, never the pseudonym key.
func TestConfigLifecycle(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	var first, second delivery.Config
	err := f.inTenant(t, func(tx pgx.Tx) error {
		var err error
		if first, err = delivery.CreateConfig(ctx, tx, f.ed, f.keys, f.accountID, werknemersInput("Data Warehouse / BI")); err != nil {
			return err
		}
		second, err = delivery.CreateConfig(ctx, tx, f.ed, f.keys, f.accountID, werknemersInput("data warehouse bi"))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if first.Folder != "data-warehouse-bi" || second.Folder != "data-warehouse-bi-2" {
		t.Errorf("folders %q, %q; want data-warehouse-bi and data-warehouse-bi-2", first.Folder, second.Folder)
	}
	want := map[string][]string{"werknemers": {"werknemer_id", "werkgever_id", "geboortejaar"}}
	if diff := cmp.Diff(want, first.Columns); diff != "" {
		t.Errorf("columns (-want +got):\n%s", diff)
	}
	if first.KeySecretID == nil || first.KeyVersion != 1 {
		t.Fatalf("key %v version %d", first.KeySecretID, first.KeyVersion)
	}

	bad := []struct {
		name  string
		in    delivery.Input
		field string
	}{
		{"v2-only stream in v1", delivery.Input{Name: "x", Version: "v1", Streams: []string{"beschikkingen"}, Frequency: delivery.Daily, Mode: "full"}, "streams"},
		{"unknown column", delivery.Input{Name: "x", Version: "v2", Streams: []string{"werknemers"}, Columns: map[string][]string{"werknemers": {"salaris"}}, Frequency: delivery.Daily, Mode: "full"}, "columns"},
		{"no streams", delivery.Input{Name: "x", Version: "v2", Frequency: delivery.Daily, Mode: "full"}, "streams"},
		{"no name", delivery.Input{Version: "v2", Streams: []string{"werknemers"}, Frequency: delivery.Daily, Mode: "full"}, "name"},
		{"bad frequency", delivery.Input{Name: "x", Version: "v2", Streams: []string{"werknemers"}, Frequency: "hourly", Mode: "full"}, "frequency"},
	}
	for _, tc := range bad {
		err := f.inTenant(t, func(tx pgx.Tx) error {
			_, err := delivery.CreateConfig(ctx, tx, f.ed, f.keys, f.accountID, tc.in)
			return err
		})
		e, ok := apperr.As(err)
		if !ok || e.Code != apperr.EINVALID || e.Fields[tc.field] == "" {
			t.Errorf("%s: got %v, want EINVALID on %s", tc.name, err, tc.field)
		}
	}

	nobody := editorWith(f.tenantID)
	err = f.inTenant(t, func(tx pgx.Tx) error {
		_, err := delivery.UpdateConfig(ctx, tx, nobody, first.ID, werknemersInput("x"))
		return err
	})
	if apperr.CodeOf(err) != apperr.EFORBIDDEN {
		t.Errorf("update without datastreams.manage: %v, want EFORBIDDEN", err)
	}

	in := werknemersInput("Nieuwe naam")
	in.Frequency, in.Pseudonymised = delivery.Daily, false
	err = f.inTenant(t, func(tx pgx.Tx) error {
		updated, err := delivery.UpdateConfig(ctx, tx, f.ed, first.ID, in)
		if err != nil {
			return err
		}
		if updated.Folder != "nieuwe-naam" || updated.Frequency != delivery.Daily || updated.Pseudonymised {
			t.Errorf("after update: %+v", updated)
		}
		return delivery.ArchiveConfig(ctx, tx, f.ed, first.ID)
	})
	if err != nil {
		t.Fatal(err)
	}
	err = f.inTenant(t, func(tx pgx.Tx) error {
		_, err := delivery.UpdateConfig(ctx, tx, f.ed, first.ID, in)
		return err
	})
	if apperr.CodeOf(err) != apperr.EINVALID {
		t.Errorf("update of an archived configuration: %v, want EINVALID", err)
	}

	var key []byte
	var details []string
	err = f.inTenant(t, func(tx pgx.Tx) error {
		var err error
		if key, err = f.keys.Load(ctx, tx, *first.KeySecretID); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT action || ' ' || details::text FROM audit_events
			WHERE subject_id = $1 ORDER BY at, action`, first.ID)
		if err != nil {
			return err
		}
		details, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(details) != 3 {
		t.Fatalf("audit events %q, want created, updated, archived", details)
	}
	for _, action := range []string{audit.DatastreamConfigCreated, audit.DatastreamConfigUpdated, audit.DatastreamConfigArchived} {
		if !strings.Contains(strings.Join(details, "\n"), action) {
			t.Errorf("no %s event in %q", action, details)
		}
	}
	for _, d := range details {
		if strings.Contains(d, string(key)) {
			t.Errorf("audit event carries the pseudonym key: %s", d)
		}
	}
	if !strings.Contains(strings.Join(details, "\n"), `"before"`) {
		t.Errorf("update without before: %q", details)
	}
}
