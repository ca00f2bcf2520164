package server

import (
	"io/fs"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/dossierkast/dossierkast/web/static"
)

// Handler returns the application with every route (DESIGN.md §11) and its middleware.
func (s *Server) Handler() http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(s.h(crossOriginRefused))
	return cop.Handler(s.Routes())
}

// Routes returns the router behind Handler, without the cross-origin check around it: the table
// of routes that tests walk (chi.Walk) to prove every route has its refusal tests.
func (s *Server) Routes() chi.Router {
	r := chi.NewRouter()
	r.Use(s.observe, securityHeaders, limitBody, middleware.GetHead)

	r.Get("/healthz", s.h(s.healthz))
	r.Get("/readyz", s.h(s.readyz))
	if s.metrics != nil {
		r.Method(http.MethodGet, "/metrics", s.metrics.handler())
	}
	assets, _ := fs.Sub(static.FS, ".")
	r.Handle("/static/*", http.StripPrefix("/static/", staticFiles(assets)))

	r.Group(func(r chi.Router) {
		r.Use(s.sessions.LoadAndSave, s.loadUser)
		r.NotFound(s.h(notFound))
		r.MethodNotAllowed(s.h(methodNotAllowed))

		r.Get("/login", s.h(s.showLogin))
		r.Post("/login", s.h(s.login))

		r.Group(func(r chi.Router) {
			r.Use(requireLogin)
			r.Post("/logout", s.h(s.logout))
			r.Post("/language", s.h(s.setLanguage))
			r.Get("/", s.h(s.showHome))

			r.Get("/employers", s.h(s.listEmployers))
			r.Get("/employers/new", s.h(s.newEmployer))
			r.Post("/employers", s.h(s.createEmployer))
			r.Get("/employers/{id}", s.h(s.showEmployer))
			r.Get("/employers/{id}/edit", s.h(s.editEmployer))
			r.Post("/employers/{id}", s.h(s.updateEmployer))
			r.Post("/employers/{id}/departments", s.h(s.createDepartment))
			r.Get("/departments/{id}/edit", s.h(s.editDepartment))
			r.Post("/departments/{id}", s.h(s.updateDepartment))

			r.Get("/employees", s.h(s.listEmployees))
			r.Get("/employees/new", s.h(s.newEmployee))
			r.Post("/employees", s.h(s.createEmployee))
			r.Get("/employees/{id}", s.h(s.showEmployee))
			r.Get("/employees/{id}/edit", s.h(s.editEmployee))
			r.Post("/employees/{id}", s.h(s.updateEmployee))

			// Uploads stream past the form limit, up to the largest document plus the form around it.
			upload := limitBodyTo(s.docs.MaxSize() + maxFormBytes)
			r.With(upload).Post("/employers/{id}/documents", s.h(s.uploadEmployerDocument))
			r.With(upload).Post("/employees/{id}/documents", s.h(s.uploadEmployeeDocument))
			r.Get("/employees/{id}/documents", s.h(s.showEmployeeDocuments))
			r.Get("/documents/{id}", s.h(s.downloadDocument))
			r.Get("/documents/{id}/delete", s.h(s.confirmDeleteDocument))
			r.Post("/documents/{id}/delete", s.h(s.deleteDocument))

			// Case data of the employee dossier (tabs) and the employer dossier.
			// casefile: absences, reports, decisions
			r.Get("/employees/{id}/absences", s.h(s.showAbsences))
			r.Post("/employees/{id}/absences", s.h(s.createAbsence))
			r.Get("/employees/{id}/absences/{aid}/edit", s.h(s.editAbsence))
			r.Post("/employees/{id}/absences/{aid}", s.h(s.updateAbsence))
			r.Post("/employees/{id}/absences/{aid}/percentages", s.h(s.setAbsencePercentage))
			r.Get("/employees/{id}/absences/{aid}/delete", s.h(s.confirmCaseDelete(absenceDeletion)))
			r.Post("/employees/{id}/absences/{aid}/delete", s.h(s.deleteCase(absenceDeletion)))
			r.Get("/employees/{id}/reports", s.h(s.showReports))
			r.Post("/employees/{id}/reports", s.h(s.createReport))
			r.Get("/employees/{id}/reports/{rid}/edit", s.h(s.editReport))
			r.Post("/employees/{id}/reports/{rid}", s.h(s.updateReport))
			r.Get("/employees/{id}/reports/{rid}/delete", s.h(s.confirmCaseDelete(reportDeletion)))
			r.Post("/employees/{id}/reports/{rid}/delete", s.h(s.deleteCase(reportDeletion)))
			r.Get("/employees/{id}/decisions", s.h(s.showDecisions))
			r.Post("/employees/{id}/decisions", s.h(s.createDecision))
			r.Get("/employees/{id}/decisions/{did}/edit", s.h(s.editDecision))
			r.Post("/employees/{id}/decisions/{did}", s.h(s.updateDecision))
			r.Get("/employees/{id}/decisions/{did}/delete", s.h(s.confirmCaseDelete(decisionDeletion)))
			r.Post("/employees/{id}/decisions/{did}/delete", s.h(s.deleteCase(decisionDeletion)))
			// casefile: trajectories, tasks, agenda
			r.Get("/employees/{id}/trajectories", s.h(s.listTrajectories))
			r.Post("/employees/{id}/trajectories", s.h(s.openTrajectory))
			r.Get("/trajectories/{id}", s.h(s.showTrajectory))
			r.Post("/trajectories/{id}/close", s.h(s.closeTrajectory))
			r.Post("/tasks/{id}/complete", s.h(s.completeTask))
			r.Post("/tasks/{id}/due-date", s.h(s.setTaskDueDate))
			r.Get("/employees/{id}/agenda", s.h(s.showAgenda))
			r.Post("/employees/{id}/appointments", s.h(s.createAppointment))
			r.Get("/appointments/{id}/edit", s.h(s.editAppointment))
			r.Post("/appointments/{id}", s.h(s.updateAppointment))
			r.Get("/appointments/{id}/delete", s.h(s.confirmCaseDelete(appointmentDeletion)))
			r.Post("/appointments/{id}/delete", s.h(s.deleteCase(appointmentDeletion)))
			r.Post("/employees/{id}/consultations", s.h(s.createConsultation))
			r.Get("/consultations/{id}/edit", s.h(s.editConsultation))
			r.Post("/consultations/{id}", s.h(s.updateConsultation))
			r.Get("/consultations/{id}/delete", s.h(s.confirmCaseDelete(consultationDeletion)))
			r.Post("/consultations/{id}/delete", s.h(s.deleteCase(consultationDeletion)))
			// casefile: agreements, policies, programmes
			r.Get("/employers/{id}/agreements", s.h(s.showAgreements))
			r.Post("/employers/{id}/agreements", s.h(s.createAgreement))
			r.Get("/employers/{id}/agreements/{aid}/edit", s.h(s.editAgreement))
			r.Post("/employers/{id}/agreements/{aid}", s.h(s.updateAgreement))
			r.Get("/employers/{id}/agreements/{aid}/delete", s.h(s.confirmEmployerDelete(agreementDeletion)))
			r.Post("/employers/{id}/agreements/{aid}/delete", s.h(s.deleteEmployerContract(agreementDeletion)))
			r.Get("/employers/{id}/policies", s.h(s.showPolicies))
			r.Post("/employers/{id}/policies", s.h(s.createPolicy))
			r.Get("/employers/{id}/policies/{pid}/edit", s.h(s.editPolicy))
			r.Post("/employers/{id}/policies/{pid}", s.h(s.updatePolicy))
			r.Get("/employers/{id}/policies/{pid}/delete", s.h(s.confirmEmployerDelete(policyDeletion)))
			r.Post("/employers/{id}/policies/{pid}/delete", s.h(s.deleteEmployerContract(policyDeletion)))
			// Full dossier (bundle): every action has a GET page that asks for confirmation.
			r.Get("/employers/{id}/full-dossier", s.h(s.showFullDossier))
			r.Get("/employers/{id}/full-dossier/generate", s.h(s.confirmGenerateFullDossier))
			r.Post("/employers/{id}/full-dossier/generate", s.h(s.generateFullDossier))
			r.Get("/employers/{id}/full-dossier/bundles/{bid}/retry", s.h(s.confirmRetryBundle))
			r.Post("/employers/{id}/full-dossier/bundles/{bid}/retry", s.h(s.retryFullDossier))
			r.Get("/employers/{id}/full-dossier/delete", s.h(s.confirmDeleteFullDossier))
			r.Post("/employers/{id}/full-dossier/delete", s.h(s.deleteFullDossier))
			// Employee dossier export (issue 16): no delete route, for anyone.
			r.Get("/employees/{id}/exports", s.h(s.showExports))
			r.Post("/employees/{id}/exports", s.h(s.startExport))
			r.Get("/exports/{id}", s.h(s.downloadExport))
			r.Get("/exports/{id}/json", s.h(s.downloadExportJSON))
			r.Post("/exports/{id}/retry", s.h(s.retryExport))
			r.Get("/employees/{id}/policies", s.h(s.showParticipations))
			r.Post("/employees/{id}/policies", s.h(s.createParticipation))
			r.Get("/employees/{id}/policies/{pid}/edit", s.h(s.editParticipation))
			r.Post("/employees/{id}/policies/{pid}", s.h(s.updateParticipation))
			r.Get("/employees/{id}/policies/{pid}/delete", s.h(s.confirmCaseDelete(participationDeletion)))
			r.Post("/employees/{id}/policies/{pid}/delete", s.h(s.deleteCase(participationDeletion)))
			// intervention: coach portal, deployment and delegation tasks
			r.Get("/my-clients", s.h(s.listClients))
			r.Get("/tasks/{id}", s.h(s.showTask))
			r.Post("/tasks/{id}/deploy", s.h(s.deployTask))
			r.Post("/tasks/{id}/delegate", s.h(s.delegateTask))
			r.Post("/delegations/{id}/end", s.h(s.endDelegation))
			r.Post("/delegations/{id}/end-date", s.h(s.setDelegationEnd))
			r.Get("/admin/interventions", s.h(s.showInterventions))
			r.Post("/admin/interventions/settings", s.h(s.setGuidanceProtocol))
			r.Post("/admin/providers/{id}/executor", s.h(s.setProviderExecutor))
			r.Get("/admin/programmes", s.h(s.redirectProgrammes))
			r.Post("/admin/interventions/programmes", s.h(s.createProgramme))
			r.Get("/admin/interventions/programmes/{id}/edit", s.h(s.editProgramme))
			r.Post("/admin/interventions/programmes/{id}", s.h(s.updateProgramme))
			r.Post("/admin/providers", s.h(s.createProvider))

			r.Get("/admin/users", s.h(s.listUsers))
			r.Get("/admin/users/new", s.h(s.newUser))
			r.Post("/admin/users", s.h(s.createUser))
			r.Get("/admin/users/{id}", s.h(s.editUser))
			r.Post("/admin/users/{id}", s.h(s.updateUser))
			r.Post("/admin/users/{id}/block", s.h(s.blockUser))
			r.Post("/admin/users/{id}/unblock", s.h(s.unblockUser))
			r.Get("/admin/users/{id}/access", s.h(s.showAccess))
			r.Post("/admin/users/{id}/access", s.h(s.changeAccess))

			r.Get("/admin/roles", s.h(s.listRoles))
			r.Post("/admin/roles", s.h(s.createRole))
			r.Post("/admin/roles/{id}", s.h(s.updateRole))
			r.Post("/admin/roles/{id}/matrix", s.h(s.updateMatrix))

			r.Get("/admin/categories", s.h(s.listCategories))
			r.Post("/admin/categories", s.h(s.createCategory))
			r.Post("/admin/categories/{id}", s.h(s.updateCategory))
			r.Get("/admin/categories/{id}/delete", s.h(s.confirmDeleteCategory))
			r.Post("/admin/categories/{id}/delete", s.h(s.deleteCategory))

			r.Get("/admin/audit", s.h(s.listAudit))
			r.Get("/admin/audit.csv", s.h(s.downloadAudit))
			r.Get("/admin/audit/{id}", s.h(s.showAuditEvent))

			r.Get("/admin/jobs", s.h(s.listJobs))
			r.Post("/admin/jobs/{id}/retry", s.h(s.retryJob))
			r.Post("/admin/jobs/{id}/cancel", s.h(s.cancelJob))

			r.Get("/admin/outbox", s.h(s.listOutbox))
			r.Post("/admin/outbox/test", s.h(s.sendTestMail))

			r.Get("/admin/datastreams", s.h(s.listDatastreamAccounts))
			r.Get("/admin/datastreams/accounts/new", s.h(s.newDatastreamAccount))
			r.Post("/admin/datastreams/accounts", s.h(s.createDatastreamAccount))
			r.Get("/admin/datastreams/accounts/{id}", s.h(s.showDatastreamAccount))
			r.Post("/admin/datastreams/accounts/{id}", s.h(s.updateDatastreamAccount))
			r.Post("/admin/datastreams/accounts/{id}/archive", s.h(s.archiveDatastreamAccount))
			r.Post("/admin/datastreams/accounts/{id}/block", s.h(s.blockDatastreamAccount))
			r.Post("/admin/datastreams/accounts/{id}/unblock", s.h(s.unblockDatastreamAccount))
			r.Post("/admin/datastreams/accounts/{id}/password", s.h(s.newHostedPassword))
			r.Post("/admin/datastreams/accounts/{id}/test", s.h(s.testDatastreamAccount))
			r.Post("/admin/datastreams/accounts/{id}/host-key", s.h(s.acceptHostKey))
			r.Get("/admin/datastreams/accounts/{id}/files", s.h(s.showDatastreamFiles))
			r.Get("/admin/datastreams/accounts/{id}/files/download", s.h(s.downloadDatastreamFile))
			r.Get("/admin/datastreams/catalogue", s.h(s.showDatastreamCatalogue))
			r.Get("/admin/datastreams/accounts/{id}/configs/new", s.h(s.newDatastreamConfig))
			r.Post("/admin/datastreams/accounts/{id}/configs", s.h(s.createDatastreamConfig))
			r.Get("/admin/datastreams/configs/{id}", s.h(s.showDatastreamConfig))
			r.Post("/admin/datastreams/configs/{id}", s.h(s.updateDatastreamConfig))
			r.Post("/admin/datastreams/configs/{id}/archive", s.h(s.archiveDatastreamConfig))
			r.Post("/admin/datastreams/configs/{id}/run", s.h(s.runDatastreamConfig))
			r.Post("/admin/datastreams/configs/{id}/rotate-key", s.h(s.rotateDatastreamKey))
			r.Get("/admin/datastreams/configs/{id}/files", s.h(s.showDatastreamConfigFiles))
			r.Get("/admin/datastreams/configs/{id}/files/download", s.h(s.downloadDatastreamConfigFile))
		})
	})

	return r
}
