package server

import (
	"net/http"
	"net/url"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/document"
	"github.com/dossierkast/dossierkast/internal/org"
	"github.com/dossierkast/dossierkast/web/page/employee"
)

// employeePageSize is how many employees a list page shows.
const employeePageSize = 50

func (s *Server) listEmployees(w http.ResponseWriter, r *http.Request) error {
	c := mustCurrent(r)
	if err := access.CanListEmployees(c.Principal); err != nil {
		return err
	}
	q := r.URL.Query()
	f := org.EmployeeFilter{Viewer: c.Principal, Query: access.SearchText(q.Get("q")), Offset: offsetOf(r), Limit: employeePageSize}
	keep := url.Values{}
	if f.Query != "" {
		keep.Set("q", f.Query)
	}
	p := employee.ListPage{Query: f.Query, CanManage: access.ManageOrganisation(c.Principal) == nil}
	if f.Query != "" && access.SearchTooShort(f.Query) {
		// Words this short match a large part of the tenant and find nobody in particular.
		p.SearchError, f.Query = "employee.error.search_short", ""
	}
	employerID, employerErr := uuid.Parse(q.Get("employer"))
	departmentID, departmentErr := uuid.Parse(q.Get("department"))
	byEmployer, byDepartment := employerErr == nil, departmentErr == nil
	if byEmployer || byDepartment {
		err := s.inTenant(r, func(tx pgx.Tx) error {
			if byEmployer {
				if err := access.CanSeeEmployer(c.Principal, employerID); err != nil {
					return err
				}
				e, err := org.FindEmployerByID(r.Context(), tx, employerID)
				if err != nil {
					return err
				}
				f.EmployerID, p.Filter = &employerID, e.Name
				keep.Set("employer", employerID.String())
			}
			if byDepartment {
				d, err := org.FindDepartmentByID(r.Context(), tx, departmentID)
				if err != nil {
					return err
				}
				if err := access.CanSeeEmployer(c.Principal, d.EmployerID); err != nil {
					return err
				}
				f.DepartmentID, p.Filter = &departmentID, d.Name
				keep.Set("department", departmentID.String())
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	// The list itself is one round trip of its own: the count and the page.
	list, err := org.ReadEmployees(r.Context(), s.pool, c.Tenant.ID, f)
	if err != nil {
		return err
	}
	p.Employees, p.Pager.Total, p.Pager.More = list.Employees, list.Total, list.More
	p.Page = s.page(r, "employee.list.title")
	p.Pager.Path, p.Pager.Query, p.Pager.Offset, p.Pager.Limit = "/employees", keep, f.Offset, f.Limit
	return s.render(w, r, http.StatusOK, employee.List(p))
}

// showEmployee shows the overview of an employee's dossier: his personal data and employment
// and, for those who manage access, its delegations. The view is recorded (NEN 7513: who saw
// which dossier when), like that of every tab.
func (s *Server) showEmployee(w http.ResponseWriter, r *http.Request) error {
	return s.renderEmployee(w, r, http.StatusOK, pathEmployee(r), employee.DelegationForm{})
}

// renderEmployee shows the overview of the employee load finds, with refused, the delegation
// form of a refused change, and its messages.
func (s *Server) renderEmployee(w http.ResponseWriter, r *http.Request, status int, load func(pgx.Tx) (uuid.UUID, error),
	refused employee.DelegationForm) error {
	c := mustCurrent(r)
	p := employee.ShowPage{CanManage: access.ManageOrganisation(c.Principal) == nil, Now: time.Now(),
		CanEndDelegations: access.Require(c.Principal, access.DelegationsGrant) == nil, Refused: refused}
	e, err := s.inCaseDossier(r, "overview", load, func(tx pgx.Tx, e org.Employee) (err error) {
		p.Delegations, p.ShowDelegations, err = delegationsFor(r.Context(), tx, c.Principal, e)
		return err
	})
	if err != nil {
		return err
	}
	p.Employee = e
	p.Page = s.page(r, "employee.title", e.FullName())
	return s.render(w, r, status, employee.Show(p))
}

func (s *Server) showEmployeeDocuments(w http.ResponseWriter, r *http.Request) error {
	return s.renderEmployeeDocuments(w, r, http.StatusOK, nil)
}

// renderEmployeeDocuments shows the documents tab of an employee's dossier: the documents per
// category the user may read, with the upload form (uploadErrs: those of a refused upload).
func (s *Server) renderEmployeeDocuments(w http.ResponseWriter, r *http.Request, status int, uploadErrs map[string]string) error {
	c := mustCurrent(r)
	var p employee.DocumentsPage
	e, err := s.inDossier(r, "documents", func(tx pgx.Tx, e org.Employee) (err error) {
		p.Documents, err = s.dossierDocuments(r.Context(), tx, c.Principal, document.DossierEmployee, e.ID, uploadErrs)
		return err
	})
	if err != nil {
		return err
	}
	p.Employee = e
	p.Page = s.page(r, "employee.documents_title", e.FullName())
	return s.render(w, r, status, employee.Documents(p))
}

func (s *Server) newEmployee(w http.ResponseWriter, r *http.Request) error {
	if err := access.ManageOrganisation(mustCurrent(r).Principal); err != nil {
		return err
	}
	return s.renderEmployeeForm(w, r, http.StatusOK, org.Employee{}, nil)
}

func (s *Server) editEmployee(w http.ResponseWriter, r *http.Request) error {
	c := mustCurrent(r)
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var e org.Employee
	err = s.inTenant(r, func(tx pgx.Tx) error {
		if err := access.CanSeeEmployee(r.Context(), tx, c.Principal, id); err != nil {
			return err
		}
		if err := access.ManageOrganisation(c.Principal); err != nil {
			return err
		}
		e, err = org.FindEmployeeByID(r.Context(), tx, id)
		return err
	})
	if err != nil {
		return err
	}
	return s.renderEmployeeForm(w, r, http.StatusOK, e, nil)
}

// renderEmployeeForm shows the form of e (ID Nil: a new employee) with errs, the errors of a
// refused save.
func (s *Server) renderEmployeeForm(w http.ResponseWriter, r *http.Request, status int, e org.Employee, errs map[string]string) error {
	creating := e.ID == uuid.Nil
	p := employee.FormPage{Action: "/employees", Employee: e, Errors: errs}
	title := "employee.new"
	if !creating {
		p.Action, title = "/employees/"+e.ID.String(), "employee.edit"
	}
	p.Page = s.page(r, title)
	err := s.inTenant(r, func(tx pgx.Tx) error {
		employers, err := org.FindAllEmployers(r.Context(), tx)
		if err != nil {
			return err
		}
		for _, em := range employers {
			if !creating && em.ID != e.EmployerID {
				continue
			}
			depts, err := org.FindDepartments(r.Context(), tx, em.ID)
			if err != nil {
				return err
			}
			p.Employers = append(p.Employers, employee.EmployerDepartments{Employer: em, Departments: depts})
		}
		return nil
	})
	if err != nil {
		return err
	}
	return s.render(w, r, status, employee.Form(p))
}

func employeeFromForm(r *http.Request, id uuid.UUID) (org.Employee, *form) {
	f := newForm(r)
	e := org.Employee{
		ID:              id,
		DepartmentID:    f.optUUID("department_id"),
		PersonnelNumber: f.str("personnel_number"),
		Initials:        f.str("initials"),
		FirstName:       f.str("first_name"),
		NamePrefix:      f.str("name_prefix"),
		LastName:        f.str("last_name"),
		BirthDate:       f.optDate("birth_date"),
		BSN:             f.str("bsn"),
		Email:           f.str("email"),
		Phone:           f.str("phone"),
		Street:          f.str("street"),
		HouseNumber:     f.str("house_number"),
		PostalCode:      f.str("postal_code"),
		City:            f.str("city"),
		EmploymentStart: f.optDate("employment_start"),
		EmploymentEnd:   f.optDate("employment_end"),
	}
	if id == uuid.Nil {
		if em := f.optUUID("employer_id"); em != nil {
			e.EmployerID = *em
		}
	}
	return e, f
}

func (s *Server) createEmployee(w http.ResponseWriter, r *http.Request) error {
	return s.saveEmployee(w, r, uuid.Nil)
}

func (s *Server) updateEmployee(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	return s.saveEmployee(w, r, id)
}

// saveEmployee creates (id is Nil) or updates an employee. The rights are asked before the
// form is checked, so a user who may not make the change learns nothing from its errors.
func (s *Server) saveEmployee(w http.ResponseWriter, r *http.Request, id uuid.UUID) error {
	c := mustCurrent(r)
	if err := parseForm(r); err != nil {
		return err
	}
	e, f := employeeFromForm(r, id)
	var saved org.Employee
	err := s.inTenant(r, func(tx pgx.Tx) error {
		if id != uuid.Nil {
			if err := access.CanSeeEmployee(r.Context(), tx, c.Principal, id); err != nil {
				return err
			}
			old, err := org.FindEmployeeByID(r.Context(), tx, id)
			if err != nil {
				return err
			}
			e.EmployerID = old.EmployerID
		}
		if err := access.ManageOrganisation(c.Principal); err != nil {
			return err
		}
		if err := f.err(); err != nil {
			return err
		}
		var err error
		if id == uuid.Nil {
			saved, err = org.CreateEmployee(r.Context(), tx, editor(r), e)
		} else {
			saved, err = org.UpdateEmployee(r.Context(), tx, editor(r), e)
		}
		return err
	})
	if errs, status, ok := formErrors(r, err); ok {
		return s.renderEmployeeForm(w, r, status, e, errs)
	} else if err != nil {
		return err
	}
	s.flash(r, "flash.saved")
	return redirect(w, r, "/employees/"+saved.ID.String())
}
