package casefile

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/database"
)

// Appointment kinds; labels live in the message catalogue as "appointment.kind.<kind>".
const (
	AppointmentCompanyDoctor      = "company_doctor"      // spreekuur bedrijfsarts
	AppointmentCaseManager        = "case_manager"        // gesprek casemanager
	AppointmentOccupationalExpert = "occupational_expert" // arbeidsdeskundige
	AppointmentEmployer           = "employer"            // gesprek met werkgever
	AppointmentOther              = "other"
)

// AppointmentKinds lists the kinds in display order.
var AppointmentKinds = []string{AppointmentCompanyDoctor, AppointmentCaseManager, AppointmentOccupationalExpert,
	AppointmentEmployer, AppointmentOther}

// Appointment statuses; labels live in the message catalogue as "appointment.status.<status>".
const (
	AppointmentPlanned   = "planned"   // gepland
	AppointmentHeld      = "held"      // gehouden: a consultation fulfilled it
	AppointmentLapsed    = "lapsed"    // verlopen: the time passed without a consultation
	AppointmentCancelled = "cancelled" // geannuleerd
)

// AppointmentStatuses lists the statuses in display order.
var AppointmentStatuses = []string{AppointmentPlanned, AppointmentHeld, AppointmentLapsed, AppointmentCancelled}

// MaxTextLength bounds the free-text fields of the agenda.
const MaxTextLength = 10_000

// Appointment is an entry in an employee's agenda, optionally matched to the consultation that
// fulfilled it.
type Appointment struct {
	ID                 uuid.UUID
	EmployeeID         uuid.UUID
	EmployerID         uuid.UUID
	StartsAt           time.Time
	WithWhom           string
	Kind               string
	Status             string
	ConsultationID     *uuid.UUID
	ConsultationHeldAt *time.Time
}

// Consultation is a consultation (spreekuur) held with an employee. OutcomeHidden is set when
// the reader may not see the outcome of a medical consultation; Outcome is empty then.
type Consultation struct {
	ID            uuid.UUID
	EmployeeID    uuid.UUID
	EmployerID    uuid.UUID
	HeldAt        time.Time
	HeldBy        string
	Outcome       string
	Medical       bool
	OutcomeHidden bool
}

func (a *Appointment) validate() map[string]string {
	a.WithWhom = strings.TrimSpace(a.WithWhom)
	fields := map[string]string{}
	if a.StartsAt.IsZero() {
		fields["starts_at"] = "appointment.error.starts_at"
	}
	if a.WithWhom == "" {
		fields["with_whom"] = "error.required"
	} else if utf8.RuneCountInString(a.WithWhom) > 200 {
		fields["with_whom"] = "appointment.error.too_long"
	}
	if !slices.Contains(AppointmentKinds, a.Kind) {
		fields["kind"] = "error.choose"
	}
	if a.Status == "" {
		a.Status = AppointmentPlanned
	}
	if !slices.Contains(AppointmentStatuses, a.Status) {
		fields["status"] = "error.choose"
	}
	return fields
}

// checkConsultation makes sure a matched consultation is the same employee's.
func checkConsultation(ctx context.Context, tx pgx.Tx, a Appointment, fields map[string]string) error {
	if a.ConsultationID == nil {
		return nil
	}
	var employeeID uuid.UUID
	err := tx.QueryRow(ctx, "SELECT employee_id FROM consultations WHERE id = $1", *a.ConsultationID).Scan(&employeeID)
	if database.IsNoRows(err) || (err == nil && employeeID != a.EmployeeID) {
		fields["consultation_id"] = "appointment.error.consultation"
		return nil
	}
	return err
}

const appointmentColumns = `a.id, a.employee_id, a.employer_id, a.starts_at, a.with_whom, a.kind, a.status, a.consultation_id, c.held_at`

const appointmentFrom = ` FROM appointments a LEFT JOIN consultations c ON c.id = a.consultation_id`

// FindAppointmentByID returns the appointment id of the employee; ENOTFOUND when it does not
// exist or is another employee's. It does not check access.
func FindAppointmentByID(ctx context.Context, tx pgx.Tx, employeeID, id uuid.UUID) (Appointment, error) {
	return database.FindOne[Appointment](ctx, tx, "appointment",
		"SELECT "+appointmentColumns+appointmentFrom+" WHERE a.id = $1 AND a.employee_id = $2", id, employeeID)
}

// FindAppointmentEmployee returns the employee whose agenda holds appointment id, so that a
// request addressed by the appointment alone can check access to his dossier before anything
// of it is read; ENOTFOUND when it does not exist.
func FindAppointmentEmployee(ctx context.Context, tx pgx.Tx, id uuid.UUID) (uuid.UUID, error) {
	return employeeOf(ctx, tx, "SELECT employee_id FROM appointments WHERE id = $1", "appointment", id)
}

// FindAppointments returns an employee's appointments, latest first.
func FindAppointments(ctx context.Context, tx pgx.Tx, employeeID uuid.UUID) ([]Appointment, error) {
	list, err := database.FindAll[Appointment](ctx, tx, "appointments", "SELECT "+appointmentColumns+appointmentFrom+
		" WHERE a.employee_id = $1 ORDER BY a.starts_at DESC, a.id DESC", employeeID)
	if err != nil {
		return nil, err
	}
	return list, nil
}

// CreateAppointment stores a new appointment for a.EmployeeID (its employer is the employee's),
// created by ed, and audits it (case.created, with its kind). ed must see the employee and hold
// access.CaseDataWrite (ENOTFOUND, EFORBIDDEN as mayChangeEmployee). EINVALID with per-field
// keys; ENOTFOUND when the employee does not exist.
func CreateAppointment(ctx context.Context, tx pgx.Tx, ed access.Editor, a Appointment) (Appointment, error) {
	if _, err := mayChangeEmployee(ctx, tx, ed, a.EmployeeID, access.CanWriteCaseData); err != nil {
		return Appointment{}, err
	}
	fields := a.validate()
	if err := checkConsultation(ctx, tx, a, fields); err != nil {
		return Appointment{}, err
	}
	if len(fields) > 0 {
		return Appointment{}, apperr.Invalid(fields)
	}
	a.ID = uuid.Must(uuid.NewV7())
	tag, err := tx.Exec(ctx, `INSERT INTO appointments (tenant_id, id, employee_id, employer_id, starts_at, with_whom, kind,
		status, consultation_id, created_by)
		SELECT app_tenant(), $1, e.id, e.employer_id, $3, $4, $5, $6, $7, $8 FROM employees e WHERE e.id = $2`,
		a.ID, a.EmployeeID, a.StartsAt, a.WithWhom, a.Kind, a.Status, a.ConsultationID, userOf(ed.Principal))
	if err != nil {
		return Appointment{}, fmt.Errorf("create appointment: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return Appointment{}, apperr.New(apperr.ENOTFOUND, "error.not_found")
	}
	created, err := FindAppointmentByID(ctx, tx, a.EmployeeID, a.ID)
	if err != nil {
		return Appointment{}, err
	}
	return created, auditCase(ctx, tx, ed, audit.CaseCreated, "appointment", created.ID, created.EmployeeID, created.EmployerID,
		map[string]any{"kind": created.Kind})
}

// UpdateAppointment replaces the time, person, kind, status and matched consultation of the
// appointment a.ID of a.EmployeeID and audits it (case.updated, with its status). ENOTFOUND,
// EFORBIDDEN as CreateAppointment; ENOTFOUND when it is not that employee's; EINVALID with
// per-field keys.
func UpdateAppointment(ctx context.Context, tx pgx.Tx, ed access.Editor, a Appointment) (Appointment, error) {
	if _, err := mayChangeEmployee(ctx, tx, ed, a.EmployeeID, access.CanWriteCaseData); err != nil {
		return Appointment{}, err
	}
	old, err := FindAppointmentByID(ctx, tx, a.EmployeeID, a.ID)
	if err != nil {
		return Appointment{}, err
	}
	a.EmployeeID, a.EmployerID = old.EmployeeID, old.EmployerID
	fields := a.validate()
	if err := checkConsultation(ctx, tx, a, fields); err != nil {
		return Appointment{}, err
	}
	if len(fields) > 0 {
		return Appointment{}, apperr.Invalid(fields)
	}
	_, err = tx.Exec(ctx, `UPDATE appointments SET starts_at = $2, with_whom = $3, kind = $4, status = $5,
		consultation_id = $6, updated_at = now() WHERE id = $1`,
		a.ID, a.StartsAt, a.WithWhom, a.Kind, a.Status, a.ConsultationID)
	if err != nil {
		return Appointment{}, fmt.Errorf("update appointment: %w", err)
	}
	updated, err := FindAppointmentByID(ctx, tx, a.EmployeeID, a.ID)
	if err != nil {
		return Appointment{}, err
	}
	return updated, auditCase(ctx, tx, ed, audit.CaseUpdated, "appointment", updated.ID, updated.EmployeeID, updated.EmployerID,
		map[string]any{"status": updated.Status})
}

// consultationColumns blanks the outcome of a medical consultation in SQL for a reader without
// medical.view ($1: whether he has it), so it never leaves the database for him.
const consultationColumns = `c.id, c.employee_id, c.employer_id, c.held_at, c.held_by,
	CASE WHEN c.medical AND NOT $1 THEN '' ELSE c.outcome END, c.medical, c.medical AND NOT $1`

// FindConsultations returns an employee's consultations, latest first; the outcome of a medical
// one is withheld (OutcomeHidden) unless viewer holds medical.view.
func FindConsultations(ctx context.Context, tx pgx.Tx, viewer access.Principal, employeeID uuid.UUID) ([]Consultation, error) {
	list, err := database.FindAll[Consultation](ctx, tx, "consultations", "SELECT "+consultationColumns+
		" FROM consultations c WHERE c.employee_id = $2 ORDER BY c.held_at DESC, c.id DESC", access.CanReadMedical(viewer), employeeID)
	if err != nil {
		return nil, err
	}
	return list, nil
}

// FindConsultationByID returns the consultation id of the employee, its outcome as in
// FindConsultations; ENOTFOUND when it does not exist or is another employee's. It does not
// check access.
func FindConsultationByID(ctx context.Context, tx pgx.Tx, viewer access.Principal, employeeID, id uuid.UUID) (Consultation, error) {
	return database.FindOne[Consultation](ctx, tx, "consultation",
		"SELECT "+consultationColumns+" FROM consultations c WHERE c.id = $2 AND c.employee_id = $3",
		access.CanReadMedical(viewer), id, employeeID)
}

// FindConsultationEmployee returns the employee with whom consultation id was held, so that a
// request addressed by the consultation alone can check access to his dossier before anything
// of it is read; ENOTFOUND when it does not exist.
func FindConsultationEmployee(ctx context.Context, tx pgx.Tx, id uuid.UUID) (uuid.UUID, error) {
	return employeeOf(ctx, tx, "SELECT employee_id FROM consultations WHERE id = $1", "consultation", id)
}

// employeeOf runs query, which selects the employee_id of the row id; ENOTFOUND without one.
func employeeOf(ctx context.Context, tx pgx.Tx, query, what string, id uuid.UUID) (uuid.UUID, error) {
	var employeeID uuid.UUID
	err := tx.QueryRow(ctx, query, id).Scan(&employeeID)
	if database.IsNoRows(err) {
		return uuid.Nil, apperr.New(apperr.ENOTFOUND, "error.not_found")
	}
	if err != nil {
		return uuid.Nil, fmt.Errorf("find employee of %s %s: %w", what, id, err)
	}
	return employeeID, nil
}

// validate checks a consultation's fields as by writes them.
func (c *Consultation) validate(by access.Principal) map[string]string {
	c.HeldBy, c.Outcome = strings.TrimSpace(c.HeldBy), strings.TrimSpace(c.Outcome)
	fields := map[string]string{}
	if c.HeldAt.IsZero() {
		fields["held_at"] = "consultation.error.held_at"
	} else if c.HeldAt.After(time.Now().Add(5 * time.Minute)) {
		fields["held_at"] = "consultation.error.future"
	}
	if c.HeldBy == "" {
		fields["held_by"] = "error.required"
	} else if utf8.RuneCountInString(c.HeldBy) > 200 {
		fields["held_by"] = "appointment.error.too_long"
	}
	if utf8.RuneCountInString(c.Outcome) > MaxTextLength {
		fields["outcome"] = "appointment.error.too_long"
	}
	if c.Medical && c.Outcome != "" && !access.CanReadMedical(by) {
		fields["medical"] = "consultation.error.medical"
	}
	return fields
}

// CreateConsultation records a consultation held with c.EmployeeID, created by ed, and audits
// it (case.created, with whether it is medical). ed must see the employee and hold
// access.CaseDataWrite (ENOTFOUND, EFORBIDDEN as mayChangeEmployee). A medical outcome may only
// be written by someone who may read it (medical.view). EINVALID (held_at missing or in the
// future, held_by missing, outcome too long or medical without the right); ENOTFOUND when the
// employee does not exist.
func CreateConsultation(ctx context.Context, tx pgx.Tx, ed access.Editor, c Consultation) (Consultation, error) {
	if _, err := mayChangeEmployee(ctx, tx, ed, c.EmployeeID, access.CanWriteCaseData); err != nil {
		return Consultation{}, err
	}
	by := ed.Principal
	if fields := c.validate(by); len(fields) > 0 {
		return Consultation{}, apperr.Invalid(fields)
	}
	c.ID = uuid.Must(uuid.NewV7())
	tag, err := tx.Exec(ctx, `INSERT INTO consultations (tenant_id, id, employee_id, employer_id, held_at, held_by, outcome,
		medical, created_by)
		SELECT app_tenant(), $1, e.id, e.employer_id, $3, $4, $5, $6, $7 FROM employees e WHERE e.id = $2`,
		c.ID, c.EmployeeID, c.HeldAt, c.HeldBy, c.Outcome, c.Medical, userOf(by))
	if err != nil {
		return Consultation{}, fmt.Errorf("create consultation: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return Consultation{}, apperr.New(apperr.ENOTFOUND, "error.not_found")
	}
	created, err := FindConsultationByID(ctx, tx, by, c.EmployeeID, c.ID)
	if err != nil {
		return Consultation{}, err
	}
	return created, auditCase(ctx, tx, ed, audit.CaseCreated, "consultation", created.ID, created.EmployeeID, created.EmployerID,
		map[string]any{"medical": created.Medical})
}

// UpdateConsultation replaces the time, person, outcome and medical flag of the consultation
// c.ID of c.EmployeeID and audits it (case.updated, with whether it is medical). Without
// medical.view ed may not change a medical consultation, whose outcome he cannot read
// (EFORBIDDEN), nor make one medical with an outcome (EINVALID, as CreateConsultation).
// ENOTFOUND, EFORBIDDEN as CreateConsultation; ENOTFOUND when it is not that employee's.
func UpdateConsultation(ctx context.Context, tx pgx.Tx, ed access.Editor, c Consultation) (Consultation, error) {
	if _, err := mayChangeEmployee(ctx, tx, ed, c.EmployeeID, access.CanWriteCaseData); err != nil {
		return Consultation{}, err
	}
	by := ed.Principal
	old, err := FindConsultationByID(ctx, tx, by, c.EmployeeID, c.ID)
	if err != nil {
		return Consultation{}, err
	}
	if old.OutcomeHidden {
		return Consultation{}, apperr.New(apperr.EFORBIDDEN, "error.forbidden")
	}
	c.EmployeeID, c.EmployerID = old.EmployeeID, old.EmployerID
	if fields := c.validate(by); len(fields) > 0 {
		return Consultation{}, apperr.Invalid(fields)
	}
	_, err = tx.Exec(ctx, `UPDATE consultations SET held_at = $2, held_by = $3, outcome = $4, medical = $5, updated_at = now()
		WHERE id = $1`, c.ID, c.HeldAt, c.HeldBy, c.Outcome, c.Medical)
	if err != nil {
		return Consultation{}, fmt.Errorf("update consultation: %w", err)
	}
	updated, err := FindConsultationByID(ctx, tx, by, c.EmployeeID, c.ID)
	if err != nil {
		return Consultation{}, err
	}
	return updated, auditCase(ctx, tx, ed, audit.CaseUpdated, "consultation", updated.ID, updated.EmployeeID, updated.EmployerID,
		map[string]any{"medical": updated.Medical})
}

// DeleteAppointment deletes the employee's appointment id, audits it (case.deleted, with its
// kind and status) and returns it as it was; the consultation it was matched to stays. ed must
// see the employee and may delete case data (access.CanDeleteCaseData): ENOTFOUND, EFORBIDDEN
// as mayChangeEmployee. ENOTFOUND when it is not the employee's.
func DeleteAppointment(ctx context.Context, tx pgx.Tx, ed access.Editor, employeeID, id uuid.UUID) (Appointment, error) {
	employerID, err := mayChangeEmployee(ctx, tx, ed, employeeID, access.CanDeleteCaseData)
	if err != nil {
		return Appointment{}, err
	}
	a, err := FindAppointmentByID(ctx, tx, employeeID, id)
	if err != nil {
		return Appointment{}, err
	}
	if _, err := tx.Exec(ctx, "DELETE FROM appointments WHERE id = $1", id); err != nil {
		return Appointment{}, fmt.Errorf("delete appointment: %w", err)
	}
	return a, auditCase(ctx, tx, ed, audit.CaseDeleted, "appointment", id, employeeID, employerID,
		map[string]any{"kind": a.Kind, "status": a.Status})
}

// FindConsultationToDelete returns the employee's consultation id that by is about to delete. A
// medical consultation's outcome is withheld from anyone without medical.view, and what he
// cannot read he may not destroy (EFORBIDDEN). ENOTFOUND when it is not the employee's. It does
// not check access.
func FindConsultationToDelete(ctx context.Context, tx pgx.Tx, by access.Principal, employeeID, id uuid.UUID) (Consultation, error) {
	c, err := FindConsultationByID(ctx, tx, by, employeeID, id)
	if err != nil {
		return Consultation{}, err
	}
	if c.OutcomeHidden {
		return Consultation{}, apperr.New(apperr.EFORBIDDEN, "error.forbidden")
	}
	return c, nil
}

// DeleteConsultation deletes the employee's consultation id, audits it (case.deleted, with
// whether it was medical and the appointments it unmatched) and returns it as it was, with the
// appointments it fulfilled: they stay, no longer matched (each an update in changes). ed must
// see the employee and may delete case data (access.CanDeleteCaseData): ENOTFOUND, EFORBIDDEN
// as mayChangeEmployee. ENOTFOUND and EFORBIDDEN as FindConsultationToDelete.
func DeleteConsultation(ctx context.Context, tx pgx.Tx, ed access.Editor, employeeID, id uuid.UUID) (Consultation, []uuid.UUID, error) {
	employerID, err := mayChangeEmployee(ctx, tx, ed, employeeID, access.CanDeleteCaseData)
	if err != nil {
		return Consultation{}, nil, err
	}
	c, err := FindConsultationToDelete(ctx, tx, ed.Principal, employeeID, id)
	if err != nil {
		return Consultation{}, nil, err
	}
	rows, err := tx.Query(ctx, `UPDATE appointments SET consultation_id = NULL, updated_at = now()
		WHERE consultation_id = $1 RETURNING id`, id)
	if err != nil {
		return Consultation{}, nil, fmt.Errorf("unmatch appointments: %w", err)
	}
	unmatched, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return Consultation{}, nil, fmt.Errorf("unmatch appointments: %w", err)
	}
	if _, err := tx.Exec(ctx, "DELETE FROM consultations WHERE id = $1", id); err != nil {
		return Consultation{}, nil, fmt.Errorf("delete consultation: %w", err)
	}
	return c, unmatched, auditCase(ctx, tx, ed, audit.CaseDeleted, "consultation", id, employeeID, employerID,
		map[string]any{"medical": c.Medical, "unmatched_appointments": unmatched})
}
