package bundle

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/xuri/excelize/v2"
)

// sheetRows writes the data rows of a worksheet to a spill file, in the XML that excelize's
// StreamWriter.SetRow writes for string and integer values without row or cell options. The
// workbook's documents sheet is written by excelize except for these rows (spliceZip puts them
// in): excelize's stream writer keeps a sheet in a bytes.Buffer until it reaches 16 MB
// (excelize.StreamChunkSize, a constant) and keeps that buffer's capacity, up to 32 MB, until
// the workbook is done, so the memory of a generation grew with its number of documents up to
// that. Here a row goes to the file through a small buffer as soon as it is written.
type sheetRows struct {
	file *os.File
	w    *bufio.Writer
	cols []string // column names, "A", "B", …, as far as they are used
	row  []byte   // the row number being written
	col  int      // cells written in the row so far
	num  [20]byte
	esc  bytes.Buffer
	err  error
}

func newSheetRows() (*sheetRows, error) {
	f, err := newSpillFile("", "dossierkast-sheet-")
	if err != nil {
		return nil, fmt.Errorf("workbook: %w", err)
	}
	return &sheetRows{file: f.File, w: f.w}, nil
}

// start starts row r (from 1); the cells that follow fill it from column A.
func (s *sheetRows) start(r int) {
	s.row = strconv.AppendInt(s.row[:0], int64(r), 10)
	s.col = 0
	s.w.WriteString(`<row r="`)
	s.w.Write(s.row)
	s.w.WriteString(`">`)
}

// end ends the row.
func (s *sheetRows) end() { s.w.WriteString(`</row>`) }

// cell writes the start of the next cell's element, up to its value.
func (s *sheetRows) cell(typ string) {
	if s.col == len(s.cols) {
		name, err := excelize.ColumnNumberToName(s.col + 1)
		if err != nil && s.err == nil {
			s.err = err
		}
		s.cols = append(s.cols, name)
	}
	s.w.WriteString(`<c r="`)
	s.w.WriteString(s.cols[s.col])
	s.w.Write(s.row)
	s.w.WriteString(`"`)
	s.w.WriteString(typ)
	s.w.WriteString(`>`)
	s.col++
}

// int writes an integer cell.
func (s *sheetRows) int(v int64) {
	s.cell("")
	s.w.WriteString(`<v>`)
	s.w.Write(strconv.AppendInt(s.num[:0], v, 10))
	s.w.WriteString(`</v></c>`)
}

// text writes a text cell (an inline string, as excelize writes a string value): cut to the
// 32,767 UTF-16 units a cell holds, spaces at either end kept, XML-escaped, and literal
// _xHHHH_ sequences escaped so that no reader decodes them to characters.
func (s *sheetRows) text(v string) {
	s.cell(` t="inlineStr"`)
	if len(v) > excelize.TotalCellChars { // else it has fewer UTF-16 units than that
		v = truncateUTF16(v, excelize.TotalCellChars)
	}
	s.w.WriteString(`<is><t`)
	if v != "" && (isXMLSpace(v[0]) || isXMLSpace(v[len(v)-1])) {
		s.w.WriteString(` xml:space="preserve"`)
	}
	s.w.WriteString(`>`)
	if plainText(v) {
		s.w.WriteString(v)
	} else {
		s.esc.Reset()
		_ = xml.EscapeText(&s.esc, []byte(v))
		escaped := strings.ReplaceAll(s.esc.String(), "&#xA;", "\n")
		if strings.Contains(escaped, "_x") {
			escaped = bstrMarshal(escaped)
		}
		s.w.WriteString(escaped)
	}
	s.w.WriteString(`</t></is></c>`)
}

// finish writes what is buffered to the file and returns the first error writing the rows.
func (s *sheetRows) finish() error {
	if err := s.w.Flush(); err != nil && s.err == nil {
		s.err = err
	}
	if s.err != nil {
		return fmt.Errorf("workbook: %w", s.err)
	}
	return nil
}

func (s *sheetRows) close() error { return s.file.Close() }

func isXMLSpace(c byte) bool { return c == '\t' || c == '\n' || c == '\r' || c == ' ' }

// plainText reports whether v is printable ASCII that XML escaping and excelize's _xHHHH_
// escaping leave as it is.
func plainText(v string) bool {
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c < 0x20 || c > 0x7e, c == '&', c == '<', c == '>', c == '"', c == '\'':
			return false
		}
	}
	return !strings.Contains(v, "_x")
}

// truncateUTF16 cuts v to at most n UTF-16 code units, as excelize does.
func truncateUTF16(v string, n int) string {
	var units int
	for i, r := range v {
		if units += utf16.RuneLen(r); units > n {
			return v[:i]
		}
	}
	return v
}

var (
	bstrExp       = regexp.MustCompile(`_x[a-fA-F\d]{4}_`)
	bstrEscapeExp = regexp.MustCompile(`x[a-fA-F\d]{4}_`)
)

// bstrMarshal escapes literal _xHHHH_ sequences in s as _x005F_xHHHH_: excelize's function of
// that name (lib.go, v2.11.0, BSD-3-Clause), kept as it is, quirks included, so that the
// sheet's text is what excelize would write.
func bstrMarshal(s string) (result string) {
	matches, l, cursor := bstrExp.FindAllStringSubmatchIndex(s, -1), len(s), 0
	for _, match := range matches {
		result += s[cursor:match[0]]
		subStr := s[match[0]:match[1]]
		if subStr == "_x005F_" {
			cursor = match[1]
			if match[1]+6 <= l && bstrEscapeExp.MatchString(s[match[1]:match[1]+6]) {
				_, err := strconv.Unquote(`"\u` + s[match[1]+1:match[1]+5] + `"`)
				if err == nil {
					result += subStr + "x005F" + subStr
					continue
				}
			}
			result += subStr + "x005F_"
			continue
		}
		if bstrExp.MatchString(subStr) {
			cursor = match[1]
			if _, err := strconv.Unquote(`"\u` + s[match[0]+2:match[1]-1] + `"`); err == nil {
				result += "_x005F" + subStr
				continue
			}
		}
	}
	if cursor < l {
		result += s[cursor:]
	}
	return result
}

// spliceZip is the ZIP writer excelize writes the workbook with. It passes every part on to zw
// as it comes, except the part named sheet: that it holds (as excelize writes it, it has only
// the header row) until the next part starts or the ZIP closes, and then writes it with the
// rows of rows inserted before its </sheetData>.
type spliceZip struct {
	zw      *zip.Writer
	sheet   string
	rows    *sheetRows
	pending *bytes.Buffer // the sheet as excelize wrote it, until spliced
	spliced bool
}

func (z *spliceZip) Create(name string) (io.Writer, error) {
	if err := z.splice(); err != nil {
		return nil, err
	}
	if name == z.sheet {
		z.pending = &bytes.Buffer{}
		return z.pending, nil
	}
	return z.zw.Create(name)
}

func (z *spliceZip) AddFS(fsys fs.FS) error {
	if err := z.splice(); err != nil {
		return err
	}
	return z.zw.AddFS(fsys)
}

func (z *spliceZip) Close() error {
	if err := z.splice(); err != nil {
		return err
	}
	if !z.spliced {
		return fmt.Errorf("workbook: excelize wrote no %s", z.sheet)
	}
	return z.zw.Close()
}

func (z *spliceZip) splice() error {
	if z.pending == nil {
		return nil
	}
	head, tail, ok := bytes.Cut(z.pending.Bytes(), []byte("</sheetData>"))
	z.pending = nil
	if !ok {
		return errors.New("workbook: the documents sheet has no </sheetData>")
	}
	w, err := z.zw.Create(z.sheet)
	if err != nil {
		return err
	}
	if _, err := w.Write(head); err != nil {
		return err
	}
	if _, err := z.rows.file.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("workbook: %w", err)
	}
	if _, err := io.Copy(w, z.rows.file); err != nil {
		return fmt.Errorf("workbook: %w", err)
	}
	if _, err := w.Write([]byte("</sheetData>")); err != nil {
		return err
	}
	if _, err := w.Write(tail); err != nil {
		return err
	}
	z.spliced = true
	return nil
}
