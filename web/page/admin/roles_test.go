package admin

import (
	"slices"
	"testing"

	"github.com/dossierkast/dossierkast/internal/access"
)

// Every right of the catalogue is in exactly one group of the role editor: one left out could
// not be granted on screen.
func TestRightGroupsCoverCatalogue(t *testing.T) {
	t.Parallel()
	seen := map[access.Right]int{}
	for _, g := range rightGroups {
		for _, r := range g.Rights {
			seen[r]++
		}
	}
	for _, r := range access.Catalogue {
		if seen[r] != 1 {
			t.Errorf("right %s is in %d groups, want 1", r, seen[r])
		}
	}
	for r := range seen {
		if !slices.Contains(access.Catalogue, r) {
			t.Errorf("group right %s is not in the catalogue", r)
		}
	}
}
