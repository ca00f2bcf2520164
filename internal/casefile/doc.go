// Package casefile holds the case data of an employee dossier: absences with their percentage
// over time, reports, decisions, trajectories and tasks, the agenda, service agreements and
// policies, and the change tracking that incremental datastreams read. It owns the SQL and the
// rules; it has no HTTP and no HTML. Every function works inside a tenant transaction and does
// not check whether the caller may see the employee: ask access.CanSeeEmployee first.
package casefile
