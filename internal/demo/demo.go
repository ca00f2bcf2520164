// Package demo loads the demo tenant: a fictitious occupational-health service with three
// employers, their departments, two intervention providers, log-ins for every kind of user and
// as many generated employees as asked. The data is invented but looks Dutch, and it is the same
// on every run.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/auth"
	"github.com/dossierkast/dossierkast/internal/casefile"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/document"
	"github.com/dossierkast/dossierkast/internal/org"
	"github.com/dossierkast/dossierkast/internal/secret"
)

// TenantName is the name of the demo tenant; Load recognises it by this name and is_demo.
const TenantName = "Arbodienst Lindewaard (demo)"

// Password is the password of every demo log-in.
const Password = "dossierkast-demo"

// DefaultEmployees is how many employees Load makes when Options.Employees is zero.
const DefaultEmployees = 300

// MaxEmployees is the most employees the demo can hold: the number of distinct BSNs the
// generator can make.
const MaxEmployees = bsnSpace

// BatchSize is how many employees one COPY transaction writes.
const BatchSize = 10_000

// lockKey serialises concurrent Loads on one database (advisory locks are per database).
const lockKey = 7453120101

// ErrNonDemoTenants is returned (wrapped, with the tenants' names) when the database holds
// tenants that are not demo tenants and Options.Force is not set.
var ErrNonDemoTenants = errors.New("the database holds tenants that are not demo tenants")

// Options controls Load.
type Options struct {
	// Employees is how many employees the demo tenant should have; 0 means DefaultEmployees.
	Employees int
	// Force loads the demo even when the database holds tenants that are not demo tenants.
	Force bool
	// Out receives one line per step; nil discards them.
	Out io.Writer
	// Examples adds the document categories and matrix, the links, blacklist entry and
	// delegations that show the access rules at work, and case data. Tests that set up their
	// own leave it off.
	Examples bool
	// Blobs stores the demo documents (with Examples); nil loads no documents.
	Blobs document.BlobStore
	// Keys seals the demo datastream's pseudonym key; with Examples and Blobs it makes a hosted
	// SFTP account whose pseudonymised configuration has delivered once into Blobs (the hosted
	// server reads its files from there: give the store serve uses, BLOB_URL). Nil makes none.
	Keys *secret.Keyring
}

// Login is a demo log-in, for printing.
type Login struct {
	Email    string
	Password string
	Name     string
	Kind     access.Kind
	Role     string
}

// Result is what Load did and the log-ins to print.
type Result struct {
	TenantID   uuid.UUID
	TenantName string
	// Created is true when this call created the demo tenant.
	Created bool
	// Employees is how many employees the demo tenant has now; EmployeesAdded how many this call
	// loaded.
	Employees      int
	EmployeesAdded int
	Logins         []Login
}

// loginSpec is a demo user; employer is the index in employerSpecs the user is tied to (employer
// users), provider the index in providerNames (coach users).
type loginSpec struct {
	email, name, role string
	kind              access.Kind
	employer          int
	provider          int
}

var loginSpecs = []loginSpec{
	{"beheerder@demo.dossierkast.nl", "Ingrid van Dam", "Beheerder", access.KindProvider, -1, -1},
	{"casemanager@demo.dossierkast.nl", "Mark Jansen", "Casemanager", access.KindProvider, -1, -1},
	{"bedrijfsarts@demo.dossierkast.nl", "Eva Willems", "Bedrijfsarts", access.KindProvider, -1, -1},
	{"hr@demo.dossierkast.nl", "Petra de Groot", "HR-medewerker", access.KindEmployer, 0, -1},
	{"leidinggevende@demo.dossierkast.nl", "Karin Bakker", "Leidinggevende", access.KindEmployer, 1, -1},
	{"coach@demo.dossierkast.nl", "Luuk Smit", "Coach", access.KindCoach, -1, 0},
}

// Logins returns the demo log-ins, all with Password.
func Logins() []Login {
	list := make([]Login, len(loginSpecs))
	for i, s := range loginSpecs {
		list[i] = Login{Email: s.email, Password: Password, Name: s.name, Kind: s.kind, Role: s.role}
	}
	return list
}

// Load makes sure the demo tenant exists with at least opts.Employees employees, and returns its
// id and log-ins. It is idempotent and resumable: it creates the tenant (the one with is_demo
// set and TenantName) when missing, then creates whichever of its employer group, employers,
// departments, providers and users are missing (found by name, employer number or e-mail; what
// exists is left as it is, including changed passwords), and finally tops the employees up to
// opts.Employees if fewer exist; it never removes any. Employees are generated
// deterministically, so a top-up continues where the earlier load stopped and reruns give the
// same people. They are written with COPY in transactions of BatchSize, so an interrupted load
// keeps what it wrote and the next Load completes it.
//
// Load refuses, with an error wrapping ErrNonDemoTenants, when the database holds a tenant that
// is not a demo tenant, unless opts.Force is set: demo log-ins with a published password do not
// belong next to real data. Concurrent Loads on one database run one after the other.
func Load(ctx context.Context, pool *pgxpool.Pool, opts Options) (Result, error) {
	if opts.Employees == 0 {
		opts.Employees = DefaultEmployees
	}
	if opts.Employees < 0 || opts.Employees > MaxEmployees {
		return Result{}, fmt.Errorf("demo: employees must be between 1 and %d, not %d", MaxEmployees, opts.Employees)
	}
	out := opts.Out
	if out == nil {
		out = io.Discard
	}

	unlock, err := lock(ctx, pool)
	if err != nil {
		return Result{}, err
	}
	defer unlock()

	tenant, created, err := findOrCreateTenant(ctx, pool, opts.Force, out)
	if err != nil {
		return Result{}, err
	}
	res := Result{TenantID: tenant.ID, TenantName: tenant.Name, Created: created, Logins: Logins()}

	var employers []plannedEmployer
	err = database.InTenant(ctx, pool, tenant.ID, func(tx pgx.Tx) error {
		var err error
		employers, err = ensureOrganisation(ctx, tx, out)
		return err
	})
	if err != nil {
		return res, fmt.Errorf("demo: %w", err)
	}

	res.Employees, res.EmployeesAdded, err = loadEmployees(ctx, pool, tenant.ID, newGenerator(employers), opts.Employees, out)
	if err != nil {
		return res, fmt.Errorf("demo: %w", err)
	}
	if !opts.Examples {
		return res, nil
	}
	err = database.InTenant(ctx, pool, tenant.ID, func(tx pgx.Tx) error {
		if err := ensureAccess(ctx, tx, tenant.ID, employers); err != nil {
			return err
		}
		return ensureCaseData(ctx, tx, tenant.ID, employers, out)
	})
	if err != nil {
		return res, fmt.Errorf("demo: %w", err)
	}
	if err := generateCaseData(ctx, pool, tenant.ID, out); err != nil {
		return res, fmt.Errorf("demo: %w", err)
	}
	err = database.InTenant(ctx, pool, tenant.ID, func(tx pgx.Tx) error { return ensureInterventions(ctx, tx, employers, out) })
	if err != nil {
		return res, fmt.Errorf("demo: %w", err)
	}
	if opts.Blobs != nil {
		if _, err := ensureDocuments(ctx, pool, tenant.ID, opts.Blobs, out); err != nil {
			return res, fmt.Errorf("demo: %w", err)
		}
	}
	if opts.Blobs != nil && opts.Keys != nil {
		if _, err := ensureDatastream(ctx, pool, tenant.ID, opts.Blobs, opts.Keys, out); err != nil {
			return res, fmt.Errorf("demo: datastream: %w", err)
		}
	}
	return res, nil
}

// lock takes the demo advisory lock on a connection of its own and returns its release.
func lock(ctx context.Context, pool *pgxpool.Pool) (func(), error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("demo: lock: %w", err)
	}
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(lockKey)); err != nil {
		conn.Release()
		return nil, fmt.Errorf("demo: lock: %w", err)
	}
	return func() {
		ctx := context.WithoutCancel(ctx)
		if _, err := conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", int64(lockKey)); err != nil {
			// A connection that may still hold the lock must not go back to the pool.
			conn.Conn().Close(ctx)
		}
		conn.Release()
	}, nil
}

// findOrCreateTenant returns the demo tenant, creating it when missing, after checking that no
// other kind of tenant is present (unless force).
func findOrCreateTenant(ctx context.Context, pool *pgxpool.Pool, force bool, out io.Writer) (org.Tenant, bool, error) {
	tenants, err := org.FindTenants(ctx, pool)
	if err != nil {
		return org.Tenant{}, false, fmt.Errorf("demo: %w", err)
	}
	var others []string
	found := -1
	for i, t := range tenants {
		switch {
		case !t.IsDemo:
			others = append(others, fmt.Sprintf("%q", t.Name))
		case t.Name == TenantName && found < 0:
			found = i
		}
	}
	if len(others) > 0 {
		if !force {
			return org.Tenant{}, false, fmt.Errorf("demo: %w (%s); use --force to load the demo tenant anyway",
				ErrNonDemoTenants, strings.Join(others, ", "))
		}
		fmt.Fprintf(out, "demo: loading despite %d other tenant(s), as forced\n", len(others))
	}
	if found >= 0 {
		fmt.Fprintf(out, "demo: tenant %q exists\n", TenantName)
		return tenants[found], false, nil
	}
	t, err := org.CreateTenant(ctx, pool, TenantName, true)
	if err != nil {
		return org.Tenant{}, false, fmt.Errorf("demo: %w", err)
	}
	fmt.Fprintf(out, "demo: tenant %q created\n", TenantName)
	return t, true, nil
}

// ensureOrganisation creates the missing parts of the fixed organisation and returns the
// employers with their department ids.
func ensureOrganisation(ctx context.Context, tx pgx.Tx, out io.Writer) ([]plannedEmployer, error) {
	var made []string
	count := func(n int, what string) {
		if n > 0 {
			made = append(made, fmt.Sprintf("%d %s", n, what))
		}
	}

	groups, err := org.FindEmployerGroups(ctx, tx)
	if err != nil {
		return nil, err
	}
	gi := slices.IndexFunc(groups, func(g org.EmployerGroup) bool { return g.Name == groupName })
	var group org.EmployerGroup
	if gi >= 0 {
		group = groups[gi]
	} else {
		if group, err = org.CreateEmployerGroup(ctx, tx, access.System(audit.Actor{}), groupName); err != nil {
			return nil, err
		}
		count(1, "employer group")
	}

	existing, err := org.FindAllEmployers(ctx, tx)
	if err != nil {
		return nil, err
	}
	var planned []plannedEmployer
	newEmployers, newDepartments := 0, 0
	for _, spec := range employerSpecs {
		i := slices.IndexFunc(existing, func(e org.Employer) bool { return e.EmployerNumber == spec.number })
		var e org.Employer
		if i >= 0 {
			e = existing[i]
		} else {
			e = org.Employer{Name: spec.name, EmployerNumber: spec.number, Products: spec.products}
			if spec.inGroup {
				e.GroupID = &group.ID
			}
			if e, err = org.CreateEmployer(ctx, tx, access.System(audit.Actor{}), e); err != nil {
				return nil, err
			}
			newEmployers++
		}
		depts, err := org.FindDepartments(ctx, tx, e.ID)
		if err != nil {
			return nil, err
		}
		p := plannedEmployer{id: e.ID, spec: spec}
		for _, ds := range spec.departments {
			j := slices.IndexFunc(depts, func(d org.Department) bool { return d.Name == ds.name })
			if j < 0 {
				d, err := org.CreateDepartment(ctx, tx, access.System(audit.Actor{}), org.Department{EmployerID: e.ID, Name: ds.name, Code: ds.code})
				if err != nil {
					return nil, err
				}
				depts = append(depts, d)
				j = len(depts) - 1
				newDepartments++
			}
			id := depts[j].ID
			p.departments = append(p.departments, &id)
		}
		planned = append(planned, p)
	}
	count(newEmployers, "employers")
	count(newDepartments, "departments")

	providers, err := org.FindProviders(ctx, tx)
	if err != nil {
		return nil, err
	}
	var providerIDs []uuid.UUID
	newProviders := 0
	for _, name := range providerNames {
		i := slices.IndexFunc(providers, func(p org.Provider) bool { return p.Name == name })
		if i >= 0 {
			providerIDs = append(providerIDs, providers[i].ID)
			continue
		}
		p, err := casefile.CreateProvider(ctx, tx, access.System(audit.Actor{}), name)
		if err != nil {
			return nil, err
		}
		providerIDs = append(providerIDs, p.ID)
		newProviders++
	}
	count(newProviders, "intervention providers")

	newUsers, err := ensureUsers(ctx, tx, planned, providerIDs)
	if err != nil {
		return nil, err
	}
	count(newUsers, "users")

	if len(made) > 0 {
		fmt.Fprintf(out, "demo: created %s\n", strings.Join(made, ", "))
	}
	return planned, nil
}

// ensureUsers creates the demo users that do not exist yet and returns how many it made. The
// password is hashed once, and only when needed: argon2id is slow on purpose.
func ensureUsers(ctx context.Context, tx pgx.Tx, employers []plannedEmployer, providerIDs []uuid.UUID) (int, error) {
	var hash string
	made := 0
	for _, s := range loginSpecs {
		users, _, err := org.FindUsers(ctx, tx, org.UserFilter{Query: s.email, Limit: 10})
		if err != nil {
			return made, err
		}
		if slices.ContainsFunc(users, func(u org.User) bool { return strings.EqualFold(u.Email, s.email) }) {
			continue
		}
		role, err := org.FindRoleByName(ctx, tx, s.role)
		if err != nil {
			return made, fmt.Errorf("role %q for %s: %w", s.role, s.email, err)
		}
		in := org.UserInput{Email: s.email, Name: s.name, Kind: s.kind, RoleID: role.ID, Language: "nl"}
		if s.employer >= 0 {
			in.EmployerIDs = []uuid.UUID{employers[s.employer].id}
		}
		if s.provider >= 0 {
			in.ProviderID = &providerIDs[s.provider]
		}
		if hash == "" {
			if hash, err = auth.HashPassword(Password); err != nil {
				return made, err
			}
		}
		if _, err := org.CreateUser(ctx, tx, access.System(audit.Actor{}), in, hash); err != nil {
			return made, fmt.Errorf("user %s: %w", s.email, err)
		}
		made++
	}
	return made, nil
}

// loadEmployees tops the tenant's employees up to want and returns how many there are now and
// how many it added. The next batch is generated while the current one is being copied.
func loadEmployees(ctx context.Context, pool *pgxpool.Pool, tenantID uuid.UUID, g *generator, want int, out io.Writer) (int, int, error) {
	var have, last int
	err := database.InTenant(ctx, pool, tenantID, func(tx pgx.Tx) error {
		// The highest generated personnel number says where the sequence stopped. Employees an
		// administrator added count towards want; a number of theirs in the generated range
		// moves the sequence past it.
		return tx.QueryRow(ctx, `SELECT count(*), coalesce(max(CASE WHEN personnel_number ~ '^[1-9][0-9]{5,6}$'
			THEN personnel_number::bigint END), $1) FROM employees`, personnelBase).Scan(&have, &last)
	})
	if err != nil {
		return 0, 0, fmt.Errorf("count employees: %w", err)
	}
	need := want - have
	if need <= 0 {
		fmt.Fprintf(out, "demo: %d employees present, %d asked: none added\n", have, want)
		return have, 0, nil
	}
	first := max(last-personnelBase, 0)
	if first+need > MaxEmployees {
		return have, 0, fmt.Errorf("cannot add %d employees after personnel number %d: the demo holds at most %d",
			need, last, MaxEmployees)
	}

	genCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []org.Employee, 1)
	go func() {
		defer close(batches)
		for from := first; from < first+need; from += BatchSize {
			batch := make([]org.Employee, min(BatchSize, first+need-from))
			for k := range batch {
				batch[k] = g.employee(from + k)
			}
			select {
			case batches <- batch:
			case <-genCtx.Done():
				return
			}
		}
	}()

	added := 0
	for batch := range batches {
		err := database.InTenant(ctx, pool, tenantID, func(tx pgx.Tx) error {
			n, err := org.CopyEmployees(ctx, tx, batch)
			if err == nil && n != int64(len(batch)) {
				err = fmt.Errorf("copy employees: %d of %d rows inserted", n, len(batch))
			}
			return err
		})
		if err != nil {
			return have + added, added, err
		}
		added += len(batch)
		fmt.Fprintf(out, "demo: %d of %d employees loaded\n", have+added, want)
	}
	if err := ctx.Err(); err != nil {
		return have + added, added, err
	}
	return have + added, added, nil
}

// loaders is how many connections write the demo's bulk case data at once. The employees take
// one: their statement trigger updates the shared per-department counts, so concurrent batches
// would wait for each other's commit at the end of every statement.
const loaders = 2

// connections returns how many loaders the pool allows next to the demo's lock, which holds a
// connection of its own: at least one.
func connections(pool *pgxpool.Pool) int {
	return max(1, min(loaders, int(pool.Config().MaxConns)-1))
}
