-- +goose Up
-- Datastream configurations and their runs (issue 19, part 2). A configuration belongs to an
-- account and delivers into its own folder on it (folder: the name made safe, unique per
-- account). The pseudonym key is a sealed secret (secrets) with its version; position is the
-- snapshot of the last successful delivery (stream.Position as text), where the next incremental
-- delivery starts. A run is one delivery, inserted in the transaction that enqueues its job.
CREATE TABLE datastream_configs (
    tenant_id        uuid NOT NULL REFERENCES tenants (id),
    id               uuid NOT NULL DEFAULT uuid_v7(),
    account_id       uuid NOT NULL,
    name             text NOT NULL CHECK (name <> ''),
    folder           text NOT NULL CHECK (folder ~ '^[a-z0-9][a-z0-9_-]*$'),
    version          text NOT NULL DEFAULT 'v2' CHECK (version IN ('v1', 'v2')),
    pseudonymised    boolean NOT NULL DEFAULT false,
    streams          text[] NOT NULL DEFAULT '{}',
    columns          jsonb NOT NULL DEFAULT '{}',
    scheduled        boolean NOT NULL DEFAULT true,
    frequency        text NOT NULL DEFAULT 'weekly' CHECK (frequency IN ('weekly', 'daily')),
    mode             text NOT NULL DEFAULT 'incremental' CHECK (mode IN ('incremental', 'full')),
    key_secret_id    uuid,
    key_version      integer NOT NULL DEFAULT 1 CHECK (key_version > 0),
    position         text NOT NULL DEFAULT '',
    position_at      timestamptz,
    status           text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, account_id, folder),
    FOREIGN KEY (tenant_id, account_id) REFERENCES datastream_accounts (tenant_id, id),
    FOREIGN KEY (tenant_id, key_secret_id) REFERENCES secrets (tenant_id, id)
);

CREATE TABLE datastream_runs (
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    id            uuid NOT NULL DEFAULT uuid_v7(),
    config_id     uuid NOT NULL,
    job_id        bigint,
    mode          text NOT NULL CHECK (mode IN ('incremental', 'full', 'since')),
    since         timestamptz,
    full_reason   text NOT NULL DEFAULT '',
    status        text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    files_total   integer NOT NULL DEFAULT 0,
    files_done    integer NOT NULL DEFAULT 0,
    dir           text NOT NULL DEFAULT '',
    window_from   text NOT NULL DEFAULT '',
    window_to     text NOT NULL DEFAULT '',
    files         jsonb NOT NULL DEFAULT '[]',
    bytes         bigint NOT NULL DEFAULT 0,
    oldest        jsonb,
    error         text NOT NULL DEFAULT '',
    heartbeat_at  timestamptz,
    started_at    timestamptz,
    finished_at   timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, config_id) REFERENCES datastream_configs (tenant_id, id)
);
CREATE INDEX datastream_runs_config ON datastream_runs (tenant_id, config_id, created_at DESC);

GRANT SELECT, INSERT, UPDATE, DELETE ON datastream_configs, datastream_runs TO dossierkast_app;

-- +goose StatementBegin
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['datastream_configs', 'datastream_runs']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_tenant()) WITH CHECK (tenant_id = app_tenant())', t);
    END LOOP;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP TABLE datastream_runs;
DROP TABLE datastream_configs;
