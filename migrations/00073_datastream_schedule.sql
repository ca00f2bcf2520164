-- +goose Up
-- The last schedule slot (daily 02:00 or Monday 02:00 Europe/Amsterdam) for which a delivery of
-- the configuration was enqueued: the due-check enqueues one when a later slot has passed.
ALTER TABLE datastream_configs ADD COLUMN last_slot timestamptz;

-- +goose Down
ALTER TABLE datastream_configs DROP COLUMN last_slot;
