package audit

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// WriteCSV streams the events matching f (newest first, no paging) as CSV for people: header
// first, actions through label, times through formatTime. Cells a spreadsheet would run as a
// formula are neutralised with a leading apostrophe.
func WriteCSV(ctx context.Context, tx pgx.Tx, w io.Writer, f Filter, header []string, label func(string) string,
	formatTime func(time.Time) string) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(neutralise(header)); err != nil {
		return err
	}
	f.Limit, f.Offset = 0, 0
	err := EachEvent(ctx, tx, f, func(e Event) error {
		employeeID, subject := "", e.SubjectType
		if e.EmployeeID != nil {
			employeeID = e.EmployeeID.String()
		}
		if e.SubjectID != nil {
			subject += " " + e.SubjectID.String()
		}
		details, err := json.Marshal(e.Details)
		if err != nil {
			return err
		}
		return cw.Write(neutralise([]string{formatTime(e.At), e.UserName, label(e.Action), e.EmployeeName, employeeID,
			strings.TrimSpace(subject), e.IP, e.UserAgent, string(details)}))
	})
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// neutralise prefixes cells that start like a formula (=, +, -, @, tab, carriage return), so a
// spreadsheet shows them as text instead of running them.
func neutralise(row []string) []string {
	for i, cell := range row {
		if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
			row[i] = "'" + cell
		}
	}
	return row
}
