-- +goose Up
-- A running delivery counts the rows it has written as well as the files, for its page (issue 19).
-- A delivery whose process died is handed back by the heartbeat check, which marks the run
-- interrupted (internal/jobs/heartbeat): until now the check's update failed on this table.
-- Why a run failed is kept as a message key with its parameters, so that the page and the log
-- report say it in their reader's language; a reason recorded before stays as it was written.
ALTER TABLE datastream_runs
    ADD COLUMN rows_done bigint NOT NULL DEFAULT 0 CHECK (rows_done >= 0),
    ADD COLUMN interrupted_at timestamptz,
    ADD COLUMN failure jsonb;
UPDATE datastream_runs SET failure = jsonb_build_object('key', 'datastream.failure.recorded', 'args', jsonb_build_array(error))
    WHERE error <> '';
ALTER TABLE datastream_runs DROP COLUMN error;

-- +goose Down
ALTER TABLE datastream_runs ADD COLUMN error text NOT NULL DEFAULT '';
UPDATE datastream_runs SET error = coalesce(failure->'args'->>0, failure->>'key') WHERE failure IS NOT NULL;
ALTER TABLE datastream_runs DROP COLUMN failure, DROP COLUMN interrupted_at, DROP COLUMN rows_done;
