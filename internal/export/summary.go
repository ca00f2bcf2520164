package export

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/datastream/delivery"
	"github.com/dossierkast/dossierkast/internal/i18n"
)

// The two summary sheets come first in the workbook and last in the JSON twin: they are filled
// once the data sections are written, since they report on them.
var (
	overviewSection = section{key: "overview", sheet: "Overzicht", cols: []column{
		{key: "key", header: "Code", width: 24},
		{key: "item", header: "Onderdeel", width: 44},
		{key: "value", header: "Waarde", width: 90},
	}}
	processingSection = section{key: "processing", sheet: "Verwerking", cols: []column{
		{key: "topic", header: "Onderwerp", kind: kLabel, label: "export.processing.", width: 22},
		{key: "item", header: "Onderdeel", width: 44},
		{key: "description", header: "Toelichting", width: 90},
	}}
)

// leftOut counts what the export does not hold, for the overview.
type leftOut struct {
	medicalReports, causes, outcomes, documents int
}

// countLeftOut counts the medical items left out (without medical.view) and the documents the
// creator may not read; documentsExported is how many the Documenten sheet lists.
func countLeftOut(ctx context.Context, tx pgx.Tx, j *job, documentsExported int) (leftOut, error) {
	var l leftOut
	var documents int
	err := tx.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM reports WHERE employee_id = $1 AND medical AND NOT $2),
		(SELECT count(*) FROM absences WHERE employee_id = $1 AND cause <> '' AND NOT $2),
		(SELECT count(*) FROM consultations WHERE employee_id = $1 AND medical AND outcome <> '' AND NOT $2),
		(SELECT count(*) FROM documents WHERE employee_id = $1)`, base(j)...).Scan(&l.medicalReports, &l.causes, &l.outcomes, &documents)
	if err != nil {
		return leftOut{}, fmt.Errorf("count left out: %w", err)
	}
	l.documents = documents - documentsExported
	return l, nil
}

// overviewRows are the rows of Overzicht: whose dossier, who exported it when and on whose
// behalf, what is included and what is not and why, and the row count of every sheet.
func overviewRows(j *job, l leftOut, counts map[string]int) [][]any {
	e, x := j.employee, j.export
	reason := x.Reason
	if reason == "" {
		reason = "(niet opgegeven)"
	}
	medical := "Opgenomen: de exporteur mag medische gegevens inzien (recht medical.view)."
	if !x.Medical {
		medical = "Niet opgenomen: de exporteur mag geen medische gegevens inzien (recht medical.view ontbreekt). " +
			"Weggelaten: " + strconv.Itoa(l.medicalReports) + " medische rapportage(s), de oorzaak van " + strconv.Itoa(l.causes) +
			" verzuimmelding(en) en de uitkomst van " + strconv.Itoa(l.outcomes) + " medisch(e) spreekuur/spreekuren."
	}
	rows := [][]any{
		{"employee", "Dossier van", e.FullName() + " (personeelsnummer " + e.PersonnelNumber + ")"},
		{"employer", "Werkgever", e.EmployerName},
		{"exported_by", "Geëxporteerd door", j.user.Name + " <" + j.user.Email + ">"},
		{"exported_at", "Geëxporteerd op", i18n.DateTime(j.started)},
		{"on_behalf_of", "Namens / verzoekreferentie", reason},
		{"available_until", "Te downloaden tot", i18n.DateTime(x.ExpiresAt)},
		{"included", "Opgenomen", "Alle onderdelen van het dossier: persoonsgegevens, verzuim met het verloop van het percentage, " +
			"trajecten en taken, alle rapportages (ook verborgen en die met een deskundigheid), afspraken, spreekuren, beschikkingen, " +
			"polisdeelname, de lijst met documenten, delegaties en wie het dossier heeft ingezien."},
		{"medical", "Medische gegevens", medical},
		{"medical_reports_left_out", "Medische rapportages weggelaten", strconv.Itoa(l.medicalReports)},
		{"causes_left_out", "Oorzaak van verzuim weggelaten", strconv.Itoa(l.causes)},
		{"outcomes_left_out", "Uitkomst van medisch spreekuur weggelaten", strconv.Itoa(l.outcomes)},
		{"documents", "Documenten", "Alleen de gegevens van elk document (naam, categorie, datum, wie het toevoegde, grootte, SHA-256); " +
			"de bestanden zelf zitten niet in deze export."},
		{"documents_left_out", "Documenten weggelaten (geen leesrecht op de categorie)", strconv.Itoa(l.documents)},
	}
	for _, s := range append([]section{processingSection}, dataSections...) {
		rows = append(rows, []any{"rows." + s.key, "Aantal rijen op blad " + s.sheet, strconv.Itoa(counts[s.key])})
	}
	return rows
}

// processingRows are the rows of Verwerking (AVG art. 15(1)): the purposes, the categories of
// data, the recipients (the organisations, every coach who had delegated access, and the
// datastreams that delivered the person's data without pseudonymisation) and the retention
// periods.
func processingRows(ctx context.Context, tx pgx.Tx, j *job) ([][]any, error) {
	var tenant string
	if err := tx.QueryRow(ctx, "SELECT name FROM tenants WHERE id = app_tenant()").Scan(&tenant); err != nil {
		return nil, fmt.Errorf("processing: %w", err)
	}
	rows := [][]any{
		{"purpose", "Verzuimbegeleiding en re-integratie", "Begeleiden van ziekte en herstel en van de terugkeer naar werk (Wet verbetering poortwachter)."},
		{"purpose", "Wettelijke verplichtingen", "Verplichtingen van werkgever en arbodienst uit de Arbeidsomstandighedenwet, de Ziektewet en de WIA."},
		{"purpose", "Verantwoording", "Vastleggen wie het dossier heeft ingezien of gewijzigd (NEN 7513)."},
		{"category", "Identificatie- en contactgegevens", "Naam, geboortedatum, BSN, adres, e-mail, telefoon (blad Persoonsgegevens)."},
		{"category", "Dienstverband", "Werkgever, afdeling, periode van het dienstverband (blad Persoonsgegevens)."},
		{"category", "Verzuimgegevens", "Verzuimmeldingen en het verloop van het percentage (bladen Verzuim en Verzuimpercentages)."},
		{"category", "Gezondheidsgegevens", "Oorzaak van verzuim, medische rapportages en spreekuren; alleen voor wie medische gegevens mag inzien."},
		{"category", "Begeleiding", "Trajecten, taken, rapportages, afspraken, beschikkingen van UWV, polisdeelname, documenten, delegaties."},
		{"recipient", "Arbodienst", tenant},
		{"recipient", "Werkgever", j.employee.EmployerName},
	}
	// Every coach of an intervention provider who had delegated access to this dossier.
	q, err := tx.Query(ctx, `SELECT u.name, coalesce(p.name, ''), min(d.valid_from), max(coalesce(d.ended_at, 'infinity'))
		FROM dossier_delegations d JOIN users u ON u.id = d.user_id LEFT JOIN intervention_providers p ON p.id = u.provider_id
		WHERE d.employee_id = $1 GROUP BY u.id, u.name, p.name ORDER BY min(d.valid_from), u.name`, j.export.EmployeeID)
	if err != nil {
		return nil, fmt.Errorf("processing recipients: %w", err)
	}
	for q.Next() {
		var user, provider string
		var from, until time.Time
		if err := q.Scan(&user, &provider, &from, &until); err != nil {
			q.Close()
			return nil, fmt.Errorf("processing recipients: %w", err)
		}
		period := "vanaf " + i18n.DateTime(from)
		if until.Year() < 9999 {
			period += " tot " + i18n.DateTime(until)
		}
		rows = append(rows, []any{"recipient", "Coach met gedelegeerde toegang: " + user, provider + ", " + period})
	}
	if err := q.Err(); err != nil {
		return nil, fmt.Errorf("processing recipients: %w", err)
	}
	streams, err := datastreamRecipients(ctx, tx, j)
	if err != nil {
		return nil, err
	}
	rows = append(rows, streams...)
	rows = append(rows, []any{"retention", "Verzuimdossier", "Tot 2 jaar na het einde van het dienstverband of van de verzuimbegeleiding."},
		[]any{"retention", "Medische gegevens", "20 jaar na de laatste wijziging (WGBO, art. 7:454 BW), bij de bedrijfsarts."},
		[]any{"retention", "Inzagelog", "Ten minste 5 jaar (NEN 7513)."},
		[]any{"retention", "Deze export", "De bestanden worden 24 uur na het aanmaken automatisch verwijderd."})
	return rows, nil
}

// datastreamRecipients are the Verwerking rows of the datastream configurations that delivered
// the employee's data without pseudonymisation (DESIGN.md §9): one per configuration and
// calendar year of delivery (so no cell outgrows a spreadsheet's), naming the configuration,
// its account and the time of every delivery; one row saying so when there is none. Each
// delivery is also a line of Inzage.
func datastreamRecipients(ctx context.Context, tx pgx.Tx, j *job) ([][]any, error) {
	list, err := delivery.FindEmployeeDeliveries(ctx, tx, j.export.EmployeeID)
	if err != nil {
		return nil, fmt.Errorf("processing recipients: %w", err)
	}
	if len(list) == 0 {
		return [][]any{{"recipient", "Datastreams zonder pseudonimisering", "Geen: er zijn geen datastreams die gegevens van deze persoon zonder pseudonimisering hebben geleverd."}}, nil
	}
	var rows [][]any
	for _, d := range list {
		for _, year := range years(d.Delivered) {
			var times []string
			for _, t := range d.Delivered {
				if t.In(i18n.Amsterdam).Year() == year {
					times = append(times, i18n.DateTime(t))
				}
			}
			what := "leveringen"
			if len(times) == 1 {
				what = "levering"
			}
			rows = append(rows, []any{"recipient", "Datastream zonder pseudonimisering: " + d.ConfigName,
				fmt.Sprintf("Account %s (%s); %d %s in %d: %s.", d.AccountName, i18n.Translate("nl", "datastream.type."+d.AccountType),
					len(times), what, year, strings.Join(times, ", "))})
		}
	}
	return rows, nil
}

// years are the calendar years (Amsterdam) of times, in order.
func years(times []time.Time) []int {
	var out []int
	for _, t := range times {
		if y := t.In(i18n.Amsterdam).Year(); !slices.Contains(out, y) {
			out = append(out, y)
		}
	}
	return out
}
