-- +goose Up

-- A generation's plan moves to a temporary file of the attempt (bundle.planFile): writing it to
-- this table and reading it back twice took about a third of a 1 GB generation, and the plan is
-- working state that only the attempt itself reads and every attempt makes anew.
DROP TABLE bundle_entries;
