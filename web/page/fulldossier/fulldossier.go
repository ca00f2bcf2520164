// Package fulldossier holds the full-dossier screen of an employer (DESIGN.md §6): its bundles
// with their progress and parts, the deletions, and the confirmation pages of generating,
// retrying and deleting.
package fulldossier

import (
	"context"
	"time"

	"github.com/dossierkast/dossierkast/internal/bundle"
	"github.com/dossierkast/dossierkast/internal/i18n"
)

// Percent is how much of b's documents are done, 0 to 100; a finished bundle is 100 even when
// it holds no documents.
func Percent(b bundle.Bundle) int {
	if b.Status == bundle.StatusDone {
		return 100
	}
	// By bytes, which is what takes the time; by documents when they are all empty.
	if b.BytesTotal > 0 {
		return int(min(100, b.BytesDone*100/b.BytesTotal))
	}
	if b.DocsTotal <= 0 {
		return 0
	}
	return min(100, b.DocsDone*100/b.DocsTotal)
}

// TimeLeft says how long from now until t: in hours (a bundle lives 48), or in minutes in the
// last hour; "" when t has passed.
func TimeLeft(ctx context.Context, now, t time.Time) string {
	d := t.Sub(now)
	switch {
	case d <= 0:
		return ""
	case d < time.Hour:
		return i18n.T(ctx, "fulldossier.left.minutes", max(1, int(d/time.Minute)))
	case d < 2*time.Hour:
		return i18n.T(ctx, "fulldossier.left.hour")
	default:
		return i18n.T(ctx, "fulldossier.left.hours", int(d/time.Hour))
	}
}
