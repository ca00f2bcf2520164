-- +goose Up

-- Employee search by the start of a word (issue 14.7). The trigram search (00023) found every
-- employee whose name held the typed letters anywhere, "lom" in "Blom", and paid for it: the
-- index's bitmap and a heap check of every match of a common name, a sort of all of them for
-- one page and a count of all of them, 9 ms of PostgreSQL's time per search at 100,000
-- employees and about ten times that at a million. A person looking someone up types the start
-- of a name ("Blom" for Blom, Blomberg, van Blommestein, Anna Blom-de Vries) or of a personnel
-- number or BSN, so the search now finds exactly that: every typed word is the start of a word
-- of the employee's first name, name prefix, last name, personnel number or BSN.
--
-- search_words: the words of a text as search compares them: lower case, split at spaces and
-- punctuation that joins or marks names (- ' ’ ‘ ` . , / ( )) and at U+10FFFF (see
-- search_prefix_end), each once, in byte order (the
-- order of COLLATE "C", in which the words that start with the same letters stand together).
-- The search splits what the user typed with the same function.
-- +goose StatementBegin
CREATE FUNCTION search_words(p_text text) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT coalesce(array_agg(DISTINCT w.w COLLATE "C" ORDER BY w.w COLLATE "C"), '{}')
    FROM regexp_split_to_table(lower(p_text), '[ \t\n\r\u00a0\U0010ffff''’‘`.,/()-]+') AS w (w)
    WHERE w.w <> ''
    $$;
-- +goose StatementEnd

-- search_prefix_end: the least text above every text that starts with p_prefix, in byte order
-- (its last character the next one: UTF-8 keeps code point order in byte order), so that
-- starts_with(w, p) is the index range p <= w < search_prefix_end(p). No word holds U+10FFFF,
-- which has no next character (search_words splits at it); after U+D7FF come the surrogates,
-- which are no characters, and then U+E000.
CREATE FUNCTION search_prefix_end(p_prefix text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$
    SELECT left(p_prefix, -1) || chr(CASE ascii(right(p_prefix, 1)) WHEN 55295 THEN 57344 ELSE ascii(right(p_prefix, 1)) + 1 END)
    $$;

-- employee_search_words: one row per word of each employee (search_words of his first name,
-- name prefix, last name, personnel number and BSN), kept by statement triggers on employees.
-- Its index employee_search_words_walk lists, for the first letters of a word, the employees
-- in the order a search shows them, by the matching word and then as the employee list sorts,
-- and carries what the access rule needs (employer, department) and prev_word, the employee's
-- word before this one in byte order: as the words that start with the same letters stand
-- together, the row whose prev_word does not also start with them is the employee's first
-- match, so a search lists him once. A search reads the index from the first matching word
-- and stops after its page and a capped count, however common the name.
CREATE TABLE employee_search_words (
    tenant_id     uuid NOT NULL,
    employee_id   uuid NOT NULL,
    word          text COLLATE "C" NOT NULL,
    prev_word     text COLLATE "C",
    last_name     text NOT NULL,
    first_name    text NOT NULL,
    employer_id   uuid NOT NULL,
    department_id uuid,
    PRIMARY KEY (tenant_id, employee_id, word)
);
CREATE INDEX employee_search_words_walk ON employee_search_words (tenant_id, word, last_name, first_name, employee_id)
    INCLUDE (prev_word, employer_id, department_id);
GRANT SELECT, INSERT, DELETE ON employee_search_words TO dossierkast_app;
ALTER TABLE employee_search_words ENABLE ROW LEVEL SECURITY;
ALTER TABLE employee_search_words FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON employee_search_words USING (tenant_id = app_tenant()) WITH CHECK (tenant_id = app_tenant());

-- employee_search_words_apply writes the words of the statement's employees: all of them on
-- insert, on update those whose searched fields, employer or department changed (the rows
-- are replaced), none left on delete. Once per statement, set-based, so a bulk load pays one
-- INSERT … SELECT rather than a call per employee, its rows in the order of
-- employee_search_words_walk: inserted in that order, neighbours land on the same index pages
-- (half the time of 500,000 rows in random order).
-- +goose StatementBegin
CREATE FUNCTION employee_search_words_apply() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM employee_search_words s USING old_rows o WHERE s.tenant_id = o.tenant_id AND s.employee_id = o.id;
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM employee_search_words s USING old_rows o JOIN new_rows n ON n.tenant_id = o.tenant_id AND n.id = o.id
        WHERE s.tenant_id = o.tenant_id AND s.employee_id = o.id
          AND (n.first_name, n.name_prefix, n.last_name, n.personnel_number, n.bsn, n.employer_id, n.department_id)
              IS DISTINCT FROM (o.first_name, o.name_prefix, o.last_name, o.personnel_number, o.bsn, o.employer_id, o.department_id);
        INSERT INTO employee_search_words (tenant_id, employee_id, word, prev_word, last_name, first_name, employer_id, department_id)
        SELECT n.tenant_id, n.id, w.word, ws[w.i - 1], n.last_name, n.first_name, n.employer_id, n.department_id
        FROM new_rows n JOIN old_rows o ON o.tenant_id = n.tenant_id AND o.id = n.id
        CROSS JOIN LATERAL search_words(n.first_name || ' ' || n.name_prefix || ' ' || n.last_name || ' '
                                        || n.personnel_number || ' ' || n.bsn) AS ws
        CROSS JOIN LATERAL unnest(ws) WITH ORDINALITY AS w (word, i)
        WHERE (n.first_name, n.name_prefix, n.last_name, n.personnel_number, n.bsn, n.employer_id, n.department_id)
              IS DISTINCT FROM (o.first_name, o.name_prefix, o.last_name, o.personnel_number, o.bsn, o.employer_id, o.department_id)
        ORDER BY 1, 3, 5, 6, 2;
        RETURN NULL;
    END IF;
    INSERT INTO employee_search_words (tenant_id, employee_id, word, prev_word, last_name, first_name, employer_id, department_id)
    SELECT n.tenant_id, n.id, w.word, ws[w.i - 1], n.last_name, n.first_name, n.employer_id, n.department_id
    FROM new_rows n
    CROSS JOIN LATERAL search_words(n.first_name || ' ' || n.name_prefix || ' ' || n.last_name || ' '
                                    || n.personnel_number || ' ' || n.bsn) AS ws
    CROSS JOIN LATERAL unnest(ws) WITH ORDINALITY AS w (word, i)
    ORDER BY 1, 3, 5, 6, 2;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER employee_search_words_insert AFTER INSERT ON employees
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION employee_search_words_apply();
CREATE TRIGGER employee_search_words_update AFTER UPDATE ON employees
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION employee_search_words_apply();
CREATE TRIGGER employee_search_words_delete AFTER DELETE ON employees
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION employee_search_words_apply();

-- The employees that exist already get their words once now.
INSERT INTO employee_search_words (tenant_id, employee_id, word, prev_word, last_name, first_name, employer_id, department_id)
SELECT e.tenant_id, e.id, w.word, ws[w.i - 1], e.last_name, e.first_name, e.employer_id, e.department_id
FROM employees e
CROSS JOIN LATERAL search_words(e.first_name || ' ' || e.name_prefix || ' ' || e.last_name || ' '
                                || e.personnel_number || ' ' || e.bsn) AS ws
CROSS JOIN LATERAL unnest(ws) WITH ORDINALITY AS w (word, i)
ORDER BY 1, 3, 5, 6, 2;

-- visible_employee_search: the first p_limit employees a user with these facts may see (the
-- rule of visible_employees, to the letter) each of whose typed words (search_words of
-- p_query) starts a word of his, in search order: by his first word that the longest typed word
-- starts, then last name, first name and id. p_employer and p_department, when set, narrow the
-- search to that employer or department. It walks employee_search_words_walk from the first
-- word the longest typed word starts and tests each row, from the index alone, against the
-- facts, the blacklist and the other typed words, so it reads about as many rows as it
-- returns divided by the share of the tenant the user sees, never every match. The long lists
-- among the facts (linked departments and employees, delegations) and the blacklist are asked
-- as IN (subquery), which PostgreSQL hashes once per call: = ANY of an array parameter
-- compares with every element for every row (40 linked departments: 2 ms of 5,000 rows).
-- PL/pgSQL keeps the plan for the session; the plan is the same whatever the words and facts.
-- It runs as the caller, under row-level security: every condition the index serves is
-- leakproof.
-- +goose StatementBegin
DROP FUNCTION visible_employee_search(text[], uuid, uuid[], uuid[], uuid[], uuid[], uuid[]);
CREATE FUNCTION visible_employee_search(p_query text, p_employer uuid, p_department uuid, p_limit int,
        p_user_id uuid, p_all_employers uuid[], p_reach uuid[], p_departments uuid[], p_employees uuid[],
        p_delegated uuid[])
    RETURNS SETOF uuid
    LANGUAGE plpgsql STABLE
    SET plan_cache_mode = force_generic_plan
    AS $$
DECLARE
    v_words  text[] := search_words(p_query);
    v_lead   text;
    v_others text[];
BEGIN
    SELECT w INTO v_lead FROM unnest(v_words) AS w ORDER BY length(w) DESC, w COLLATE "C" LIMIT 1;
    IF v_lead IS NULL THEN
        RETURN;
    END IF;
    v_others := array_remove(v_words, v_lead);
    RETURN QUERY
    SELECT s.employee_id FROM employee_search_words s
    WHERE s.tenant_id = app_tenant()
      AND s.word >= v_lead AND s.word < search_prefix_end(v_lead)
      AND NOT starts_with(coalesce(s.prev_word, ''), v_lead)
      AND (p_employer IS NULL OR s.employer_id = p_employer)
      AND (p_department IS NULL OR s.department_id = p_department)
      AND (s.employer_id = ANY (p_all_employers)
           OR ((s.department_id IN (SELECT unnest(p_departments)) OR s.employee_id IN (SELECT unnest(p_employees)))
               AND s.employer_id = ANY (p_reach))
           OR s.employee_id IN (SELECT unnest(p_delegated)))
      AND s.employee_id NOT IN (SELECT b.employee_id FROM user_blacklist b WHERE b.user_id = p_user_id)
      AND NOT EXISTS (SELECT 1 FROM unnest(v_others) AS o (w)
                      WHERE NOT EXISTS (SELECT 1 FROM employee_search_words x
                                        WHERE x.tenant_id = s.tenant_id AND x.employee_id = s.employee_id
                                          AND starts_with(x.word, o.w)))
    ORDER BY s.word, s.last_name, s.first_name, s.employee_id
    LIMIT p_limit;
END
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION visible_employee_search(text, uuid, uuid, int, uuid, uuid[], uuid[], uuid[], uuid[], uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION visible_employee_search(text, uuid, uuid, int, uuid, uuid[], uuid[], uuid[], uuid[], uuid[]) TO dossierkast_app;

-- +goose Down
DROP FUNCTION visible_employee_search(text, uuid, uuid, int, uuid, uuid[], uuid[], uuid[], uuid[], uuid[]);
-- +goose StatementBegin
CREATE FUNCTION visible_employee_search(p_patterns text[], p_user_id uuid, p_all_employers uuid[], p_reach uuid[],
        p_departments uuid[], p_employees uuid[], p_delegated uuid[])
    RETURNS TABLE (id uuid, employer_id uuid, department_id uuid, last_name text, first_name text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public ROWS 1000
    AS $$
    SELECT e.id, e.employer_id, e.department_id, e.last_name, e.first_name FROM employees e
    WHERE e.tenant_id = app_tenant()
      AND lower(e.first_name || ' ' || e.name_prefix || ' ' || e.last_name || ' ' || e.personnel_number || ' ' || e.bsn) LIKE p_patterns[1]
      AND lower(e.first_name || ' ' || e.name_prefix || ' ' || e.last_name || ' ' || e.personnel_number || ' ' || e.bsn) LIKE ALL (p_patterns)
      AND (e.employer_id = ANY (p_all_employers)
           OR ((e.department_id = ANY (p_departments) OR e.id = ANY (p_employees)) AND e.employer_id = ANY (p_reach))
           OR e.id = ANY (p_delegated))
      AND NOT EXISTS (SELECT 1 FROM user_blacklist b
                      WHERE b.tenant_id = app_tenant() AND b.user_id = p_user_id AND b.employee_id = e.id)
    $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION visible_employee_search(text[], uuid, uuid[], uuid[], uuid[], uuid[], uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION visible_employee_search(text[], uuid, uuid[], uuid[], uuid[], uuid[], uuid[]) TO dossierkast_app;
DROP TRIGGER employee_search_words_insert ON employees;
DROP TRIGGER employee_search_words_update ON employees;
DROP TRIGGER employee_search_words_delete ON employees;
DROP FUNCTION employee_search_words_apply();
DROP TABLE employee_search_words;
DROP FUNCTION search_prefix_end(text);
DROP FUNCTION search_words(text);
