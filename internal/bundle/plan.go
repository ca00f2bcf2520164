package bundle

import (
	"archive/zip"
	"context"
	"fmt"
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
// archive, and how it is stored there. A generation keeps only the entries in hand in memory:
// the plan is in a planFile.
type entry struct {
	Seq             int // from 1, in the bundle's order
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

	Path  string // inside the archive, "/"-separated
	Part  int    // from 1
	Alone bool   // larger than a part: the only entry of its part
}

// Method is how the entry is put in the archive: zip.Store or zip.Deflate.
func (e *entry) Method() uint16 { return method(e.ContentType) }

// plan sums up what a generation will write; the entries themselves, in order with their parts
// and paths, are in a planFile.
type plan struct {
	Docs    int
	Parts   int
	Bytes   int64
	LeftOut int
	// Employees are the employees whose documents the bundle holds, in order, with how many of
	// each (a few dozen bytes per employee: what publishing records and audits).
	Employees []employeeDocs
	// CategoryIDs are the categories of the bundle's documents, in the order they first come.
	CategoryIDs []uuid.UUID
}

type employeeDocs struct {
	ID   uuid.UUID
	Docs int
}

// planBatch is how many documents planning fetches at a time.
const planBatch = 512

// planBundle plans a generation: it reads the documents of the employer's full dossier that p
// may read by cats, in the bundle's stable order (the employer dossier first, then the employees
// by personnel number, shorter numbers first so 9 comes before 10, each by category order, then
// by upload), gives each its path and part (planner), and writes them to a new planFile, which
// the caller closes. The documents come through a cursor, planBatch at a time, so memory does
// not grow with the dossier. It also counts the documents left out.
func planBundle(ctx context.Context, tx pgx.Tx, p access.Principal, cats access.Categories, employerID uuid.UUID,
	partSize int64) (plan, *planFile, error) {
	// Sorting the plan of 10,000 documents took more than the default 4 MB of memory, so
	// PostgreSQL sorted on disk; in memory planning takes 25 ms less. For this transaction only.
	if _, err := tx.Exec(ctx, "SET LOCAL work_mem = '64MB'"); err != nil {
		return plan{}, nil, fmt.Errorf("plan bundle: %w", err)
	}
	from, where, args := visibleDossierDocuments(p, cats, employerID)
	// The window sums tell the planner, before the first document, how large the workbook may
	// grow: see workbookBound.
	_, err := tx.Exec(ctx, `DECLARE bundle_plan NO SCROLL CURSOR FOR
		SELECT d.id, d.storage_key, d.size, d.content_type, d.sha256, d.file_name, d.category_id, c.name,
			d.document_date, coalesce(u.name, ''), d.uploaded_at, d.employee_id, coalesce(e.personnel_number, ''), n.name,
			count(*) OVER (), sum(octet_length(d.file_name) + octet_length(c.name) + octet_length(coalesce(u.name, ''))
				+ octet_length(coalesce(e.personnel_number, '')) + octet_length(n.name)) OVER ()
		FROM `+from+`
		JOIN document_categories c ON c.id = d.category_id
		LEFT JOIN users u ON u.id = d.uploaded_by
		LEFT JOIN employees e ON e.id = d.employee_id
		CROSS JOIN LATERAL (SELECT concat_ws(' ', nullif(e.first_name, ''), nullif(e.name_prefix, ''), nullif(e.last_name, '')) AS name) n`+where+`
		ORDER BY d.employee_id IS NOT NULL, length(e.personnel_number), e.personnel_number, e.id,
			c.position, c.name, c.id, d.uploaded_at, d.id`, args...)
	if err != nil {
		return plan{}, nil, fmt.Errorf("plan bundle: %w", err)
	}
	pf, err := newPlanFile("")
	if err != nil {
		return plan{}, nil, err
	}
	pl, err := planEntries(ctx, tx, pf, partSize)
	if err == nil {
		err = pf.finish()
	}
	if err != nil {
		pf.close()
		return plan{}, nil, err
	}
	var all int
	if err := tx.QueryRow(ctx, "SELECT count(*) FROM documents WHERE employer_id = $1 AND bundle_id IS NULL", employerID).Scan(&all); err != nil {
		pf.close()
		return plan{}, nil, fmt.Errorf("plan bundle: %w", err)
	}
	pl.LeftOut = max(all-pl.Docs, 0)
	return pl, pf, nil
}

// planEntries reads the documents from the cursor bundle_plan, plans them and adds them to pf.
func planEntries(ctx context.Context, tx pgx.Tx, pf *planFile, partSize int64) (plan, error) {
	var pn *planner
	query := fmt.Sprintf("FETCH %d FROM bundle_plan", planBatch)
	for {
		rows, err := tx.Query(ctx, query)
		if err != nil {
			return plan{}, fmt.Errorf("plan bundle: %w", err)
		}
		n := 0
		for rows.Next() {
			var e entry
			var employee *[16]byte
			var count int
			var text int64
			// Ids as [16]byte: pgx reads a uuid.UUID through its text form (sql.Scanner), which
			// took half of planning's own processor time.
			if err := rows.Scan((*[16]byte)(&e.DocumentID), &e.StorageKey, &e.Size, &e.ContentType, &e.SHA256, &e.FileName,
				(*[16]byte)(&e.CategoryID), &e.CategoryName, &e.DocumentDate, &e.UploadedByName, &e.UploadedAt, &employee,
				&e.PersonnelNumber, &e.EmployeeName, &count, &text); err != nil {
				rows.Close()
				return plan{}, fmt.Errorf("plan bundle: %w", err)
			}
			if employee != nil {
				e.EmployeeID = (*uuid.UUID)(employee)
			}
			if pn == nil {
				pn = newPlanner(partSize, workbookBound(count, text))
			}
			pn.add(&e)
			if err := pf.add(&e); err != nil {
				rows.Close()
				return plan{}, err
			}
			n++
		}
		if err := rows.Err(); err != nil {
			return plan{}, fmt.Errorf("plan bundle: %w", err)
		}
		if n < planBatch {
			break
		}
	}
	if _, err := tx.Exec(ctx, "CLOSE bundle_plan"); err != nil {
		return plan{}, fmt.Errorf("plan bundle: %w", err)
	}
	if pn == nil { // nothing to bundle: a part with the workbook alone
		pn = newPlanner(partSize, workbookBound(0, 0))
	}
	return pn.plan, nil
}

// planner gives entries, one at a time in the bundle's order, their sequence number, path and
// part. A part holds entries in order until the next one would take it past partSize. An entry
// larger than partSize by itself gets a part of its own, numbered next, and the part being
// filled stays open: the entries after it go on in that part, so an oversized document neither
// leaves a part half empty nor adds one. Parts are numbered in the order they open, and each
// holds its entries in the bundle's order. Part 1 starts with the workbook, counted at an upper
// bound of its size.
//
// It keeps only what later entries can collide with: the names in the root and in the
// employees' folder (a hash per employee), and those of the dossier and the category folder
// it is in. The order puts each dossier's, and each category folder's, documents together, so
// a folder's names are forgotten when the planner leaves it.
type planner struct {
	plan     plan
	partSize int64
	used     int64 // bytes of the part being filled, at their upper bound
	filling  int   // the number of the part being filled

	root, employees, dossier, folder *namer
	owner                            uuid.UUID // the dossier in hand: an employee, or uuid.Nil for the employer
	ownerDir                         string
	category                         uuid.UUID // the category folder in hand
	categoryDir                      string
	started                          bool
	categories                       map[uuid.UUID]bool // those in plan.CategoryIDs
}

// newPlanner starts a plan whose workbook takes at most workbook bytes.
func newPlanner(partSize, workbook int64) *planner {
	// CategoryIDs empty, not nil: the bundle's row stores an empty list for a bundle without
	// documents.
	pn := &planner{plan: plan{Parts: 1, CategoryIDs: []uuid.UUID{}}, partSize: partSize, used: archiveOverhead + workbook, filling: 1,
		root: newNamer(), employees: newNamer(), dossier: newNamer(), folder: newNamer(), categories: map[uuid.UUID]bool{}}
	pn.root.reserve(WorkbookName)
	return pn
}

// add plans e, the next entry in order: it sets e.Seq, e.Path and e.Part.
func (pn *planner) add(e *entry) {
	pl := &pn.plan
	pl.Docs++
	pl.Bytes += e.Size
	e.Seq = pl.Docs
	owner := uuid.Nil
	if e.EmployeeID != nil {
		owner = *e.EmployeeID
	}
	if !pn.started || owner != pn.owner {
		pn.started = true
		pn.owner = owner
		pn.dossier.reset()
		pn.folder.reset()
		pn.categoryDir = ""
		if e.EmployeeID == nil {
			pn.ownerDir = pn.root.unique("", employerFolder)
		} else {
			pn.root.reserve(employeesFolder)
			label := strings.TrimSpace(e.PersonnelNumber + " - " + e.EmployeeName)
			pn.ownerDir = pn.employees.unique(employeesFolder, sanitizeComponent(label, maxFolderRunes, "werknemer"))
			pl.Employees = append(pl.Employees, employeeDocs{ID: owner})
		}
	}
	if e.EmployeeID != nil {
		pl.Employees[len(pl.Employees)-1].Docs++
	}
	if !pn.categories[e.CategoryID] {
		pn.categories[e.CategoryID] = true
		pl.CategoryIDs = append(pl.CategoryIDs, e.CategoryID)
	}
	if pn.categoryDir == "" || e.CategoryID != pn.category {
		pn.category = e.CategoryID
		pn.folder.reset()
		pn.categoryDir = pn.dossier.unique(pn.ownerDir, sanitizeComponent(e.CategoryName, maxFolderRunes, "categorie"))
	}
	e.Path = pn.folder.unique(pn.categoryDir, sanitizeComponent(e.FileName, maxFileRunes, "document"))

	cost := entryBound(e)
	if cost+archiveOverhead > pn.partSize {
		pl.Parts++
		e.Part, e.Alone = pl.Parts, true
		return
	}
	if pn.used > archiveOverhead && pn.used+cost > pn.partSize {
		pl.Parts++
		pn.filling, pn.used = pl.Parts, archiveOverhead
	}
	e.Part = pn.filling
	pn.used += cost
}

// archiveOverhead bounds what a part holds besides its entries: the end of the central directory
// with its ZIP64 records.
const archiveOverhead = 1 << 10

// entryBound is an upper bound of the bytes entry e takes in its part: local header, data (a
// deflated entry may grow by a few bytes per block on incompressible data), data descriptor and
// central directory record, each with ZIP64 extra fields.
func entryBound(e *entry) int64 {
	data := e.Size
	if e.Method() == zip.Deflate {
		data += e.Size>>10 + 64
	}
	return data + 2*int64(len(e.Path)) + 200
}

// pathSlack bounds how many bytes an entry's path has beyond its personnel number, employee
// name, category name and file name: the employees' folder, separators, " - ", and per
// component a "_" before a device name or a fallback name, and a " (n)" to make it unique.
const pathSlack = len(employeesFolder) + 3 + len(" - ") + 3*32

// workbookBound is an upper bound of the workbook's size in part 1, for docs documents whose
// texts (file, category, uploader and employee names, personnel number) take text bytes in all:
// its sheets uncompressed (the workbook is itself a ZIP, deflated), allowing every text, the
// path included, twice over for XML escaping.
func workbookBound(docs int, text int64) int64 {
	perDoc := int64(2*pathSlack + 64*len(workbookColumns) + 128)
	return 64<<10 + int64(docs)*perDoc + 4*text
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
