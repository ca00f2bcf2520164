package export

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/dossierkast/dossierkast/internal/i18n"
)

// FormatVersion is the version of the JSON twin's layout (README: "Employee export JSON").
const FormatVersion = 1

// outputs writes both files of an export in one pass over the dossier: each row goes to the
// workbook's stream writer of its sheet and to the JSON twin, which streams into its blob as it
// is written.
type outputs struct {
	book   *excelize.File
	header int // style of header rows
	json   *bufio.Writer
	first  bool // no section written yet to the JSON "sections" object
	counts map[string]int
}

// countingHash counts and hashes what is written through it.
type countingHash struct {
	h hash.Hash
	n int64
}

func newCountingHash() *countingHash { return &countingHash{h: sha256.New()} }

func (c *countingHash) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return c.h.Write(p)
}

func (c *countingHash) sum() string { return hex.EncodeToString(c.h.Sum(nil)) }

// newOutputs starts the workbook with every sheet in display order (Overzicht, Verwerking,
// then the data sheets) and the JSON twin with its head.
func newOutputs(jsonOut io.Writer, head map[string]any) (*outputs, error) {
	o := &outputs{book: excelize.NewFile(), json: bufio.NewWriterSize(jsonOut, 64<<10), first: true, counts: map[string]int{}}
	if err := o.book.SetSheetName("Sheet1", overviewSection.sheet); err != nil {
		return nil, err
	}
	for _, s := range append([]section{processingSection}, dataSections...) {
		if _, err := o.book.NewSheet(s.sheet); err != nil {
			return nil, err
		}
	}
	var err error
	if o.header, err = o.book.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true},
		Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDE6F0"}}}); err != nil {
		return nil, err
	}
	b, err := json.Marshal(head)
	if err != nil {
		return nil, err
	}
	o.json.WriteString(`{"format":"dossierkast.employee_export","version":` + strconv.Itoa(FormatVersion) + `,"export":`)
	o.json.Write(b)
	o.json.WriteString(`,"sections":{`)
	return o, nil
}

// close releases the workbook's temporary files.
func (o *outputs) close() { _ = o.book.Close() }

// sheet is one section being written.
type sheet struct {
	o    *outputs
	s    section
	sw   *excelize.StreamWriter
	row  int
	vals []any
	obj  []byte
}

// begin starts section s: the sheet's frozen, bold header row and column widths, and the
// section's JSON array.
func (o *outputs) begin(s section) (*sheet, error) {
	sw, err := o.book.NewStreamWriter(s.sheet)
	if err != nil {
		return nil, err
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return nil, err
	}
	headers := make([]any, len(s.cols))
	for i, c := range s.cols {
		if err := sw.SetColWidth(i+1, i+1, c.width); err != nil {
			return nil, err
		}
		headers[i] = excelize.Cell{StyleID: o.header, Value: c.header}
	}
	if err := sw.SetRow("A1", headers); err != nil {
		return nil, err
	}
	if !o.first {
		o.json.WriteByte(',')
	}
	o.first = false
	key, _ := json.Marshal(s.key)
	o.json.Write(key)
	o.json.WriteString(":[")
	return &sheet{o: o, s: s, sw: sw, row: 1, vals: make([]any, len(s.cols))}, nil
}

// add writes one row: values in the order of the section's columns, as pgx reads them
// (string, time.Time, integers, bool, or nil for NULL).
func (sh *sheet) add(values []any) error {
	if len(values) != len(sh.s.cols) {
		return fmt.Errorf("section %s: %d values for %d columns", sh.s.key, len(values), len(sh.s.cols))
	}
	if sh.row > 1 {
		sh.o.json.WriteByte(',')
	}
	sh.o.json.WriteByte('{')
	for i, c := range sh.s.cols {
		sh.vals[i] = cellValue(c, values[i])
		if i > 0 {
			sh.o.json.WriteByte(',')
		}
		sh.obj = strconv.AppendQuote(sh.obj[:0], c.key)
		sh.o.json.Write(sh.obj)
		sh.o.json.WriteByte(':')
		b, err := json.Marshal(jsonValue(c, values[i]))
		if err != nil {
			return fmt.Errorf("section %s, column %s: %w", sh.s.key, c.key, err)
		}
		sh.o.json.Write(b)
	}
	sh.o.json.WriteByte('}')
	sh.row++
	cell, err := excelize.CoordinatesToCellName(1, sh.row)
	if err != nil {
		return err
	}
	return sh.sw.SetRow(cell, sh.vals)
}

// end finishes the sheet and the JSON array, and records the row count.
func (sh *sheet) end() error {
	sh.o.json.WriteByte(']')
	sh.o.counts[sh.s.key] = sh.row - 1
	return sh.sw.Flush()
}

// finish ends the JSON document and writes it out; the workbook is written by writeBook.
func (o *outputs) finish() error {
	o.json.WriteString("}}\n")
	return o.json.Flush()
}

// writeBook writes the workbook to w.
func (o *outputs) writeBook(w io.Writer) error {
	_, err := o.book.WriteTo(w)
	return err
}

// cellValue is v as the workbook shows it: text always as a text cell (the stream writer
// writes a string as an inline string, never as a formula, so "=HYPERLINK(…)" stays text),
// numbers as numbers, dates and moments as Dutch text, codes as their Dutch label.
func cellValue(c column, v any) any {
	if v == nil {
		return nil
	}
	switch c.kind {
	case kInt:
		return toInt(v)
	case kBool:
		if b, _ := v.(bool); b {
			return "ja"
		}
		return "nee"
	case kDate:
		t, _ := v.(time.Time)
		return t.Format("2-1-2006")
	case kTime:
		t, _ := v.(time.Time)
		return i18n.DateTime(t)
	case kLabel:
		return fitCell(Label(c.label, fmt.Sprint(v)))
	}
	return fitCell(fmt.Sprint(v))
}

// Label is the Dutch label of code under the message key prefix, or the code itself when the
// catalogue has none ("" stays "").
func Label(prefix, code string) string {
	if code == "" || !i18n.Has(prefix+code) {
		return code
	}
	return i18n.Translate("nl", prefix+code)
}

// jsonValue is v as the JSON twin holds it: ISO dates, RFC 3339 moments in UTC, numbers,
// booleans, codes and text as they are stored; null for NULL.
func jsonValue(c column, v any) any {
	if v == nil {
		return nil
	}
	switch c.kind {
	case kInt:
		return toInt(v)
	case kDate:
		t, _ := v.(time.Time)
		return t.Format(time.DateOnly)
	case kTime:
		t, _ := v.(time.Time)
		return t.UTC().Format(time.RFC3339Nano)
	case kBool:
		b, _ := v.(bool)
		return b
	}
	return fmt.Sprint(v)
}

func toInt(v any) int64 {
	switch n := v.(type) {
	case int16:
		return int64(n)
	case int32:
		return int64(n)
	case int64:
		return n
	case int:
		return int64(n)
	}
	return 0
}

// fitCell cuts s to the 32,767 UTF-16 units a cell holds; the JSON twin keeps the whole text.
func fitCell(s string) string {
	if len(s) <= excelize.TotalCellChars || utf16Len(s) <= excelize.TotalCellChars {
		return s
	}
	n := 0
	for i, r := range s {
		w := 1
		if r >= 0x10000 {
			w = 2
		}
		if n+w > excelize.TotalCellChars {
			return s[:i]
		}
		n += w
	}
	return s
}

func utf16Len(s string) int {
	n := 0
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		n += len(utf16.Encode([]rune{r}))
		s = s[size:]
	}
	return n
}
