-- +goose Up

-- The document categories a bundle holds documents of. A part carries those documents whatever
-- the category of the part itself, so the download guard lets only a user who may read every
-- one of these categories (and see every dossier in bundle_employees) have it.
ALTER TABLE bundles ADD COLUMN category_ids uuid[] NOT NULL DEFAULT '{}';

