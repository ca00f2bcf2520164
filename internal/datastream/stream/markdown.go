package stream

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// markdownIntro documents the delivery format; the stream tables follow it.
const markdownIntro = `# Datastreams: files and columns

This document is generated from the stream catalogue in the code
(` + "`internal/datastream/stream/catalogue.go`" + `) by ` + "`dossierkast datastreams catalogue --markdown > docs/datastreams.md`" + `;
a test fails when the two differ. It is what a data warehouse needs to read the deliveries.

## Deliveries

A delivery is a folder ` + "`<configuration folder>/<UTC timestamp>/`" + ` (timestamp ` + "`20270104T010000Z`" + `) on the
SFTP account. It holds one CSV file per file of every chosen stream (` + "`werknemers.csv`" + `, ...) and
` + "`manifest.json`" + `. Each file is uploaded under a temporary name (` + "`.part`" + `) and renamed when complete;
` + "`manifest.json`" + ` is written last: a delivery without it is incomplete and must be ignored.

The manifest lists, per file, the stream, the row count per mutation kind (insert, update,
delete), the size in bytes and the SHA-256 of the file, and for the delivery its mode (` + "`full`" + `,
` + "`incremental`" + ` or ` + "`since`" + `), the window it covers, the stream version and, for a pseudonymised
configuration, the version of the pseudonym key.

## CSV format

- RFC 4180: comma-separated, fields with a comma, a double quote or a line break in double
  quotes (a double quote inside doubled), lines ending in CRLF; UTF-8 without a byte-order mark.
- The first line is the header with the column names of the configuration's version.
- Every row starts with the record key, then ` + "`mutation`" + ` (` + "`insert`" + `, ` + "`update`" + ` or ` + "`delete`" + `) and
  ` + "`mutation_time`" + ` (UTC, ISO 8601), then the chosen columns in the order of the tables below.
- Values are written as they are stored (no escaping for spreadsheets: these files are for
  programs). An empty field is an empty value or no value. Dates are ` + "`YYYY-MM-DD`" + `,
  timestamps UTC ` + "`YYYY-MM-DDTHH:MM:SS[.ffffff]Z`" + ` (the fraction of a second
  only when not zero, without trailing zeros), booleans ` + "`true`" + `/` + "`false`" + `.
- A ` + "`delete`" + ` row carries only the record key, the mutation and its time.

## Which rows a delivery holds

- **full**: every row in the configuration's scope as it is at the moment of the delivery,
  each as ` + "`insert`" + ` with the time of its last change.
- **since a date**: every row changed since the start of that day (Amsterdam time), and the
  rows deleted since then, each with the kind and time of its last mutation.
- **incremental**: every row changed since the previous successful delivery of the
  configuration, and the rows deleted since then. Every committed change is in exactly one
  delivery, including changes of transactions that were still running during the previous one.
  When a row changed several times between two deliveries, the delivery carries it once: its
  final state, with the kind and time of its last mutation. A row inserted and deleted in the
  same window is delivered as a ` + "`delete`" + ` of a key the consumer may never have seen.
- Each full, since and incremental delivery reads one consistent snapshot of the database; the
  next incremental delivery continues exactly where that snapshot ended.

## Privacy

- **Medical** columns are only delivered when the connection account has access to medical
  data.
- **Identifying** columns are never delivered by a pseudonymised configuration. There, every
  column marked **pseudonym** (record keys and references to them) holds
  ` + "`HMAC-SHA-256(configuration key, id)`" + ` in hexadecimal instead of the id: stable across
  deliveries, so increments join, and different for every configuration, so two recipients
  cannot link their files. The birth year (` + "`geboortejaar`" + `) is available instead of the date.
  When the key is rotated, the next delivery is a full one and the manifest names the new key
  version.
- The connection account's employer scope filters every stream.
- A delivery that is not pseudonymised records which employees' data it carried: the
  ` + "`werknemer_id`" + ` of every row it wrote that is not a deletion. Each such employee's
  dossier export lists the configuration among the recipients of his data, with the time of
  every delivery (AVG art. 15). The record is kept as long as the run history.

## Versions

Version ` + "`v2`" + ` is current. Version ` + "`v1`" + ` is the legacy format: older column names (below), without
the streams and columns that are new in v2; it is supported until %s.
`

// WriteMarkdown writes the catalogue's documentation to w: the delivery format and, per stream
// and file, every column with its v2 and v1 name, type, flags and description.
func WriteMarkdown(w io.Writer) error {
	b := bufio.NewWriter(w)
	fmt.Fprintf(b, markdownIntro, V1SupportEnds.Format("2006-01-02"))
	for _, s := range Catalogue {
		fmt.Fprintf(b, "\n## Stream %s (`%s`)\n\n%s", s.Name, s.ID, s.Description)
		if s.NewInV2 {
			b.WriteString(" New in v2.")
		}
		b.WriteString("\n")
		for _, f := range s.Files {
			fmt.Fprintf(b, "\n### `%s.csv`\n\n%s Record key: `%s`.\n\n", f.Name, f.Description, f.Key().Name)
			b.WriteString("| column (v2) | column (v1) | type | mandatory | identifying | medical | pseudonym | description |\n")
			b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- |\n")
			for _, c := range f.Columns {
				v1 := "—"
				if c.V1 != "" && s.In(V1) {
					v1 = "`" + c.V1 + "`"
				}
				fmt.Fprintf(b, "| `%s` | %s | %s | %s | %s | %s | %s | %s |\n", c.Name, v1, c.Type,
					yes(c.Mandatory), yes(c.Identifying), yes(c.Medical), yes(c.Pseudonym), strings.ReplaceAll(c.Description, "|", `\|`))
			}
		}
	}
	return b.Flush()
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return ""
}
