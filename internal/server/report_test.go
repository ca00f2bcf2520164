package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/uuid"
)

func TestReportCreateEditList(t *testing.T) {
	t.Parallel()
	b := setup(t, 10)
	arts, cm := b.login(t, bedrijfsarts), b.login(t, casemanager)
	e := employeesOf(t, b, uuid.Nil)[0]
	base := "/employees/" + e.ID.String() + "/reports"

	ardExpect(t, b, map[string]int{"audit case.created report": 1, "changes reports insert": 1}, func() {
		wantRedirect(t, b.post(t, cm, base, url.Values{"body": {"Eerste gesprek gevoerd."}, "expertise": {"casemanager"}}), base)
	})
	ardExpect(t, b, map[string]int{"audit case.created report": 1, "changes reports insert": 1}, func() {
		wantRedirect(t, b.post(t, arts, base, url.Values{"body": {"Spreekuur: belastbaarheid beperkt."}, "expertise": {"bedrijfsarts"},
			"hidden": {"1"}}), base)
	})
	first := ardScalar[uuid.UUID](t, b, "SELECT id FROM reports WHERE NOT hidden")
	hidden := ardScalar[uuid.UUID](t, b, "SELECT id FROM reports WHERE hidden")
	if got := ardScalar[uuid.UUID](t, b, "SELECT author_id FROM reports WHERE id = $1", first); got != demoUser(t, b, casemanager).ID {
		t.Errorf("author = %s, want the case manager", got)
	}

	// Newest first, the hidden one marked, for the company doctor.
	resp, doc := b.get(t, arts, base)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("list: status %d", resp.StatusCode)
	}
	var listed []string
	doc.Find("#reports article").Each(func(_ int, s *goquery.Selection) { listed = append(listed, s.AttrOr("data-report", "")) })
	if strings.Join(listed, ",") != hidden.String()+","+first.String() {
		t.Errorf("listed %v, want hidden then first", listed)
	}
	if got := doc.Find("[data-report='" + hidden.String() + "'] .badge").Text(); got != "Verborgen" {
		t.Errorf("hidden report badge = %q, want Verborgen", got)
	}
	if got := doc.Find("[data-report='" + first.String() + "'] .author").Text(); got != "Mark Jansen" {
		t.Errorf("author shown = %q", got)
	}

	// Edit.
	resp, doc = b.get(t, cm, base+"/"+first.String()+"/edit")
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(doc.Find("textarea[name=body]").Text()) != "Eerste gesprek gevoerd." {
		t.Fatalf("edit page: status %d, body %q", resp.StatusCode, doc.Find("textarea[name=body]").Text())
	}
	if doc.Find("input[name=hidden], input[name=medical]").Length() != 0 {
		t.Error("the case manager is offered the hidden and medical flags")
	}
	ardExpect(t, b, map[string]int{"audit case.updated report": 1, "changes reports update": 1}, func() {
		wantRedirect(t, b.post(t, cm, base+"/"+first.String(), url.Values{"body": {"Eerste gesprek gevoerd, vervolg over twee weken."},
			"expertise": {"casemanager"}}), base)
	})
	if got := ardScalar[string](t, b, "SELECT body FROM reports WHERE id = $1", first); got != "Eerste gesprek gevoerd, vervolg over twee weken." {
		t.Errorf("body after edit = %q", got)
	}

	t.Run("Invalid", func(t *testing.T) {
		ardExpect(t, b, map[string]int{}, func() {
			resp, doc := b.ardPost(t, cm, base, url.Values{"body": {"  "}, "expertise": {"casemanager"}})
			wantFieldError(t, resp, doc, "body", "error.required")
			resp, doc = b.ardPost(t, cm, base+"/"+first.String(), url.Values{"body": {"x"}, "expertise": {"tandarts"}})
			wantFieldError(t, resp, doc, "expertise", "error.choose")
			// Flags the case manager could not read back are refused.
			if resp := b.post(t, cm, base, url.Values{"body": {"x"}, "expertise": {"casemanager"}, "medical": {"1"}}); resp.StatusCode != http.StatusForbidden {
				t.Errorf("medical report by the case manager: status %d, want 403", resp.StatusCode)
			}
		})
		if n := ardScalar[int](t, b, "SELECT count(*) FROM reports"); n != 2 {
			t.Errorf("reports = %d, want 2", n)
		}
	})
}

// TestMedicalNeverShown: a user without medical.view (the provider's case manager, and an employer's
// HR user) never receives a medical report, a hidden report or the medical cause of an absence,
// on any page of this area; the company doctor does.
func TestMedicalNeverShown(t *testing.T) {
	t.Parallel()
	b := setup(t, 10)
	arts := b.login(t, bedrijfsarts)
	hr := demoUser(t, b, hrUser)
	hrEmployer := ardScalar[uuid.UUID](t, b, "SELECT employer_id FROM user_employers WHERE user_id = $1", hr.ID)
	list := employeesOf(t, b, hrEmployer)
	e := list[len(list)-1]
	base := "/employees/" + e.ID.String()

	const (
		medicalText = "GEHEIM-MEDISCH diagnose"
		hiddenText  = "GEHEIM-VERBORGEN notitie"
		plainText   = "Gewone rapportage"
	)
	wantRedirect(t, b.post(t, arts, base+"/reports", url.Values{"body": {medicalText}, "expertise": {"bedrijfsarts"}, "medical": {"1"}}), base+"/reports")
	wantRedirect(t, b.post(t, arts, base+"/reports", url.Values{"body": {hiddenText}, "expertise": {"bedrijfsarts"}, "hidden": {"1"}}), base+"/reports")
	wantRedirect(t, b.post(t, arts, base+"/reports", url.Values{"body": {plainText}, "expertise": {"werkgever"}}), base+"/reports")
	wantRedirect(t, b.post(t, arts, base+"/absences", url.Values{"first_sick_day": {"2027-01-04"}, "percentage": {"100"},
		"cause": {"psychological"}}), base+"/absences")
	medID := ardScalar[uuid.UUID](t, b, "SELECT id FROM reports WHERE medical")
	hidID := ardScalar[uuid.UUID](t, b, "SELECT id FROM reports WHERE hidden")
	absID := ardScalar[uuid.UUID](t, b, "SELECT id FROM absences WHERE employee_id = $1", e.ID)
	causeLabel := "Psychische klachten"

	pages := []string{base + "/absences", base + "/absences/" + absID.String() + "/edit", base + "/reports",
		base + "/decisions", base}
	_, doc := b.get(t, arts, base+"/reports")
	html, _ := doc.Html()
	for _, s := range []string{medicalText, hiddenText, plainText} {
		if !strings.Contains(html, s) {
			t.Errorf("company doctor does not see %q", s)
		}
	}
	if _, doc := b.get(t, arts, base+"/absences"); !strings.Contains(doc.Text(), causeLabel) {
		t.Error("company doctor does not see the cause")
	}

	for _, email := range []string{casemanager, hrUser} {
		t.Run(strings.Split(email, "@")[0], func(t *testing.T) {
			c := b.login(t, email)
			for _, p := range pages {
				resp, doc := b.get(t, c, p)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("GET %s: status %d", p, resp.StatusCode)
				}
				html, _ := doc.Html()
				for _, secret := range []string{medicalText, hiddenText, causeLabel, "psychological", medID.String(), hidID.String()} {
					if strings.Contains(html, secret) {
						t.Errorf("GET %s shows %q", p, secret)
					}
				}
			}
			_, doc := b.get(t, c, base+"/reports")
			if !strings.Contains(doc.Text(), plainText) {
				t.Error("the ordinary report is missing")
			}
			for _, id := range []uuid.UUID{medID, hidID} {
				if resp, _ := b.get(t, c, base+"/reports/"+id.String()+"/edit"); resp.StatusCode != http.StatusNotFound {
					t.Errorf("edit page of a medical or hidden report: status %d, want 404", resp.StatusCode)
				}
				if resp := b.post(t, c, base+"/reports/"+id.String(), url.Values{"body": {"overschreven"}, "expertise": {"werkgever"}}); resp.StatusCode != http.StatusNotFound {
					t.Errorf("update of a medical or hidden report: status %d, want 404", resp.StatusCode)
				}
			}
		})
	}
	if n := ardScalar[int](t, b, "SELECT count(*) FROM reports WHERE body = 'overschreven'"); n != 0 {
		t.Errorf("%d hidden or medical reports were overwritten", n)
	}
	if got := ardScalar[string](t, b, "SELECT cause FROM absences WHERE id = $1", absID); got != "psychological" {
		t.Errorf("cause = %q", got)
	}
}
