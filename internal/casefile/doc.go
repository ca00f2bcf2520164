// Package casefile holds the case data of an employee dossier: absences with their percentage
// over time, reports, decisions, trajectories and tasks, the agenda, service agreements and
// policies, and the change tracking that incremental datastreams read. It owns the SQL and the
// rules; it has no HTTP and no HTML. Every function works inside a tenant transaction.
//
// Every mutation takes the acting user as an access.Editor: it checks through access that he
// may make the change (for an employee's data: that he sees the employee), fills the
// by-columns with his user id (none for access.System, the editor of changes no user makes) and
// writes its case.* audit event, signed by the editor's Actor, in the same transaction
// (edit.go). The reads take a viewer (access.Principal) and do not check whether he may see the
// employee: ask access.CanSeeEmployee first. access.CanReadMedical decides what medical data a
// user may read or write.
package casefile
