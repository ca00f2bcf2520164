-- +goose Up
-- Stored credentials (issue 18): each secret is sealed with AES-256-GCM under the key in
-- SECRET_KEY_FILE. key_id names that key, so `dossierkast secrets rotate` can re-seal every
-- secret under a new one and a process can tell which key a secret needs. The sealed bytes are
-- the nonce followed by the ciphertext; the tenant and the secret's id are its associated data,
-- so a sealed value copied onto another row or tenant does not open.
CREATE TABLE secrets (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    id         uuid NOT NULL DEFAULT uuid_v7(),
    key_id     text NOT NULL CHECK (key_id <> ''),
    sealed     bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
GRANT SELECT, INSERT, UPDATE, DELETE ON secrets TO dossierkast_app;
ALTER TABLE secrets ENABLE ROW LEVEL SECURITY;
ALTER TABLE secrets FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON secrets USING (tenant_id = app_tenant()) WITH CHECK (tenant_id = app_tenant());

-- Secrets of the platform rather than of a tenant: the hosted SFTP server's host key, the same
-- for every process. Sealed like the tenant secrets, with the name as associated data.
CREATE TABLE platform_secrets (
    name       text PRIMARY KEY CHECK (name <> ''),
    key_id     text NOT NULL CHECK (key_id <> ''),
    sealed     bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT, INSERT, UPDATE ON platform_secrets TO dossierkast_app;

-- +goose Down
DROP TABLE platform_secrets;
DROP TABLE secrets;
