package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/auth"
	"github.com/dossierkast/dossierkast/internal/bundle"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/datastream"
	"github.com/dossierkast/dossierkast/internal/datastream/delivery"
	"github.com/dossierkast/dossierkast/internal/demo"
	"github.com/dossierkast/dossierkast/internal/document"
	"github.com/dossierkast/dossierkast/internal/export"
	"github.com/dossierkast/dossierkast/internal/org"
	"github.com/dossierkast/dossierkast/internal/secret"
)

// outsiderRefusal is what the users of TestRouteRefusals get from one route with an {id}: an
// administrator of another tenant always gets 404. hidden: an employer user of another
// employer, who cannot see the employer or employee the resource belongs to, gets 404 (false
// for tenant-wide resources, with why). missing: the user who sees the resource but lacks the
// right the route needs, and gets 403 ("" when seeing it is all the route needs, with why).
type outsiderRefusal struct {
	hidden  bool
	missing string
	why     string
}

// The users of missing: blind reaches every employee but holds no other right; reader may read
// every dossier, every category and medical data, and change nothing.
const (
	blind  = "blind"
	reader = "reader"
)

// routeRefusals is the outsider-refusal table: one row per route with an {id} parameter.
// TestRouteRefusals fails when a route has no row, so a new route needs one.
var routeRefusals = map[string]outsiderRefusal{
	"GET /employers/{id}": {hidden: true, why: "the page shows the employer's organisation to everyone in reach; " +
		"its dossier part (documents, contracts) needs employer_dossier.view and is left out without it"},
	"GET /employers/{id}/edit":                              {hidden: true, missing: reader},
	"POST /employers/{id}":                                  {hidden: true, missing: reader},
	"POST /employers/{id}/departments":                      {hidden: true, missing: reader},
	"GET /departments/{id}/edit":                            {hidden: true, missing: reader},
	"POST /departments/{id}":                                {hidden: true, missing: reader},
	"GET /employees/{id}":                                   {hidden: true, missing: blind},
	"GET /employees/{id}/edit":                              {hidden: true, missing: reader},
	"POST /employees/{id}":                                  {hidden: true, missing: reader},
	"POST /employers/{id}/documents":                        {hidden: true, missing: reader},
	"POST /employees/{id}/documents":                        {hidden: true, missing: reader},
	"GET /employees/{id}/documents":                         {hidden: true, missing: blind},
	"GET /documents/{id}":                                   {hidden: true, why: "a document of a category the user may not read does not exist for him (404), as TestAccessRoutes shows"},
	"GET /documents/{id}/delete":                            {hidden: true, missing: reader},
	"POST /documents/{id}/delete":                           {hidden: true, missing: reader},
	"GET /employees/{id}/absences":                          {hidden: true, missing: blind},
	"POST /employees/{id}/absences":                         {hidden: true, missing: reader},
	"GET /employees/{id}/absences/{aid}/edit":               {hidden: true, missing: reader},
	"POST /employees/{id}/absences/{aid}":                   {hidden: true, missing: reader},
	"POST /employees/{id}/absences/{aid}/percentages":       {hidden: true, missing: reader},
	"GET /employees/{id}/absences/{aid}/delete":             {hidden: true, missing: reader},
	"POST /employees/{id}/absences/{aid}/delete":            {hidden: true, missing: reader},
	"GET /employees/{id}/reports":                           {hidden: true, missing: blind},
	"POST /employees/{id}/reports":                          {hidden: true, missing: reader},
	"GET /employees/{id}/reports/{rid}/edit":                {hidden: true, missing: reader},
	"POST /employees/{id}/reports/{rid}":                    {hidden: true, missing: reader},
	"GET /employees/{id}/reports/{rid}/delete":              {hidden: true, missing: reader},
	"POST /employees/{id}/reports/{rid}/delete":             {hidden: true, missing: reader},
	"GET /employees/{id}/decisions":                         {hidden: true, missing: blind},
	"POST /employees/{id}/decisions":                        {hidden: true, missing: reader},
	"GET /employees/{id}/decisions/{did}/edit":              {hidden: true, missing: reader},
	"POST /employees/{id}/decisions/{did}":                  {hidden: true, missing: reader},
	"GET /employees/{id}/decisions/{did}/delete":            {hidden: true, missing: reader},
	"POST /employees/{id}/decisions/{did}/delete":           {hidden: true, missing: reader},
	"GET /employees/{id}/trajectories":                      {hidden: true, missing: blind},
	"POST /employees/{id}/trajectories":                     {hidden: true, missing: reader},
	"GET /trajectories/{id}":                                {hidden: true, missing: blind},
	"POST /trajectories/{id}/close":                         {hidden: true, missing: reader},
	"POST /tasks/{id}/complete":                             {hidden: true, missing: reader},
	"POST /tasks/{id}/due-date":                             {hidden: true, missing: reader},
	"GET /tasks/{id}":                                       {hidden: true, missing: blind},
	"POST /tasks/{id}/deploy":                               {hidden: true, missing: reader},
	"POST /tasks/{id}/delegate":                             {hidden: true, missing: reader},
	"GET /employees/{id}/agenda":                            {hidden: true, missing: blind},
	"POST /employees/{id}/appointments":                     {hidden: true, missing: reader},
	"GET /appointments/{id}/edit":                           {hidden: true, missing: reader},
	"POST /appointments/{id}":                               {hidden: true, missing: reader},
	"GET /appointments/{id}/delete":                         {hidden: true, missing: reader},
	"POST /appointments/{id}/delete":                        {hidden: true, missing: reader},
	"POST /employees/{id}/consultations":                    {hidden: true, missing: reader},
	"GET /consultations/{id}/edit":                          {hidden: true, missing: reader},
	"POST /consultations/{id}":                              {hidden: true, missing: reader},
	"GET /consultations/{id}/delete":                        {hidden: true, missing: reader},
	"POST /consultations/{id}/delete":                       {hidden: true, missing: reader},
	"GET /employers/{id}/agreements":                        {hidden: true, missing: blind},
	"POST /employers/{id}/agreements":                       {hidden: true, missing: reader},
	"GET /employers/{id}/agreements/{aid}/edit":             {hidden: true, missing: reader},
	"POST /employers/{id}/agreements/{aid}":                 {hidden: true, missing: reader},
	"GET /employers/{id}/agreements/{aid}/delete":           {hidden: true, missing: reader},
	"POST /employers/{id}/agreements/{aid}/delete":          {hidden: true, missing: reader},
	"GET /employers/{id}/policies":                          {hidden: true, missing: blind},
	"POST /employers/{id}/policies":                         {hidden: true, missing: reader},
	"GET /employers/{id}/policies/{pid}/edit":               {hidden: true, missing: reader},
	"POST /employers/{id}/policies/{pid}":                   {hidden: true, missing: reader},
	"GET /employers/{id}/policies/{pid}/delete":             {hidden: true, missing: reader},
	"POST /employers/{id}/policies/{pid}/delete":            {hidden: true, missing: reader},
	"GET /employers/{id}/full-dossier":                      {hidden: true, missing: blind},
	"GET /employees/{id}/exports":                           {hidden: true, missing: reader},
	"POST /employees/{id}/exports":                          {hidden: true, missing: reader},
	"GET /exports/{id}":                                     {hidden: true, missing: reader},
	"GET /exports/{id}/json":                                {hidden: true, missing: reader},
	"POST /exports/{id}/retry":                              {hidden: true, missing: reader},
	"GET /employers/{id}/full-dossier/generate":             {hidden: true, missing: reader},
	"POST /employers/{id}/full-dossier/generate":            {hidden: true, missing: reader},
	"GET /employers/{id}/full-dossier/bundles/{bid}/retry":  {hidden: true, missing: reader},
	"POST /employers/{id}/full-dossier/bundles/{bid}/retry": {hidden: true, missing: reader},
	"GET /employers/{id}/full-dossier/delete":               {hidden: true, missing: reader},
	"POST /employers/{id}/full-dossier/delete":              {hidden: true, missing: reader},
	"GET /employees/{id}/policies":                          {hidden: true, missing: blind},
	"POST /employees/{id}/policies":                         {hidden: true, missing: reader},
	"GET /employees/{id}/policies/{pid}/edit":               {hidden: true, missing: reader},
	"POST /employees/{id}/policies/{pid}":                   {hidden: true, missing: reader},
	"GET /employees/{id}/policies/{pid}/delete":             {hidden: true, missing: reader},
	"POST /employees/{id}/policies/{pid}/delete":            {hidden: true, missing: reader},
	"GET /admin/interventions/programmes/{id}/edit":         {missing: reader, why: tenantWide},
	"POST /admin/interventions/programmes/{id}":             {missing: reader, why: tenantWide},
	"POST /admin/providers/{id}/executor":                   {missing: reader, why: tenantWide},
	"POST /delegations/{id}/end":                            {hidden: true, missing: reader},
	"POST /delegations/{id}/end-date":                       {hidden: true, missing: reader},
	"GET /admin/users/{id}":                                 {missing: reader, why: tenantWide},
	"POST /admin/users/{id}":                                {missing: reader, why: tenantWide},
	"POST /admin/users/{id}/block":                          {missing: reader, why: tenantWide},
	"POST /admin/users/{id}/unblock":                        {missing: reader, why: tenantWide},
	"GET /admin/users/{id}/access":                          {missing: reader, why: tenantWide},
	"POST /admin/users/{id}/access":                         {missing: reader, why: tenantWide},
	"POST /admin/roles/{id}":                                {missing: reader, why: tenantWide},
	"POST /admin/roles/{id}/matrix":                         {missing: reader, why: tenantWide},
	"POST /admin/categories/{id}":                           {missing: reader, why: tenantWide},
	"POST /admin/categories/{id}/delete":                    {missing: reader, why: tenantWide},
	"GET /admin/categories/{id}/delete":                     {missing: reader, why: tenantWide},
	"POST /admin/jobs/{id}/retry":                           {missing: reader, why: tenantWide},
	"POST /admin/jobs/{id}/cancel":                          {missing: reader, why: tenantWide},
	"GET /admin/datastreams/accounts/{id}":                  {missing: reader, why: tenantWide},
	"POST /admin/datastreams/accounts/{id}":                 {missing: reader, why: tenantWide},
	"POST /admin/datastreams/accounts/{id}/archive":         {missing: reader, why: tenantWide},
	"POST /admin/datastreams/accounts/{id}/block":           {missing: reader, why: tenantWide},
	"POST /admin/datastreams/accounts/{id}/unblock":         {missing: reader, why: tenantWide},
	"POST /admin/datastreams/accounts/{id}/password":        {missing: reader, why: tenantWide},
	"POST /admin/datastreams/accounts/{id}/test":            {missing: reader, why: tenantWide},
	"POST /admin/datastreams/accounts/{id}/host-key":        {missing: reader, why: tenantWide},
	"GET /admin/datastreams/accounts/{id}/files":            {missing: reader, why: tenantWide},
	"GET /admin/datastreams/accounts/{id}/files/download":   {missing: reader, why: tenantWide},
	"GET /admin/audit/{id}":                                 {missing: reader, why: tenantWide},
	"GET /admin/datastreams/accounts/{id}/configs/new":      {missing: reader, why: tenantWide},
	"POST /admin/datastreams/accounts/{id}/configs":         {missing: reader, why: tenantWide},
	"GET /admin/datastreams/configs/{id}":                   {missing: reader, why: tenantWide},
	"POST /admin/datastreams/configs/{id}":                  {missing: reader, why: tenantWide},
	"POST /admin/datastreams/configs/{id}/archive":          {missing: reader, why: tenantWide},
	"POST /admin/datastreams/configs/{id}/run":              {missing: reader, why: tenantWide},
	"POST /admin/datastreams/configs/{id}/rotate-key":       {missing: reader, why: tenantWide},
	"GET /admin/datastreams/configs/{id}/files":             {missing: reader, why: tenantWide},
	"GET /admin/datastreams/configs/{id}/files/download":    {missing: reader, why: tenantWide},
}

const tenantWide = "a tenant-wide resource: it belongs to no employer or employee that could be hidden"

// routeParam names the resource a path parameter stands for, from the path before it.
func routeParam(pattern, param string) string {
	segs := strings.Split(strings.TrimPrefix(pattern, "/"), "/")
	parent := segs[0]
	if parent == "admin" {
		parent += "/" + segs[1]
		if segs[1] == "interventions" && len(segs) > 2 {
			parent += "/" + segs[2]
		}
	}
	switch param {
	case "aid":
		return map[string]string{"employers": "agreement", "employees": "absence"}[parent]
	case "pid":
		return map[string]string{"employers": "policy", "employees": "participation"}[parent]
	case "rid":
		return "report"
	case "did":
		return "decision"
	case "bid":
		return "bundle"
	}
	if strings.HasPrefix(pattern, "/admin/datastreams/configs/") {
		return "datastream_config"
	}
	return map[string]string{"employers": "employer", "employees": "employee", "departments": "department",
		"documents": "document", "trajectories": "trajectory", "tasks": "task", "appointments": "appointment",
		"consultations": "consultation", "admin/interventions/programmes": "programme", "admin/users": "user",
		"admin/roles": "role", "admin/categories": "category", "admin/jobs": "job", "exports": "export",
		"admin/providers": "provider", "delegations": "delegation", "admin/datastreams": "datastream_account",
		"admin/audit": "audit"}[parent]
}

// TestRouteRefusals walks the router: every route with an {id} must have a row in
// routeRefusals, and answers another tenant's administrator with 404, a user who cannot see
// the employer or employee with 404 and a user without the right with 403.
func TestRouteRefusals(t *testing.T) {
	t.Parallel()
	b := setup(t, 10)
	f := newRouteFixture(t, b)

	var routes []string
	err := chi.Walk(b.app.Routes(), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if strings.Contains(route, "{") && method != http.MethodHead {
			routes = append(routes, method+" "+route)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for key := range routeRefusals {
		if !slices.Contains(routes, key) {
			t.Errorf("routeRefusals has %q, which is not a route", key)
		}
	}
	for _, key := range routes {
		want, ok := routeRefusals[key]
		if !ok {
			t.Errorf("route %s has no row in routeRefusals: add its outsider refusals", key)
			continue
		}
		if (!want.hidden || want.missing == "") && want.why == "" {
			t.Errorf("route %s: say why a refusal does not apply", key)
		}
		method, pattern, _ := strings.Cut(key, " ")
		path := regexp.MustCompile(`\{(\w+)\}`).ReplaceAllStringFunc(pattern, func(p string) string {
			kind := routeParam(pattern, strings.Trim(p, "{}"))
			id, ok := f.ids[kind]
			if !ok {
				t.Fatalf("%s: no fixture id for %s (%s)", key, p, kind)
			}
			return id
		})
		t.Run(strings.ReplaceAll(key, "/", "_"), func(t *testing.T) {
			t.Parallel()
			check := func(who string, c *http.Client, wantStatus int) {
				t.Helper()
				var status int
				if method == http.MethodGet {
					resp, _ := b.get(t, c, path)
					status = resp.StatusCode
				} else {
					status = b.post(t, c, path, url.Values{}).StatusCode
				}
				if status != wantStatus {
					t.Errorf("%s %s as %s = %d, want %d", method, path, who, status, wantStatus)
				}
			}
			check("another tenant's administrator", f.clients["outsider"], http.StatusNotFound)
			if want.hidden {
				check("an employer user of another employer", f.clients["elsewhere"], http.StatusNotFound)
			}
			if want.missing != "" {
				check(want.missing, f.clients[want.missing], http.StatusForbidden)
			}
		})
	}
}

type routeFixture struct {
	ids     map[string]string // resource kind → an id in the demo tenant
	clients map[string]*http.Client
}

// newRouteFixture gives TestRouteRefusals an employee with every kind of case data, the users
// it asks as, and another tenant with an administrator.
func newRouteFixture(t *testing.T, b *testBundle) *routeFixture {
	t.Helper()
	ctx := context.Background()
	f := &routeFixture{ids: map[string]string{}, clients: map[string]*http.Client{}}
	hash, err := auth.HashPassword(demo.Password)
	if err != nil {
		t.Fatal(err)
	}
	loadExamples(t, b)
	admin := demoUser(t, b, adminEmail)
	var employer, employee, other uuid.UUID
	b.inTenant(t, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, employeeWithEverything).Scan(&employer, &employee)
		if err != nil {
			return fmt.Errorf("an employee with every kind of case data: %w", err)
		}
		if err := tx.QueryRow(ctx, `SELECT id FROM employers WHERE id <> $1 LIMIT 1`, employer).Scan(&other); err != nil {
			return err
		}
		_, p, err := org.LoadPrincipal(ctx, tx, b.tenant, admin.ID)
		if err != nil {
			return err
		}
		bu, err := bundle.RequestBundle(ctx, tx, b.river, access.Editor{Principal: p, Actor: audit.Actor{UserID: &admin.ID}}, employer)
		if err != nil {
			return fmt.Errorf("request bundle: %w", err)
		}
		f.ids["bundle"] = bu.ID.String()
		x, err := export.RequestExport(ctx, tx, b.river, access.Editor{Principal: p, Actor: audit.Actor{UserID: &admin.ID}}, employee, "")
		if err != nil {
			return fmt.Errorf("request export: %w", err)
		}
		f.ids["export"] = x.ID.String()
		acc, _, err := datastream.CreateAccount(ctx, tx, access.Editor{Principal: p, Actor: audit.Actor{UserID: &admin.ID}}, nil,
			datastream.AccountInput{Name: "Route-account", Type: datastream.TypeHosted, Language: "nl", AllEmployers: true, AuthMethod: datastream.AuthPassword})
		if err != nil {
			return fmt.Errorf("datastream account: %w", err)
		}
		f.ids["datastream_account"] = acc.ID.String()
		cfg, err := delivery.CreateConfig(ctx, tx, access.Editor{Principal: p, Actor: audit.Actor{UserID: &admin.ID}},
			secret.NewKeyring(secret.GenerateKey()), acc.ID, delivery.Input{Name: "Route-config", Version: "v2",
				Streams: []string{"werknemers"}, Frequency: delivery.Weekly, Mode: "incremental"})
		if err != nil {
			return fmt.Errorf("datastream configuration: %w", err)
		}
		f.ids["datastream_config"] = cfg.ID.String()
		queries := map[string]string{
			"employer":      `SELECT $1::uuid WHERE $2::uuid IS NOT NULL`,
			"employee":      `SELECT $2::uuid WHERE $1::uuid IS NOT NULL`,
			"department":    `SELECT id FROM departments WHERE employer_id = $1 AND $2::uuid IS NOT NULL LIMIT 1`,
			"agreement":     `SELECT id FROM service_agreements WHERE employer_id = $1 AND $2::uuid IS NOT NULL LIMIT 1`,
			"policy":        `SELECT id FROM insurance_policies WHERE employer_id = $1 AND $2::uuid IS NOT NULL LIMIT 1`,
			"absence":       `SELECT id FROM absences WHERE employer_id = $1 AND employee_id = $2 LIMIT 1`,
			"report":        `SELECT id FROM reports WHERE employer_id = $1 AND employee_id = $2 LIMIT 1`,
			"decision":      `SELECT id FROM decisions WHERE employer_id = $1 AND employee_id = $2 LIMIT 1`,
			"trajectory":    `SELECT trajectory_id FROM tasks WHERE employer_id = $1 AND employee_id = $2 LIMIT 1`,
			"task":          `SELECT id FROM tasks WHERE employer_id = $1 AND employee_id = $2 LIMIT 1`,
			"appointment":   `SELECT id FROM appointments WHERE employer_id = $1 AND employee_id = $2 LIMIT 1`,
			"consultation":  `SELECT id FROM consultations WHERE employer_id = $1 AND employee_id = $2 LIMIT 1`,
			"participation": `SELECT id FROM policy_participants WHERE employer_id = $1 AND employee_id = $2 LIMIT 1`,
			"document": `SELECT d.id FROM documents d JOIN document_categories c ON c.id = d.category_id
				WHERE d.employer_id = $1 AND d.employee_id = $2 AND NOT c.medical LIMIT 1`,
			"programme": `SELECT id FROM programmes WHERE $1::uuid IS NOT NULL AND $2::uuid IS NOT NULL LIMIT 1`,
			"provider":  `SELECT id FROM intervention_providers WHERE $1::uuid IS NOT NULL AND $2::uuid IS NOT NULL LIMIT 1`,
			"delegation": `WITH d AS (INSERT INTO dossier_delegations (tenant_id, user_id, employee_id)
				SELECT app_tenant(), u.id, $2 FROM users u WHERE u.email = 'coach@demo.dossierkast.nl' AND $1::uuid IS NOT NULL RETURNING id)
				SELECT id FROM d`,
			"user":     `SELECT id FROM users WHERE email = 'casemanager@demo.dossierkast.nl' AND $1::uuid IS NOT NULL AND $2::uuid IS NOT NULL`,
			"role":     `SELECT id FROM roles WHERE name = 'Casemanager' AND $1::uuid IS NOT NULL AND $2::uuid IS NOT NULL`,
			"category": `SELECT id FROM document_categories WHERE system IS NULL AND $1::uuid IS NOT NULL AND $2::uuid IS NOT NULL LIMIT 1`,
			"audit":    `SELECT id FROM audit_events WHERE $1::uuid IS NOT NULL AND $2::uuid IS NOT NULL LIMIT 1`,
		}
		for kind, q := range queries {
			var id uuid.UUID
			if err := tx.QueryRow(ctx, q, employer, employee).Scan(&id); err != nil {
				return fmt.Errorf("fixture %s: %w", kind, err)
			}
			f.ids[kind] = id.String()
		}
		return nil
	})
	var job int64
	if err := b.db.Pool.QueryRow(ctx, "SELECT max(id) FROM river_job").Scan(&job); err != nil {
		t.Fatal(err)
	}
	f.ids["job"] = fmt.Sprint(job)

	users := map[string]struct {
		kind   access.Kind
		rights []access.Right
	}{
		blind:       {access.KindProvider, []access.Right{access.EmployeesAll}},
		reader:      {access.KindProvider, []access.Right{access.EmployeesAll, access.EmployeeDossierView, access.EmployerDossierView, access.MedicalView}},
		"elsewhere": {access.KindEmployer, employerRights()},
	}
	b.inTenant(t, func(tx pgx.Tx) error {
		for name, u := range users {
			role, err := org.CreateRole(ctx, tx, access.System(audit.Actor{}), org.Role{Name: "Route " + name, Kind: u.kind, Rights: u.rights})
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO category_permissions (tenant_id, role_id, category_id, level)
				SELECT app_tenant(), $1, id, 'read' FROM document_categories`, role.ID); err != nil {
				return err
			}
			in := org.UserInput{Email: name + "@route.test", Name: name, Kind: u.kind, RoleID: role.ID, Language: "nl"}
			if u.kind == access.KindEmployer {
				in.EmployerIDs = []uuid.UUID{other}
			}
			if _, err := org.CreateUser(ctx, tx, access.System(audit.Actor{}), in, hash); err != nil {
				return err
			}
		}
		return nil
	})
	tenant, err := org.CreateTenant(ctx, b.db.Pool, "Andere arbodienst", false)
	if err != nil {
		t.Fatal(err)
	}
	err = database.InTenant(ctx, b.db.Pool, tenant.ID, func(tx pgx.Tx) error {
		var role uuid.UUID
		if err := tx.QueryRow(ctx, "SELECT id FROM roles WHERE name = 'Beheerder'").Scan(&role); err != nil {
			return err
		}
		_, err := org.CreateUser(ctx, tx, access.System(audit.Actor{}), org.UserInput{Email: "outsider@route.test", Name: "Buiten", Kind: access.KindProvider,
			RoleID: role, Language: "nl"}, hash)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{blind, reader, "elsewhere", "outsider"} {
		f.clients[name] = b.login(t, name+"@route.test")
	}
	return f
}

// employerRights is every right an employer user may hold.
func employerRights() []access.Right {
	var rights []access.Right
	for _, r := range access.Catalogue {
		if !r.ProviderOnly() {
			rights = append(rights, r)
		}
	}
	return rights
}

// loadExamples adds the demo's examples to b's demo tenant: categories and matrix, links,
// blacklist, delegations, case data and documents (in b's blob store).
func loadExamples(t *testing.T, b *testBundle) {
	t.Helper()
	ctx := context.Background()
	blobs, err := document.OpenBlobStore(ctx, "file://"+filepath.ToSlash(b.blobDir))
	if err != nil {
		t.Fatal(err)
	}
	defer blobs.Close()
	var n int
	b.inTenant(t, func(tx pgx.Tx) error { return tx.QueryRow(ctx, "SELECT count(*) FROM employees").Scan(&n) })
	if _, err := demo.Load(ctx, b.db.Pool, demo.Options{Employees: n, Examples: true, Blobs: blobs}); err != nil {
		t.Fatal(err)
	}
}

// employeeWithEverything selects the employer and id of the first employee (by personnel
// number) with every kind of case data and documents, at an employer with a service agreement.
const employeeWithEverything = `SELECT e.employer_id, e.id FROM employees e WHERE
	EXISTS (SELECT FROM absences x WHERE x.employee_id = e.id) AND EXISTS (SELECT FROM reports x WHERE x.employee_id = e.id)
	AND EXISTS (SELECT FROM decisions x WHERE x.employee_id = e.id) AND EXISTS (SELECT FROM tasks x WHERE x.employee_id = e.id)
	AND EXISTS (SELECT FROM appointments x WHERE x.employee_id = e.id) AND EXISTS (SELECT FROM consultations x WHERE x.employee_id = e.id)
	AND EXISTS (SELECT FROM policy_participants x WHERE x.employee_id = e.id) AND EXISTS (SELECT FROM documents x WHERE x.employee_id = e.id)
	AND EXISTS (SELECT FROM service_agreements x WHERE x.employer_id = e.employer_id)
	ORDER BY e.personnel_number LIMIT 1`
