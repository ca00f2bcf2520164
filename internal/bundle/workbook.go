package bundle

import (
	"archive/zip"
	"fmt"
	"io"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/dossierkast/dossierkast/internal/i18n"
)

// workbookColumns are the metadata sheet's columns (DESIGN.md §6), as catalogue keys.
var workbookColumns = []string{
	"bundle.workbook.path", "bundle.workbook.part", "bundle.workbook.file_name", "bundle.workbook.dossier",
	"bundle.workbook.personnel_number", "bundle.workbook.name", "bundle.workbook.category", "bundle.workbook.document_date",
	"bundle.workbook.uploaded_by", "bundle.workbook.uploaded_at", "bundle.workbook.size", "bundle.workbook.sha256",
}

// workbookInfo is what the summary sheet says besides the counts.
type workbookInfo struct {
	Lang         string // the requester's language
	EmployerName string
	Requester    string
	CreatedAt    time.Time
}

// writeWorkbook writes the metadata workbook of pl to w: a sheet with one row per document, in
// the order each gives them, and a summary sheet with the documents and bytes per category and
// the number left out. Text cells stay text: a file name starting with "=" is never a formula.
//
// Memory stays flat whatever the number of documents: excelize writes the workbook but for the
// rows of the documents sheet, which go to a temporary file as they come (sheetRows) and into
// the sheet as the workbook is zipped (spliceZip); the summary holds a total per category; and
// the workbook's ZIP is written straight to w rather than built in memory first, as excelize's
// own WriteTo does.
func writeWorkbook(w io.Writer, pl plan, info workbookInfo, each func(fn func(e *entry) error) error) (err error) {
	t := func(key string, args ...any) string { return i18n.Translate(info.Lang, key, args...) }
	f := excelize.NewFile()
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	docs, summary := t("bundle.workbook.sheet_documents"), t("bundle.workbook.sheet_summary")
	if err := f.SetSheetName("Sheet1", docs); err != nil {
		return fmt.Errorf("workbook: %w", err)
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return fmt.Errorf("workbook: %w", err)
	}
	sw, err := f.NewStreamWriter(docs)
	if err != nil {
		return fmt.Errorf("workbook: %w", err)
	}
	for col, width := range []float64{70, 8, 40, 12, 16, 30, 25, 14, 25, 18, 12, 66} {
		if err := sw.SetColWidth(col+1, col+1, width); err != nil {
			return fmt.Errorf("workbook: %w", err)
		}
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return fmt.Errorf("workbook: %w", err)
	}
	header := make([]any, len(workbookColumns))
	for i, key := range workbookColumns {
		header[i] = t(key)
	}
	if err := sw.SetRow("A1", header, excelize.RowOpts{StyleID: bold}); err != nil {
		return fmt.Errorf("workbook: %w", err)
	}
	if err := sw.Flush(); err != nil {
		return fmt.Errorf("workbook: %w", err)
	}
	rows, err := newSheetRows()
	if err != nil {
		return err
	}
	defer rows.close()
	type total struct {
		label string
		n     int
		bytes int64
	}
	var totals []*total
	byCategory := map[[2]any]*total{}
	employer, employee := t("bundle.workbook.dossier_employer"), t("bundle.workbook.dossier_employee")
	var n int
	var bytes int64
	err = each(func(e *entry) error {
		dossier := employer
		if e.EmployeeID != nil {
			dossier = employee
		}
		date := ""
		if e.DocumentDate != nil {
			date = e.DocumentDate.Format(time.DateOnly)
		}
		n++
		rows.start(n + 1)
		rows.text(e.Path)
		rows.int(int64(e.Part))
		rows.text(e.FileName)
		rows.text(dossier)
		rows.text(e.PersonnelNumber)
		rows.text(e.EmployeeName)
		rows.text(e.CategoryName)
		rows.text(date)
		rows.text(e.UploadedByName)
		rows.text(e.UploadedAt.In(i18n.Amsterdam).Format("2006-01-02 15:04"))
		rows.int(e.Size)
		rows.text(e.SHA256)
		rows.end()
		key := [2]any{e.EmployeeID == nil, e.CategoryID}
		c := byCategory[key]
		if c == nil {
			c = &total{label: dossier + ": " + e.CategoryName}
			byCategory[key] = c
			totals = append(totals, c)
		}
		c.n++
		c.bytes += e.Size
		bytes += e.Size
		return nil
	})
	if err != nil {
		return err
	}
	if n != pl.Docs || bytes != pl.Bytes {
		return fmt.Errorf("workbook: %d documents of %d bytes, the plan has %d of %d", n, bytes, pl.Docs, pl.Bytes)
	}
	if err := rows.finish(); err != nil {
		return err
	}

	if _, err := f.NewSheet(summary); err != nil {
		return fmt.Errorf("workbook: %w", err)
	}
	ss, err := f.NewStreamWriter(summary)
	if err != nil {
		return fmt.Errorf("workbook: %w", err)
	}
	if err := ss.SetColWidth(1, 1, 50); err != nil {
		return fmt.Errorf("workbook: %w", err)
	}
	if err := ss.SetColWidth(2, 3, 16); err != nil {
		return fmt.Errorf("workbook: %w", err)
	}
	lines := [][]any{
		{t("bundle.workbook.employer"), info.EmployerName},
		{t("bundle.workbook.requested_by"), info.Requester},
		{t("bundle.workbook.created_at"), info.CreatedAt.In(i18n.Amsterdam).Format("2006-01-02 15:04")},
		{t("bundle.workbook.parts"), pl.Parts},
		{},
		{t("bundle.workbook.category"), t("bundle.workbook.documents"), t("bundle.workbook.bytes")},
	}
	for _, c := range totals {
		lines = append(lines, []any{c.label, c.n, c.bytes})
	}
	lines = append(lines,
		[]any{t("bundle.workbook.total"), pl.Docs, pl.Bytes},
		[]any{},
		[]any{t("bundle.workbook.left_out"), pl.LeftOut},
	)
	for i, r := range lines {
		var opts []excelize.RowOpts
		if i == 5 {
			opts = append(opts, excelize.RowOpts{StyleID: bold})
		}
		if err := ss.SetRow(fmt.Sprintf("A%d", i+1), r, opts...); err != nil {
			return fmt.Errorf("workbook: %w", err)
		}
	}
	if err := ss.Flush(); err != nil {
		return fmt.Errorf("workbook: %w", err)
	}
	// WriteTo zips the workbook into a bytes.Buffer and then copies that to its writer; a zip
	// writer of our own on w gets the bytes instead, and the buffer stays empty. It puts the
	// rows into the documents sheet: the first sheet, so its part is sheet1.xml.
	f.SetZipWriter(func(io.Writer) excelize.ZipWriter {
		zw := zip.NewWriter(w)
		zw.RegisterCompressor(zip.Deflate, newFlateWriter)
		return &spliceZip{zw: zw, sheet: "xl/worksheets/sheet1.xml", rows: rows}
	})
	if _, err := f.WriteTo(w); err != nil {
		return fmt.Errorf("workbook: %w", err)
	}
	return nil
}
