// Package access is the one place that decides what a user may see and do: rights from the
// user's role, employee reach and visibility. Handlers, jobs and lists all ask it.
package access

import (
	"slices"

	"github.com/google/uuid"
)

// Right is a key from the fixed catalogue of DESIGN.md §3.
type Right string

// The rights catalogue.
const (
	EmployerDossierView  Right = "employer_dossier.view"
	EmployeeDossierView  Right = "employee_dossier.view"
	DocumentsUpload      Right = "documents.upload"
	DocumentsDelete      Right = "documents.delete"
	FullDossierGenerate  Right = "full_dossier.generate"
	FullDossierDelete    Right = "full_dossier.delete"
	EmployeeExportCreate Right = "employee_export.create"
	MedicalView          Right = "medical.view"
	EmployeesAll         Right = "employees.all"
	AccessManage         Right = "access.manage"
	UsersManage          Right = "users.manage"
	RolesManage          Right = "roles.manage"
	InterventionsManage  Right = "interventions.manage"
	DelegationsReceive   Right = "delegations.receive"
	DelegationsGrant     Right = "delegations.grant"
	DatastreamsManage    Right = "datastreams.manage"
	AuditView            Right = "audit.view"
)

// Catalogue lists every right in display order.
var Catalogue = []Right{
	EmployerDossierView, EmployeeDossierView, DocumentsUpload, DocumentsDelete,
	FullDossierGenerate, FullDossierDelete, EmployeeExportCreate, MedicalView, EmployeesAll,
	AccessManage, UsersManage, RolesManage, InterventionsManage, DelegationsReceive,
	DelegationsGrant, DatastreamsManage, AuditView,
}

// Valid reports whether r is in the catalogue.
func (r Right) Valid() bool { return slices.Contains(Catalogue, r) }

// ProviderOnly reports whether only provider users may hold r.
func (r Right) ProviderOnly() bool { return r == FullDossierDelete }

// Holdable lists, in catalogue order, the rights a role for users of kind k may hold: every
// right but the provider-only ones for employer and coach roles.
func Holdable(k Kind) []Right {
	var rights []Right
	for _, r := range Catalogue {
		if !r.ProviderOnly() || k == KindProvider {
			rights = append(rights, r)
		}
	}
	return rights
}

// Kind is a user kind.
type Kind string

// The user kinds.
const (
	KindProvider Kind = "provider"
	KindEmployer Kind = "employer"
	KindCoach    Kind = "coach"
)

// Kinds lists the user kinds in display order.
var Kinds = []Kind{KindProvider, KindEmployer, KindCoach}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return slices.Contains(Kinds, k) }

// Principal is the acting user as the engine sees him: the facts every decision needs, loaded
// once per request or job.
type Principal struct {
	TenantID   uuid.UUID
	UserID     uuid.UUID
	Kind       Kind
	Rights     []Right
	Employers  []uuid.UUID // employer users: the employers he belongs to
	ProviderID uuid.UUID   // coach users: his intervention provider
	Facts      Facts       // who he may see; see LoadFacts
}

// Has reports whether p holds right r. Provider-only rights never count for other kinds.
func (p Principal) Has(r Right) bool {
	if r.ProviderOnly() && p.Kind != KindProvider {
		return false
	}
	return slices.Contains(p.Rights, r)
}
