package access

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/apperr"
)

// The employee dossier export decisions (DESIGN.md §7). An export is a copy of one employee's
// dossier: who may make one must see the dossier and hold employee_export.create, and who may
// download one must still be allowed to make it at the time of the download.

// CanExportEmployee returns nil when p may open the employee's export page and start an
// export: he sees the employee now (ENOTFOUND outside his access, blacklist included;
// EFORBIDDEN without employee_dossier.view, as CanSeeEmployee) and holds
// employee_export.create (EFORBIDDEN).
func CanExportEmployee(ctx context.Context, tx pgx.Tx, p Principal, employeeID uuid.UUID) error {
	if err := CanSeeEmployee(ctx, tx, p, employeeID); err != nil {
		return err
	}
	return Require(p, EmployeeExportCreate)
}

// ExportFacts are what the decisions on one export need to know about it.
type ExportFacts struct {
	EmployeeID  uuid.UUID
	RequestedBy uuid.UUID
}

// CanDownloadExport returns nil when p may download export f's files now. He must still be
// allowed to export the employee (CanExportEmployee, asked at download time, so a blacklist
// entry or a right lost after the export was made blocks it) and be its creator or a provider
// user. A user who cannot see the employee gets ENOTFOUND, unless he made the export himself:
// he knows it exists, so he is told why he may not have it (EFORBIDDEN,
// export.error.download_guard). Without employee_export.create: EFORBIDDEN
// (export.error.download_right); another employer or coach user's export: EFORBIDDEN
// (export.error.not_creator).
func CanDownloadExport(ctx context.Context, tx pgx.Tx, p Principal, f ExportFacts) error {
	if err := CanSeeEmployee(ctx, tx, p, f.EmployeeID); err != nil {
		if f.RequestedBy == p.UserID && p.UserID != uuid.Nil {
			return apperr.New(apperr.EFORBIDDEN, "export.error.download_guard")
		}
		return err
	}
	if !p.Has(EmployeeExportCreate) {
		return apperr.New(apperr.EFORBIDDEN, "export.error.download_right")
	}
	if f.RequestedBy != p.UserID && p.Kind != KindProvider {
		return apperr.New(apperr.EFORBIDDEN, "export.error.not_creator")
	}
	return nil
}

// CanRetryExport returns nil when p may start a failed export f again: he may export the
// employee now (as CanExportEmployee) and made the export himself (EFORBIDDEN,
// export.error.retry_other: an export holds what its creator may see, so nobody else sets it
// going).
func CanRetryExport(ctx context.Context, tx pgx.Tx, p Principal, f ExportFacts) error {
	if err := CanExportEmployee(ctx, tx, p, f.EmployeeID); err != nil {
		return err
	}
	if f.RequestedBy != p.UserID {
		return apperr.New(apperr.EFORBIDDEN, "export.error.retry_other")
	}
	return nil
}

// CanGenerateRequestedExport returns nil when export f may be generated now for p, who asked
// for it: the job asks when an attempt starts, with his principal and whether his account is
// active as they are then. The decision is CanRetryExport's; a blocked user's export is not
// generated either (EFORBIDDEN).
func CanGenerateRequestedExport(ctx context.Context, tx pgx.Tx, p Principal, active bool, f ExportFacts) error {
	if err := CanRetryExport(ctx, tx, p, f); err != nil {
		return err
	}
	if !active {
		return apperr.New(apperr.EFORBIDDEN, "error.forbidden")
	}
	return nil
}
