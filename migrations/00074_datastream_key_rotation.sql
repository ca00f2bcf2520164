-- +goose Up
-- Why the next delivery of a configuration must be full (its pseudonym key was rotated); the
-- delivery that succeeds with it clears it.
ALTER TABLE datastream_configs ADD COLUMN full_reason text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE datastream_configs DROP COLUMN full_reason;
