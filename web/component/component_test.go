package component

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/dossierkast/dossierkast/internal/i18n"
)

// TestPagingMore: a list that stopped counting (a search with more matches than it counts)
// says "more than" and links to the next page; one that counted all says how many and offers
// no page past the last.
func TestPagingMore(t *testing.T) {
	for _, tc := range []struct {
		pager    Pager
		position string
		next     bool
	}{
		{Pager{Path: "/employees", Offset: 0, Limit: 50, Total: 1000, More: true}, "1–50 van meer dan 1.000", true},
		{Pager{Path: "/employees", Offset: 1000, Limit: 50, Total: 1050, More: true}, "1.001–1.050 van meer dan 1.050", true},
		{Pager{Path: "/employees", Offset: 950, Limit: 50, Total: 1000}, "951–1.000 van 1.000", false},
	} {
		var buf bytes.Buffer
		if err := Paging(tc.pager).Render(i18n.WithLang(context.Background(), "nl"), &buf); err != nil {
			t.Fatal(err)
		}
		doc, err := goquery.NewDocumentFromReader(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(doc.Find("nav.pager span").Text()); got != tc.position {
			t.Errorf("%+v: position %q, want %q", tc.pager, got, tc.position)
		}
		if got := doc.Find(`a[rel="next"]`).Length() == 1; got != tc.next {
			t.Errorf("%+v: link to the next page %v, want %v", tc.pager, got, tc.next)
		}
	}
}
