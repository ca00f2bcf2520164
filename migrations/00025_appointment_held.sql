-- +goose Up

-- An appointment a consultation fulfilled is held (gehouden), not still planned (issue 15.3).
ALTER TABLE appointments DROP CONSTRAINT appointments_status_check;
ALTER TABLE appointments ADD CONSTRAINT appointments_status_check
    CHECK (status IN ('planned', 'held', 'lapsed', 'cancelled'));

-- +goose Down
UPDATE appointments SET status = 'planned' WHERE status = 'held';
ALTER TABLE appointments DROP CONSTRAINT appointments_status_check;
ALTER TABLE appointments ADD CONSTRAINT appointments_status_check
    CHECK (status IN ('planned', 'lapsed', 'cancelled'));
