-- +goose Up

-- Datastream deliveries prune the change rows every configuration's position has passed
-- (stream.Prune), inside the tenant's transaction: row-level security limits it to the tenant.
GRANT DELETE ON changes TO dossierkast_app;
