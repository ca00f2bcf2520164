package server_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/i18n"
)

// ctrPost submits a form like testBundle.post and also returns the page it answered with.
func (b *testBundle) ctrPost(t *testing.T, c *http.Client, path string, form url.Values) (*http.Response, *goquery.Document) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.srv.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	doc, err := goquery.NewDocumentFromReader(io.LimitReader(resp.Body, 10<<20))
	if err != nil {
		t.Fatal(err)
	}
	return resp, doc
}

// ctrCounts is how many case.* audit events a subject type has and how many changes rows an
// entity (table) has.
type ctrCounts struct{ Events, Changes int }

func (b *testBundle) ctrCount(t *testing.T, subject, table string) ctrCounts {
	t.Helper()
	var n ctrCounts
	b.inTenant(t, func(tx pgx.Tx) error {
		ctx := context.Background()
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM audit_events WHERE action LIKE 'case.%' AND subject_type = $1",
			subject).Scan(&n.Events); err != nil {
			return err
		}
		if table == "" {
			return nil
		}
		return tx.QueryRow(ctx, "SELECT count(*) FROM changes WHERE entity = $1", table).Scan(&n.Changes)
	})
	return n
}

// ctrExpect checks that one request changed the counts by want.
func ctrExpect(t *testing.T, what string, before, after ctrCounts, want ctrCounts) {
	t.Helper()
	if got := (ctrCounts{after.Events - before.Events, after.Changes - before.Changes}); got != want {
		t.Errorf("%s: %d case events and %d changes rows written, want %d and %d", what, got.Events, got.Changes, want.Events, want.Changes)
	}
}

func ctrStatus(t *testing.T, what string, resp *http.Response, want int) {
	t.Helper()
	if resp.StatusCode != want {
		t.Fatalf("%s: status %d, want %d", what, resp.StatusCode, want)
	}
}

// ctrHasMessage checks that the page shows the Dutch text of a message key.
func ctrHasMessage(t *testing.T, what string, doc *goquery.Document, key string) {
	t.Helper()
	msg := i18n.Translate("nl", key)
	if msg == key {
		t.Fatalf("%s: no Dutch text for %s", what, key)
	}
	if !strings.Contains(doc.Find("p.error").Text(), msg) {
		t.Errorf("%s: field errors %q do not say %q", what, doc.Find("p.error").Text(), msg)
	}
}

// ctrEmployers returns hr@'s employer (Hoogendijk Bouw), another employer, and an employee of each.
func ctrEmployers(t *testing.T, b *testBundle) (own, other, ownEmployee, otherEmployee uuid.UUID) {
	t.Helper()
	b.inTenant(t, func(tx pgx.Tx) error {
		ctx := context.Background()
		if err := tx.QueryRow(ctx, `SELECT e.id FROM employers e JOIN user_employers ue ON ue.employer_id = e.id
			JOIN users u ON u.id = ue.user_id WHERE u.email = 'hr@demo.dossierkast.nl'`).Scan(&own); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT e.id FROM employers e WHERE e.id <> $1
			AND EXISTS (SELECT 1 FROM employees x WHERE x.employer_id = e.id) ORDER BY e.employer_number LIMIT 1`, own).Scan(&other); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, "SELECT id FROM employees WHERE employer_id = $1 ORDER BY personnel_number LIMIT 1", own).Scan(&ownEmployee); err != nil {
			return err
		}
		return tx.QueryRow(ctx, "SELECT id FROM employees WHERE employer_id = $1 ORDER BY personnel_number LIMIT 1", other).Scan(&otherEmployee)
	})
	return own, other, ownEmployee, otherEmployee
}

// ctrID reads the id of the only row of a table on a page whose cell sel holds text.
func ctrID(t *testing.T, doc *goquery.Document, table, sel, text string) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	doc.Find(table + " tbody tr").Each(func(_ int, row *goquery.Selection) {
		if strings.TrimSpace(row.Find(sel).Text()) == text {
			id = uuid.MustParse(row.AttrOr("data-id", ""))
		}
	})
	if id == uuid.Nil {
		t.Fatalf("no row with %q in %s", text, table)
	}
	return id
}

func TestEmployerContracts(t *testing.T) {
	t.Parallel()
	b := setup(t, 30)
	own, other, _, _ := ctrEmployers(t, b)
	admin := b.login(t, "beheerder@demo.dossierkast.nl")
	ownPath, otherPath := "/employers/"+own.String(), "/employers/"+other.String()

	// The employer page links both parts.
	_, doc := b.get(t, admin, ownPath)
	for _, part := range []string{"/agreements", "/policies"} {
		if doc.Find(`nav.tabs a[href="`+ownPath+part+`"]`).Length() != 1 {
			t.Errorf("employer page does not link %s", part)
		}
	}

	var policyID, otherPolicyID uuid.UUID
	t.Run("Policies", func(t *testing.T) {
		before := b.ctrCount(t, "insurance_policy", "insurance_policies")
		resp, _ := b.ctrPost(t, admin, ownPath+"/policies", url.Values{"insurer": {"Achmea"}, "policy_number": {"VZ-100"},
			"starts_on": {"2026-01-01"}, "ends_on": {""}})
		ctrStatus(t, "create policy", resp, http.StatusSeeOther)
		if loc := resp.Header.Get("Location"); loc != ownPath+"/policies" {
			t.Errorf("create policy redirects to %q", loc)
		}
		ctrExpect(t, "create policy", before, b.ctrCount(t, "insurance_policy", "insurance_policies"), ctrCounts{1, 1})

		resp, doc := b.get(t, admin, ownPath+"/policies")
		ctrStatus(t, "list policies", resp, http.StatusOK)
		policyID = ctrID(t, doc, "#policies", ".policy-number", "VZ-100")

		resp, doc = b.get(t, admin, ownPath+"/policies/"+policyID.String()+"/edit")
		ctrStatus(t, "edit policy", resp, http.StatusOK)
		if v := doc.Find(`#f-policy_number`).AttrOr("value", ""); v != "VZ-100" {
			t.Errorf("edit form shows policy number %q", v)
		}
		before = b.ctrCount(t, "insurance_policy", "insurance_policies")
		resp, _ = b.ctrPost(t, admin, ownPath+"/policies/"+policyID.String(), url.Values{"insurer": {"Achmea"},
			"policy_number": {"VZ-101"}, "starts_on": {"1-1-2026"}, "ends_on": {"31-12-2026"}})
		ctrStatus(t, "update policy", resp, http.StatusSeeOther)
		ctrExpect(t, "update policy", before, b.ctrCount(t, "insurance_policy", "insurance_policies"), ctrCounts{1, 1})
		_, doc = b.get(t, admin, ownPath+"/policies")
		if got := ctrID(t, doc, "#policies", ".policy-number", "VZ-101"); got != policyID {
			t.Errorf("updated policy has id %s, want %s", got, policyID)
		}

		// Invalid input: nothing stored, the form again with a Dutch message.
		before = b.ctrCount(t, "insurance_policy", "insurance_policies")
		resp, doc = b.ctrPost(t, admin, ownPath+"/policies", url.Values{"insurer": {"Achmea"}, "policy_number": {"VZ-200"},
			"starts_on": {"2026-02-01"}, "ends_on": {"2026-01-01"}})
		ctrStatus(t, "policy ending before it starts", resp, http.StatusUnprocessableEntity)
		ctrHasMessage(t, "policy ending before it starts", doc, "casefile.error.end_before_start")
		if v := doc.Find(`#f-policy_number`).AttrOr("value", ""); v != "VZ-200" {
			t.Errorf("refused form lost its input: %q", v)
		}
		resp, _ = b.ctrPost(t, admin, otherPath+"/policies", url.Values{"insurer": {"Achmea"}, "policy_number": {"VZ-101"},
			"starts_on": {"2026-01-01"}})
		ctrStatus(t, "duplicate policy", resp, http.StatusConflict)
		ctrExpect(t, "refused policies", before, b.ctrCount(t, "insurance_policy", "insurance_policies"), ctrCounts{0, 0})

		// The other employer's policy, for the agreement test.
		resp, _ = b.ctrPost(t, admin, otherPath+"/policies", url.Values{"insurer": {"ASR"}, "policy_number": {"VZ-900"},
			"starts_on": {"2026-01-01"}})
		ctrStatus(t, "other employer's policy", resp, http.StatusSeeOther)
		_, doc = b.get(t, admin, otherPath+"/policies")
		otherPolicyID = ctrID(t, doc, "#policies", ".policy-number", "VZ-900")

		// A policy edited through another employer's address does not exist there.
		resp, _ = b.get(t, admin, otherPath+"/policies/"+policyID.String()+"/edit")
		ctrStatus(t, "policy under another employer", resp, http.StatusNotFound)
		before = b.ctrCount(t, "insurance_policy", "insurance_policies")
		resp, _ = b.ctrPost(t, admin, otherPath+"/policies/"+policyID.String(), url.Values{"insurer": {"Achmea"},
			"policy_number": {"VZ-102"}, "starts_on": {"2026-01-01"}})
		ctrStatus(t, "policy saved under another employer", resp, http.StatusNotFound)
		ctrExpect(t, "policy saved under another employer", before, b.ctrCount(t, "insurance_policy", "insurance_policies"), ctrCounts{0, 0})
	})

	t.Run("Agreements", func(t *testing.T) {
		if policyID == uuid.Nil {
			t.Skip("no policy")
		}
		before := b.ctrCount(t, "service_agreement", "service_agreements")
		resp, _ := b.ctrPost(t, admin, ownPath+"/agreements", url.Values{"contract_number": {"DVO-1"},
			"starts_on": {"2026-01-01"}, "policy_id": {policyID.String()}, "group_id": {""}})
		ctrStatus(t, "create agreement", resp, http.StatusSeeOther)
		ctrExpect(t, "create agreement", before, b.ctrCount(t, "service_agreement", "service_agreements"), ctrCounts{1, 1})

		resp, doc := b.get(t, admin, ownPath+"/agreements")
		ctrStatus(t, "list agreements", resp, http.StatusOK)
		id := ctrID(t, doc, "#agreements", ".contract-number", "DVO-1")
		if !strings.Contains(doc.Find("#agreements").Text(), "Achmea VZ-101") {
			t.Errorf("agreement does not show its policy: %q", doc.Find("#agreements").Text())
		}

		resp, _ = b.get(t, admin, ownPath+"/agreements/"+id.String()+"/edit")
		ctrStatus(t, "edit agreement", resp, http.StatusOK)
		before = b.ctrCount(t, "service_agreement", "service_agreements")
		resp, _ = b.ctrPost(t, admin, ownPath+"/agreements/"+id.String(), url.Values{"contract_number": {"DVO-1a"},
			"starts_on": {"2026-01-01"}, "ends_on": {"2027-12-31"}})
		ctrStatus(t, "update agreement", resp, http.StatusSeeOther)
		ctrExpect(t, "update agreement", before, b.ctrCount(t, "service_agreement", "service_agreements"), ctrCounts{1, 1})
		_, doc = b.get(t, admin, ownPath+"/agreements")
		if got := ctrID(t, doc, "#agreements", ".contract-number", "DVO-1a"); got != id {
			t.Errorf("updated agreement has id %s, want %s", got, id)
		}
		// Through another employer's address the agreement does not exist.
		resp, _ = b.get(t, admin, otherPath+"/agreements/"+id.String()+"/edit")
		ctrStatus(t, "agreement under another employer", resp, http.StatusNotFound)
		before = b.ctrCount(t, "service_agreement", "service_agreements")
		resp, _ = b.ctrPost(t, admin, otherPath+"/agreements/"+id.String(), url.Values{"contract_number": {"DVO-1b"},
			"starts_on": {"2026-01-01"}})
		ctrStatus(t, "agreement saved under another employer", resp, http.StatusNotFound)
		ctrExpect(t, "agreement saved under another employer", before, b.ctrCount(t, "service_agreement", "service_agreements"), ctrCounts{0, 0})

		before = b.ctrCount(t, "service_agreement", "service_agreements")
		resp, doc = b.ctrPost(t, admin, ownPath+"/agreements", url.Values{"contract_number": {"DVO-2"},
			"starts_on": {"2026-01-01"}, "policy_id": {otherPolicyID.String()}})
		ctrStatus(t, "agreement with another employer's policy", resp, http.StatusUnprocessableEntity)
		ctrHasMessage(t, "agreement with another employer's policy", doc, "casefile.error.policy_other_employer")
		resp, doc = b.ctrPost(t, admin, ownPath+"/agreements", url.Values{"contract_number": {"DVO-2"},
			"starts_on": {"2026-03-01"}, "ends_on": {"2026-02-28"}})
		ctrStatus(t, "agreement ending before it starts", resp, http.StatusUnprocessableEntity)
		ctrHasMessage(t, "agreement ending before it starts", doc, "casefile.error.end_before_start")
		resp, doc = b.ctrPost(t, admin, ownPath+"/agreements", url.Values{"contract_number": {"DVO-2"}, "starts_on": {"morgen"}})
		ctrStatus(t, "agreement with a malformed date", resp, http.StatusUnprocessableEntity)
		ctrHasMessage(t, "agreement with a malformed date", doc, "error.date")
		resp, doc = b.ctrPost(t, admin, otherPath+"/agreements", url.Values{"contract_number": {"DVO-1a"}, "starts_on": {"2026-01-01"}})
		ctrStatus(t, "duplicate contract number", resp, http.StatusConflict)
		ctrHasMessage(t, "duplicate contract number", doc, "casefile.error.agreement_duplicate")
		ctrExpect(t, "refused agreements", before, b.ctrCount(t, "service_agreement", "service_agreements"), ctrCounts{0, 0})
	})

	t.Run("Refusals", func(t *testing.T) {
		before := b.ctrCount(t, "service_agreement", "service_agreements")
		hr := b.login(t, "hr@demo.dossierkast.nl")
		// hr@ reads his own employer's parts, without forms, and may not change them.
		resp, doc := b.get(t, hr, ownPath+"/agreements")
		ctrStatus(t, "hr@ reads agreements", resp, http.StatusOK)
		if doc.Find("#agreements tbody tr").Length() != 1 || doc.Find("#contract-form").Length() != 0 {
			t.Errorf("hr@ sees %d agreements and %d forms, want 1 and 0", doc.Find("#agreements tbody tr").Length(), doc.Find("#contract-form").Length())
		}
		resp, _ = b.get(t, hr, ownPath+"/policies")
		ctrStatus(t, "hr@ reads policies", resp, http.StatusOK)
		for path, want := range map[string]int{
			ownPath + "/agreements":                           http.StatusForbidden,
			ownPath + "/policies":                             http.StatusForbidden,
			ownPath + "/policies/" + policyID.String():        http.StatusForbidden,
			otherPath + "/agreements":                         http.StatusNotFound,
			otherPath + "/policies":                           http.StatusNotFound,
			otherPath + "/policies/" + otherPolicyID.String(): http.StatusNotFound,
		} {
			resp, _ := b.ctrPost(t, hr, path, url.Values{"contract_number": {"X-1"}, "insurer": {"X"}, "policy_number": {"X-1"},
				"starts_on": {"2026-01-01"}})
			ctrStatus(t, "hr@ POST "+path, resp, want)
		}
		for path, want := range map[string]int{
			otherPath + "/agreements":                                   http.StatusNotFound,
			otherPath + "/policies":                                     http.StatusNotFound,
			ownPath + "/policies/" + policyID.String() + "/edit":        http.StatusForbidden,
			otherPath + "/policies/" + otherPolicyID.String() + "/edit": http.StatusNotFound,
		} {
			resp, _ := b.get(t, hr, path)
			ctrStatus(t, "hr@ GET "+path, resp, want)
		}
		// Without employer_dossier.view (Leidinggevende), the parts are refused.
		manager := b.login(t, "leidinggevende@demo.dossierkast.nl")
		var managerEmployer uuid.UUID
		b.inTenant(t, func(tx pgx.Tx) error {
			return tx.QueryRow(context.Background(), `SELECT ue.employer_id FROM user_employers ue JOIN users u ON u.id = ue.user_id
				WHERE u.email = 'leidinggevende@demo.dossierkast.nl' LIMIT 1`).Scan(&managerEmployer)
		})
		resp, _ = b.get(t, manager, "/employers/"+managerEmployer.String()+"/agreements")
		ctrStatus(t, "leidinggevende reads agreements", resp, http.StatusForbidden)
		// A case manager reads but does not administer contracts.
		cm := b.login(t, "casemanager@demo.dossierkast.nl")
		resp, _ = b.get(t, cm, otherPath+"/agreements")
		ctrStatus(t, "casemanager reads agreements", resp, http.StatusOK)
		resp, _ = b.ctrPost(t, cm, otherPath+"/agreements", url.Values{"contract_number": {"X-2"}, "starts_on": {"2026-01-01"}})
		ctrStatus(t, "casemanager creates agreement", resp, http.StatusForbidden)
		ctrExpect(t, "refused requests", before, b.ctrCount(t, "service_agreement", "service_agreements"), ctrCounts{0, 0})
	})
}

func TestEmployeePolicies(t *testing.T) {
	t.Parallel()
	b := setup(t, 30)
	own, other, employee, otherEmployee := ctrEmployers(t, b)
	admin := b.login(t, "beheerder@demo.dossierkast.nl")
	for path, form := range map[string]url.Values{
		"/employers/" + own.String() + "/policies":   {"insurer": {"Achmea"}, "policy_number": {"P-OWN"}, "starts_on": {"2025-01-01"}},
		"/employers/" + other.String() + "/policies": {"insurer": {"Achmea"}, "policy_number": {"P-OTHER"}, "starts_on": {"2025-01-01"}},
	} {
		resp, _ := b.ctrPost(t, admin, path, form)
		ctrStatus(t, "create policy", resp, http.StatusSeeOther)
	}
	_, doc := b.get(t, admin, "/employers/"+own.String()+"/policies")
	policyID := ctrID(t, doc, "#policies", ".policy-number", "P-OWN")
	_, doc = b.get(t, admin, "/employers/"+other.String()+"/policies")
	otherPolicyID := ctrID(t, doc, "#policies", ".policy-number", "P-OTHER")
	tab := "/employees/" + employee.String() + "/policies"

	resp, doc := b.get(t, admin, tab)
	ctrStatus(t, "policies tab", resp, http.StatusOK)
	if doc.Find(`nav.tabs a[href="`+tab+`"][aria-current="page"]`).Length() != 1 {
		t.Error("the dossier's tab bar does not mark the policies tab")
	}
	if doc.Find(`#f-policy_id option[value="`+otherPolicyID.String()+`"]`).Length() != 0 {
		t.Error("the form offers another employer's policy")
	}

	before := b.ctrCount(t, "policy_participant", "policy_participants")
	resp, _ = b.ctrPost(t, admin, tab, url.Values{"policy_id": {policyID.String()}, "participating": {"1"},
		"reason": {"Valt onder de cao"}, "starts_on": {"2025-02-01"}})
	ctrStatus(t, "create participation", resp, http.StatusSeeOther)
	ctrExpect(t, "create participation", before, b.ctrCount(t, "policy_participant", "policy_participants"), ctrCounts{1, 1})
	var withEmployee int
	b.inTenant(t, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT count(*) FROM audit_events WHERE action = 'case.created'
			AND subject_type = 'policy_participant' AND employee_id = $1 AND employer_id = $2`, employee, own).Scan(&withEmployee)
	})
	if withEmployee != 1 {
		t.Errorf("case.created events with the employee and employer = %d, want 1", withEmployee)
	}

	_, doc = b.get(t, admin, tab)
	id := ctrID(t, doc, "#participations", ".policy", "Achmea P-OWN")
	if got := strings.TrimSpace(doc.Find("#participations .participating").Text()); got != i18n.Translate("nl", "participation.yes") {
		t.Errorf("participating shows %q", got)
	}
	resp, doc = b.get(t, admin, tab+"/"+id.String()+"/edit")
	ctrStatus(t, "edit participation", resp, http.StatusOK)
	if v := doc.Find("#f-reason").AttrOr("value", ""); v != "Valt onder de cao" {
		t.Errorf("edit form shows reason %q", v)
	}
	before = b.ctrCount(t, "policy_participant", "policy_participants")
	resp, _ = b.ctrPost(t, admin, tab+"/"+id.String(), url.Values{"policy_id": {policyID.String()}, "participating": {"0"},
		"reason": {"Eigen verzekering elders"}, "starts_on": {"2025-02-01"}, "ends_on": {"2025-12-31"}})
	ctrStatus(t, "update participation", resp, http.StatusSeeOther)
	ctrExpect(t, "update participation", before, b.ctrCount(t, "policy_participant", "policy_participants"), ctrCounts{1, 1})
	_, doc = b.get(t, admin, tab)
	if got := strings.TrimSpace(doc.Find("#participations .participating").Text()); got != i18n.Translate("nl", "participation.no") {
		t.Errorf("participating after update shows %q", got)
	}

	before = b.ctrCount(t, "policy_participant", "policy_participants")
	for _, c := range []struct {
		name   string
		form   url.Values
		status int
		msg    string
	}{
		{"EndBeforeStart", url.Values{"policy_id": {policyID.String()}, "participating": {"1"}, "starts_on": {"2025-06-01"},
			"ends_on": {"2025-05-01"}}, http.StatusUnprocessableEntity, "casefile.error.end_before_start"},
		{"OtherEmployersPolicy", url.Values{"policy_id": {otherPolicyID.String()}, "participating": {"1"}, "starts_on": {"2025-06-01"}},
			http.StatusUnprocessableEntity, "casefile.error.policy_other_employer"},
		{"NoAnswer", url.Values{"policy_id": {policyID.String()}, "starts_on": {"2025-06-01"}},
			http.StatusUnprocessableEntity, "error.choose"},
		{"Duplicate", url.Values{"policy_id": {policyID.String()}, "participating": {"1"}, "starts_on": {"2025-02-01"}},
			http.StatusConflict, "casefile.error.participant_duplicate"},
	} {
		resp, doc := b.ctrPost(t, admin, tab, c.form)
		ctrStatus(t, c.name, resp, c.status)
		ctrHasMessage(t, c.name, doc, c.msg)
	}
	ctrExpect(t, "refused participations", before, b.ctrCount(t, "policy_participant", "policy_participants"), ctrCounts{0, 0})

	// hr@ sees his employer's employee's tab without the form, may not change it, and does not
	// see another employer's employee at all.
	hr := b.login(t, "hr@demo.dossierkast.nl")
	resp, doc = b.get(t, hr, tab)
	ctrStatus(t, "hr@ reads the tab", resp, http.StatusOK)
	if doc.Find("#participations tbody tr").Length() != 1 || doc.Find("#participation-form").Length() != 0 {
		t.Error("hr@ should see one participation and no form")
	}
	form := url.Values{"policy_id": {policyID.String()}, "participating": {"1"}, "starts_on": {"2025-09-01"}}
	resp, _ = b.ctrPost(t, hr, tab, form)
	ctrStatus(t, "hr@ creates", resp, http.StatusForbidden)
	resp, _ = b.get(t, hr, tab+"/"+id.String()+"/edit")
	ctrStatus(t, "hr@ edits", resp, http.StatusForbidden)
	otherTab := "/employees/" + otherEmployee.String() + "/policies"
	resp, _ = b.get(t, hr, otherTab)
	ctrStatus(t, "hr@ reads another employer's employee", resp, http.StatusNotFound)
	resp, _ = b.get(t, hr, otherTab+"/"+id.String()+"/edit")
	ctrStatus(t, "hr@ edits under another employer's employee", resp, http.StatusNotFound)
	refusedBefore := b.auditCount(t, "employee.refused")
	resp, _ = b.ctrPost(t, hr, otherTab, form)
	ctrStatus(t, "hr@ writes another employer's employee", resp, http.StatusNotFound)
	if n := b.auditCount(t, "employee.refused") - refusedBefore; n != 1 {
		t.Errorf("refused write audited %d times, want 1", n)
	}
	// A participation addressed through another employee does not exist there.
	resp, _ = b.get(t, admin, otherTab+"/"+id.String()+"/edit")
	ctrStatus(t, "participation under another employee", resp, http.StatusNotFound)
	resp, _ = b.ctrPost(t, admin, otherTab+"/"+id.String(), form)
	ctrStatus(t, "participation saved under another employee", resp, http.StatusNotFound)
	ctrExpect(t, "refused requests", before, b.ctrCount(t, "policy_participant", "policy_participants"), ctrCounts{0, 0})

	// Every view of the tab is audited as a dossier view.
	var views int
	b.inTenant(t, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT count(*) FROM audit_events WHERE action = 'employee.viewed'
			AND employee_id = $1 AND details->>'tab' = 'policies'`, employee).Scan(&views)
	})
	if views < 4 {
		t.Errorf("policies tab views audited = %d, want at least 4", views)
	}
}

func TestProgrammesAdmin(t *testing.T) {
	t.Parallel()
	b := setup(t, 10)
	admin := b.login(t, "beheerder@demo.dossierkast.nl")
	resp, _ := b.get(t, admin, "/admin/interventions")
	ctrStatus(t, "intervention administration", resp, http.StatusOK)
	// The old programmes screen has moved to the intervention administration.
	resp, _ = b.get(t, admin, "/admin/programmes")
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/admin/interventions#programmes" {
		t.Errorf("GET /admin/programmes = %d to %q, want 301 to /admin/interventions#programmes", resp.StatusCode, resp.Header.Get("Location"))
	}

	before := b.ctrCount(t, "intervention_provider", "")
	resp, _ = b.ctrPost(t, admin, "/admin/providers", url.Values{"name": {"Werkfit Noord"}})
	ctrStatus(t, "create provider", resp, http.StatusSeeOther)
	ctrExpect(t, "create provider", before, b.ctrCount(t, "intervention_provider", ""), ctrCounts{1, 0})
	resp, doc := b.ctrPost(t, admin, "/admin/providers", url.Values{"name": {"Werkfit Noord"}})
	ctrStatus(t, "duplicate provider", resp, http.StatusConflict)
	ctrHasMessage(t, "duplicate provider", doc, "programme.error.provider_duplicate")

	_, doc = b.get(t, admin, "/admin/interventions")
	var providerID string
	doc.Find("#providers tr[data-id]").Each(func(_ int, s *goquery.Selection) {
		if strings.TrimSpace(s.Find(".name").Text()) == "Werkfit Noord" {
			providerID = s.AttrOr("data-id", "")
		}
	})
	if providerID == "" {
		t.Fatal("new provider not listed")
	}

	before = b.ctrCount(t, "programme", "")
	resp, _ = b.ctrPost(t, admin, "/admin/interventions/programmes", url.Values{"provider_id": {providerID}, "name": {"Re-integratie tweede spoor"},
		"price": {"1.250,00"}, "executor_mode": {"provider"}})
	ctrStatus(t, "create programme", resp, http.StatusSeeOther)
	ctrExpect(t, "create programme", before, b.ctrCount(t, "programme", ""), ctrCounts{1, 0})
	_, doc = b.get(t, admin, "/admin/interventions")
	id := ctrID(t, doc, "#programme-overview", ".name", "Re-integratie tweede spoor")
	if got := strings.TrimSpace(doc.Find(`#programme-overview tr[data-id="` + id.String() + `"] .price`).Text()); got != "€ 1.250,00" {
		t.Errorf("price shows %q", got)
	}

	resp, doc = b.get(t, admin, "/admin/interventions/programmes/"+id.String()+"/edit")
	ctrStatus(t, "edit programme", resp, http.StatusOK)
	if v := doc.Find("#f-price").AttrOr("value", ""); v != "1.250,00" {
		t.Errorf("edit form shows price %q", v)
	}
	before = b.ctrCount(t, "programme", "")
	resp, _ = b.ctrPost(t, admin, "/admin/interventions/programmes/"+id.String(), url.Values{"provider_id": {providerID},
		"name": {"Re-integratie tweede spoor"}, "price": {"1400"}, "executor_mode": {"own"}})
	ctrStatus(t, "update programme", resp, http.StatusSeeOther)
	ctrExpect(t, "update programme", before, b.ctrCount(t, "programme", ""), ctrCounts{1, 0})
	_, doc = b.get(t, admin, "/admin/interventions")
	row := doc.Find(`#programme-overview tr[data-id="` + id.String() + `"]`)
	if got := strings.TrimSpace(row.Find(".price").Text()); got != "€ 1.400,00" {
		t.Errorf("price after update shows %q", got)
	}
	if !strings.Contains(row.Text(), i18n.Translate("nl", "programme.mode.own")) {
		t.Errorf("executor setting not shown: %q", row.Text())
	}

	before = b.ctrCount(t, "programme", "")
	resp, doc = b.ctrPost(t, admin, "/admin/interventions/programmes", url.Values{"provider_id": {providerID}, "name": {"Duur"},
		"price": {"veel"}, "executor_mode": {"provider"}})
	ctrStatus(t, "bad price", resp, http.StatusUnprocessableEntity)
	ctrHasMessage(t, "bad price", doc, "programme.error.price")
	resp, doc = b.ctrPost(t, admin, "/admin/interventions/programmes", url.Values{"provider_id": {providerID}, "name": {"Re-integratie tweede spoor"},
		"executor_mode": {"provider"}})
	ctrStatus(t, "duplicate programme", resp, http.StatusConflict)
	ctrHasMessage(t, "duplicate programme", doc, "programme.error.duplicate")
	// The demo coach belongs to the first demo provider: not an executor for this one.
	var coach string
	b.inTenant(t, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), "SELECT id::text FROM users WHERE email = 'coach@demo.dossierkast.nl'").Scan(&coach)
	})
	resp, doc = b.ctrPost(t, admin, "/admin/interventions/programmes", url.Values{"provider_id": {providerID}, "name": {"Coaching"},
		"executor_mode": {"own"}, "executor_user_id": {coach}})
	ctrStatus(t, "executor of another provider", resp, http.StatusUnprocessableEntity)
	ctrHasMessage(t, "executor of another provider", doc, "programme.error.executor")
	ctrExpect(t, "refused programmes", before, b.ctrCount(t, "programme", ""), ctrCounts{0, 0})

	cm := b.login(t, "casemanager@demo.dossierkast.nl")
	resp, _ = b.get(t, cm, "/admin/interventions")
	ctrStatus(t, "casemanager reads programmes", resp, http.StatusForbidden)
	resp, _ = b.ctrPost(t, cm, "/admin/providers", url.Values{"name": {"Nieuw"}})
	ctrStatus(t, "casemanager creates provider", resp, http.StatusForbidden)
	resp, _ = b.ctrPost(t, cm, "/admin/interventions/programmes/"+id.String(), url.Values{"name": {"X"}})
	ctrStatus(t, "casemanager edits programme", resp, http.StatusForbidden)
}
