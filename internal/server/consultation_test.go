package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// TestConsultationEdit: a consultation's time, person and outcome can be corrected through its
// form; refused without the right (403), outside one's access (404), for a medical one without
// medical.view (403: its outcome would show), on bad input (422 in Dutch, nothing changed).
func TestConsultationEdit(t *testing.T) {
	t.Parallel()
	b := setupCase(t)
	ctx := context.Background()
	var plain, medical, foreign uuid.UUID
	b.inTenant(t, func(tx pgx.Tx) error {
		for _, q := range []struct {
			dst      *uuid.UUID
			employee uuid.UUID
			medical  bool
		}{{&plain, b.own, false}, {&medical, b.own, true}, {&foreign, b.foreign, false}} {
			if err := tx.QueryRow(ctx, `INSERT INTO consultations (tenant_id, employee_id, employer_id, held_at, held_by, outcome, medical)
				SELECT app_tenant(), id, employer_id, TIMESTAMPTZ '2026-11-02 09:00+01', 'Dr. Bos', 'Uitkomst', $2 FROM employees
				WHERE id = $1 RETURNING id`, q.employee, q.medical).Scan(q.dst); err != nil {
				return err
			}
		}
		return nil
	})
	cm, doctor, hr := b.login(t, casemanager), b.login(t, bedrijfsarts), b.login(t, hrUser)
	agenda := "/employees/" + b.own.String() + "/agenda"
	form := url.Values{"held_at": {"2026-11-03T14:15"}, "held_by": {"Mw. Jansen"}, "outcome": {"Afspraken over opbouw gemaakt"}}
	stored := func(id uuid.UUID) string {
		return ardScalar[string](t, b.testBundle, `SELECT held_by || '/' || outcome || '/' || medical::text || '/' ||
			to_char(held_at AT TIME ZONE 'Europe/Amsterdam', 'YYYY-MM-DD HH24:MI') FROM consultations WHERE id = $1`, id)
	}

	t.Run("Edit", func(t *testing.T) {
		_, doc := b.get(t, cm, agenda)
		if n := doc.Find(`#consultations a.edit[href="/consultations/` + plain.String() + `/edit"]`).Length(); n != 1 {
			t.Errorf("agenda offers %d edit links for the consultation, want 1", n)
		}
		if n := doc.Find(`#consultations a.edit[href="/consultations/` + medical.String() + `/edit"]`).Length(); n != 0 {
			t.Error("agenda offers the case manager the edit form of a medical consultation")
		}
		resp, doc := b.get(t, cm, "/consultations/"+plain.String()+"/edit")
		if v, _ := doc.Find(`#edit-consultation input[name="held_by"]`).Attr("value"); resp.StatusCode != http.StatusOK || v != "Dr. Bos" {
			t.Fatalf("edit form: status %d, held_by %q", resp.StatusCode, v)
		}
		ardExpect(t, b.testBundle, map[string]int{"audit case.updated consultation": 1, "changes consultations update": 1}, func() {
			wantRedirect(t, b.post(t, cm, "/consultations/"+plain.String(), form), agenda)
		})
		if got, want := stored(plain), "Mw. Jansen/Afspraken over opbouw gemaakt/false/2026-11-03 14:15"; got != want {
			t.Errorf("stored %q, want %q", got, want)
		}
		// The company doctor edits the medical one and keeps it medical.
		medicalForm := url.Values{"held_at": {"2026-11-02T09:00"}, "held_by": {"Dr. Bos"}, "outcome": {"Nieuwe diagnose"}, "medical": {"1"}}
		wantRedirect(t, b.post(t, doctor, "/consultations/"+medical.String(), medicalForm), agenda)
		if got, want := stored(medical), "Dr. Bos/Nieuwe diagnose/true/2026-11-02 09:00"; got != want {
			t.Errorf("stored %q, want %q", got, want)
		}
	})

	t.Run("Refused", func(t *testing.T) {
		before := []string{stored(plain), stored(medical), stored(foreign)}
		ardExpect(t, b.testBundle, map[string]int{}, func() {
			for _, c := range []struct {
				name   string
				client *http.Client
				id     uuid.UUID
				want   int
			}{
				{"MedicalWithoutMedicalView", cm, medical, http.StatusForbidden},
				{"NotVisible", hr, foreign, http.StatusNotFound},
				{"Unknown", cm, uuid.Must(uuid.NewV7()), http.StatusNotFound},
			} {
				if resp, _ := b.get(t, c.client, "/consultations/"+c.id.String()+"/edit"); resp.StatusCode != c.want {
					t.Errorf("%s: GET edit = %d, want %d", c.name, resp.StatusCode, c.want)
				}
				if resp := b.post(t, c.client, "/consultations/"+c.id.String(), form); resp.StatusCode != c.want {
					t.Errorf("%s: POST = %d, want %d", c.name, resp.StatusCode, c.want)
				}
			}
			b.inTenant(t, func(tx pgx.Tx) error {
				_, err := tx.Exec(ctx, "UPDATE roles SET rights = array_remove(rights, 'documents.upload') WHERE name = 'HR-medewerker'")
				return err
			})
			if resp := b.post(t, hr, "/consultations/"+plain.String(), form); resp.StatusCode != http.StatusForbidden {
				t.Errorf("without the right to add case data: POST = %d, want 403", resp.StatusCode)
			}
			for _, c := range []struct {
				name, field, key string
				form             url.Values
			}{
				{"Future", "held_at", "consultation.error.future", url.Values{"held_at": {"2099-01-01T10:00"}, "held_by": {"X"}}},
				{"NoTime", "held_at", "consultation.error.held_at", url.Values{"held_by": {"X"}}},
				{"Nobody", "held_by", "error.required", url.Values{"held_at": {"2026-11-03T10:00"}}},
			} {
				resp, doc := b.ardPost(t, cm, "/consultations/"+plain.String(), c.form)
				wantFieldError(t, resp, doc, c.field, c.key)
				if !strings.Contains(doc.Find("#edit-consultation").Text(), nl(c.key)) {
					t.Errorf("%s: the form does not say %q", c.name, nl(c.key))
				}
			}
		})
		if after := []string{stored(plain), stored(medical), stored(foreign)}; strings.Join(after, "|") != strings.Join(before, "|") {
			t.Errorf("refused edits changed consultations: %v → %v", before, after)
		}
	})
}
