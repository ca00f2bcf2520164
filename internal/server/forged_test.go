package server_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// TestFormsForgedIDs: a form whose choice names a well-formed id that does not exist (forged,
// or deleted while the form was open) gets a Dutch 4xx page, never a 500, and stores nothing.
func TestFormsForgedIDs(t *testing.T) {
	t.Parallel()
	b := setup(t, 5)
	c := b.login(t, adminEmail)
	ctx := context.Background()
	var employer, employee, provider, manager uuid.UUID
	b.inTenant(t, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, "SELECT employer_id, id FROM employees ORDER BY personnel_number LIMIT 1").Scan(&employer, &employee); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, "SELECT id FROM intervention_providers LIMIT 1").Scan(&provider); err != nil {
			return err
		}
		return tx.QueryRow(ctx, "SELECT id FROM users WHERE email = 'leidinggevende@demo.dossierkast.nl'").Scan(&manager)
	})
	role := demoUser(t, b, adminEmail).RoleID.String()
	unknown := uuid.Must(uuid.NewV7()).String()
	emp, er := "/employees/"+employee.String(), "/employers/"+employer.String()
	tests := []struct {
		name, path string
		form       url.Values
	}{
		{"EmployeeEmployer", "/employees", url.Values{"employer_id": {unknown}, "personnel_number": {"F-1"}, "last_name": {"X"}}},
		{"EmployeeDepartment", "/employees", url.Values{"employer_id": {employer.String()}, "department_id": {unknown},
			"personnel_number": {"F-2"}, "last_name": {"X"}}},
		{"EmployerGroup", "/employers", url.Values{"name": {"Vals BV"}, "employer_number": {"F-3"}, "group_id": {unknown}}},
		{"UserRole", "/admin/users", url.Values{"name": {"X"}, "email": {"f1@demo.dossierkast.nl"}, "password": {"een-lang-wachtwoord"},
			"kind": {"provider"}, "role_id": {unknown}, "language": {"nl"}}},
		{"UserEmployer", "/admin/users", url.Values{"name": {"X"}, "email": {"f2@demo.dossierkast.nl"}, "password": {"een-lang-wachtwoord"},
			"kind": {"employer"}, "role_id": {role}, "employer_ids": {unknown}, "language": {"nl"}}},
		{"UserProvider", "/admin/users", url.Values{"name": {"X"}, "email": {"f3@demo.dossierkast.nl"}, "password": {"een-lang-wachtwoord"},
			"kind": {"coach"}, "role_id": {role}, "provider_id": {unknown}, "language": {"nl"}}},
		{"ProgrammeProvider", "/admin/interventions/programmes", url.Values{"provider_id": {unknown}, "name": {"Vals"}, "price": {"10,00"},
			"executor_mode": {"provider"}}},
		{"ProgrammeExecutor", "/admin/interventions/programmes", url.Values{"provider_id": {provider.String()}, "name": {"Vals"}, "price": {"10,00"},
			"executor_mode": {"own"}, "executor_user_id": {unknown}}},
		{"TrajectoryProtocol", emp + "/trajectories", url.Values{"protocol_id": {unknown}, "start_date": {"2026-01-05"}}},
		{"AppointmentConsultation", emp + "/appointments", url.Values{"with_whom": {"X"}, "kind": {"spreekuur"},
			"status": {"gepland"}, "starts_at": {"2026-01-05T10:00"}, "consultation_id": {unknown}}},
		{"AgreementGroup", er + "/agreements", url.Values{"contract_number": {"F-4"}, "starts_on": {"2026-01-01"}, "group_id": {unknown}}},
		{"AgreementPolicy", er + "/agreements", url.Values{"contract_number": {"F-5"}, "starts_on": {"2026-01-01"}, "policy_id": {unknown}}},
		{"ParticipationPolicy", emp + "/policies", url.Values{"policy_id": {unknown}, "participating": {"1"}, "starts_on": {"2026-01-01"}}},
		{"AccessDepartment", "/admin/users/" + manager.String() + "/access", url.Values{"op": {"link_department"}, "department_id": {unknown}}},
		{"AccessEmployee", "/admin/users/" + manager.String() + "/access", url.Values{"op": {"link_employee"}, "employee_id": {unknown}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, doc := b.postPage(t, c, tt.path, tt.form)
			if resp.StatusCode < 400 || resp.StatusCode >= 500 {
				t.Errorf("POST %s = %d, want a 4xx", tt.path, resp.StatusCode)
			}
			if lang := doc.Find("html").AttrOr("lang", ""); lang != "nl" {
				t.Errorf("html lang = %q, want nl", lang)
			}
		})
	}
}
