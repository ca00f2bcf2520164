// Package stream is the content side of datastreams (DESIGN.md §9): the stream catalogue, the
// privacy rules that choose and pseudonymise columns, the reading of a delivery's rows in one
// snapshot (full, since a date, or the mutations since the previous delivery) and the CSV files
// and manifest a delivery writes through a datastream.Transport.
//
// It takes a configuration as a Go value; where configurations are stored, who may change
// them, and when deliveries run belong to the datastream package.
package stream

import (
	"fmt"
	"time"
)

// Version is a stream version a configuration delivers: V1 (legacy column names, without the
// streams and columns new in v2) or V2 (current).
type Version string

// The stream versions.
const (
	V1 Version = "v1"
	V2 Version = "v2"
)

// V2Released is the date version 2 of the streams was released. Version 1 is supported for one
// year after it: V1SupportEnds.
var V2Released = time.Date(2026, time.March, 2, 0, 0, 0, 0, time.UTC)

// V1SupportEnds is the last day deliveries in version 1 are supported.
var V1SupportEnds = V2Released.AddDate(1, 0, 0)

// Column types, as the documentation names them and the CSV files write them.
const (
	TypeID        = "id"        // a UUID, or a pseudonym (64 hexadecimal digits) in a pseudonymised file
	TypeText      = "text"      // UTF-8 text as entered
	TypeDate      = "date"      // YYYY-MM-DD
	TypeTimestamp = "timestamp" // UTC, ISO 8601: 2027-01-04T13:05:00.25Z (fraction only when not zero)
	TypeInteger   = "integer"   // decimal digits, optionally with a leading minus
	TypeBoolean   = "boolean"   // true or false
)

// Column is one column of a stream file.
type Column struct {
	Name string // the column's name in v2
	V1   string // its name in v1; empty when v1 does not have it
	// Mandatory columns are always delivered; the others can be switched off per configuration.
	Mandatory bool
	// Identifying columns name the person directly (names, BSN, personnel number, address,
	// e-mail, phone, exact birth date): never in a pseudonymised delivery.
	Identifying bool
	// Medical columns are delivered only to accounts with access to medical data.
	Medical bool
	// Pseudonym columns hold a record key or a reference to one: in a pseudonymised delivery
	// the value becomes its keyed pseudonym, so files still join.
	Pseudonym   bool
	Type        string
	Description string
	// expr is the SQL expression, over the file's table as t, that gives the value as text.
	expr string
}

// File is one CSV file of a stream. Its first column is the record key.
type File struct {
	Name        string // file name without .csv
	Description string
	// table is the tracked table the rows come from (its changes' entity).
	table   string
	Columns []Column
}

// Key is the file's record-key column.
func (f File) Key() Column { return f.Columns[0] }

// Column returns the column named name (its v2 name).
func (f File) Column(name string) (Column, bool) {
	for _, c := range f.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

// Stream is a theme of data a configuration can choose, delivered as one or more files.
type Stream struct {
	ID          string
	Name        string // Dutch name as the UI shows it
	Description string
	NewInV2     bool // not part of version 1
	Files       []File
}

// In reports whether the stream exists in version v.
func (s Stream) In(v Version) bool { return v == V2 || !s.NewInV2 }

// ColumnName is c's name in version v; "" when v does not have it.
func (c Column) ColumnName(v Version) string {
	if v == V1 {
		return c.V1
	}
	return c.Name
}

// Mutation columns every file carries after the record key, in both versions.
const (
	MutationColumn     = "mutation"
	MutationTimeColumn = "mutation_time"
)

// The SQL expressions that write a value as text the way the documentation says. Deliveries
// run with DateStyle ISO; text casts are about twice as fast as to_char (which matters for a
// million rows).
func exprID(col string) string   { return "t." + col + "::text" }
func exprText(col string) string { return "t." + col }
func exprDate(col string) string { return "t." + col + "::text" }
func exprTimestamp(col string) string {
	return timestampText("t." + col)
}

// timestampText writes a timestamptz in UTC as ISO 8601: 2027-01-04T13:05:00.5Z.
func timestampText(v string) string {
	return "replace((" + v + " AT TIME ZONE 'UTC')::text, ' ', 'T') || 'Z'"
}
func exprPlain(col string) string { return "t." + col + "::text" }

// key is the record-key column of a file.
func key(name, v1, what string) Column {
	return Column{Name: name, V1: v1, Mandatory: true, Pseudonym: true, Type: TypeID,
		Description: "Record key: the " + what + "'s id; the same in every delivery.", expr: exprID("id")}
}

// employeeRef is the reference to the employee a row is about.
func employeeRef() Column {
	return Column{Name: "werknemer_id", V1: "WerknemerID", Mandatory: true, Pseudonym: true, Type: TypeID,
		Description: "The employee (record key of werknemers).", expr: exprID("employee_id")}
}

// employerRef is the employer a row belongs to; employers are organisations, not persons.
func employerRef() Column {
	return Column{Name: "werkgever_id", V1: "WerkgeverID", Mandatory: true, Type: TypeID,
		Description: "The employer (not pseudonymised: an organisation).", expr: exprID("employer_id")}
}

// Catalogue is every stream, in the order the UI and the documentation list them. It is the
// single description of what a delivery may contain; TestCatalogueRules checks its invariants.
var Catalogue = []Stream{
	{
		ID: "werknemers", Name: "Werknemers",
		Description: "Employees with their employment and, unless pseudonymised, their personal details.",
		Files: []File{{
			Name: "werknemers", table: "employees", Description: "One row per employee.",
			Columns: []Column{
				key("werknemer_id", "WerknemerID", "employee"),
				employerRef(),
				{Name: "afdeling_id", V1: "AfdelingID", Type: TypeID, Description: "The department, if any.", expr: exprID("department_id")},
				{Name: "personeelsnummer", V1: "Personeelsnummer", Identifying: true, Type: TypeText, Description: "Personnel number at the employer.", expr: exprText("personnel_number")},
				{Name: "voorletters", V1: "Voorletters", Identifying: true, Type: TypeText, Description: "Initials.", expr: exprText("initials")},
				{Name: "voornaam", V1: "Voornaam", Identifying: true, Type: TypeText, Description: "First name.", expr: exprText("first_name")},
				{Name: "tussenvoegsel", V1: "Tussenvoegsel", Identifying: true, Type: TypeText, Description: "Surname prefix (van, de, ...).", expr: exprText("name_prefix")},
				{Name: "achternaam", V1: "Achternaam", Identifying: true, Type: TypeText, Description: "Surname.", expr: exprText("last_name")},
				{Name: "geboortedatum", V1: "Geboortedatum", Identifying: true, Type: TypeDate, Description: "Exact date of birth.", expr: exprDate("birth_date")},
				{Name: "geboortejaar", Type: TypeInteger, Description: "Year of birth: what a pseudonymised delivery carries instead of the date.", expr: "extract(year FROM t.birth_date)::int::text"},
				{Name: "bsn", V1: "BSN", Identifying: true, Type: TypeText, Description: "Citizen service number (burgerservicenummer).", expr: exprText("bsn")},
				{Name: "email", V1: "Email", Identifying: true, Type: TypeText, Description: "E-mail address.", expr: exprText("email")},
				{Name: "telefoon", V1: "Telefoon", Identifying: true, Type: TypeText, Description: "Phone number.", expr: exprText("phone")},
				{Name: "straat", V1: "Straat", Identifying: true, Type: TypeText, Description: "Street of the home address.", expr: exprText("street")},
				{Name: "huisnummer", V1: "Huisnummer", Identifying: true, Type: TypeText, Description: "House number with addition.", expr: exprText("house_number")},
				{Name: "postcode", V1: "Postcode", Identifying: true, Type: TypeText, Description: "Postal code of the home address.", expr: exprText("postal_code")},
				{Name: "woonplaats", V1: "Woonplaats", Identifying: true, Type: TypeText, Description: "Town of the home address.", expr: exprText("city")},
				{Name: "datum_in_dienst", V1: "DatumInDienst", Type: TypeDate, Description: "First day of employment.", expr: exprDate("employment_start")},
				{Name: "datum_uit_dienst", V1: "DatumUitDienst", Type: TypeDate, Description: "Last day of employment, if ended.", expr: exprDate("employment_end")},
			},
		}},
	},
	{
		ID: "verzuim", Name: "Verzuim",
		Description: "Absences (verzuimmeldingen) and the absence percentage over time.",
		Files: []File{
			{
				Name: "verzuimmeldingen", table: "absences", Description: "One row per absence.",
				Columns: []Column{
					key("verzuim_id", "VerzuimID", "absence"),
					employeeRef(),
					employerRef(),
					{Name: "eerste_ziektedag", V1: "EersteZiektedag", Mandatory: true, Type: TypeDate, Description: "First day of sickness.", expr: exprDate("first_sick_day")},
					{Name: "hersteldatum", V1: "Hersteldatum", Type: TypeDate, Description: "Date of full recovery, if recovered.", expr: exprDate("recovery_date")},
					{Name: "verwachte_terugkeer", Type: TypeDate, Description: "Expected date of return.", expr: exprDate("expected_return")},
					{Name: "oorzaak", V1: "Oorzaak", Medical: true, Type: TypeText, Description: "Cause: disease, work_related, accident, pregnancy, organ_donation, psychological, other, or empty when not classified.", expr: exprText("cause")},
					{Name: "toelichting", V1: "Toelichting", Medical: true, Type: TypeText, Description: "Free-text notes on the absence.", expr: exprText("notes")},
				},
			},
			{
				Name: "verzuimpercentages", table: "absence_percentages", Description: "The absence percentage of an absence from a date on; one row per change.",
				Columns: []Column{
					key("verzuimpercentage_id", "VerzuimpercentageID", "percentage row"),
					{Name: "verzuim_id", V1: "VerzuimID", Mandatory: true, Pseudonym: true, Type: TypeID, Description: "The absence (record key of verzuimmeldingen).", expr: exprID("absence_id")},
					employeeRef(),
					employerRef(),
					{Name: "vanaf", V1: "Vanaf", Mandatory: true, Type: TypeDate, Description: "Date the percentage applies from.", expr: exprDate("from_date")},
					{Name: "percentage", V1: "Percentage", Mandatory: true, Type: TypeInteger, Description: "Absence percentage, 0 to 100.", expr: exprPlain("percentage")},
				},
			},
		},
	},
	{
		ID: "trajecten", Name: "Trajecten",
		Description: "Trajectories (trajecten) of employees and their tasks.",
		Files: []File{
			{
				Name: "trajecten", table: "trajectories", Description: "One row per trajectory.",
				Columns: []Column{
					key("traject_id", "TrajectID", "trajectory"),
					employeeRef(),
					employerRef(),
					{Name: "protocol_id", V1: "ProtocolID", Mandatory: true, Type: TypeID, Description: "The protocol (trajectory type) it follows.", expr: exprID("protocol_id")},
					{Name: "protocol_naam", Type: TypeText, Description: "The protocol's name.", expr: "(SELECT p.name FROM protocols p WHERE p.tenant_id = t.tenant_id AND p.id = t.protocol_id)"},
					{Name: "status", V1: "Status", Mandatory: true, Type: TypeText, Description: "open or closed.", expr: exprText("status")},
					{Name: "startdatum", V1: "Startdatum", Type: TypeDate, Description: "Reference date the tasks' due dates count from.", expr: exprDate("start_date")},
					{Name: "geopend_op", V1: "GeopendOp", Type: TypeTimestamp, Description: "When it was opened.", expr: exprTimestamp("opened_at")},
					{Name: "gesloten_op", V1: "GeslotenOp", Type: TypeTimestamp, Description: "When it was closed, if closed.", expr: exprTimestamp("closed_at")},
					{Name: "hoofdtraject_id", Pseudonym: true, Type: TypeID, Description: "The trajectory this one was started from, if any (record key of trajecten).", expr: exprID("parent_id")},
					{Name: "programma_id", Type: TypeID, Description: "The intervention programme it carries out, if any.", expr: exprID("programme_id")},
				},
			},
			{
				Name: "taken", table: "tasks", Description: "One row per task of a trajectory.",
				Columns: []Column{
					key("taak_id", "TaakID", "task"),
					{Name: "traject_id", V1: "TrajectID", Mandatory: true, Pseudonym: true, Type: TypeID, Description: "The trajectory (record key of trajecten).", expr: exprID("trajectory_id")},
					employeeRef(),
					employerRef(),
					{Name: "volgnummer", V1: "Volgnummer", Type: TypeInteger, Description: "Position of the task in its trajectory.", expr: exprPlain("position")},
					{Name: "soort", V1: "Soort", Type: TypeText, Description: "Task type.", expr: exprText("type")},
					{Name: "titel", V1: "Titel", Type: TypeText, Description: "Title.", expr: exprText("title")},
					{Name: "status", V1: "Status", Mandatory: true, Type: TypeText, Description: "open or done.", expr: exprText("status")},
					{Name: "vervaldatum", V1: "Vervaldatum", Type: TypeDate, Description: "Due date, if any.", expr: exprDate("due_date")},
					{Name: "afgerond_op", V1: "AfgerondOp", Type: TypeTimestamp, Description: "When it was completed, if done.", expr: exprTimestamp("completed_at")},
				},
			},
		},
	},
	{
		ID: "agenda", Name: "Agenda en spreekuren",
		Description: "Appointments (agenda) and consultations (spreekuren); v2 matches an appointment to the consultation that fulfilled it.",
		Files: []File{
			{
				Name: "afspraken", table: "appointments", Description: "One row per appointment.",
				Columns: []Column{
					key("afspraak_id", "AfspraakID", "appointment"),
					employeeRef(),
					employerRef(),
					{Name: "tijdstip", V1: "Tijdstip", Mandatory: true, Type: TypeTimestamp, Description: "When it starts.", expr: exprTimestamp("starts_at")},
					{Name: "met_wie", V1: "MetWie", Type: TypeText, Description: "With whom (the professional).", expr: exprText("with_whom")},
					{Name: "soort", V1: "Soort", Type: TypeText, Description: "company_doctor, case_manager, occupational_expert, employer or other.", expr: exprText("kind")},
					{Name: "status", V1: "Status", Mandatory: true, Type: TypeText, Description: "planned, lapsed or cancelled.", expr: exprText("status")},
					{Name: "spreekuur_id", Pseudonym: true, Type: TypeID, Description: "The consultation that fulfilled it, if matched (record key of spreekuren). New in v2.", expr: exprID("consultation_id")},
				},
			},
			{
				Name: "spreekuren", table: "consultations", Description: "One row per consultation held.",
				Columns: []Column{
					key("spreekuur_id", "SpreekuurID", "consultation"),
					employeeRef(),
					employerRef(),
					{Name: "tijdstip", V1: "Tijdstip", Mandatory: true, Type: TypeTimestamp, Description: "When it was held.", expr: exprTimestamp("held_at")},
					{Name: "uitgevoerd_door", V1: "UitgevoerdDoor", Type: TypeText, Description: "The professional who held it.", expr: exprText("held_by")},
					{Name: "medisch", V1: "Medisch", Type: TypeBoolean, Description: "Whether it was a medical consultation.", expr: exprPlain("medical")},
					{Name: "uitkomst", V1: "Uitkomst", Medical: true, Type: TypeText, Description: "Outcome as recorded.", expr: exprText("outcome")},
				},
			},
		},
	},
	{
		ID: "beschikkingen", Name: "Beschikkingen", NewInV2: true,
		Description: "Decisions (beschikkingen) registered in the employee dossier, such as the UWV's.",
		Files: []File{{
			Name: "beschikkingen", table: "decisions", Description: "One row per decision.",
			Columns: []Column{
				key("beschikking_id", "", "decision"),
				employeeRef(),
				employerRef(),
				{Name: "soort", Mandatory: true, Type: TypeText, Description: "ZW, WIA, WGA, IVA or other.", expr: exprText("kind")},
				{Name: "datum", Mandatory: true, Type: TypeDate, Description: "Date of the decision.", expr: exprDate("decision_date")},
				{Name: "uitkomst", Type: TypeText, Description: "Outcome as recorded.", expr: exprText("outcome")},
				{Name: "instantie", Type: TypeText, Description: "Who issued it (UWV unless stated).", expr: exprText("issuer")},
			},
		}},
	},
	{
		ID: "dienstverlening", Name: "Dienstverlening", NewInV2: true,
		Description: "Service agreements (dienstverleningsovereenkomsten) with the employer, contract, employer group and insurance policy.",
		Files: []File{{
			Name: "dienstverleningsovereenkomsten", table: "service_agreements", Description: "One row per service agreement.",
			Columns: []Column{
				key("overeenkomst_id", "", "service agreement"),
				employerRef(),
				{Name: "werkgever_naam", Type: TypeText, Description: "The employer's name.", expr: "(SELECT e.name FROM employers e WHERE e.tenant_id = t.tenant_id AND e.id = t.employer_id)"},
				{Name: "werkgevernummer", Type: TypeText, Description: "The employer's number.", expr: "(SELECT e.employer_number FROM employers e WHERE e.tenant_id = t.tenant_id AND e.id = t.employer_id)"},
				{Name: "contractnummer", Mandatory: true, Type: TypeText, Description: "Contract number.", expr: exprText("contract_number")},
				{Name: "startdatum", Mandatory: true, Type: TypeDate, Description: "First day of the agreement.", expr: exprDate("starts_on")},
				{Name: "einddatum", Type: TypeDate, Description: "Last day, if it ends.", expr: exprDate("ends_on")},
				{Name: "werkgeversgroep_id", Type: TypeID, Description: "The employer group it covers, if any.", expr: exprID("group_id")},
				{Name: "werkgeversgroep_naam", Type: TypeText, Description: "That employer group's name.", expr: "(SELECT g.name FROM employer_groups g WHERE g.tenant_id = t.tenant_id AND g.id = t.group_id)"},
				{Name: "polis_id", Pseudonym: true, Type: TypeID, Description: "The insurance policy it is tied to, if any (record key of polissen).", expr: exprID("policy_id")},
			},
		}},
	},
	{
		ID: "polissen", Name: "Polissen",
		Description: "Insurance policies (polissen) the employers hold.",
		Files: []File{{
			Name: "polissen", table: "insurance_policies", Description: "One row per policy.",
			Columns: []Column{
				key("polis_id", "PolisID", "policy"),
				employerRef(),
				{Name: "verzekeraar", V1: "Verzekeraar", Mandatory: true, Type: TypeText, Description: "Insurer.", expr: exprText("insurer")},
				{Name: "polisnummer", V1: "Polisnummer", Mandatory: true, Type: TypeText, Description: "Policy number.", expr: exprText("policy_number")},
				{Name: "startdatum", V1: "Startdatum", Type: TypeDate, Description: "First day of cover.", expr: exprDate("starts_on")},
				{Name: "einddatum", V1: "Einddatum", Type: TypeDate, Description: "Last day of cover, if it ends.", expr: exprDate("ends_on")},
			},
		}},
	},
	{
		ID: "polisdeelnemers", Name: "Polisdeelnemers", NewInV2: true,
		Description: "Participation of employees in their employer's policies, with the reason for inclusion or exclusion.",
		Files: []File{{
			Name: "polisdeelnemers", table: "policy_participants", Description: "One row per participation period.",
			Columns: []Column{
				key("deelname_id", "", "participation"),
				employeeRef(),
				employerRef(),
				{Name: "polis_id", Mandatory: true, Pseudonym: true, Type: TypeID, Description: "The policy (record key of polissen).", expr: exprID("policy_id")},
				{Name: "deelnemer", Mandatory: true, Type: TypeBoolean, Description: "true: takes part; false: excluded.", expr: exprPlain("participating")},
				{Name: "reden", Type: TypeText, Description: "Reason for inclusion or exclusion.", expr: exprText("reason")},
				{Name: "startdatum", Mandatory: true, Type: TypeDate, Description: "First day of the period.", expr: exprDate("starts_on")},
				{Name: "einddatum", Type: TypeDate, Description: "Last day, if it ends.", expr: exprDate("ends_on")},
			},
		}},
	},
}

// FindStream returns the stream with id.
func FindStream(id string) (Stream, bool) {
	for _, s := range Catalogue {
		if s.ID == id {
			return s, true
		}
	}
	return Stream{}, false
}

// FindFile returns the file named name and its stream.
func FindFile(name string) (Stream, File, error) {
	for _, s := range Catalogue {
		for _, f := range s.Files {
			if f.Name == name {
				return s, f, nil
			}
		}
	}
	return Stream{}, File{}, fmt.Errorf("no stream file %q", name)
}
