-- +goose Up
-- A running full dossier counts the bytes it has written as well as the documents (issue 15):
-- a 2 GB bundle showed 76% by documents with most of its bytes still to come.
ALTER TABLE bundles ADD COLUMN bytes_done bigint NOT NULL DEFAULT 0 CHECK (bytes_done >= 0);
