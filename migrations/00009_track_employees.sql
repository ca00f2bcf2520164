-- +goose Up

-- Employees are a datastream of their own (werknemers): record their inserts, updates and
-- deletes like the case data's.
CREATE TRIGGER employees_changes AFTER INSERT OR UPDATE OR DELETE ON employees
    FOR EACH ROW EXECUTE FUNCTION track_changes();
