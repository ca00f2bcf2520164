package bundle

import (
	"archive/zip"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
)

// WorkbookName is the metadata workbook's name: the first entry of part 1.
const WorkbookName = "Overzicht documenten.xlsx"

// The top folders of the archive: the employer dossier, and one folder per employee under
// employeesFolder.
const (
	employerFolder  = "Werkgever"
	employeesFolder = "Werknemers"
)

// entry is one document in a bundle: what the workbook says of it, where it goes in the
// archive, and how it is stored there.
type entry struct {
	DocumentID      uuid.UUID
	StorageKey      string
	Size            int64
	ContentType     string
	SHA256          string
	FileName        string
	CategoryID      uuid.UUID
	CategoryName    string
	DocumentDate    *time.Time
	UploadedByName  string
	UploadedAt      time.Time
	EmployeeID      *uuid.UUID // nil: the employer dossier
	PersonnelNumber string
	EmployeeName    string

	Path   string // inside the archive, "/"-separated
	Part   int    // from 1
	Method uint16 // zip.Store or zip.Deflate
}

// plan is what a generation will write: every document in order with its part and path.
type plan struct {
	Entries    []entry
	Parts      int
	Bytes      int64
	LeftOut    int
	Employees  []uuid.UUID // whose documents are in, in order
	Categories []uuid.UUID // the categories of the documents in, in order of first use
}

// loadEntries reads the documents of the employer's full dossier that p may read by cats, in the
// bundle's stable order: the employer dossier first, then the employees by personnel number
// (shorter numbers first, so 9 comes before 10), each by category order, then by upload. It
// also counts the documents left out.
func loadEntries(ctx context.Context, tx pgx.Tx, p access.Principal, cats access.Categories, employerID uuid.UUID) ([]entry, int, error) {
	from, where, args := visibleDossierDocuments(p, cats, employerID)
	rows, err := tx.Query(ctx, `SELECT d.id, d.storage_key, d.size, d.content_type, d.sha256, d.file_name, d.category_id, c.name,
			d.document_date, coalesce(u.name, ''), d.uploaded_at, d.employee_id, coalesce(e.personnel_number, ''),
			concat_ws(' ', nullif(e.first_name, ''), nullif(e.name_prefix, ''), nullif(e.last_name, ''))
		FROM `+from+`
		JOIN document_categories c ON c.id = d.category_id
		LEFT JOIN users u ON u.id = d.uploaded_by
		LEFT JOIN employees e ON e.id = d.employee_id`+where+`
		ORDER BY d.employee_id IS NOT NULL, length(e.personnel_number), e.personnel_number, e.id,
			c.position, c.name, c.id, d.uploaded_at, d.id`, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("plan bundle: %w", err)
	}
	entries, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (entry, error) {
		var e entry
		err := r.Scan(&e.DocumentID, &e.StorageKey, &e.Size, &e.ContentType, &e.SHA256, &e.FileName, &e.CategoryID, &e.CategoryName,
			&e.DocumentDate, &e.UploadedByName, &e.UploadedAt, &e.EmployeeID, &e.PersonnelNumber, &e.EmployeeName)
		return e, err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("plan bundle: %w", err)
	}
	var all int
	if err := tx.QueryRow(ctx, "SELECT count(*) FROM documents WHERE employer_id = $1 AND bundle_id IS NULL", employerID).Scan(&all); err != nil {
		return nil, 0, fmt.Errorf("plan bundle: %w", err)
	}
	return entries, all - len(entries), nil
}

// makePlan gives every entry (in order) its path and part. A part holds entries in order until
// the next one would take it past partSize; an entry larger than partSize by itself gets a part
// of its own. Part 1 starts with the workbook, counted at an upper bound of its size.
func makePlan(entries []entry, leftOut int, partSize int64) plan {
	pl := plan{Entries: entries, LeftOut: leftOut, Parts: 1}
	names := newNamer()
	names.reserve(WorkbookName)
	dossierFolders := map[uuid.UUID]string{} // by employee; uuid.Nil is the employer
	categoryFolders := map[[2]uuid.UUID]string{}
	used := archiveOverhead + workbookBound(entries)
	alone := false // the part holds an oversized entry: nothing joins it
	for i := range pl.Entries {
		e := &pl.Entries[i]
		pl.Bytes += e.Size
		owner := uuid.Nil
		if e.EmployeeID != nil {
			owner = *e.EmployeeID
		}
		dir, ok := dossierFolders[owner]
		if !ok {
			if e.EmployeeID == nil {
				dir = names.unique("", employerFolder)
			} else {
				if len(pl.Employees) == 0 {
					names.reserve(employeesFolder)
				}
				pl.Employees = append(pl.Employees, owner)
				label := strings.TrimSpace(e.PersonnelNumber + " - " + e.EmployeeName)
				dir = names.unique(employeesFolder, sanitizeComponent(label, maxFolderRunes, "werknemer"))
			}
			dossierFolders[owner] = dir
		}
		if !slices.Contains(pl.Categories, e.CategoryID) {
			pl.Categories = append(pl.Categories, e.CategoryID)
		}
		catKey := [2]uuid.UUID{owner, e.CategoryID}
		catDir, ok := categoryFolders[catKey]
		if !ok {
			catDir = names.unique(dir, sanitizeComponent(e.CategoryName, maxFolderRunes, "categorie"))
			categoryFolders[catKey] = catDir
		}
		e.Path = names.unique(catDir, sanitizeComponent(e.FileName, maxFileRunes, "document"))
		e.Method = method(e.ContentType)

		cost := entryBound(e)
		oversized := cost+archiveOverhead > partSize
		if used > archiveOverhead && (alone || oversized || used+cost > partSize) {
			pl.Parts++
			used = archiveOverhead
		}
		e.Part = pl.Parts
		used += cost
		alone = oversized
	}
	return pl
}

// archiveOverhead bounds what a part holds besides its entries: the end of the central directory
// with its ZIP64 records.
const archiveOverhead = 1 << 10

// entryBound is an upper bound of the bytes entry e takes in its part: local header, data (a
// deflated entry may grow by a few bytes per block on incompressible data), data descriptor and
// central directory record, each with ZIP64 extra fields.
func entryBound(e *entry) int64 {
	data := e.Size
	if e.Method == zip.Deflate {
		data += e.Size>>10 + 64
	}
	return data + 2*int64(len(e.Path)) + 200
}

// workbookBound is an upper bound of the workbook's size in part 1: its sheets uncompressed (the
// workbook is itself a ZIP, deflated), allowing every text twice over for XML escaping.
func workbookBound(entries []entry) int64 {
	n := int64(64 << 10)
	for i := range entries {
		e := &entries[i]
		n += 2*int64(len(e.Path)+len(e.FileName)+len(e.CategoryName)+len(e.UploadedByName)+len(e.PersonnelNumber)+len(e.EmployeeName)) +
			64*int64(len(workbookColumns)) + 128
	}
	return n
}

// storedTypes are content types whose bytes are already compressed: deflating them again costs
// time and gains next to nothing, so they are stored as they are. Office documents sniff as
// application/zip.
var storedTypes = map[string]bool{
	"application/pdf": true, "application/zip": true, "application/x-gzip": true, "application/gzip": true,
	"application/x-rar-compressed": true, "application/x-7z-compressed": true, "application/vnd.rar": true,
	"image/jpeg": true, "image/png": true, "image/gif": true, "image/webp": true, "image/heic": true,
}

// method is how a document of content type ct is put in the archive.
func method(ct string) uint16 {
	ct, _, _ = strings.Cut(ct, ";")
	ct = strings.TrimSpace(strings.ToLower(ct))
	if storedTypes[ct] || strings.HasPrefix(ct, "video/") || strings.HasPrefix(ct, "audio/") {
		return zip.Store
	}
	return zip.Deflate
}
