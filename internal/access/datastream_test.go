package access_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/dossierkast/dossierkast/internal/access"
)

// Datastream accounts: datastreams.manage for provider and employer users, never coaches; the
// medical flag also needs medical.view; employer users scope only to their own employers.
func TestDatastreamRules(t *testing.T) {
	t.Parallel()
	mine, other := uuid.New(), uuid.New()
	dm, mv := access.DatastreamsManage, access.MedicalView
	principal := func(kind access.Kind, rights ...access.Right) access.Principal {
		return access.Principal{UserID: uuid.New(), Kind: kind, Rights: rights, Employers: []uuid.UUID{mine}}
	}
	tests := []struct {
		name                                             string
		p                                                access.Principal
		manage, medical, scopeAll, scopeMine, scopeOther string
	}{
		{"provider with both rights", principal(access.KindProvider, dm, mv), "ok", "ok", "ok", "ok", "ok"},
		{"provider without medical.view", principal(access.KindProvider, dm), "ok", "forbidden", "ok", "ok", "ok"},
		{"provider with medical.view only", principal(access.KindProvider, mv), "forbidden", "forbidden", "forbidden", "forbidden", "forbidden"},
		{"employer user with both rights", principal(access.KindEmployer, dm, mv), "ok", "ok", "forbidden", "ok", "forbidden"},
		{"coach with every right", access.Principal{Kind: access.KindCoach, Rights: access.Catalogue}, "forbidden", "forbidden", "forbidden", "forbidden", "forbidden"},
		{"the zero principal", access.Principal{}, "forbidden", "forbidden", "forbidden", "forbidden", "forbidden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want := []string{tt.manage, tt.medical, tt.scopeAll, tt.scopeMine, tt.scopeOther}
			got := []string{
				outcome(access.CanManageDatastreams(tt.p)),
				outcome(access.CanSetDatastreamMedical(tt.p)),
				outcome(access.CanScopeDatastream(tt.p, true, nil)),
				outcome(access.CanScopeDatastream(tt.p, false, []uuid.UUID{mine})),
				outcome(access.CanScopeDatastream(tt.p, false, []uuid.UUID{mine, other})),
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("manage, medical, scope all, scope mine, scope other (-want +got):\n%s", diff)
			}
		})
	}
}
