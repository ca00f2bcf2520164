package access

import (
	"github.com/google/uuid"

	"github.com/dossierkast/dossierkast/internal/apperr"
)

// CanListJobs returns nil when p may open the background-job overview of his tenant: the user
// administrators (users.manage). EFORBIDDEN otherwise.
func CanListJobs(p Principal) error { return Require(p, UsersManage) }

// CanManageJob returns nil when p may retry or cancel a job that works for tenant jobTenant
// (uuid.Nil: a platform job, such as the session cleanup): he may list jobs (EFORBIDDEN), the
// job is of his own tenant (another tenant's job does not exist for him: ENOTFOUND), and it is
// not a platform job, which is visible to him but not his to change (EFORBIDDEN with a message
// that says so).
func CanManageJob(p Principal, jobTenant uuid.UUID) error {
	if err := CanListJobs(p); err != nil {
		return err
	}
	switch jobTenant {
	case p.TenantID:
		return nil
	case uuid.Nil:
		return apperr.New(apperr.EFORBIDDEN, "job.error.system")
	default:
		return apperr.New(apperr.ENOTFOUND, "error.not_found")
	}
}
