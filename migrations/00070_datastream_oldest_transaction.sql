-- +goose Up

-- datastream_oldest_transaction names the oldest transaction that was running on the server
-- (any database) when the caller's snapshot was taken: until it ends, its changes cannot be
-- delivered and changes below it cannot be pruned, so a delivery reports its age and
-- application name. pg_stat_activity shows other roles' sessions only to privileged roles,
-- hence SECURITY DEFINER; it returns no query text and no user name.
-- +goose StatementBegin
CREATE FUNCTION datastream_oldest_transaction()
    RETURNS TABLE (xid text, age interval, application_name text, database text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog
    AS $$
    SELECT a.backend_xid::text, now() - a.xact_start, a.application_name, coalesce(a.datname, '')
    FROM pg_stat_activity a
    WHERE a.backend_xid IS NOT NULL AND a.pid <> pg_backend_pid()
    ORDER BY age(a.backend_xid) DESC
    LIMIT 1
    $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION datastream_oldest_transaction() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION datastream_oldest_transaction() TO dossierkast_app;
