package demo

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"

	"github.com/dossierkast/dossierkast/internal/org"
)

// seed makes every run generate the same people. Employee i is drawn from its own stream
// (seed, i), so a top-up continues the sequence exactly where an earlier, smaller load stopped.
const seed = 0x646f7373696572 // "dossier"

// personnelBase + i + 1 is employee i's personnel number: unique in the tenant, so unique per
// employer, and readable back to i when topping up.
const personnelBase = 100000

// BSNs are nine digits: the first seven are an affine bijection of the employee index over
// [1000000, 9999999], so they never repeat; the last two make the eleven test pass.
const (
	bsnSpace  = 9_000_000
	bsnStep   = 4_194_301 // coprime to 9,000,000 = 2⁶·3²·5⁶
	bsnOffset = 2_718_281
)

// The fixed calendar of the demo, so reruns on another day give the same data.
var (
	latestStart = day(2026, 6, 30)
	latestEnd   = day(2027, 6, 30)
	firstHiring = day(1990, 1, 1)
	lastBirth   = day(2004, 12, 31)
)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// plannedEmployer is an employer of the demo tenant as stored, with its department ids in the
// order of its spec (nil where a department is missing).
type plannedEmployer struct {
	id          uuid.UUID
	spec        employerSpec
	departments []*uuid.UUID
}

// generator draws employees for the planned employers.
type generator struct {
	employers []plannedEmployer
	employer  weighted
	dept      []weighted // per employer
	cohort    weighted
	prefix    weighted
	city      weighted
}

func newGenerator(employers []plannedEmployer) *generator {
	g := &generator{employers: employers}
	g.employer = newWeighted(len(employers), func(i int) int { return employers[i].spec.weight })
	for _, e := range employers {
		g.dept = append(g.dept, newWeighted(len(e.spec.departments), func(i int) int { return e.spec.departments[i].weight }))
	}
	g.cohort = newWeighted(len(cohorts), func(i int) int { return cohorts[i].weightPercent })
	g.prefix = newWeighted(len(prefixedSurnames), func(i int) int { return prefixedSurnames[i].weight })
	g.city = newWeighted(len(cities), func(i int) int { return cities[i].weight })
	return g
}

// employee returns employee i; the same i always gives the same person.
func (g *generator) employee(i int) org.Employee {
	r := rand.New(rand.NewPCG(seed, uint64(i)))
	ei := g.employer.pick(r)
	emp := g.employers[ei]
	e := org.Employee{
		EmployerID:      emp.id,
		DepartmentID:    emp.departments[g.dept[ei].pick(r)],
		PersonnelNumber: strconv.Itoa(personnelBase + i + 1),
		BSN:             bsn(i, r),
	}

	ci := g.cohort.pick(r)
	c := cohorts[ci]
	names := c.male
	if r.IntN(100) < emp.spec.female {
		names = c.female
	}
	e.FirstName = names[r.IntN(len(names))]
	e.Initials = initials(e.FirstName)
	// About 30% of Dutch family names carry a prefix (tussenvoegsel).
	if r.IntN(100) < 30 {
		p := prefixedSurnames[g.prefix.pick(r)]
		e.NamePrefix, e.LastName = p.prefix, p.names[r.IntN(len(p.names))]
	} else {
		e.LastName = plainSurnames[r.IntN(len(plainSurnames))]
	}

	from := day(c.fromYear, 1, 1)
	to := lastBirth
	if ci+1 < len(cohorts) {
		to = day(cohorts[ci+1].fromYear, 1, 1).AddDate(0, 0, -1)
	}
	birth := between(r, from, to)
	e.BirthDate = &birth

	local := fold(e.FirstName)
	if emp.spec.initialEmail {
		local = local[:1]
	}
	e.Email = local + "." + fold(e.NamePrefix+e.LastName) + "@" + emp.spec.domain
	e.Phone = "06-" + strconv.Itoa(1+r.IntN(5)) + digits(r, 7)

	e.Street = streets[r.IntN(len(streets))]
	// Small house numbers are the most common.
	n := 1 + int(r.ExpFloat64()*35)
	e.HouseNumber = strconv.Itoa(min(n, 320))
	if r.IntN(100) < 8 {
		e.HouseNumber += string("ABC"[r.IntN(3)])
	}
	city := cities[g.city.pick(r)]
	e.City = city.name
	e.PostalCode = strconv.Itoa(city.from+r.IntN(city.to-city.from+1)) + " " + postalSuffix(r)

	// Hired at 18 at the earliest and not before 1990, more often recently than long ago.
	earliest := birth.AddDate(18, 0, 0)
	if earliest.Before(firstHiring) {
		earliest = firstHiring
	}
	span := int(latestStart.Sub(earliest).Hours() / 24)
	start := earliest.AddDate(0, 0, int(float64(span)*leanLate(r)))
	e.EmploymentStart = &start
	if r.IntN(100) < 12 {
		end := start.AddDate(0, 0, 90+r.IntN(3*365))
		if end.After(latestEnd) {
			end = latestEnd
		}
		e.EmploymentEnd = &end
	}
	return e
}

// bsn returns employee i's citizen service number.
func bsn(i int, r *rand.Rand) string {
	n := 1_000_000 + (i*bsnStep+bsnOffset)%bsnSpace
	b := []byte(strconv.Itoa(n)) // seven digits
	sum := 0
	for k, c := range b {
		sum += (9 - k) * int(c-'0')
	}
	// The eighth digit has weight 2; exactly one of its ten values would need a check digit of 10.
	d8 := r.IntN(10)
	for (sum+2*d8)%11 == 10 {
		d8 = (d8 + 1) % 10
	}
	d9 := (sum + 2*d8) % 11
	return string(append(b, byte('0'+d8), byte('0'+d9)))
}

// initials derives "J.W." from "Jan-Willem".
func initials(first string) string {
	var b strings.Builder
	for part := range strings.FieldsFuncSeq(first, func(r rune) bool { return r == '-' || r == ' ' }) {
		for _, c := range part {
			b.WriteRune(unicode.ToUpper(c))
			b.WriteByte('.')
			break
		}
	}
	return b.String()
}

// fold turns a name into e-mail letters: lower case, accents off, spaces and quotes out.
func fold(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		switch c {
		case 'á', 'à', 'ä', 'â':
			c = 'a'
		case 'é', 'è', 'ë', 'ê':
			c = 'e'
		case 'í', 'ï', 'ı':
			c = 'i'
		case 'ó', 'ö', 'ô':
			c = 'o'
		case 'ú', 'ü':
			c = 'u'
		case 'ç':
			c = 'c'
		case 'ş':
			c = 's'
		}
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' {
			b.WriteRune(c)
		}
	}
	return b.String()
}

func digits(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for k := range b {
		b[k] = byte('0' + r.IntN(10))
	}
	return string(b)
}

// postalSuffix returns the two letters of a postal code; SA, SD and SS are not used in the
// Netherlands.
func postalSuffix(r *rand.Rand) string {
	for {
		s := string([]byte{postalLetters[r.IntN(len(postalLetters))], postalLetters[r.IntN(len(postalLetters))]})
		if s != "SA" && s != "SD" && s != "SS" {
			return s
		}
	}
}

// between returns a day in [from, to].
func between(r *rand.Rand, from, to time.Time) time.Time {
	days := int(to.Sub(from).Hours()/24) + 1
	return from.AddDate(0, 0, r.IntN(days))
}

// leanLate returns a number in [0, 1) with density 2x: the larger of two uniform draws.
func leanLate(r *rand.Rand) float64 {
	return max(r.Float64(), r.Float64())
}

// weighted picks an index with probability proportional to its weight.
type weighted struct {
	cumulative []int
}

func newWeighted(n int, weight func(int) int) weighted {
	w := weighted{cumulative: make([]int, n)}
	total := 0
	for i := range n {
		total += weight(i)
		w.cumulative[i] = total
	}
	return w
}

func (w weighted) pick(r *rand.Rand) int {
	x := r.IntN(w.cumulative[len(w.cumulative)-1])
	for i, c := range w.cumulative {
		if x < c {
			return i
		}
	}
	return len(w.cumulative) - 1
}
