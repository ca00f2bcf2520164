package access

import "github.com/google/uuid"

// The employer dossier's parts besides its documents: the service agreements and insurance
// policies (contracts) and the full-dossier screen. Reading them is reading the employer dossier;
// changing the contracts is contract administration of the provider.

// CanReadEmployerDossier returns nil when p may read the parts of an employer's dossier (its
// documents section, contracts and full-dossier screen): ENOTFOUND when the employer is outside
// his reach (its existence is not revealed), EFORBIDDEN without employer_dossier.view. Which of
// the dossier's documents he reads is decided per category (Categories).
func CanReadEmployerDossier(p Principal, employerID uuid.UUID) error {
	if err := CanSeeEmployer(p, employerID); err != nil {
		return err
	}
	return Require(p, EmployerDossierView)
}

// CanWriteEmployerContracts returns nil when p may create and change an employer's service
// agreements and insurance policies: ENOTFOUND when the employer is outside his reach,
// EFORBIDDEN unless he administers the organisation (ManageOrganisation).
func CanWriteEmployerContracts(p Principal, employerID uuid.UUID) error {
	if err := CanSeeEmployer(p, employerID); err != nil {
		return err
	}
	return ManageOrganisation(p)
}

// CanDeleteEmployerContracts returns nil when p may delete an employer's service agreements and
// insurance policies: ENOTFOUND when the employer is outside his reach, EFORBIDDEN unless he may
// delete contract data (CanDeleteContract).
func CanDeleteEmployerContracts(p Principal, employerID uuid.UUID) error {
	if err := CanSeeEmployer(p, employerID); err != nil {
		return err
	}
	return CanDeleteContract(p)
}
