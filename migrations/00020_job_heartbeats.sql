-- +goose Up

-- Heartbeats of the long jobs (issue 14.1): a running generation or deletion renews heartbeat_at
-- on its own row every few seconds; the leader's heartbeat check takes a running job whose
-- heartbeat has gone stale for dead (its process was killed, ran out of memory or lost its
-- machine), hands it back to River for its next attempt and sets interrupted_at, so the
-- full-dossier page can say that the work was interrupted and is being restarted.
ALTER TABLE bundles ADD COLUMN heartbeat_at timestamptz, ADD COLUMN interrupted_at timestamptz;
ALTER TABLE dossier_deletions ADD COLUMN heartbeat_at timestamptz, ADD COLUMN interrupted_at timestamptz;

-- +goose Down
ALTER TABLE dossier_deletions DROP COLUMN heartbeat_at, DROP COLUMN interrupted_at;
ALTER TABLE bundles DROP COLUMN heartbeat_at, DROP COLUMN interrupted_at;
