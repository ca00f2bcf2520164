package access_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/database/dbtest"
	"github.com/dossierkast/dossierkast/internal/org"
)

// propertyRuns is how many random worlds TestVisibilityProperty checks; ACCESS_SEED=n checks
// the one world of seed n (the seed a failure names).
const propertyRuns = 20

// For random links, blacklists and delegations (and employees moved between departments or
// deleted after they were counted), every user's employee list is exactly the set of employees
// whose detail check passes, its total is its length, and both follow DESIGN.md §4 as written
// out in Go (randomWorld.sees); the employees his running delegations show him
// (access.DelegatedNow, the coach's "Mijn cliënten") are those he sees and has a running
// delegation for; every count the employer pages show him is the length of the list behind it
// (checkCounts); every search finds, in search order, the employees he sees whose words the
// typed words start, with a capped count where asked (checkSearches).
func TestVisibilityProperty(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	seeds := make([]uint64, propertyRuns)
	base := uint64(time.Now().UnixNano())
	for i := range seeds {
		seeds[i] = base + uint64(i)
	}
	if s := os.Getenv("ACCESS_SEED"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("ACCESS_SEED=%q: %v", s, err)
		}
		seeds = []uint64{seed}
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			t.Logf("seed %d (rerun with ACCESS_SEED=%d go test -run TestVisibilityProperty ./internal/access/)", seed, seed)
			w := newRandomWorld(rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)))
			tenant := newTenant(t, db.Pool, fmt.Sprintf("Arbo %d", seed))
			w.store(t, db.Pool, tenant)
			for _, u := range w.users {
				w.check(t, db.Pool, tenant, u)
			}
		})
	}
}

var (
	propertyLastNames = []string{"Jansen", "Bakker", "Visser", "Smit", "Meijer", "Mulder", "Bos", "Vos", "Peters", "Dekker",
		"Blom", "Blomberg", "Blommestein", "Blom-de Vries", "Vries", "d'Ancona", "El Amrani", "Smits"}
	propertyFirstNames = []string{"Anna", "Bram", "Daan", "Fleur", "Lotte", "Sem", "Tess", "Noor", "Jan", "Zoë", "Blommie"}
	propertyPrefixes   = []string{"", "", "", "van", "de", "van der", "'t"}
)

type randomEmployee struct {
	id         uuid.UUID
	employer   int
	department int // index in departments, -1: none
	lastName   string
	firstName  string
	namePrefix string
	// After the world is stored, some employees move to another department (moveTo, -1: none)
	// and some are deleted, so employee_counts is kept by updates and deletes as well.
	moved, deleted bool
	moveTo         int
	// Some are renamed (to renameTo; lastName is the name before until then) and some get a
	// new e-mail address, which leaves their search words as they were.
	renameTo string
	mailed   bool
}

// departmentNow is the employee's department after the moves.
func (e randomEmployee) departmentNow() int {
	if e.moved {
		return e.moveTo
	}
	return e.department
}

type randomDelegation struct {
	employee int
	from     float64  // hours from now
	until    *float64 // hours from now; nil: open-ended
}

type randomUser struct {
	id                 uuid.UUID
	kind               access.Kind
	all, view, blocked bool
	employers          map[int]bool
	departments        map[int]bool
	links              map[int]bool
	blacklist          map[int]bool
	delegations        []randomDelegation
}

// randomWorld is one tenant's organisation and users, made from a seeded generator.
type randomWorld struct {
	employers     int
	departments   []int // the employer of each department
	employees     []randomEmployee
	users         []*randomUser
	employerIDs   []uuid.UUID
	departmentIDs []uuid.UUID
	query         string   // a last name to search for
	searches      []string // what users type in the search field
}

func newRandomWorld(rng *rand.Rand) *randomWorld {
	w := &randomWorld{employers: 2 + rng.IntN(3)}
	for e := range w.employers {
		for range 1 + rng.IntN(4) {
			w.departments = append(w.departments, e)
		}
	}
	for range 150 + rng.IntN(151) {
		e := randomEmployee{employer: rng.IntN(w.employers), department: -1,
			lastName:   propertyLastNames[rng.IntN(len(propertyLastNames))],
			firstName:  propertyFirstNames[rng.IntN(len(propertyFirstNames))],
			namePrefix: propertyPrefixes[rng.IntN(len(propertyPrefixes))]}
		if rng.IntN(10) > 0 {
			var own []int
			for d, employer := range w.departments {
				if employer == e.employer {
					own = append(own, d)
				}
			}
			e.department = own[rng.IntN(len(own))]
		}
		if rng.IntN(10) == 0 {
			e.moved, e.moveTo = true, -1
			var own []int
			for d, employer := range w.departments {
				if employer == e.employer {
					own = append(own, d)
				}
			}
			if rng.IntN(5) > 0 {
				e.moveTo = own[rng.IntN(len(own))]
			}
		}
		e.deleted = rng.IntN(30) == 0
		if rng.IntN(15) == 0 {
			e.renameTo = propertyLastNames[rng.IntN(len(propertyLastNames))]
		}
		e.mailed = rng.IntN(10) == 0
		w.employees = append(w.employees, e)
	}
	w.query = propertyLastNames[rng.IntN(len(propertyLastNames))]
	w.searches = randomSearches(rng, w)
	pick := func(n int) map[int]bool {
		set := map[int]bool{}
		for range n {
			set[rng.IntN(len(w.employees))] = true
		}
		return set
	}
	for range 10 {
		u := &randomUser{kind: access.Kinds[rng.IntN(len(access.Kinds))], all: rng.IntN(10) < 3, view: rng.IntN(10) < 7,
			blocked: rng.IntN(10) == 0, employers: map[int]bool{}, departments: map[int]bool{}}
		if u.kind == access.KindEmployer {
			for range 1 + rng.IntN(2) {
				u.employers[rng.IntN(w.employers)] = true
			}
		}
		for d := range w.departments {
			if rng.IntN(4) == 0 {
				u.departments[d] = true
			}
		}
		u.links = pick(rng.IntN(16))
		if u.kind == access.KindCoach && rng.IntN(2) == 0 {
			// A coach as he usually is: delegations only, whose list access.VisibleEmployees
			// reads through visible_delegated.
			u.departments, u.links = map[int]bool{}, map[int]bool{}
		}
		u.blacklist = pick(rng.IntN(21))
		// Blacklist some employees the user reaches by another path too.
		for i := range w.employees {
			if (u.links[i] || u.departments[w.employees[i].department]) && rng.IntN(8) == 0 {
				u.blacklist[i] = true
			}
		}
		for range rng.IntN(12) {
			// Whole hours away from now, so the fixture's now() and the check's now() (a moment
			// later) agree on every delegation.
			d := randomDelegation{employee: rng.IntN(len(w.employees)), from: float64(rng.IntN(72) - 48)}
			if rng.IntN(5) > 1 {
				until := d.from + float64(rng.IntN(72))
				d.until = &until
			}
			u.delegations = append(u.delegations, d)
			if rng.IntN(4) == 0 {
				u.blacklist[d.employee] = true
			}
		}
		w.users = append(w.users, u)
	}
	// A delegation keeps its employee (no cascade): only undelegated employees are deleted.
	for _, u := range w.users {
		for _, d := range u.delegations {
			w.employees[d.employee].deleted = false
		}
	}
	return w
}

// store writes the world into tenant, the many rows in batches.
func (w *randomWorld) store(t *testing.T, pool *pgxpool.Pool, tenant uuid.UUID) {
	t.Helper()
	build(t, pool, tenant, func(f *fixture) {
		for e := range w.employers {
			w.employerIDs = append(w.employerIDs, f.employer(fmt.Sprintf("Werkgever %d", e)))
		}
		w.departmentIDs = make([]uuid.UUID, len(w.departments))
		for d, e := range w.departments {
			w.departmentIDs[d] = f.department(w.employerIDs[e], fmt.Sprintf("Afdeling %d", d))
		}
		b := &pgx.Batch{}
		for i := range w.employees {
			e := &w.employees[i]
			e.id = uuid.Must(uuid.NewV7())
			var department *uuid.UUID
			if e.department >= 0 {
				department = &w.departmentIDs[e.department]
			}
			b.Queue(`INSERT INTO employees (tenant_id, id, employer_id, department_id, personnel_number, first_name, name_prefix, last_name)
				VALUES (app_tenant(), $1, $2, $3, $4, $5, $6, $7)`,
				e.id, w.employerIDs[e.employer], department, fmt.Sprint(i+1), e.firstName, e.namePrefix, e.lastName)
		}
		for _, u := range w.users {
			rights := []access.Right{access.EmployerDossierView}
			if u.all {
				rights = append(rights, access.EmployeesAll)
			}
			if u.view {
				rights = append(rights, access.EmployeeDossierView)
			}
			var employers []uuid.UUID
			for e := range u.employers {
				employers = append(employers, w.employerIDs[e])
			}
			u.id = f.user(u.kind, rights, employers...)
			if u.blocked {
				f.block(u.id)
			}
			for d := range u.departments {
				b.Queue("INSERT INTO user_department_links (tenant_id, user_id, department_id) VALUES (app_tenant(), $1, $2)",
					u.id, w.departmentIDs[d])
			}
			for i := range u.links {
				b.Queue("INSERT INTO user_employee_links (tenant_id, user_id, employee_id) VALUES (app_tenant(), $1, $2)",
					u.id, w.employees[i].id)
			}
			for i := range u.blacklist {
				b.Queue("INSERT INTO user_blacklist (tenant_id, user_id, employee_id) VALUES (app_tenant(), $1, $2)",
					u.id, w.employees[i].id)
			}
			for _, d := range u.delegations {
				b.Queue(`INSERT INTO dossier_delegations (tenant_id, user_id, employee_id, valid_from, ended_at)
					VALUES (app_tenant(), $1, $2, now() + $3 * interval '1 hour', now() + $4 * interval '1 hour')`,
					u.id, w.employees[d.employee].id, d.from, d.until)
			}
		}
		if err := f.tx.SendBatch(f.ctx, b).Close(); err != nil {
			t.Fatalf("store the world: %v", err)
		}
	})
	// The moves, renames, new addresses and deletions, each one statement over many rows, after
	// the inserts committed.
	build(t, pool, tenant, func(f *fixture) {
		var moved, to, renamed, names []string
		var deleted, mailed []uuid.UUID
		for i := range w.employees {
			e := &w.employees[i]
			if e.renameTo != "" {
				renamed, names = append(renamed, e.id.String()), append(names, e.renameTo)
				e.lastName = e.renameTo
			}
			if e.mailed {
				mailed = append(mailed, e.id)
			}
			if e.moved {
				moved = append(moved, e.id.String())
				to = append(to, "")
				if e.moveTo >= 0 {
					to[len(to)-1] = w.departmentIDs[e.moveTo].String()
				}
			}
			if e.deleted {
				deleted = append(deleted, e.id)
			}
		}
		f.exec(`UPDATE employees e SET department_id = NULLIF(m.department, '')::uuid
			FROM unnest($1::text[], $2::text[]) AS m (id, department) WHERE e.id = m.id::uuid`, moved, to)
		f.exec(`UPDATE employees e SET last_name = m.name
			FROM unnest($1::text[], $2::text[]) AS m (id, name) WHERE e.id = m.id::uuid`, renamed, names)
		f.exec("UPDATE employees SET email = 'nieuw@example.nl' WHERE id = ANY ($1)", mailed)
		f.exec("DELETE FROM employees WHERE id = ANY ($1)", deleted)
	})
}

// sees is DESIGN.md §4 in Go: reach, the blacklist that always wins, and employees.all, a linked
// department, a linked employee or an active delegation. A coach reaches the employees
// delegated to him; a blocked user nobody.
func (w *randomWorld) sees(u *randomUser, i int) bool {
	e := w.employees[i]
	if e.deleted || u.blocked || u.blacklist[i] {
		return false
	}
	delegated := slices.ContainsFunc(u.delegations, func(d randomDelegation) bool {
		return d.employee == i && d.from <= 0 && (d.until == nil || *d.until > 0)
	})
	reach := u.kind == access.KindProvider || (u.kind == access.KindEmployer && u.employers[e.employer])
	department := e.departmentNow()
	linked := u.all || (department >= 0 && u.departments[department]) || u.links[i] || delegated
	return (reach && linked) || (u.kind == access.KindCoach && delegated)
}

// check compares, for one user, the model, CanSeeEmployee on every employee, and FindEmployees
// (unfiltered, per employer, and by name).
func (w *randomWorld) check(t *testing.T, pool *pgxpool.Pool, tenant uuid.UUID, u *randomUser) {
	t.Helper()
	ctx := context.Background()
	index := map[uuid.UUID]int{}
	for i, e := range w.employees {
		index[e.id] = i
	}
	var model, detail, delegatedModel []int
	byEmployer := make([][]int, w.employers)
	var byName []int
	for i, e := range w.employees {
		if w.sees(u, i) && slices.ContainsFunc(u.delegations, func(d randomDelegation) bool {
			return d.employee == i && d.from <= 0 && (d.until == nil || *d.until > 0)
		}) {
			delegatedModel = append(delegatedModel, i)
		}
		if w.sees(u, i) {
			model = append(model, i)
			if w.matches(i, w.query) {
				byName = append(byName, i)
			}
			byEmployer[e.employer] = append(byEmployer[e.employer], i)
		}
	}
	var list, delegated []int
	listed := make([][]int, w.employers)
	var found []int
	indices := func(ids []uuid.UUID) []int {
		out := []int{}
		for _, id := range ids {
			i, ok := index[id]
			if !ok {
				t.Errorf("FindEmployees gave %s, not an employee of this tenant", id)
			}
			out = append(out, i)
		}
		slices.Sort(out)
		if len(slices.Compact(slices.Clone(out))) != len(out) {
			t.Errorf("FindEmployees gave an employee twice: %v", out)
		}
		return out
	}
	err := database.InTenant(ctx, pool, tenant, func(tx pgx.Tx) error {
		p := principal(ctx, t, tx, tenant, u.id)
		for i, e := range w.employees {
			switch err := access.CanSeeEmployee(ctx, tx, p, e.id); {
			case err == nil:
				detail = append(detail, i)
			case apperr.CodeOf(err) == apperr.EFORBIDDEN && !u.view:
				detail = append(detail, i)
			case apperr.CodeOf(err) == apperr.ENOTFOUND:
			default:
				t.Errorf("CanSeeEmployee(employee %d) = %v (user may view: %v)", i, err, u.view)
			}
		}
		list = indices(listAll(ctx, t, tx, org.EmployeeFilter{Viewer: p}, 100))
		for e, id := range w.employerIDs {
			listed[e] = indices(listAll(ctx, t, tx, org.EmployeeFilter{Viewer: p, EmployerID: &id}, 100))
		}
		found = indices(listAll(ctx, t, tx, org.EmployeeFilter{Viewer: p, Query: w.query}, 100))
		checkCounts(ctx, t, tx, w, p)
		cond, args := access.DelegatedNow(p, "d", "e", nil)
		rows, err := tx.Query(ctx, "SELECT DISTINCT e.id FROM dossier_delegations d JOIN employees e ON e.id = d.employee_id WHERE "+cond, args...)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		if err != nil {
			return err
		}
		delegated = indices(ids)
		checkSearches(ctx, t, tx, w, tenant, u, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	who := fmt.Sprintf("%s user (employees.all %v, blocked %v)", u.kind, u.all, u.blocked)
	if model == nil {
		model = []int{}
	}
	if detail == nil {
		detail = []int{}
	}
	if diff := cmp.Diff(detail, list); diff != "" {
		t.Errorf("%s: employee list differs from the detail check (-detail +list):\n%s", who, diff)
	}
	if diff := cmp.Diff(model, detail); diff != "" {
		t.Errorf("%s: detail check differs from DESIGN.md §4 (-rule +CanSeeEmployee):\n%s", who, diff)
	}
	for e := range w.employerIDs {
		want := byEmployer[e]
		if want == nil {
			want = []int{}
		}
		if diff := cmp.Diff(want, listed[e]); diff != "" {
			t.Errorf("%s: list of employer %d (-rule +list):\n%s", who, e, diff)
		}
	}
	if byName == nil {
		byName = []int{}
	}
	if delegatedModel == nil {
		delegatedModel = []int{}
	}
	if diff := cmp.Diff(delegatedModel, delegated); diff != "" {
		t.Errorf("%s: employees seen through a running delegation (DelegatedNow) (-rule +query):\n%s", who, diff)
	}
	if diff := cmp.Diff(byName, found); diff != "" {
		t.Errorf("%s: search %q (-rule +list):\n%s", who, w.query, diff)
	}
}

// checkCounts holds every count the employer pages show p (org.FindEmployers per employer,
// org.EmployeeCounts per employer and department) to the length of the list behind it.
func checkCounts(ctx context.Context, t *testing.T, tx pgx.Tx, w *randomWorld, p access.Principal) {
	t.Helper()
	employers, err := org.FindEmployers(ctx, tx, p)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range employers {
		if n := len(listAll(ctx, t, tx, org.EmployeeFilter{Viewer: p, EmployerID: &e.ID}, 100)); e.EmployeeCount != n {
			t.Errorf("FindEmployers counts %d employees of %s, the list shows %d", e.EmployeeCount, e.Name, n)
		}
		total, byDepartment, err := org.EmployeeCounts(ctx, tx, p, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		if total != e.EmployeeCount {
			t.Errorf("EmployeeCounts counts %d employees of %s, FindEmployers %d", total, e.Name, e.EmployeeCount)
		}
		for d, employer := range w.departments {
			if w.employerIDs[employer] != e.ID {
				continue
			}
			id := w.departmentIDs[d]
			if n := len(listAll(ctx, t, tx, org.EmployeeFilter{Viewer: p, DepartmentID: &id}, 100)); byDepartment[id] != n {
				t.Errorf("EmployeeCounts counts %d employees in department %d, the list shows %d", byDepartment[id], d, n)
			}
		}
	}
}

// searchSeparators are where search_words (migration 00026) splits a name into words.
const searchSeparators = " \t\n\r\u00a0\U0010ffff'’‘`.,/()-"

// searchWords is search_words in Go: the lower-case words of s.
func searchWords(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return strings.ContainsRune(searchSeparators, r) })
}

// words are the words of employee i that a search compares with what is typed.
func (w *randomWorld) words(i int) []string {
	e := w.employees[i]
	return searchWords(strings.Join([]string{e.firstName, e.namePrefix, e.lastName, fmt.Sprint(i + 1)}, " "))
}

// matches reports whether every word of query starts a word of employee i.
func (w *randomWorld) matches(i int, query string) bool {
	typed := searchWords(query)
	if len(typed) == 0 {
		return false
	}
	for _, q := range typed {
		if !slices.ContainsFunc(w.words(i), func(word string) bool { return strings.HasPrefix(word, q) }) {
			return false
		}
	}
	return true
}

// searchOrder sorts the employees a search finds as it shows them: by the first of each one's
// words (in byte order) that the longest typed word starts (of equally long ones the first in
// byte order), then by last name, first name and id.
func (w *randomWorld) searchOrder(found []int, query string) {
	typed := searchWords(query)
	slices.SortFunc(typed, func(a, b string) int {
		if c := utf8.RuneCountInString(b) - utf8.RuneCountInString(a); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	key := func(i int) string {
		words := w.words(i)
		slices.Sort(words)
		for _, word := range words {
			if strings.HasPrefix(word, typed[0]) {
				return word
			}
		}
		return ""
	}
	slices.SortFunc(found, func(a, b int) int {
		ea, eb := w.employees[a], w.employees[b]
		return cmpOr(strings.Compare(key(a), key(b)), strings.Compare(ea.lastName, eb.lastName),
			strings.Compare(ea.firstName, eb.firstName), bytes.Compare(ea.id[:], eb.id[:]))
	})
}

func cmpOr(cs ...int) int {
	for _, c := range cs {
		if c != 0 {
			return c
		}
	}
	return 0
}

// randomSearches are what users type: whole and partial words of the employees' names and
// personnel numbers, in any case, two words at once, a double-barrelled name as written, the
// inside of a word (which finds only words that start so) and a name nobody has.
func randomSearches(rng *rand.Rand, w *randomWorld) []string {
	some := func() []string { return w.words(rng.IntN(len(w.employees))) }
	word := func() string { ws := some(); return ws[rng.IntN(len(ws))] }
	start := func(s string) string {
		r := []rune(s)
		return string(r[:1+rng.IntN(len(r))])
	}
	last := w.employees[rng.IntN(len(w.employees))]
	first := w.employees[rng.IntN(len(w.employees))]
	inner := word()
	if r := []rune(inner); len(r) > 1 {
		inner = string(r[1:])
	}
	return []string{
		start(word()),
		strings.ToUpper(start(word())),
		last.lastName,
		first.firstName + " " + start(last.lastName),
		start(first.firstName) + " " + last.namePrefix + " " + last.lastName,
		start(fmt.Sprint(1 + rng.IntN(len(w.employees)))),
		"Blom-de",
		inner,
		"Onbekend",
	}
}

// checkSearches holds every search of the world, for p, to the model: the employees he sees
// whose words the typed words start, in search order, each once, with the total the list's
// length; and, asked to count at most a few, a total that stops there and says more match.
func checkSearches(ctx context.Context, t *testing.T, tx pgx.Tx, w *randomWorld, tenant uuid.UUID, u *randomUser, p access.Principal) {
	t.Helper()
	index := map[uuid.UUID]int{}
	for i, e := range w.employees {
		index[e.id] = i
	}
	for _, query := range w.searches {
		want := []int{}
		for i := range w.employees {
			if w.sees(u, i) && w.matches(i, query) {
				want = append(want, i)
			}
		}
		w.searchOrder(want, query)
		got := []int{}
		for _, id := range listAll(ctx, t, tx, org.EmployeeFilter{Viewer: p, Query: query}, 7) {
			got = append(got, index[id])
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s user: search %q (-rule +list, in order):\n%s", u.kind, query, diff)
		}
		// Counting at most five: pages of three, each total as far as the search counted.
		const limit, maxCount = 3, 5
		for offset := 0; offset <= len(want)+limit; offset += limit {
			page, err := org.ReadEmployees(ctx, tx, tenant, org.EmployeeFilter{Viewer: p, Query: query,
				Offset: offset, Limit: limit, MaxCount: maxCount})
			if err != nil {
				t.Fatal(err)
			}
			counted := max(maxCount, offset+limit)
			wantTotal, wantMore := min(len(want), counted), len(want) > counted
			if page.Total != wantTotal || page.More != wantMore {
				t.Errorf("%s user: search %q at offset %d counting at most %d: total %d (more: %v), want %d (more: %v)",
					u.kind, query, offset, maxCount, page.Total, page.More, wantTotal, wantMore)
			}
			gotPage := []int{}
			for _, e := range page.Employees {
				gotPage = append(gotPage, index[e.ID])
			}
			wantPage := want[min(offset, len(want)):min(offset+limit, len(want))]
			if diff := cmp.Diff(wantPage, gotPage); diff != "" {
				t.Errorf("%s user: search %q at offset %d (-rule +page):\n%s", u.kind, query, offset, diff)
			}
		}
	}
}
