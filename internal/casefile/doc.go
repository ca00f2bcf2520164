// Package casefile holds the case data of an employee dossier: absences with their percentage
// over time, reports, decisions, trajectories and tasks, the agenda, service agreements and
// policies, and the change tracking that incremental datastreams read. It owns the SQL and the
// rules; it has no HTTP and no HTML. Every function works inside a tenant transaction and does
// not check whether the caller may see the employee: ask access.CanSeeEmployee first.
//
// The employee dossier's functions take the acting user as an access.Principal (by, or viewer
// for reads): its user id fills the by-columns (the zero Principal is the system, and means
// nothing else) and access.CanReadMedical decides what medical data it may read or write; the
// caller writes the audit
// event. The administration's functions (contracts, programmes) take an audit.Actor and audit
// their change themselves.
package casefile
