package access

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/apperr"
)

// The full-dossier decisions (DESIGN.md §6). The screen belongs to the employer dossier; its
// actions also need the employer's product "970 Dossiervorming extended", which the caller
// reads from the employer and passes as enabled (access does not read employers).

// CanViewFullDossier returns nil when p may open an employer's full-dossier screen and see its
// bundles, a part of the employer dossier (CanReadEmployerDossier): ENOTFOUND when the employer
// is outside his reach, EFORBIDDEN without employer_dossier.view.
func CanViewFullDossier(p Principal, employerID uuid.UUID) error {
	return CanReadEmployerDossier(p, employerID)
}

// CanGenerateFullDossier returns nil when p may generate (or retry) a full dossier of the
// employer: he may view the screen (ENOTFOUND, EFORBIDDEN as CanViewFullDossier), holds
// full_dossier.generate (EFORBIDDEN), and the employer has the product (EFORBIDDEN with a
// message that names it).
func CanGenerateFullDossier(p Principal, employerID uuid.UUID, enabled bool) error {
	if err := CanViewFullDossier(p, employerID); err != nil {
		return err
	}
	if err := Require(p, FullDossierGenerate); err != nil {
		return err
	}
	return requireProduct(enabled)
}

// CanDeleteFullDossier returns nil when p may delete every document of the employer and its
// employees: he may view the screen (ENOTFOUND, EFORBIDDEN as CanViewFullDossier), is a provider
// user holding full_dossier.delete (EFORBIDDEN; employer users never may), and the employer has
// the product (EFORBIDDEN with a message that names it).
func CanDeleteFullDossier(p Principal, employerID uuid.UUID, enabled bool) error {
	if err := CanViewFullDossier(p, employerID); err != nil {
		return err
	}
	if p.Kind != KindProvider || !p.Has(FullDossierDelete) {
		return apperr.New(apperr.EFORBIDDEN, "error.forbidden")
	}
	return requireProduct(enabled)
}

// BundleFacts are what the decisions on one full-dossier bundle need to know about it.
type BundleFacts struct {
	EmployerID    uuid.UUID
	RequesterKind Kind // bundles show on the screens of users of this kind
	RequestedBy   uuid.UUID
}

// CanRetryFullDossier returns nil when p may start a failed bundle of the employer again. The
// bundle must show on his screen of that employer: he may view it (ENOTFOUND, EFORBIDDEN as
// CanViewFullDossier), and the bundle is of that employer and of his kind (ENOTFOUND). Then
// he must be able to generate (EFORBIDDEN as CanGenerateFullDossier) and have asked for it
// himself (EFORBIDDEN: a bundle holds what its requester may see, so nobody else sets it going).
func CanRetryFullDossier(p Principal, employerID uuid.UUID, enabled bool, b BundleFacts) error {
	if err := CanViewFullDossier(p, employerID); err != nil {
		return err
	}
	if b.EmployerID != employerID || b.RequesterKind != p.Kind {
		return apperr.New(apperr.ENOTFOUND, "error.not_found")
	}
	if err := CanGenerateFullDossier(p, employerID, enabled); err != nil {
		return err
	}
	if b.RequestedBy != p.UserID {
		return apperr.New(apperr.EFORBIDDEN, "fulldossier.error.retry_other")
	}
	return nil
}

// CanGenerateRequestedFullDossier returns nil when bundle b may be generated now for p, who
// asked for it: the generation job asks it when an attempt starts, with his principal, whether
// his account is active and whether the employer has the product, all as they are then, since
// the bundle holds what he may see. The decision is CanRetryFullDossier's (ENOTFOUND when the
// bundle no longer shows on his screen, EFORBIDDEN when he may not generate, the employer lost
// the product or he is not its requester), and a blocked user's bundle is not generated either
// (EFORBIDDEN).
func CanGenerateRequestedFullDossier(p Principal, active, enabled bool, b BundleFacts) error {
	if err := CanRetryFullDossier(p, b.EmployerID, enabled, b); err != nil {
		return err
	}
	if !active {
		return apperr.New(apperr.EFORBIDDEN, "error.forbidden")
	}
	return nil
}

func requireProduct(enabled bool) error {
	if !enabled {
		return apperr.New(apperr.EFORBIDDEN, "fulldossier.error.product")
	}
	return nil
}

// CanDownloadBundlePart returns nil when p may download a full-dossier part whose bundle holds
// the dossiers of employees and documents of categories. The caller has checked that he may read
// the part as a document (CanReadDocument); a part carries more than its own category says, so
// on top of that he must, by c, read every one of those categories (EFORBIDDEN as
// CanReadEveryCategory) and still see every one of those employees now (EFORBIDDEN as
// CanSeeEveryEmployee). A colleague without medical.view, with a narrower matrix or with one of
// the employees on his blacklist cannot have what the requester could read.
func CanDownloadBundlePart(ctx context.Context, tx pgx.Tx, p Principal, c Categories, employees, categories []uuid.UUID) error {
	if err := CanReadEveryCategory(c, categories); err != nil {
		return err
	}
	return CanSeeEveryEmployee(ctx, tx, p, employees)
}

// CanSeeEveryEmployee returns nil when p may see the dossier of every employee in ids now (the
// visible_employees rule, blacklist read live, plus employee_dossier.view when ids is not
// empty): the download guard of a full-dossier bundle, whose parts hold those dossiers. An
// employee he can no longer see, or one that no longer exists, gives EFORBIDDEN with an
// explanation; the ids are never named in it.
func CanSeeEveryEmployee(ctx context.Context, tx pgx.Tx, p Principal, ids []uuid.UUID) error {
	if len(ids) == 0 {
		return nil
	}
	refused := apperr.New(apperr.EFORBIDDEN, "fulldossier.error.download_guard")
	if !p.Has(EmployeeDossierView) {
		return refused
	}
	from, args := VisibleEmployees(p, []any{binaryIDs(ids)})
	var hidden bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (
		SELECT 1 FROM unnest($1::uuid[]) AS want (id)
		WHERE NOT EXISTS (SELECT 1 FROM `+from+` e WHERE e.id = want.id))`, args...).Scan(&hidden)
	if err != nil {
		return fmt.Errorf("can see every employee (%d): %w", len(ids), err)
	}
	if hidden {
		return refused
	}
	return nil
}

// CanReadEveryCategory returns nil when p may read, by c, every document category in ids: the
// other half of the download guard of a full-dossier bundle, whose parts carry documents of
// those categories whatever the part's own category is, so a colleague without medical.view or
// with a narrower matrix cannot have what the requester could read. A category he may not read,
// or one that no longer exists, gives EFORBIDDEN with an explanation that names none of them.
func CanReadEveryCategory(c Categories, ids []uuid.UUID) error {
	for _, id := range ids {
		if _, ok := c[id]; !ok {
			return apperr.New(apperr.EFORBIDDEN, "fulldossier.error.download_categories")
		}
	}
	return nil
}
