// Package accesstest builds the large tenant of the access engine's speed figures (issue 3) in a
// test database, measures latencies and shows the query plans the engine gets. It is for
// benchmarks only.
package accesstest

import (
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/auth"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/database/dbtest"
	"github.com/dossierkast/dossierkast/internal/org"
)

// The shape of the dataset: issue 3's "Speed".
const (
	// Employees is how many employees the tenant has, unless ACCESS_EMPLOYEES says otherwise
	// (issue 14.7 measures the search at 1,000,000).
	Employees   = 100_000
	Departments = 200
	Employers   = 4
	// LinkedDepartments of the user's are every fifth department, spread over all employers.
	LinkedDepartments = Departments / 5
	Blacklisted       = 1_000
	EmployeeLinks     = 50
	// OtherUsers have links and blacklists of their own, so the link tables are not the user's
	// alone.
	OtherUsers = 50
)

// Password is the password of the dataset's user.
const Password = "benchmark-wachtwoord"

// Dataset is the big tenant and its user: a provider user with employee_dossier.view but not
// employees.all, linked to LinkedDepartments departments (about 20,000 employees), with
// Blacklisted of those on his blacklist and EmployeeLinks employees of other departments
// linked one by one.
type Dataset struct {
	DB       dbtest.DB
	TenantID uuid.UUID
	UserID   uuid.UUID
	Email    string
	// Samples of employees by how the user relates to them.
	ViaDepartment []uuid.UUID // in a linked department, not blacklisted: visible
	ViaLink       []uuid.UUID // linked one by one: visible
	Blacklisted   []uuid.UUID // in a linked department but blacklisted: not visible
	Unlinked      []uuid.UUID // in another department, not linked: not visible
	// Employees is how many employees the tenant has; Visible how many the user may see.
	Employees int
	Visible   int
	// LoadTime is how long building the dataset took.
	LoadTime time.Duration
}

// Load builds the dataset in a fresh test database with set-based SQL (generate_series) as the
// application role in the tenant, and analyses it as the owner.
func Load(tb testing.TB) Dataset {
	tb.Helper()
	ctx := context.Background()
	start := time.Now()
	db := dbtest.New(tb)
	tenant, err := org.CreateTenant(ctx, db.Pool, "Arbodienst Groot", false)
	if err != nil {
		tb.Fatal(err)
	}
	hash, err := auth.HashPassword(Password)
	if err != nil {
		tb.Fatal(err)
	}
	ds := Dataset{DB: db, TenantID: tenant.ID, Email: "bench-" + uuid.NewString()[:8] + "@example.nl", Employees: Employees}
	if n := os.Getenv("ACCESS_EMPLOYEES"); n != "" {
		if ds.Employees, err = strconv.Atoi(n); err != nil || ds.Employees < Departments {
			tb.Fatalf("ACCESS_EMPLOYEES=%q: want a number of at least %d", n, Departments)
		}
	}
	steps := []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO employers (tenant_id, name, employer_number)
			SELECT app_tenant(), 'Werkgever ' || g, g::text FROM generate_series(1, $1) g`, []any{Employers}},
		{`INSERT INTO departments (tenant_id, employer_id, name, code)
			SELECT app_tenant(), e.ids[1 + g % $2], 'Afdeling ' || g, g::text
			FROM (SELECT array_agg(id ORDER BY employer_number::int) ids FROM employers) e, generate_series(0, $1 - 1) g`,
			[]any{Departments, Employers}},
		// Employee g works in department g % Departments; names, addresses and birth dates vary
		// by hash so the sort order mixes departments as real data does.
		{`INSERT INTO employees (tenant_id, employer_id, department_id, personnel_number, initials, first_name,
				name_prefix, last_name, birth_date, email, phone, street, house_number, postal_code, city, employment_start)
			SELECT app_tenant(), d.employers[1 + g % $2], d.ids[1 + g % $2], (100000 + g)::text,
				left(f.name, 1) || '.', f.name, p.prefix, l.name || CASE WHEN g % 7 = 0 THEN '-' || l2.name ELSE '' END,
				date '1960-01-01' + (abs(hashint4(g + 1)::bigint) % 15000)::int,
				lower(f.name) || '.' || g || '@example.nl', '06' || (10000000 + abs(hashint4(g + 2)::bigint) % 89999999),
				l2.name || 'straat', (1 + g % 180)::text, (1000 + g % 8999)::text || ' AB',
				(ARRAY['Amsterdam', 'Rotterdam', 'Utrecht', 'Zwolle', 'Groningen', 'Eindhoven', 'Tilburg', 'Almere'])[1 + g % 8],
				date '2000-01-01' + (abs(hashint4(g + 3)::bigint) % 8000)::int
			FROM generate_series(0, $1 - 1) g
			CROSS JOIN (SELECT array_agg(id ORDER BY code::int) ids, array_agg(employer_id ORDER BY code::int) employers
			            FROM departments) d
			CROSS JOIN LATERAL (SELECT (ARRAY['Anna', 'Bram', 'Daan', 'Emma', 'Fleur', 'Gijs', 'Hanna', 'Jesse', 'Julia',
				'Lars', 'Lotte', 'Milan', 'Noor', 'Ruben', 'Sanne', 'Sem', 'Sophie', 'Thijs', 'Tess', 'Vera', 'Wout',
				'Yara', 'Zoë', 'Mohammed', 'Fatima', 'Luuk', 'Iris', 'Bas', 'Eva', 'Koen'])[1 + abs(hashint4(g)::bigint) % 30] name) f
			CROSS JOIN LATERAL (SELECT (ARRAY['', '', '', 'de', 'van', 'van der', 'van den', 'ter'])[1 + abs(hashint4(g + 4)::bigint) % 8] prefix) p
			CROSS JOIN LATERAL (SELECT (ARRAY['Jansen', 'Vries', 'Bakker', 'Visser', 'Smit', 'Meijer', 'Boer', 'Mulder',
				'Groot', 'Bos', 'Vos', 'Peters', 'Hendriks', 'Leeuwen', 'Dekker', 'Brouwer', 'Wit', 'Dijkstra', 'Smits',
				'Graaf', 'Linden', 'Kok', 'Jacobs', 'Haan', 'Vermeulen', 'Heuvel', 'Veen', 'Broek', 'Bruijn', 'Beek',
				'Schouten', 'Willems', 'Hoekstra', 'Maas', 'Verhoeven', 'Koster', 'Prins', 'Blom', 'Huisman', 'Peeters',
				'Kuiper', 'Wal', 'Dam', 'Yilmaz', 'El Amrani', 'Nguyen', 'Postma', 'Kramer', 'Timmermans', 'Wouters'])[1 + abs(hashint4(g + 5)::bigint) % 50] name) l
			CROSS JOIN LATERAL (SELECT (ARRAY['Akker', 'Berg', 'Dijk', 'Hof', 'Kamp', 'Laan', 'Meer', 'Poort', 'Rijn', 'Zand',
				'Molen', 'Kerk'])[1 + abs(hashint4(g + 6)::bigint) % 12] name) l2`,
			[]any{ds.Employees, Departments}},
		{`INSERT INTO roles (tenant_id, name, kind, rights) VALUES (app_tenant(), 'Benchmark', 'provider',
			'{employer_dossier.view,employee_dossier.view,documents.upload}')`, nil},
		{`INSERT INTO users (tenant_id, email, name, kind, role_id, password_hash)
			SELECT app_tenant(), $1, 'Bea Benchmark', 'provider', id, $2 FROM roles WHERE name = 'Benchmark'`,
			[]any{ds.Email, hash}},
		{`INSERT INTO users (tenant_id, email, name, kind, role_id, password_hash)
			SELECT app_tenant(), 'other' || g || '-' || $2 || '@example.nl', 'Collega ' || g, 'provider', r.id, 'x'
			FROM roles r, generate_series(1, $1) g WHERE r.name = 'Benchmark'`,
			[]any{OtherUsers, uuid.NewString()[:8]}},
		{`INSERT INTO user_department_links (tenant_id, user_id, department_id)
			SELECT app_tenant(), u.id, d.id FROM users u, departments d
			WHERE u.email = $1 AND d.code::int % 5 = 0`, []any{ds.Email}},
		{`INSERT INTO user_blacklist (tenant_id, user_id, employee_id, reason)
			SELECT app_tenant(), u.id, e.id, 'AVG-bezwaar' FROM users u,
				(SELECT e.id FROM employees e JOIN departments d ON d.id = e.department_id
				 WHERE d.code::int % 5 = 0 ORDER BY hashint4(e.personnel_number::int) LIMIT $2) e
			WHERE u.email = $1`, []any{ds.Email, Blacklisted}},
		{`INSERT INTO user_employee_links (tenant_id, user_id, employee_id)
			SELECT app_tenant(), u.id, e.id FROM users u,
				(SELECT e.id FROM employees e JOIN departments d ON d.id = e.department_id
				 WHERE d.code::int % 5 <> 0 ORDER BY hashint4(e.personnel_number::int + 7) LIMIT $2) e
			WHERE u.email = $1`, []any{ds.Email, EmployeeLinks}},
		// The other users: ten departments and 200 blacklisted employees each.
		{`INSERT INTO user_department_links (tenant_id, user_id, department_id)
			SELECT app_tenant(), u.id, d.id FROM users u, departments d
			WHERE u.email LIKE 'other%' AND abs(hashint4(d.code::int # hashtext(u.email))::bigint) % 20 = 0`, nil},
		{`INSERT INTO user_blacklist (tenant_id, user_id, employee_id)
			SELECT app_tenant(), u.id, e.ids[1 + abs(hashint4(g # hashtext(u.email))::bigint) % $1]
			FROM users u, (SELECT array_agg(id) ids FROM employees) e, generate_series(1, 200) g
			WHERE u.email LIKE 'other%' ON CONFLICT DO NOTHING`, []any{ds.Employees}},
	}
	err = database.InTenant(ctx, db.Pool, tenant.ID, func(tx pgx.Tx) error {
		for _, s := range steps {
			if _, err := tx.Exec(ctx, s.sql, s.args...); err != nil {
				return fmt.Errorf("%s: %w", strings.Fields(s.sql)[:3], err)
			}
		}
		if err := tx.QueryRow(ctx, "SELECT id FROM users WHERE email = $1", ds.Email).Scan(&ds.UserID); err != nil {
			return err
		}
		samples := []struct {
			ids *[]uuid.UUID
			sql string
		}{
			{&ds.ViaDepartment, `SELECT e.id FROM employees e JOIN user_department_links l ON l.department_id = e.department_id
				WHERE l.user_id = $1 AND NOT EXISTS (SELECT 1 FROM user_blacklist b WHERE b.user_id = $1 AND b.employee_id = e.id)
				ORDER BY hashint4(e.personnel_number::int + 11) LIMIT 500`},
			{&ds.ViaLink, `SELECT employee_id FROM user_employee_links WHERE user_id = $1`},
			{&ds.Blacklisted, `SELECT employee_id FROM user_blacklist WHERE user_id = $1 ORDER BY employee_id LIMIT 500`},
			{&ds.Unlinked, `SELECT e.id FROM employees e WHERE NOT EXISTS (SELECT 1 FROM user_department_links l
				WHERE l.user_id = $1 AND l.department_id = e.department_id)
				AND NOT EXISTS (SELECT 1 FROM user_employee_links l WHERE l.user_id = $1 AND l.employee_id = e.id)
				ORDER BY hashint4(e.personnel_number::int + 13) LIMIT 500`},
		}
		for _, s := range samples {
			rows, err := tx.Query(ctx, s.sql, ds.UserID)
			if err != nil {
				return err
			}
			if *s.ids, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID]); err != nil {
				return err
			}
		}
		return tx.QueryRow(ctx, `SELECT count(*) FROM employees e WHERE (e.department_id IN
				(SELECT department_id FROM user_department_links WHERE user_id = $1)
				OR e.id IN (SELECT employee_id FROM user_employee_links WHERE user_id = $1))
			AND e.id NOT IN (SELECT employee_id FROM user_blacklist WHERE user_id = $1)`, ds.UserID).Scan(&ds.Visible)
	})
	if err != nil {
		tb.Fatalf("load the dataset: %v", err)
	}
	owner, err := pgx.Connect(ctx, db.OwnerURL)
	if err != nil {
		tb.Fatal(err)
	}
	defer owner.Close(ctx)
	if _, err := owner.Exec(ctx, "VACUUM ANALYZE"); err != nil {
		tb.Fatalf("vacuum analyze: %v", err)
	}
	ds.LoadTime = time.Since(start)
	return ds
}

// Latencies collects durations and reports percentiles.
type Latencies []time.Duration

// Percentile returns the p-th percentile (0 < p ≤ 100), nearest rank.
func (l Latencies) Percentile(p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	s := slices.Clone(l)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[max(rank, 1)-1]
}

// Mean returns the average duration.
func (l Latencies) Mean() time.Duration {
	if len(l) == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range l {
		sum += d
	}
	return sum / time.Duration(len(l))
}

// Report reports p50, p99 and max in milliseconds under names prefixed with prefix.
func (l Latencies) Report(b *testing.B, prefix string) {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(l.Percentile(50)), prefix+"p50-ms")
	b.ReportMetric(ms(l.Percentile(99)), prefix+"p99-ms")
	b.ReportMetric(ms(l.Percentile(100)), prefix+"max-ms")
}
