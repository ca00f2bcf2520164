package server

import (
	"github.com/dossierkast/dossierkast/internal/casefile"
	"github.com/dossierkast/dossierkast/internal/i18n"
	"github.com/dossierkast/dossierkast/web/page/confirm"
)

// Contracts: the employer dossier's service agreements (agreement.go) and insurance policies
// (policy.go), and the employee dossier's policy participation (participation.go); deleting
// any of them goes through the tables of casedelete.go. This file holds what their forms share.
//
// Rights: reading the employer's parts is access.CanReadEmployerDossier (404 outside reach,
// 403 without employer_dossier.view); the employee tab is an ordinary dossier part (inDossier).
// Writing any of them is contract administration of the provider: access.CanWriteEmployerContracts
// for the employer's, access.ManageOrganisation after the visibility check for the employee's,
// so an unseen dossier stays 404.

func periodFromForm(f *form) casefile.ContractPeriod {
	var p casefile.ContractPeriod
	if d := f.optDate("starts_on"); d != nil {
		p.Start = *d
	}
	p.End = f.optDate("ends_on")
	return p
}

// periodDetails shows a contract's period on a confirmation.
func periodDetails(p casefile.ContractPeriod) []confirm.Detail {
	return []confirm.Detail{{Label: "contract.starts_on", Value: i18n.Date(&p.Start)}, {Label: "contract.ends_on", Value: i18n.Date(p.End)}}
}
