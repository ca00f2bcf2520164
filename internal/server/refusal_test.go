package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/org"
)

// TestRefusedEmployeePageIsAudited: a refused look at a dossier is an access attempt too.
func TestRefusedEmployeePageIsAudited(t *testing.T) {
	t.Parallel()
	b := setup(t, 30)
	hr := demoUser(t, b, "hr@demo.dossierkast.nl")
	var foreign org.Employee
	b.inTenant(t, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), "SELECT id FROM employees WHERE employer_id <> ALL($1) LIMIT 1",
			hr.EmployerIDs).Scan(&foreign.ID)
	})
	c := b.login(t, "hr@demo.dossierkast.nl")
	if resp, _ := b.get(t, c, "/employees/"+foreign.ID.String()); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("status %d, want 404", resp.StatusCode)
	}
	var n int
	var reason string
	b.inTenant(t, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT count(*), min(details->>'reason') FROM audit_events
			WHERE action = $1 AND employee_id = $2 AND user_id = $3`, audit.EmployeeRefused, foreign.ID, hr.ID).Scan(&n, &reason)
	})
	if n != 1 || reason != "not_found" {
		t.Errorf("refusal events = %d (reason %q), want 1 (not_found)", n, reason)
	}
	if got := b.auditCount(t, audit.EmployeeViewed); got != 0 {
		t.Errorf("employee.viewed events = %d, want 0", got)
	}
}

// TestLanguageSwitchStaysOnSite: the return address of the language switch never leads away.
func TestLanguageSwitchStaysOnSite(t *testing.T) {
	t.Parallel()
	b := setup(t, 5)
	c := b.login(t, "beheerder@demo.dossierkast.nl")
	for name, tc := range map[string]struct{ back, want string }{
		"Local":          {"/employees?q=de+vries&offset=50", "/employees?q=de+vries&offset=50"},
		"OtherSite":      {"https://evil.example/", "/"},
		"SchemeRelative": {"//evil.example/", "/"},
		"Backslash":      {"/\\evil.example/", "/"},
		"TabTrick":       {"/\t/evil.example", "/"},
		"NewlineTrick":   {"/\n/evil.example", "/"},
		"Empty":          {"", "/"},
	} {
		t.Run(name, func(t *testing.T) {
			resp := b.post(t, c, "/language", url.Values{"language": {"nl"}, "return": {tc.back}})
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != tc.want {
				t.Errorf("status %d, location %q, want %q", resp.StatusCode, resp.Header.Get("Location"), tc.want)
			}
		})
	}
}

// TestShortSearchExplained: a search of only very short words is not run; the page says why.
func TestShortSearchExplained(t *testing.T) {
	t.Parallel()
	b := setup(t, 20)
	c := b.login(t, "beheerder@demo.dossierkast.nl")
	resp, doc := b.get(t, c, "/employees?q=de")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if got, want := doc.Find("#search-error").Text(), nl("employee.error.search_short", 3); got != want {
		t.Errorf("message %q, want %q", got, want)
	}
	if n := doc.Find("#employees tbody tr").Length(); n != 20 {
		t.Errorf("rows = %d, want the unfiltered 20", n)
	}
}

// TestSearchDropsControlCharacters: a search with a NUL or a newline in it is run and shown
// again without them, never echoed raw into the page.
func TestSearchDropsControlCharacters(t *testing.T) {
	t.Parallel()
	b := setup(t, 20)
	c := b.login(t, "beheerder@demo.dossierkast.nl")
	for _, typed := range []string{"%00", "%00%0A", "Jan%00sen%0D%0A"} {
		resp, doc := b.get(t, c, "/employees?q="+typed)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("q=%s: status %d", typed, resp.StatusCode)
		}
		value, _ := doc.Find("input#q").Attr("value")
		if strings.ContainsAny(value, "\x00\r\n") {
			t.Errorf("q=%s: the search field shows %q", typed, value)
		}
		if want := map[string]string{"%00": "", "%00%0A": "", "Jan%00sen%0D%0A": "Jansen"}[typed]; value != want {
			t.Errorf("q=%s: the search field shows %q, want %q", typed, value, want)
		}
	}
}

// TestSearchByStartOfWord: the employee list finds the employees one of whose words (first
// name, name prefix, last name, personnel number, BSN) starts with each typed word, in any
// case and however the name is joined, and not those that hold the letters inside a word.
func TestSearchByStartOfWord(t *testing.T) {
	t.Parallel()
	b := setup(t, 20)
	c := b.login(t, "beheerder@demo.dossierkast.nl")
	ctx := context.Background()
	names := []struct{ prefix, last, number string }{
		{"", "Blomberg", "B-7001"}, {"van", "Blommestein", "B-7002"}, {"", "Blom-de Vries", "B-7003"}, {"", "Ploms", "B-7004"},
	}
	byName := map[string]uuid.UUID{}
	err := database.InTenant(ctx, b.db.Pool, b.tenant, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, "SELECT id FROM employees ORDER BY id LIMIT $1", len(names))
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		if err != nil {
			return err
		}
		for i, n := range names {
			if _, err := tx.Exec(ctx, "UPDATE employees SET name_prefix = $2, last_name = $3, personnel_number = $4 WHERE id = $1",
				ids[i], n.prefix, n.last, n.number); err != nil {
				return err
			}
			byName[n.last] = ids[i]
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{"Blom", []string{"Blom-de Vries", "Blomberg", "Blommestein"}},
		{"blomm", []string{"Blommestein"}},
		{"VAN BLOM", []string{"Blommestein"}},
		{"blom-de", []string{"Blom-de Vries"}},
		{"vries blom", []string{"Blom-de Vries"}},
		{"lom", nil},
		{"b-700", []string{"Blom-de Vries", "Blomberg", "Blommestein", "Ploms"}},
		{"7004", []string{"Ploms"}},
	} {
		resp, doc := b.get(t, c, "/employees?q="+url.QueryEscape(tc.q))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("q=%s: status %d", tc.q, resp.StatusCode)
		}
		var got []string
		for _, n := range names {
			if doc.Find(fmt.Sprintf(`#employees a[href="/employees/%s"]`, byName[n.last])).Length() == 1 {
				got = append(got, n.last)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("q=%s finds %v, want %v", tc.q, got, tc.want)
		}
		if n := doc.Find("#employees tbody tr").Length(); n < len(tc.want) {
			t.Errorf("q=%s: %d rows, want at least %d", tc.q, n, len(tc.want))
		}
	}
}
