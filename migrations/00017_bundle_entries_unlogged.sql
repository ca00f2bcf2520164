-- +goose Up

-- A generation's plan is working state that the attempt itself can always make again: every
-- attempt re-plans from the documents before it writes, and nothing outside the attempt reads
-- the plan. So it needs no write-ahead log: unlogged, the plan of 10,000 documents costs no WAL
-- to write, to commit or to delete. PostgreSQL empties an unlogged table when it restarts after
-- a crash; an attempt that then finds its plan gone (fewer entries than it planned, in the
-- workbook, the parts or at publishing) fails, and River's retry plans anew.
--
-- The tenant's foreign key goes: the bundle's (tenant_id, bundle_id) key already holds the
-- tenant to an existing bundle of that tenant, and checking both took most of the time to
-- store a plan.
ALTER TABLE bundle_entries DROP CONSTRAINT bundle_entries_tenant_id_fkey;
ALTER TABLE bundle_entries SET UNLOGGED;
