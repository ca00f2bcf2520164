package server_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/org"
)

// TestCountsFollowTheAccessRule: every employee count on the start page and the employer pages
// equals the number of employees the list behind it shows the same user, for every demo user: a count never
// reveals an employee outside his access (hr@'s blacklisted one, the departments the manager
// is not linked to).
func TestCountsFollowTheAccessRule(t *testing.T) {
	t.Parallel()
	b := setup(t, 60)
	loadExamples(t, b)
	ctx := context.Background()
	for _, email := range []string{adminEmail, "casemanager@demo.dossierkast.nl", "bedrijfsarts@demo.dossierkast.nl",
		"hr@demo.dossierkast.nl", "leidinggevende@demo.dossierkast.nl"} {
		t.Run(strings.Split(email, "@")[0], func(t *testing.T) {
			t.Parallel()
			u := demoUser(t, b, email)
			listTotal := func(f org.EmployeeFilter) int {
				t.Helper()
				var n int
				b.inTenant(t, func(tx pgx.Tx) (err error) {
					_, f.Viewer, err = org.LoadPrincipal(ctx, tx, b.tenant, u.ID)
					if err != nil {
						return err
					}
					f.Limit = 1
					_, n, err = org.FindEmployees(ctx, tx, f)
					return err
				})
				return n
			}
			c := b.login(t, email)
			_, home := b.get(t, c, "/")
			if tile := home.Find(`ul.tiles a[href="/employees"] strong`); tile.Length() == 1 {
				if got, want := number(t, tile.Text()), listTotal(org.EmployeeFilter{}); got != want {
					t.Errorf("the start page counts %d employees, the list shows %d", got, want)
				}
			}
			resp, doc := b.get(t, c, "/employers")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET /employers = %d", resp.StatusCode)
			}
			checked := 0
			doc.Find("tbody tr").Each(func(_ int, row *goquery.Selection) {
				href, _ := row.Find(`a[href^="/employers/"]`).Attr("href")
				id := uuid.MustParse(strings.TrimPrefix(href, "/employers/"))
				if got, want := number(t, row.Find("td.num").Text()), listTotal(org.EmployeeFilter{EmployerID: &id}); got != want {
					t.Errorf("/employers: employer %s counts %d employees, his list shows %d", id, got, want)
				}
				resp, page := b.get(t, c, href)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("GET %s = %d", href, resp.StatusCode)
				}
				total := page.Find("dl dt").FilterFunction(func(_ int, dt *goquery.Selection) bool {
					return dt.Text() == nl("employer.employees")
				}).Next()
				if got, want := number(t, total.Text()), listTotal(org.EmployeeFilter{EmployerID: &id}); got != want {
					t.Errorf("%s counts %d employees, his list shows %d", href, got, want)
				}
				page.Find("tbody tr").Each(func(_ int, row *goquery.Selection) {
					dept, ok := row.Find(`a[href^="/employees?department="]`).Attr("href")
					if !ok {
						return
					}
					d := uuid.MustParse(strings.TrimPrefix(dept, "/employees?department="))
					if got, want := number(t, row.Find("td.num").Text()), listTotal(org.EmployeeFilter{DepartmentID: &d}); got != want {
						t.Errorf("%s: department %s counts %d employees, its list shows %d", href, d, got, want)
					}
					checked++
				})
			})
			if checked == 0 {
				t.Errorf("no department count was checked for %s", email)
			}
		})
	}
}

// number reads a count as the pages write it (1.028).
func number(t *testing.T, text string) int {
	t.Helper()
	n, err := strconv.Atoi(strings.ReplaceAll(strings.TrimSpace(text), ".", ""))
	if err != nil {
		t.Fatalf("count %q: %v", text, err)
	}
	return n
}
