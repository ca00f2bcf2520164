package bundle

import (
	"archive/zip"
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"
)

// TestSheetRowsAsExcelize checks that sheetRows writes rows byte for byte as excelize's stream
// writer does, for texts that need escaping, trimming or cutting, and for integers.
func TestSheetRowsAsExcelize(t *testing.T) {
	t.Parallel()
	texts := []string{
		"", "plain.pdf", " leading", "trailing ", "\ttab", "line\nbreak\r\n", "\r", `<a href="x">&'</a>`, "=SUM(A1:A9)",
		"+31 6 1234", "-1", "_x0041_", "a_x005F_x0041_b", "_x005F_", "_x005F_xZZZZ_", "_xD800_", "_xd83d_", "_xZZZZ_",
		"x_x12_y_x", "Désirée van 't Hoff – 漢字 😀", "\x01\x08\x0b\x7f control", "\xff\xfe invalid", "\uFFFE\uFFFF",
		"a]]>b", "van 't Hoff", `say "hi"`, "a>b", "a<b", "a&b", "snake_x_case", "end_x", "~!@#$%^*()[]{}|;:,./?", strings.Repeat("a", 40_000), strings.Repeat("😀", 20_000), strings.Repeat("a", 32_766) + "😀",
		strings.Repeat("é", 32_767) + "x", strings.Repeat("_x0041_", 5_000),
	}
	ints := []int64{0, 7, -5, 1 << 40}

	f := excelize.NewFile()
	defer f.Close()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := newSheetRows()
	if err != nil {
		t.Fatal(err)
	}
	defer rows.close()
	for i, text := range texts {
		r := i + 2
		n := ints[i%len(ints)]
		cell, err := excelize.CoordinatesToCellName(1, r)
		if err != nil {
			t.Fatal(err)
		}
		if err := sw.SetRow(cell, []any{text, n, "x", text}); err != nil {
			t.Fatal(err)
		}
		rows.start(r)
		rows.text(text)
		rows.int(n)
		rows.text("x")
		rows.text(text)
		rows.end()
	}
	if err := sw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := rows.finish(); err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := f.Write(&want); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(want.Bytes()), int64(want.Len()))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := zr.Open("xl/worksheets/sheet1.xml")
	if err != nil {
		t.Fatal(err)
	}
	sheet, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	_, data, _ := strings.Cut(string(sheet), "<sheetData>")
	data, _, _ = strings.Cut(data, "</sheetData>")
	if _, err := rows.file.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rows.file)
	if err != nil {
		t.Fatal(err)
	}
	if data == "" || string(got) != data {
		t.Errorf("rows differ from excelize's (-excelize +sheetRows):\n%s", cmp.Diff(strings.Split(data, "<c "), strings.Split(string(got), "<c ")))
	}
}
