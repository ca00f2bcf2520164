package access

import "github.com/dossierkast/dossierkast/internal/apperr"

// Deleting case data. The catalogue has no right of its own for it. Deleting destroys what
// colleagues, exports and datastreams relied on and cannot be undone, so it takes more than
// adding: the right that changes the data and, on top of it, documents.delete ("Documenten
// verwijderen"), the catalogue's right to remove something from a dossier. A user who may add a
// report but not remove a document cannot remove a report either. The demo's Casemanager role,
// like its document rights, has no documents.delete; Beheerder has it.

// CanWriteCaseData returns nil when p may add to and change case data of an employee's dossier
// (absences, reports, decisions, trajectories and their tasks, the agenda): he
// holds CaseDataWrite. EFORBIDDEN otherwise. The caller has checked that p can see the employee
// (CanSeeEmployee); medical parts take medical.view on top (CanReadMedical).
func CanWriteCaseData(p Principal) error { return Require(p, CaseDataWrite) }

// CanDeleteCaseData returns nil when p may delete case data of an employee's dossier
// (absences, reports, decisions, appointments, consultations): CaseDataWrite and
// documents.delete. EFORBIDDEN otherwise. The caller has checked that p can see the employee
// (CanSeeEmployee); the store refuses items with medical parts p cannot read (medical.view).
func CanDeleteCaseData(p Principal) error {
	if !p.Has(CaseDataWrite) || !p.Has(DocumentsDelete) {
		return apperr.New(apperr.EFORBIDDEN, "error.forbidden")
	}
	return nil
}

// CanDeleteContract returns nil when p may delete contract data (service agreements, insurance
// policies, policy participations): the contract administrators who change it
// (ManageOrganisation) when they also hold documents.delete. EFORBIDDEN otherwise. The caller
// has checked that p can see the employer or employee concerned.
func CanDeleteContract(p Principal) error {
	if err := ManageOrganisation(p); err != nil {
		return err
	}
	return Require(p, DocumentsDelete)
}

// CanReadMedical reports whether p may read the medical parts of case data (an absence's cause,
// hidden and medical reports, a medical consultation's outcome): he holds medical.view. Who may
// not read a medical part may not write or delete one either, since he could not see what he
// changes. It answers a yes or no rather than an error because most callers do not refuse: they
// withhold the medical parts, in SQL, from a reader without it; those that refuse choose their
// own answer (EFORBIDDEN, or a field error). The zero Principal (the system) may not.
func CanReadMedical(p Principal) bool { return p.Has(MedicalView) }
