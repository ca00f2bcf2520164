-- +goose Up
-- A full-dossier part past its expiry is gone for every reader at once, not only after the
-- sweep (every 15 minutes) deleted it (issue 14.5): visible_documents, which every document
-- list and CanReadDocument read, leaves expired documents out.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION visible_documents(p_user_id uuid, p_all_employers uuid[], p_reach uuid[],
        p_departments uuid[], p_employees uuid[], p_delegated uuid[], p_categories uuid[])
    RETURNS SETOF documents
    LANGUAGE sql STABLE
    AS $$
    SELECT d.* FROM documents d
    WHERE d.category_id = ANY (p_categories)
      AND (d.expires_at IS NULL OR d.expires_at > now())
      AND CASE WHEN d.employee_id IS NULL
               THEN d.employer_id = ANY (p_reach)
               ELSE EXISTS (SELECT 1 FROM visible_employees(p_user_id, p_all_employers, p_reach, p_departments,
                                                            p_employees, p_delegated) e
                            WHERE e.id = d.employee_id)
          END
    $$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION visible_documents(p_user_id uuid, p_all_employers uuid[], p_reach uuid[],
        p_departments uuid[], p_employees uuid[], p_delegated uuid[], p_categories uuid[])
    RETURNS SETOF documents
    LANGUAGE sql STABLE
    AS $$
    SELECT d.* FROM documents d
    WHERE d.category_id = ANY (p_categories)
      AND CASE WHEN d.employee_id IS NULL
               THEN d.employer_id = ANY (p_reach)
               ELSE EXISTS (SELECT 1 FROM visible_employees(p_user_id, p_all_employers, p_reach, p_departments,
                                                            p_employees, p_delegated) e
                            WHERE e.id = d.employee_id)
          END
    $$;
-- +goose StatementEnd
