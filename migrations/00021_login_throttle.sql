-- +goose Up
-- The log-in throttle keys its failures by account and address separately (issue 14.6): a pair
-- is slowed after a few failures, an address only across many distinct accounts. Failures are
-- short-lived (a quarter of an hour), so the old rows are dropped rather than converted.
DROP TABLE login_failures;
CREATE TABLE login_failures (
    email text NOT NULL,
    ip    text NOT NULL,
    at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_pair ON login_failures (email, ip, at);
CREATE INDEX login_failures_ip ON login_failures (ip, at);

-- A device cookie names a browser on which an account logged in before; such a browser is not
-- slowed by other accounts' failures from its address. Only the token's SHA-256 is kept.
CREATE TABLE login_devices (
    token_hash bytea NOT NULL,
    email      text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (token_hash, email)
);
CREATE INDEX login_devices_created ON login_devices (created_at);

GRANT SELECT, INSERT, UPDATE, DELETE ON login_failures, login_devices TO dossierkast_app;

-- +goose Down
DROP TABLE login_devices;
DROP TABLE login_failures;
CREATE TABLE login_failures (
    key text NOT NULL,
    at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_key ON login_failures (key, at);
GRANT SELECT, INSERT, UPDATE, DELETE ON login_failures TO dossierkast_app;
