package access

import (
	"slices"

	"github.com/google/uuid"

	"github.com/dossierkast/dossierkast/internal/apperr"
)

// CanManageDatastreams returns nil when p may open, create, change, test and archive the
// tenant's datastream accounts and browse their folders: a provider or employer user with
// datastreams.manage. A coach reaches no employee, so never. EFORBIDDEN otherwise.
func CanManageDatastreams(p Principal) error {
	if p.Kind == KindCoach {
		return apperr.New(apperr.EFORBIDDEN, "error.forbidden")
	}
	return Require(p, DatastreamsManage)
}

// CanSetDatastreamMedical returns nil when p may tick or untick "account has access to medical
// data": he manages datastreams and may read medical data himself (medical.view), since the
// account would hand out what he could not see. EFORBIDDEN with a message that says why
// otherwise.
func CanSetDatastreamMedical(p Principal) error {
	if err := CanManageDatastreams(p); err != nil {
		return err
	}
	if !p.Has(MedicalView) {
		return apperr.New(apperr.EFORBIDDEN, "datastream.error.medical_right")
	}
	return nil
}

// CanScopeDatastream returns nil when p may give an account the employer scope all (every
// employer of the tenant) or employers: a provider user any scope; an employer user only a
// list of his own employers, since the account would otherwise carry data of employers he
// cannot reach. EFORBIDDEN otherwise.
func CanScopeDatastream(p Principal, all bool, employers []uuid.UUID) error {
	if err := CanManageDatastreams(p); err != nil {
		return err
	}
	if p.Kind == KindProvider {
		return nil
	}
	if all {
		return apperr.New(apperr.EFORBIDDEN, "datastream.error.scope")
	}
	for _, id := range employers {
		if !slices.Contains(p.Employers, id) {
			return apperr.New(apperr.EFORBIDDEN, "datastream.error.scope")
		}
	}
	return nil
}
