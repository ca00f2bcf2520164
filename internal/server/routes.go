package server

import (
	"io/fs"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/dossierkast/dossierkast/web/static"
)

// Handler returns the application with every route (DESIGN.md §11) and its middleware.
func (s *Server) Handler() http.Handler {
	r := chi.NewRouter()
	r.Use(s.observe, securityHeaders, limitBody)

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
			r.Get("/documents/{id}", s.h(s.downloadDocument))
			r.Get("/documents/{id}/delete", s.h(s.confirmDeleteDocument))
			r.Post("/documents/{id}/delete", s.h(s.deleteDocument))

			// Case data of the employee dossier (tabs) and the employer dossier.
			// casefile: absences, reports, decisions
			// casefile: trajectories, tasks, agenda
			// casefile: agreements, policies, programmes

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
			r.Post("/admin/categories/{id}/delete", s.h(s.deleteCategory))

			r.Get("/admin/audit", s.h(s.listAudit))
			r.Get("/admin/audit.csv", s.h(s.downloadAudit))

			r.Get("/admin/jobs", s.h(s.listJobs))
			r.Post("/admin/jobs/{id}/retry", s.h(s.retryJob))
			r.Post("/admin/jobs/{id}/cancel", s.h(s.cancelJob))

			r.Get("/admin/outbox", s.h(s.listOutbox))
			r.Post("/admin/outbox/test", s.h(s.sendTestMail))
		})
	})

	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(s.h(crossOriginRefused))
	return cop.Handler(r)
}
