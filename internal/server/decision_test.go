package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"
)

func TestDecisionCreateEditList(t *testing.T) {
	t.Parallel()
	b := setup(t, 10)
	cm := b.login(t, casemanager)
	e := employeesOf(t, b, uuid.Nil)[0]
	base := "/employees/" + e.ID.String() + "/decisions"

	ardExpect(t, b, map[string]int{"audit case.created decision": 1, "changes decisions insert": 1}, func() {
		wantRedirect(t, b.post(t, cm, base, url.Values{"kind": {"ZW"}, "decision_date": {"2027-03-01"}, "outcome": {"Ziektewetuitkering toegekend"}, "issuer": {""}}), base)
	})
	ardExpect(t, b, map[string]int{"audit case.created decision": 1, "changes decisions insert": 1}, func() {
		wantRedirect(t, b.post(t, cm, base, url.Values{"kind": {"WIA"}, "decision_date": {"2029-01-15"}, "outcome": {"Minder dan 35% arbeidsongeschikt"}, "issuer": {"UWV"}}), base)
	})
	resp, doc := b.get(t, cm, base)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("list: status %d", resp.StatusCode)
	}
	var rows []string
	for i := range doc.Find("#decisions tbody tr").Nodes {
		s := doc.Find("#decisions tbody tr").Eq(i)
		rows = append(rows, strings.TrimSpace(s.Find(".date").Text())+" "+s.Find(".kind").Text()+" "+s.Find(".issuer").Text())
	}
	if strings.Join(rows, "|") != "15-1-2029 WIA-beoordeling UWV|1-3-2027 Ziektewet (ZW) UWV" {
		t.Errorf("rows = %q", rows)
	}
	id := ardScalar[uuid.UUID](t, b, "SELECT id FROM decisions WHERE kind = 'ZW'")
	resp, doc = b.get(t, cm, base+"/"+id.String()+"/edit")
	if v, _ := doc.Find("input[name=decision_date]").Attr("value"); resp.StatusCode != http.StatusOK || v != "2027-03-01" {
		t.Fatalf("edit page: status %d, date %q", resp.StatusCode, v)
	}
	ardExpect(t, b, map[string]int{"audit case.updated decision": 1, "changes decisions update": 1}, func() {
		wantRedirect(t, b.post(t, cm, base+"/"+id.String(), url.Values{"kind": {"ZW"}, "decision_date": {"2027-03-02"},
			"outcome": {"Toegekend met terugwerkende kracht"}, "issuer": {"UWV"}}), base)
	})
	if got := ardScalar[string](t, b, "SELECT decision_date::text || ' ' || outcome FROM decisions WHERE id = $1", id); got != "2027-03-02 Toegekend met terugwerkende kracht" {
		t.Errorf("after edit: %q", got)
	}
	t.Run("Invalid", func(t *testing.T) {
		ardExpect(t, b, map[string]int{}, func() {
			resp, doc := b.ardPost(t, cm, base, url.Values{"kind": {"AOW"}, "decision_date": {"2027-03-01"}})
			wantFieldError(t, resp, doc, "kind", "error.choose")
			resp, doc = b.ardPost(t, cm, base+"/"+id.String(), url.Values{"kind": {"ZW"}, "decision_date": {"31-2-2027"}})
			wantFieldError(t, resp, doc, "decision_date", "error.date")
		})
		if n := ardScalar[int](t, b, "SELECT count(*) FROM decisions"); n != 2 {
			t.Errorf("decisions = %d, want 2", n)
		}
	})
}
