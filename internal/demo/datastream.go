package demo

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/datastream"
	"github.com/dossierkast/dossierkast/internal/datastream/delivery"
	"github.com/dossierkast/dossierkast/internal/datastream/stream"
	"github.com/dossierkast/dossierkast/internal/document"
	"github.com/dossierkast/dossierkast/internal/secret"
)

// The demo's datastream (issue 19): a hosted SFTP account with a pseudonymised v2
// configuration that has delivered once, so its folder shows files at first sight.
const (
	DatastreamAccountName = "Datawarehouse Lindewaard"
	DatastreamConfigName  = "Verzuimanalyse (gepseudonimiseerd)"
)

// datastreamStreams are what the demo configuration delivers.
var datastreamStreams = []string{"werknemers", "verzuim", "trajecten", "agenda", "beschikkingen"}

// datastreamColumns chooses, in every file of the demo's streams, each optional column that
// neither identifies a person nor is medical: a pseudonymised configuration as a data warehouse
// would have it.
func datastreamColumns() map[string][]string {
	columns := map[string][]string{}
	for _, id := range datastreamStreams {
		s, _ := stream.FindStream(id)
		for _, f := range s.Files {
			for _, c := range f.Columns {
				if !c.Mandatory && !c.Identifying && !c.Medical && c.ColumnName(stream.V2) != "" {
					columns[f.Name] = append(columns[f.Name], c.Name)
				}
			}
		}
	}
	return columns
}

// ensureDatastream creates the demo's hosted account and its configuration when missing (found
// by name) and, when the configuration has no succeeded run yet, delivers it in full at once:
// into the hosted folder, whose files are rows and blobs in blobs (the store serve reads them
// from, BLOB_URL). The pseudonym key is sealed with keys. It returns the run it made, if any.
func ensureDatastream(ctx context.Context, pool *pgxpool.Pool, tenantID uuid.UUID, blobs document.BlobStore, keys *secret.Keyring,
	out io.Writer) (*delivery.Run, error) {
	sys := access.System(audit.Actor{})
	var config delivery.Config
	var delivered bool
	err := database.InTenant(ctx, pool, tenantID, func(tx pgx.Tx) error {
		accounts, err := datastream.FindAccounts(ctx, tx)
		if err != nil {
			return err
		}
		var account datastream.Account
		if i := slices.IndexFunc(accounts, func(a datastream.Account) bool { return a.Name == DatastreamAccountName }); i >= 0 {
			account = accounts[i]
		} else {
			if account, _, err = datastream.CreateAccount(ctx, tx, sys, keys, datastream.AccountInput{Name: DatastreamAccountName,
				Type: datastream.TypeHosted, Language: "nl", Recipients: "bi@demo.dossierkast.nl", AllEmployers: true,
				AuthMethod: datastream.AuthPassword}); err != nil {
				return err
			}
			fmt.Fprintf(out, "demo: hosted datastream account %q created\n", DatastreamAccountName)
		}
		configs, err := delivery.FindConfigs(ctx, tx, account.ID)
		if err != nil {
			return err
		}
		if i := slices.IndexFunc(configs, func(c delivery.Config) bool { return c.Name == DatastreamConfigName }); i >= 0 {
			config = configs[i]
		} else {
			if config, err = delivery.CreateConfig(ctx, tx, sys, keys, account.ID, delivery.Input{Name: DatastreamConfigName,
				Version: string(stream.V2), Pseudonymised: true, Streams: datastreamStreams, Columns: datastreamColumns(), Scheduled: true,
				Frequency: delivery.Weekly, Mode: string(stream.ModeIncremental)}); err != nil {
				return err
			}
			fmt.Fprintf(out, "demo: datastream configuration %q created\n", DatastreamConfigName)
		}
		runs, err := delivery.FindRuns(ctx, tx, config.ID)
		delivered = slices.ContainsFunc(runs, func(r delivery.Run) bool { return r.Status == delivery.RunSucceeded })
		return err
	})
	if err != nil || delivered {
		return nil, err
	}
	w := &delivery.DeliverWorker{Pool: pool, Blobs: blobs, Keys: keys, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	run, err := delivery.DeliverNow(ctx, w, tenantID, sys, config.ID, delivery.RunRequest{Mode: stream.ModeFull})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "demo: datastream %q delivered to %s\n", DatastreamConfigName, run.Dir)
	return &run, nil
}
