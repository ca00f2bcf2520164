package casefile

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/database"
)

// Subject types of the contract entities in the audit log (audit.CaseCreated, CaseUpdated and
// CaseDeleted).
const (
	SubjectPolicy      = "insurance_policy"
	SubjectAgreement   = "service_agreement"
	SubjectParticipant = "policy_participant"
)

// Messages of the contract rules (message catalogue keys).
const (
	MsgEndBeforeStart      = "casefile.error.end_before_start"
	MsgPolicyOtherEmployer = "casefile.error.policy_other_employer"
	MsgPolicyDuplicate     = "casefile.error.policy_duplicate"
	MsgAgreementDuplicate  = "casefile.error.agreement_duplicate"
	MsgParticipantDup      = "casefile.error.participant_duplicate"
)

// ContractPeriod is a span of calendar days: Start inclusive, End inclusive or open (nil).
type ContractPeriod struct {
	Start time.Time
	End   *time.Time
}

// validate records a missing start or an end before the start in fields, under the form names
// starts_on and ends_on.
func (p ContractPeriod) validate(fields map[string]string) {
	if p.Start.IsZero() {
		fields["starts_on"] = "error.required"
		return
	}
	if p.End != nil && p.End.Before(p.Start) {
		fields["ends_on"] = MsgEndBeforeStart
	}
}

// Contains reports whether day lies in the period.
func (p ContractPeriod) Contains(day time.Time) bool {
	return !day.Before(p.Start) && (p.End == nil || !day.After(*p.End))
}

// Policy is an insurance policy (polis) held by an employer.
type Policy struct {
	ID           uuid.UUID
	EmployerID   uuid.UUID
	Insurer      string
	PolicyNumber string
	Period       ContractPeriod
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

func (p *Policy) validate() error {
	p.Insurer = strings.TrimSpace(p.Insurer)
	p.PolicyNumber = strings.TrimSpace(p.PolicyNumber)
	fields := map[string]string{}
	if p.Insurer == "" {
		fields["insurer"] = "error.required"
	}
	if p.PolicyNumber == "" {
		fields["policy_number"] = "error.required"
	}
	p.Period.validate(fields)
	if len(fields) > 0 {
		return apperr.Invalid(fields)
	}
	return nil
}

func (p Policy) details() map[string]any {
	return map[string]any{"insurer": p.Insurer, "policy_number": p.PolicyNumber,
		"starts_on": auditDay(&p.Period.Start), "ends_on": auditDay(p.Period.End)}
}

// Label names the policy in choices: insurer and number.
func (p Policy) Label() string { return p.Insurer + " " + p.PolicyNumber }

const policyColumns = `p.id, p.employer_id, p.insurer, p.policy_number, p.starts_on, p.ends_on, p.created_at, p.updated_at`

func scanPolicy(row pgx.CollectableRow) (Policy, error) {
	var p Policy
	err := row.Scan(&p.ID, &p.EmployerID, &p.Insurer, &p.PolicyNumber, &p.Period.Start, &p.Period.End, &p.CreatedAt, &p.UpdatedAt)
	return p, err
}

// FindPolicies lists an employer's policies, latest start first.
func FindPolicies(ctx context.Context, tx pgx.Tx, employerID uuid.UUID) ([]Policy, error) {
	rows, err := tx.Query(ctx, "SELECT "+policyColumns+` FROM insurance_policies p WHERE p.employer_id = $1
		ORDER BY p.starts_on DESC, p.insurer, p.policy_number, p.id`, employerID)
	if err != nil {
		return nil, fmt.Errorf("find policies: %w", err)
	}
	return pgx.CollectRows(rows, scanPolicy)
}

// FindPolicyByID returns the policy id of the employer; ENOTFOUND when it does not exist or is
// another employer's. It does not check access.
func FindPolicyByID(ctx context.Context, tx pgx.Tx, employerID, id uuid.UUID) (Policy, error) {
	rows, err := tx.Query(ctx, "SELECT "+policyColumns+" FROM insurance_policies p WHERE p.id = $1 AND p.employer_id = $2",
		id, employerID)
	if err != nil {
		return Policy{}, fmt.Errorf("find policy: %w", err)
	}
	return collectContract(rows, scanPolicy, "policy")
}

// CreatePolicy stores a new policy of p.EmployerID and audits it (case.created). ed must be
// allowed by access.CanWriteEmployerContracts (ENOTFOUND outside his reach, EFORBIDDEN without
// the right). EINVALID on a missing field or an end before the start; ECONFLICT when the
// insurer already has a policy with that number.
func CreatePolicy(ctx context.Context, tx pgx.Tx, ed access.Editor, p Policy) (Policy, error) {
	if err := mayChangeEmployer(ed, p.EmployerID, access.CanWriteEmployerContracts); err != nil {
		return Policy{}, err
	}
	if err := p.validate(); err != nil {
		return Policy{}, err
	}
	p.ID = uuid.Must(uuid.NewV7())
	err := tx.QueryRow(ctx, `INSERT INTO insurance_policies (tenant_id, id, employer_id, insurer, policy_number, starts_on, ends_on)
		VALUES (app_tenant(), $1, $2, $3, $4, $5, $6) RETURNING created_at, updated_at`,
		p.ID, p.EmployerID, p.Insurer, p.PolicyNumber, p.Period.Start, p.Period.End).Scan(&p.CreatedAt, &p.UpdatedAt)
	if err != nil {
		return Policy{}, contractConflict(fmt.Errorf("create policy: %w", err), "policy_number", MsgPolicyDuplicate)
	}
	return p, audit.Write(ctx, tx, ed.Actor, audit.Event{Action: audit.CaseCreated, SubjectType: SubjectPolicy,
		SubjectID: &p.ID, EmployerID: &p.EmployerID, Details: p.details()})
}

// UpdatePolicy replaces the insurer, number and period of the policy p.ID of p.EmployerID and
// audits the change (case.updated, before and after). ENOTFOUND when it is not that employer's;
// ENOTFOUND, EFORBIDDEN, EINVALID, ECONFLICT as CreatePolicy.
func UpdatePolicy(ctx context.Context, tx pgx.Tx, ed access.Editor, p Policy) (Policy, error) {
	if err := mayChangeEmployer(ed, p.EmployerID, access.CanWriteEmployerContracts); err != nil {
		return Policy{}, err
	}
	before, err := FindPolicyByID(ctx, tx, p.EmployerID, p.ID)
	if err != nil {
		return Policy{}, err
	}
	if err := p.validate(); err != nil {
		return Policy{}, err
	}
	p.EmployerID, p.CreatedAt = before.EmployerID, before.CreatedAt
	err = tx.QueryRow(ctx, `UPDATE insurance_policies SET insurer = $2, policy_number = $3, starts_on = $4, ends_on = $5,
		updated_at = now() WHERE id = $1 RETURNING updated_at`,
		p.ID, p.Insurer, p.PolicyNumber, p.Period.Start, p.Period.End).Scan(&p.UpdatedAt)
	if err != nil {
		return Policy{}, contractConflict(fmt.Errorf("update policy: %w", err), "policy_number", MsgPolicyDuplicate)
	}
	return p, audit.Write(ctx, tx, ed.Actor, audit.Event{Action: audit.CaseUpdated, SubjectType: SubjectPolicy,
		SubjectID: &p.ID, EmployerID: &p.EmployerID, Details: map[string]any{"before": before.details(), "after": p.details()}})
}

// Agreement is a service agreement (dienstverleningsovereenkomst) with an employer: a contract
// number, a period, optionally an employer group and one of the employer's policies.
type Agreement struct {
	ID             uuid.UUID
	EmployerID     uuid.UUID
	ContractNumber string
	Period         ContractPeriod
	GroupID        *uuid.UUID
	GroupName      string // read only
	PolicyID       *uuid.UUID
	PolicyLabel    string // read only: insurer and policy number
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

func (a *Agreement) validate() error {
	a.ContractNumber = strings.TrimSpace(a.ContractNumber)
	fields := map[string]string{}
	if a.ContractNumber == "" {
		fields["contract_number"] = "error.required"
	}
	a.Period.validate(fields)
	if len(fields) > 0 {
		return apperr.Invalid(fields)
	}
	return nil
}

func (a Agreement) details() map[string]any {
	return map[string]any{"contract_number": a.ContractNumber, "starts_on": auditDay(&a.Period.Start), "ends_on": auditDay(a.Period.End),
		"group_id": a.GroupID, "policy_id": a.PolicyID}
}

const agreementColumns = `a.id, a.employer_id, a.contract_number, a.starts_on, a.ends_on, a.group_id, coalesce(g.name, ''),
	a.policy_id, coalesce(p.insurer || ' ' || p.policy_number, ''), a.created_at, a.updated_at`

const agreementFrom = ` FROM service_agreements a LEFT JOIN employer_groups g ON g.id = a.group_id
	LEFT JOIN insurance_policies p ON p.id = a.policy_id `

func scanAgreement(row pgx.CollectableRow) (Agreement, error) {
	var a Agreement
	err := row.Scan(&a.ID, &a.EmployerID, &a.ContractNumber, &a.Period.Start, &a.Period.End, &a.GroupID, &a.GroupName,
		&a.PolicyID, &a.PolicyLabel, &a.CreatedAt, &a.UpdatedAt)
	return a, err
}

// FindAgreements lists an employer's service agreements, latest start first.
func FindAgreements(ctx context.Context, tx pgx.Tx, employerID uuid.UUID) ([]Agreement, error) {
	rows, err := tx.Query(ctx, "SELECT "+agreementColumns+agreementFrom+` WHERE a.employer_id = $1
		ORDER BY a.starts_on DESC, a.contract_number, a.id`, employerID)
	if err != nil {
		return nil, fmt.Errorf("find agreements: %w", err)
	}
	return pgx.CollectRows(rows, scanAgreement)
}

// FindAgreementByID returns the service agreement id of the employer; ENOTFOUND when it does
// not exist or is another employer's. It does not check access.
func FindAgreementByID(ctx context.Context, tx pgx.Tx, employerID, id uuid.UUID) (Agreement, error) {
	rows, err := tx.Query(ctx, "SELECT "+agreementColumns+agreementFrom+" WHERE a.id = $1 AND a.employer_id = $2", id, employerID)
	if err != nil {
		return Agreement{}, fmt.Errorf("find agreement: %w", err)
	}
	return collectContract(rows, scanAgreement, "agreement")
}

// checkAgreement checks the references: a group that exists, a policy of the same employer.
func checkAgreement(ctx context.Context, tx pgx.Tx, a Agreement) error {
	if a.GroupID != nil {
		var ok bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM employer_groups WHERE id = $1)", *a.GroupID).Scan(&ok); err != nil {
			return fmt.Errorf("check group: %w", err)
		}
		if !ok {
			return apperr.Invalid(map[string]string{"group_id": "error.choose"})
		}
	}
	if a.PolicyID != nil {
		return checkPolicyOf(ctx, tx, *a.PolicyID, a.EmployerID)
	}
	return nil
}

// checkPolicyOf returns EINVALID (field policy_id) unless the policy exists and is employerID's;
// a policy of another employer is named as such, since the form offered it to nobody.
func checkPolicyOf(ctx context.Context, tx pgx.Tx, policyID, employerID uuid.UUID) error {
	var owner uuid.UUID
	err := tx.QueryRow(ctx, "SELECT employer_id FROM insurance_policies WHERE id = $1", policyID).Scan(&owner)
	if database.IsNoRows(err) {
		return apperr.Invalid(map[string]string{"policy_id": "error.choose"})
	}
	if err != nil {
		return fmt.Errorf("check policy %s: %w", policyID, err)
	}
	if owner != employerID {
		return apperr.Invalid(map[string]string{"policy_id": MsgPolicyOtherEmployer})
	}
	return nil
}

// CreateAgreement stores a new service agreement and audits it (case.created). ed must be
// allowed by access.CanWriteEmployerContracts (ENOTFOUND outside his reach, EFORBIDDEN without
// the right). EINVALID on a missing field, an end before the start, an unknown group or a policy
// that is not the employer's; ECONFLICT when the contract number is taken.
func CreateAgreement(ctx context.Context, tx pgx.Tx, ed access.Editor, a Agreement) (Agreement, error) {
	if err := mayChangeEmployer(ed, a.EmployerID, access.CanWriteEmployerContracts); err != nil {
		return Agreement{}, err
	}
	if err := a.validate(); err != nil {
		return Agreement{}, err
	}
	if err := checkAgreement(ctx, tx, a); err != nil {
		return Agreement{}, err
	}
	a.ID = uuid.Must(uuid.NewV7())
	_, err := tx.Exec(ctx, `INSERT INTO service_agreements (tenant_id, id, employer_id, contract_number, starts_on, ends_on, group_id, policy_id)
		VALUES (app_tenant(), $1, $2, $3, $4, $5, $6, $7)`,
		a.ID, a.EmployerID, a.ContractNumber, a.Period.Start, a.Period.End, a.GroupID, a.PolicyID)
	if err != nil {
		return Agreement{}, contractConflict(fmt.Errorf("create agreement: %w", err), "contract_number", MsgAgreementDuplicate)
	}
	if err := audit.Write(ctx, tx, ed.Actor, audit.Event{Action: audit.CaseCreated, SubjectType: SubjectAgreement,
		SubjectID: &a.ID, EmployerID: &a.EmployerID, Details: a.details()}); err != nil {
		return Agreement{}, err
	}
	return FindAgreementByID(ctx, tx, a.EmployerID, a.ID)
}

// UpdateAgreement replaces the contract number, period, group and policy of the agreement a.ID
// of a.EmployerID and audits the change (case.updated). ENOTFOUND when it is not that
// employer's; ENOTFOUND, EFORBIDDEN, EINVALID, ECONFLICT as CreateAgreement.
func UpdateAgreement(ctx context.Context, tx pgx.Tx, ed access.Editor, a Agreement) (Agreement, error) {
	if err := mayChangeEmployer(ed, a.EmployerID, access.CanWriteEmployerContracts); err != nil {
		return Agreement{}, err
	}
	before, err := FindAgreementByID(ctx, tx, a.EmployerID, a.ID)
	if err != nil {
		return Agreement{}, err
	}
	if err := a.validate(); err != nil {
		return Agreement{}, err
	}
	if err := checkAgreement(ctx, tx, a); err != nil {
		return Agreement{}, err
	}
	_, err = tx.Exec(ctx, `UPDATE service_agreements SET contract_number = $2, starts_on = $3, ends_on = $4, group_id = $5,
		policy_id = $6, updated_at = now() WHERE id = $1`,
		a.ID, a.ContractNumber, a.Period.Start, a.Period.End, a.GroupID, a.PolicyID)
	if err != nil {
		return Agreement{}, contractConflict(fmt.Errorf("update agreement: %w", err), "contract_number", MsgAgreementDuplicate)
	}
	if err := audit.Write(ctx, tx, ed.Actor, audit.Event{Action: audit.CaseUpdated, SubjectType: SubjectAgreement,
		SubjectID: &a.ID, EmployerID: &a.EmployerID,
		Details: map[string]any{"before": before.details(), "after": a.details()}}); err != nil {
		return Agreement{}, err
	}
	return FindAgreementByID(ctx, tx, a.EmployerID, a.ID)
}

// Participant records whether an employee takes part in one of his employer's policies
// (polisdeelname), the reason for his inclusion or exclusion, and the period.
type Participant struct {
	ID            uuid.UUID
	EmployeeID    uuid.UUID
	EmployerID    uuid.UUID // the employee's employer, which holds the policy
	PolicyID      uuid.UUID
	PolicyLabel   string // read only: insurer and policy number
	Participating bool
	Reason        string
	Period        ContractPeriod
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

func (p *Participant) validate() error {
	p.Reason = strings.TrimSpace(p.Reason)
	fields := map[string]string{}
	if p.PolicyID == uuid.Nil {
		fields["policy_id"] = "error.required"
	}
	p.Period.validate(fields)
	if len(fields) > 0 {
		return apperr.Invalid(fields)
	}
	return nil
}

func (p Participant) details() map[string]any {
	return map[string]any{"policy_id": p.PolicyID, "participating": p.Participating, "reason": p.Reason,
		"starts_on": auditDay(&p.Period.Start), "ends_on": auditDay(p.Period.End)}
}

const participantColumns = `x.id, x.employee_id, x.employer_id, x.policy_id, p.insurer || ' ' || p.policy_number,
	x.participating, x.reason, x.starts_on, x.ends_on, x.created_at, x.updated_at`

const participantFrom = ` FROM policy_participants x JOIN insurance_policies p ON p.id = x.policy_id `

func scanParticipant(row pgx.CollectableRow) (Participant, error) {
	var p Participant
	err := row.Scan(&p.ID, &p.EmployeeID, &p.EmployerID, &p.PolicyID, &p.PolicyLabel, &p.Participating, &p.Reason,
		&p.Period.Start, &p.Period.End, &p.CreatedAt, &p.UpdatedAt)
	return p, err
}

// FindParticipations lists an employee's policy participations, latest start first.
func FindParticipations(ctx context.Context, tx pgx.Tx, employeeID uuid.UUID) ([]Participant, error) {
	rows, err := tx.Query(ctx, "SELECT "+participantColumns+participantFrom+` WHERE x.employee_id = $1
		ORDER BY x.starts_on DESC, p.insurer, p.policy_number, x.id`, employeeID)
	if err != nil {
		return nil, fmt.Errorf("find participations: %w", err)
	}
	return pgx.CollectRows(rows, scanParticipant)
}

// FindParticipationByID returns the policy participation id of the employee; ENOTFOUND when it
// does not exist or is another employee's. It does not check access.
func FindParticipationByID(ctx context.Context, tx pgx.Tx, employeeID, id uuid.UUID) (Participant, error) {
	rows, err := tx.Query(ctx, "SELECT "+participantColumns+participantFrom+" WHERE x.id = $1 AND x.employee_id = $2",
		id, employeeID)
	if err != nil {
		return Participant{}, fmt.Errorf("find participation: %w", err)
	}
	return collectContract(rows, scanParticipant, "participation")
}

// employerOfEmployee returns the employee's current employer, or ENOTFOUND.
func employerOfEmployee(ctx context.Context, tx pgx.Tx, employeeID uuid.UUID) (uuid.UUID, error) {
	var id uuid.UUID
	err := tx.QueryRow(ctx, "SELECT employer_id FROM employees WHERE id = $1", employeeID).Scan(&id)
	if database.IsNoRows(err) {
		return uuid.Nil, apperr.New(apperr.ENOTFOUND, "error.not_found")
	}
	if err != nil {
		return uuid.Nil, fmt.Errorf("find employee's employer: %w", err)
	}
	return id, nil
}

// CreateParticipation stores an employee's participation in a policy of his employer and audits
// it (case.created, with the employee). ed must see the employee and administer the
// organisation (access.ManageOrganisation): ENOTFOUND, EFORBIDDEN as mayChangeEmployee. EINVALID
// on a missing policy or start, an end before the start, or a policy of another employer;
// ECONFLICT when the employee already has a participation in that policy starting that day;
// ENOTFOUND when the employee does not exist.
func CreateParticipation(ctx context.Context, tx pgx.Tx, ed access.Editor, p Participant) (Participant, error) {
	employerID, err := mayChangeEmployee(ctx, tx, ed, p.EmployeeID, access.ManageOrganisation)
	if err != nil {
		return Participant{}, err
	}
	if err := p.validate(); err != nil {
		return Participant{}, err
	}
	p.EmployerID = employerID
	if err := checkPolicyOf(ctx, tx, p.PolicyID, p.EmployerID); err != nil {
		return Participant{}, err
	}
	p.ID = uuid.Must(uuid.NewV7())
	_, err = tx.Exec(ctx, `INSERT INTO policy_participants (tenant_id, id, employee_id, employer_id, policy_id, participating,
		reason, starts_on, ends_on) VALUES (app_tenant(), $1, $2, $3, $4, $5, $6, $7, $8)`,
		p.ID, p.EmployeeID, p.EmployerID, p.PolicyID, p.Participating, p.Reason, p.Period.Start, p.Period.End)
	if err != nil {
		return Participant{}, contractConflict(fmt.Errorf("create participation: %w", err), "starts_on", MsgParticipantDup)
	}
	if err := audit.Write(ctx, tx, ed.Actor, audit.Event{Action: audit.CaseCreated, SubjectType: SubjectParticipant,
		SubjectID: &p.ID, EmployeeID: &p.EmployeeID, EmployerID: &p.EmployerID, Details: p.details()}); err != nil {
		return Participant{}, err
	}
	return FindParticipationByID(ctx, tx, p.EmployeeID, p.ID)
}

// UpdateParticipation replaces the policy, answer, reason and period of the participation p.ID
// of p.EmployeeID and audits the change (case.updated). ENOTFOUND when it is not that
// employee's; ENOTFOUND, EFORBIDDEN, EINVALID, ECONFLICT as CreateParticipation.
func UpdateParticipation(ctx context.Context, tx pgx.Tx, ed access.Editor, p Participant) (Participant, error) {
	employerID, err := mayChangeEmployee(ctx, tx, ed, p.EmployeeID, access.ManageOrganisation)
	if err != nil {
		return Participant{}, err
	}
	before, err := FindParticipationByID(ctx, tx, p.EmployeeID, p.ID)
	if err != nil {
		return Participant{}, err
	}
	if err := p.validate(); err != nil {
		return Participant{}, err
	}
	p.EmployerID = employerID
	if err := checkPolicyOf(ctx, tx, p.PolicyID, p.EmployerID); err != nil {
		return Participant{}, err
	}
	_, err = tx.Exec(ctx, `UPDATE policy_participants SET employer_id = $2, policy_id = $3, participating = $4, reason = $5,
		starts_on = $6, ends_on = $7, updated_at = now() WHERE id = $1`,
		p.ID, p.EmployerID, p.PolicyID, p.Participating, p.Reason, p.Period.Start, p.Period.End)
	if err != nil {
		return Participant{}, contractConflict(fmt.Errorf("update participation: %w", err), "starts_on", MsgParticipantDup)
	}
	if err := audit.Write(ctx, tx, ed.Actor, audit.Event{Action: audit.CaseUpdated, SubjectType: SubjectParticipant,
		SubjectID: &p.ID, EmployeeID: &p.EmployeeID, EmployerID: &p.EmployerID,
		Details: map[string]any{"before": before.details(), "after": p.details()}}); err != nil {
		return Participant{}, err
	}
	return FindParticipationByID(ctx, tx, p.EmployeeID, p.ID)
}

// contractConflict turns a unique violation into ECONFLICT with a message for field; other errors pass.
// The transaction is aborted either way: the caller returns the error.
func contractConflict(err error, field, msg string) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return &apperr.Error{Code: apperr.ECONFLICT, Message: msg, Fields: map[string]string{field: msg}}
	}
	return err
}

// collectContract scans exactly one row; none is ENOTFOUND.
func collectContract[T any](rows pgx.Rows, scan pgx.RowToFunc[T], what string) (T, error) {
	v, err := pgx.CollectExactlyOneRow(rows, scan)
	if database.IsNoRows(err) {
		return v, apperr.New(apperr.ENOTFOUND, "error.not_found")
	}
	if err != nil {
		return v, fmt.Errorf("find %s: %w", what, err)
	}
	return v, nil
}

// MsgPolicyInUse is the refusal to delete a policy that participations or agreements still
// name; its arguments are how many of each.
const MsgPolicyInUse = "casefile.error.policy_in_use"

// DeletePolicy deletes the policy id of the employer, when nothing refers to it any more, and
// audits it (case.deleted). ed must be allowed by access.CanDeleteEmployerContracts (ENOTFOUND
// outside his reach, EFORBIDDEN without the right). ENOTFOUND when it is not that employer's;
// ECONFLICT (MsgPolicyInUse) while policy participations or service agreements name it: they
// are changed or deleted first, never silently with it.
func DeletePolicy(ctx context.Context, tx pgx.Tx, ed access.Editor, employerID, id uuid.UUID) (Policy, error) {
	if err := mayChangeEmployer(ed, employerID, access.CanDeleteEmployerContracts); err != nil {
		return Policy{}, err
	}
	// The row lock waits for writers that are adding a reference (they hold a key-share lock on
	// the policy) and stops new ones, so the counts below stay true until the delete commits.
	if _, err := tx.Exec(ctx, "SELECT 1 FROM insurance_policies WHERE id = $1 FOR UPDATE", id); err != nil {
		return Policy{}, fmt.Errorf("lock policy: %w", err)
	}
	p, err := FindPolicyByID(ctx, tx, employerID, id)
	if err != nil {
		return Policy{}, err
	}
	var participants, agreements int
	err = tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM policy_participants WHERE policy_id = $1),
		(SELECT count(*) FROM service_agreements WHERE policy_id = $1)`, id).Scan(&participants, &agreements)
	if err != nil {
		return Policy{}, fmt.Errorf("count policy references: %w", err)
	}
	if participants > 0 || agreements > 0 {
		return Policy{}, apperr.New(apperr.ECONFLICT, MsgPolicyInUse, participants, agreements)
	}
	if _, err := tx.Exec(ctx, "DELETE FROM insurance_policies WHERE id = $1", id); err != nil {
		return Policy{}, fmt.Errorf("delete policy: %w", err)
	}
	return p, audit.Write(ctx, tx, ed.Actor, audit.Event{Action: audit.CaseDeleted, SubjectType: SubjectPolicy,
		SubjectID: &p.ID, EmployerID: &p.EmployerID, Details: p.details()})
}

// DeleteAgreement deletes the service agreement id of the employer and audits it
// (case.deleted). ENOTFOUND, EFORBIDDEN as DeletePolicy; ENOTFOUND when it is not that
// employer's.
func DeleteAgreement(ctx context.Context, tx pgx.Tx, ed access.Editor, employerID, id uuid.UUID) (Agreement, error) {
	if err := mayChangeEmployer(ed, employerID, access.CanDeleteEmployerContracts); err != nil {
		return Agreement{}, err
	}
	a, err := FindAgreementByID(ctx, tx, employerID, id)
	if err != nil {
		return Agreement{}, err
	}
	if _, err := tx.Exec(ctx, "DELETE FROM service_agreements WHERE id = $1", id); err != nil {
		return Agreement{}, fmt.Errorf("delete agreement: %w", err)
	}
	return a, audit.Write(ctx, tx, ed.Actor, audit.Event{Action: audit.CaseDeleted, SubjectType: SubjectAgreement,
		SubjectID: &a.ID, EmployerID: &a.EmployerID, Details: a.details()})
}

// DeleteParticipation deletes the policy participation id of the employee and audits it
// (case.deleted, with the employee). ed must see the employee and may delete contract data
// (access.CanDeleteContract): ENOTFOUND, EFORBIDDEN as mayChangeEmployee. ENOTFOUND when it is
// not that employee's.
func DeleteParticipation(ctx context.Context, tx pgx.Tx, ed access.Editor, employeeID, id uuid.UUID) (Participant, error) {
	if _, err := mayChangeEmployee(ctx, tx, ed, employeeID, access.CanDeleteContract); err != nil {
		return Participant{}, err
	}
	p, err := FindParticipationByID(ctx, tx, employeeID, id)
	if err != nil {
		return Participant{}, err
	}
	if _, err := tx.Exec(ctx, "DELETE FROM policy_participants WHERE id = $1", id); err != nil {
		return Participant{}, fmt.Errorf("delete participation: %w", err)
	}
	return p, audit.Write(ctx, tx, ed.Actor, audit.Event{Action: audit.CaseDeleted, SubjectType: SubjectParticipant,
		SubjectID: &p.ID, EmployeeID: &p.EmployeeID, EmployerID: &p.EmployerID, Details: p.details()})
}
