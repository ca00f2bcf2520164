package demo_test

import (
	"context"
	"encoding/csv"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/database/dbtest"
	"github.com/dossierkast/dossierkast/internal/datastream"
	"github.com/dossierkast/dossierkast/internal/datastream/delivery"
	"github.com/dossierkast/dossierkast/internal/datastream/stream"
	"github.com/dossierkast/dossierkast/internal/demo"
	"github.com/dossierkast/dossierkast/internal/document"
	"github.com/dossierkast/dossierkast/internal/secret"
)

// TestDemoDatastream: the demo has a hosted SFTP account with a pseudonymised v2 configuration
// that has delivered once, into the blob store given, so its folder shows a whole delivery at
// first sight (manifest and files, no personnel number in them); a second load delivers nothing
// more.
func TestDemoDatastream(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.New(t)
	blobs, err := document.OpenBlobStore(ctx, "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer blobs.Close()
	keys := secret.NewKeyring(secret.GenerateKey())
	const employees = 40
	opts := demo.Options{Employees: employees, Examples: true, Blobs: blobs, Keys: keys}
	res, err := demo.Load(ctx, db.Pool, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := demo.Load(ctx, db.Pool, opts); err != nil {
		t.Fatal(err)
	}

	var account datastream.Account
	var config delivery.Config
	var runs []delivery.Run
	var recorded int
	err = database.InTenant(ctx, db.Pool, res.TenantID, func(tx pgx.Tx) error {
		accounts, err := datastream.FindAccounts(ctx, tx)
		if err != nil {
			return err
		}
		if len(accounts) != 1 || accounts[0].Name != demo.DatastreamAccountName {
			t.Fatalf("demo datastream accounts: %+v, want one named %q", accounts, demo.DatastreamAccountName)
		}
		account = accounts[0]
		configs, err := delivery.FindConfigs(ctx, tx, account.ID)
		if err != nil {
			return err
		}
		if len(configs) != 1 {
			t.Fatalf("%d configurations, want 1", len(configs))
		}
		config = configs[0]
		if runs, err = delivery.FindRuns(ctx, tx, config.ID); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT count(*) FROM datastream_run_employees`).Scan(&recorded)
	})
	if err != nil {
		t.Fatal(err)
	}
	if account.Type != datastream.TypeHosted || account.Status != datastream.StatusActive {
		t.Errorf("account is %s and %s, want an active hosted one", account.Type, account.Status)
	}
	if config.Name != demo.DatastreamConfigName || config.Version != stream.V2 || !config.Pseudonymised || config.Position == "" {
		t.Errorf("configuration %q %s pseudonymised %v position %q, want the pseudonymised v2 one, delivered",
			config.Name, config.Version, config.Pseudonymised, config.Position)
	}
	if len(runs) != 1 || runs[0].Status != delivery.RunSucceeded || runs[0].Mode != string(stream.ModeFull) {
		t.Fatalf("runs after two loads: %+v, want one succeeded full delivery", runs)
	}
	if recorded != 0 {
		t.Errorf("the pseudonymised delivery recorded %d employees' data as carried", recorded)
	}

	// The hosted folder, as "open folder" and the SFTP server read it.
	folder := datastream.NewFolder(db.Pool, blobs, res.TenantID, account.ID)
	top, err := folder.List(ctx, config.Folder)
	if err != nil || len(top) != 1 || !top[0].IsDir || config.Folder+"/"+top[0].Name != runs[0].Dir {
		t.Fatalf("configuration folder %s lists %+v (%v), want the run's folder %s", config.Folder, top, err, runs[0].Dir)
	}
	files, err := folder.List(ctx, runs[0].Dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, f.Name)
	}
	for _, want := range []string{stream.ManifestName, "werknemers.csv", "verzuimmeldingen.csv", "trajecten.csv", "afspraken.csv"} {
		if !slices.Contains(names, want) {
			t.Errorf("the delivery holds %v, not %s", names, want)
		}
	}
	rc, err := folder.Open(ctx, runs[0].Dir+"/werknemers.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	rows, err := csv.NewReader(rc).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != employees+1 {
		t.Errorf("werknemers.csv has %d rows, want a header and %d employees", len(rows), employees)
	}
	if want := "werknemer_id,mutation,mutation_time,werkgever_id,afdeling_id,geboortejaar,datum_in_dienst,datum_uit_dienst"; strings.Join(rows[0], ",") != want {
		t.Errorf("werknemers.csv header %q, want %q (the optional columns that identify nobody)", strings.Join(rows[0], ","), want)
	}
	var numbers []string
	err = database.InTenant(ctx, db.Pool, res.TenantID, func(tx pgx.Tx) error {
		list, err := tx.Query(ctx, `SELECT personnel_number FROM employees`)
		if err != nil {
			return err
		}
		numbers, err = pgx.CollectRows(list, pgx.RowTo[string])
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		for _, v := range r {
			if slices.Contains(numbers, v) {
				t.Fatalf("werknemers.csv of a pseudonymised delivery holds personnel number %s: %s", v, strings.Join(r, ","))
			}
		}
	}
}
