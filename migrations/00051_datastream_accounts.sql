-- +goose Up
-- Datastream connection accounts (issue 18, DESIGN.md §9). A hosted account is a user of
-- Dossierkast's own SFTP server: a generated user name (unique on the platform, since the log-in
-- does not know the tenant), an argon2id password hash and/or a pasted public key. An external
-- account names another server; its password or generated private key is a sealed secret
-- (secrets), and its host key is pinned once an administrator confirmed it.
CREATE TABLE datastream_accounts (
    tenant_id      uuid NOT NULL REFERENCES tenants (id),
    id             uuid NOT NULL DEFAULT uuid_v7(),
    name           text NOT NULL CHECK (name <> ''),
    type           text NOT NULL CHECK (type IN ('hosted', 'external')),
    language       text NOT NULL DEFAULT 'nl' CHECK (language IN ('nl', 'en')),
    recipients     text[] NOT NULL DEFAULT '{}',
    medical        boolean NOT NULL DEFAULT false,
    all_employers  boolean NOT NULL DEFAULT true,
    status         text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'blocked', 'archived')),
    -- hosted
    sftp_user      text UNIQUE CHECK (sftp_user <> ''),
    password_hash  text NOT NULL DEFAULT '',
    public_key     text NOT NULL DEFAULT '',
    -- external
    host           text NOT NULL DEFAULT '',
    port           integer NOT NULL DEFAULT 22 CHECK (port BETWEEN 1 AND 65535),
    remote_user    text NOT NULL DEFAULT '',
    auth_method    text NOT NULL DEFAULT '' CHECK (auth_method IN ('', 'password', 'key')),
    secret_id      uuid,
    key_public     text NOT NULL DEFAULT '',
    base_dir       text NOT NULL DEFAULT '',
    host_key       text NOT NULL DEFAULT '',
    offered_key    text NOT NULL DEFAULT '',
    tested_at      timestamptz,
    test_ok        boolean,
    test_report    jsonb NOT NULL DEFAULT '[]',
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, secret_id) REFERENCES secrets (tenant_id, id),
    CHECK ((type = 'hosted') = (sftp_user IS NOT NULL))
);
CREATE INDEX datastream_accounts_name ON datastream_accounts (tenant_id, lower(name));

CREATE TABLE datastream_account_employers (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    account_id  uuid NOT NULL,
    employer_id uuid NOT NULL,
    PRIMARY KEY (tenant_id, account_id, employer_id),
    FOREIGN KEY (tenant_id, account_id) REFERENCES datastream_accounts (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, employer_id) REFERENCES employers (tenant_id, id)
);

-- The folder of a hosted account: files and folders by their path inside it ("a/b.csv"),
-- the bytes in the blob store under storage_key. Any serve process reads the same rows and
-- blobs, so a scaled-out deployment serves the same files everywhere.
CREATE TABLE datastream_files (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    account_id  uuid NOT NULL,
    path        text NOT NULL CHECK (path <> '' AND path !~ '(^/|/$|//|(^|/)\.\.?(/|$))'),
    is_dir      boolean NOT NULL DEFAULT false,
    size        bigint NOT NULL DEFAULT 0,
    storage_key text NOT NULL DEFAULT '',
    modified_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, account_id, path),
    FOREIGN KEY (tenant_id, account_id) REFERENCES datastream_accounts (tenant_id, id)
);

GRANT SELECT, INSERT, UPDATE, DELETE ON datastream_accounts, datastream_account_employers, datastream_files
    TO dossierkast_app;

-- +goose StatementBegin
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['datastream_accounts', 'datastream_account_employers', 'datastream_files']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_tenant()) WITH CHECK (tenant_id = app_tenant())', t);
    END LOOP;
END
$$;
-- +goose StatementEnd

-- find_sftp_account is the one way to find a hosted account without knowing the tenant: an SFTP
-- log-in only has a user name. Like find_login it runs as the owner and returns only what a
-- log-in needs.
-- +goose StatementBegin
CREATE FUNCTION find_sftp_account(p_user text)
    RETURNS TABLE (tenant_id uuid, account_id uuid, password_hash text, public_key text, status text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
    AS $$
    SELECT a.tenant_id, a.id, a.password_hash, a.public_key, a.status
    FROM datastream_accounts a WHERE a.sftp_user = p_user
    $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION find_sftp_account(text) FROM PUBLIC;
-- +goose StatementBegin
DO $$
BEGIN
    EXECUTE format('CREATE POLICY owner_find_sftp_account ON datastream_accounts FOR SELECT TO %I USING (true)', current_user);
END
$$;
-- +goose StatementEnd
GRANT EXECUTE ON FUNCTION find_sftp_account(text) TO dossierkast_app;

-- +goose Down
DROP FUNCTION find_sftp_account(text);
DROP TABLE datastream_files;
DROP TABLE datastream_account_employers;
DROP TABLE datastream_accounts;
