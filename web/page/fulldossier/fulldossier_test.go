package fulldossier_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dossierkast/dossierkast/internal/bundle"
	"github.com/dossierkast/dossierkast/internal/i18n"
	"github.com/dossierkast/dossierkast/web/page/fulldossier"
)

func TestTimeLeft(t *testing.T) {
	t.Parallel()
	now := time.Date(2027, 1, 2, 13, 5, 0, 0, time.UTC)
	en := i18n.WithLang(context.Background(), "en")
	for _, tc := range []struct {
		left time.Duration
		nl   string
		en   string
	}{
		{48 * time.Hour, "nog 48 uur", "48 hours left"},
		{47*time.Hour + 59*time.Minute, "nog 47 uur", "47 hours left"},
		{2 * time.Hour, "nog 2 uur", "2 hours left"},
		{119 * time.Minute, "nog 1 uur", "1 hour left"},
		{59 * time.Minute, "nog 59 min.", "59 min. left"},
		{20 * time.Second, "nog 1 min.", "1 min. left"},
		{0, "", ""},
		{-time.Hour, "", ""},
	} {
		if got := fulldossier.TimeLeft(context.Background(), now, now.Add(tc.left)); got != tc.nl {
			t.Errorf("TimeLeft(%v) = %q, want %q", tc.left, got, tc.nl)
		}
		if got := fulldossier.TimeLeft(en, now, now.Add(tc.left)); got != tc.en {
			t.Errorf("TimeLeft(%v) in English = %q, want %q", tc.left, got, tc.en)
		}
	}
}

func TestPercent(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		b    bundle.Bundle
		want int
	}{
		{bundle.Bundle{Status: bundle.StatusPending}, 0},
		{bundle.Bundle{Status: bundle.StatusRunning, DocsDone: 0, DocsTotal: 40}, 0},
		{bundle.Bundle{Status: bundle.StatusRunning, DocsDone: 13, DocsTotal: 40}, 32},
		{bundle.Bundle{Status: bundle.StatusRunning, DocsDone: 40, DocsTotal: 40}, 100},
		{bundle.Bundle{Status: bundle.StatusDone, DocsDone: 0, DocsTotal: 0}, 100},
		{bundle.Bundle{Status: bundle.StatusFailed, DocsDone: 3, DocsTotal: 4}, 75},
		// By bytes once they are known: 76% of the documents, with most bytes still to come.
		{bundle.Bundle{Status: bundle.StatusRunning, DocsDone: 76, DocsTotal: 100, BytesDone: 300 << 20, BytesTotal: 2 << 30}, 14},
		{bundle.Bundle{Status: bundle.StatusRunning, DocsDone: 1, DocsTotal: 100, BytesDone: 1 << 30, BytesTotal: 2 << 30}, 50},
	} {
		if got := fulldossier.Percent(tc.b); got != tc.want {
			t.Errorf("Percent(%s %d/%d) = %d, want %d", tc.b.Status, tc.b.DocsDone, tc.b.DocsTotal, got, tc.want)
		}
	}
}

// TestStatusSaysInterrupted: a bundle or deletion whose job was handed back after its process
// died says it was interrupted and is being restarted, instead of showing frozen progress.
func TestStatusSaysInterrupted(t *testing.T) {
	t.Parallel()
	p := fulldossier.ShowPage{
		Bundles:       []fulldossier.Row{{Bundle: bundle.Bundle{Status: bundle.StatusPending, Interrupted: true, DocsDone: 1, DocsTotal: 306}}},
		Deletions:     []bundle.Deletion{{Status: bundle.StatusPending, Interrupted: true}},
		ShowDeletions: true,
	}
	for lang, want := range map[string]string{"nl": "Onderbroken, wordt opnieuw gestart.", "en": "Interrupted, being restarted."} {
		var out strings.Builder
		if err := fulldossier.Status(p).Render(i18n.WithLang(context.Background(), lang), &out); err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(out.String(), want); n != 2 {
			t.Errorf("%s: %q appears %d times, want once for the bundle and once for the deletion:\n%s", lang, want, n, out.String())
		}
		if strings.Contains(out.String(), "1 van 306") || strings.Contains(out.String(), "1 of 306") {
			t.Errorf("%s: the interrupted bundle shows its frozen progress:\n%s", lang, out.String())
		}
	}
}
