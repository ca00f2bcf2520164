package access_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/dossierkast/dossierkast/internal/access"
)

// Who may see, and change, the default executor of a provider's programmes: the tenant's staff
// who hand out or manage intervention work, the provider's own coach administrators, and never
// the employer's side or another provider's coaches.
func TestExecutorRules(t *testing.T) {
	t.Parallel()
	provider, other := uuid.New(), uuid.New()
	im, um, dg, dr := access.InterventionsManage, access.UsersManage, access.DelegationsGrant, access.DelegationsReceive
	p := func(kind access.Kind, providerID uuid.UUID, rights ...access.Right) access.Principal {
		return access.Principal{UserID: uuid.New(), Kind: kind, ProviderID: providerID, Rights: rights}
	}
	tests := []struct {
		name string
		p    access.Principal
		see  bool
		set  string
	}{
		{"provider user with interventions.manage", p(access.KindProvider, uuid.Nil, im), true, "ok"},
		{"provider user with users.manage", p(access.KindProvider, uuid.Nil, um), true, "forbidden"},
		{"provider user with delegations.grant (case manager)", p(access.KindProvider, uuid.Nil, dg), true, "forbidden"},
		{"provider user without those rights", p(access.KindProvider, uuid.Nil, access.EmployeeDossierView, access.EmployeesAll), false, "forbidden"},
		{"employer user with every right", p(access.KindEmployer, uuid.Nil, access.Catalogue...), false, "forbidden"},
		{"coach of the provider with interventions.manage", p(access.KindCoach, provider, im), true, "ok"},
		{"coach of the provider with users.manage", p(access.KindCoach, provider, um), true, "forbidden"},
		{"coach of the provider who only receives", p(access.KindCoach, provider, dr), false, "forbidden"},
		{"coach of another provider with every right", p(access.KindCoach, other, access.Catalogue...), false, "forbidden"},
		{"the zero principal", access.Principal{}, false, "forbidden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := access.CanSeeExecutor(tt.p, provider); got != tt.see {
				t.Errorf("CanSeeExecutor = %v, want %v", got, tt.see)
			}
			if got := outcome(access.CanSetExecutor(tt.p, provider)); got != tt.set {
				t.Errorf("CanSetExecutor = %q, want %q", got, tt.set)
			}
		})
	}
}
