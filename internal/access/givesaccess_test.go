package access_test

import (
	"testing"
	"time"

	"github.com/dossierkast/dossierkast/internal/access"
)

// A running delegation gives access unless its user is on the employee's blacklist, which
// always wins; one not yet started or ended gives none either way.
func TestDelegationGivesAccess(t *testing.T) {
	t.Parallel()
	now := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
	ended := now.Add(-time.Hour)
	tests := []struct {
		name string
		d    access.Delegation
		want bool
	}{
		{"Running", access.Delegation{ValidFrom: now.Add(-24 * time.Hour)}, true},
		{"RunningBlacklisted", access.Delegation{ValidFrom: now.Add(-24 * time.Hour), Blacklisted: true}, false},
		{"Planned", access.Delegation{ValidFrom: now.Add(time.Hour)}, false},
		{"Ended", access.Delegation{ValidFrom: now.Add(-24 * time.Hour), EndedAt: &ended}, false},
	}
	for _, tt := range tests {
		if got := tt.d.GivesAccess(now); got != tt.want {
			t.Errorf("%s: GivesAccess = %v, want %v", tt.name, got, tt.want)
		}
	}
}
