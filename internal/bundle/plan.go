package bundle

import (
	"archive/zip"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/database"
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
// archive, and how it is stored there. A generation keeps only the entries of one batch in
// memory: the plan is in bundle_entries.
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

	Path string // inside the archive, "/"-separated
	Part int    // from 1
}

// Method is how the entry is put in the archive: zip.Store or zip.Deflate.
func (e *entry) Method() uint16 { return method(e.ContentType) }

// plan sums up what a generation will write; the entries themselves, in order with their parts
// and paths, are in bundle_entries.
type plan struct {
	Docs    int
	Parts   int
	Bytes   int64
	LeftOut int
}

// planBatch is how many documents planning fetches, and writing reads back, at a time: the
// most entries a generation holds in memory.
const planBatch = 512

// planBundle plans the generation of bundleID: it reads the documents of the employer's full
// dossier that p may read by cats, in the bundle's stable order (the employer dossier first,
// then the employees by personnel number, shorter numbers first so 9 comes before 10, each by
// category order, then by upload), gives each its path and part (planner), and writes them to
// bundle_entries with COPY, replacing any plan an earlier attempt left. The documents come
// through a cursor, planBatch at a time, so memory does not grow with the dossier. It also
// counts the documents left out.
func planBundle(ctx context.Context, tx pgx.Tx, tenantID, bundleID uuid.UUID, p access.Principal, cats access.Categories,
	employerID uuid.UUID, partSize int64) (plan, error) {
	if _, err := tx.Exec(ctx, "DELETE FROM bundle_entries WHERE bundle_id = $1", bundleID); err != nil {
		return plan{}, fmt.Errorf("plan bundle: %w", err)
	}
	// COPY cannot write to a table with row-level security: the plan goes to a temporary table
	// first and into bundle_entries at the end.
	if _, err := tx.Exec(ctx, "CREATE TEMPORARY TABLE bundle_plan_copy ON COMMIT DROP AS SELECT * FROM bundle_entries WITH NO DATA"); err != nil {
		return plan{}, fmt.Errorf("plan bundle: %w", err)
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
		return plan{}, fmt.Errorf("plan bundle: %w", err)
	}
	var pn *planner
	batch := make([]entry, 0, planBatch)
	for {
		batch = batch[:0]
		rows, err := tx.Query(ctx, fmt.Sprintf("FETCH %d FROM bundle_plan", planBatch))
		if err != nil {
			return plan{}, fmt.Errorf("plan bundle: %w", err)
		}
		for rows.Next() {
			var e entry
			var count int
			var text int64
			if err := rows.Scan(&e.DocumentID, &e.StorageKey, &e.Size, &e.ContentType, &e.SHA256, &e.FileName, &e.CategoryID,
				&e.CategoryName, &e.DocumentDate, &e.UploadedByName, &e.UploadedAt, &e.EmployeeID, &e.PersonnelNumber,
				&e.EmployeeName, &count, &text); err != nil {
				rows.Close()
				return plan{}, fmt.Errorf("plan bundle: %w", err)
			}
			if pn == nil {
				pn = newPlanner(partSize, workbookBound(count, text))
			}
			pn.add(&e)
			batch = append(batch, e)
		}
		if err := rows.Err(); err != nil {
			return plan{}, fmt.Errorf("plan bundle: %w", err)
		}
		if len(batch) == 0 {
			break
		}
		if err := copyEntries(ctx, tx, tenantID, bundleID, batch); err != nil {
			return plan{}, err
		}
	}
	for _, stmt := range []string{"CLOSE bundle_plan", "INSERT INTO bundle_entries SELECT * FROM bundle_plan_copy", "DROP TABLE bundle_plan_copy"} {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return plan{}, fmt.Errorf("plan bundle: %w", err)
		}
	}
	if pn == nil { // nothing to bundle: a part with the workbook alone
		pn = newPlanner(partSize, workbookBound(0, 0))
	}
	pl := pn.plan
	var all int
	if err := tx.QueryRow(ctx, "SELECT count(*) FROM documents WHERE employer_id = $1 AND bundle_id IS NULL", employerID).Scan(&all); err != nil {
		return plan{}, fmt.Errorf("plan bundle: %w", err)
	}
	pl.LeftOut = max(all-pl.Docs, 0)
	return pl, nil
}

// entryColumns are the columns of bundle_entries an entry is written to and read from, in
// the order of entryValues and scanEntry.
var entryColumns = []string{"seq", "document_id", "storage_key", "size", "content_type", "sha256", "file_name", "category_id",
	"category_name", "document_date", "uploaded_by_name", "uploaded_at", "employee_id", "personnel_number", "employee_name",
	"path", "part"}

func entryValues(e *entry) []any {
	return []any{e.Seq, e.DocumentID, e.StorageKey, e.Size, e.ContentType, e.SHA256, e.FileName, e.CategoryID, e.CategoryName,
		e.DocumentDate, e.UploadedByName, e.UploadedAt, e.EmployeeID, e.PersonnelNumber, e.EmployeeName, e.Path, e.Part}
}

func scanEntry(row pgx.Row, e *entry) error {
	return row.Scan(&e.Seq, &e.DocumentID, &e.StorageKey, &e.Size, &e.ContentType, &e.SHA256, &e.FileName, &e.CategoryID,
		&e.CategoryName, &e.DocumentDate, &e.UploadedByName, &e.UploadedAt, &e.EmployeeID, &e.PersonnelNumber, &e.EmployeeName,
		&e.Path, &e.Part)
}

// copyEntries appends planned entries to the bundle's plan in the temporary table.
func copyEntries(ctx context.Context, tx pgx.Tx, tenantID, bundleID uuid.UUID, batch []entry) error {
	cols := append([]string{"tenant_id", "bundle_id"}, entryColumns...)
	i := 0
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"bundle_plan_copy"}, cols, pgx.CopyFromFunc(func() ([]any, error) {
		if i == len(batch) {
			return nil, nil
		}
		i++
		return append([]any{tenantID, bundleID}, entryValues(&batch[i-1])...), nil
	}))
	if err != nil {
		return fmt.Errorf("plan bundle: %w", err)
	}
	return nil
}

// eachEntry calls fn with every entry of the bundle's plan, in order. It reads planBatch
// entries at a time, each batch in a short transaction of its own, the next while fn works
// through the last, and calls fn outside any transaction: fn may take long (copy a document)
// without holding back the database. fn must not keep e.
func eachEntry(ctx context.Context, pool *pgxpool.Pool, tenantID, bundleID uuid.UUID, fn func(e *entry) error) error {
	type batch struct {
		entries []entry
		err     error
	}
	bufs := [2][]entry{make([]entry, 0, planBatch), make([]entry, 0, planBatch)}
	fetch := func(buf []entry, after int) <-chan batch {
		next := make(chan batch, 1)
		go func() {
			entries, err := readEntries(ctx, pool, tenantID, bundleID, after, buf)
			next <- batch{entries, err}
		}()
		return next
	}
	next := fetch(bufs[0], 0)
	for i := 1; ; i ^= 1 {
		b := <-next
		if b.err != nil {
			return b.err
		}
		next = nil
		if len(b.entries) == planBatch {
			next = fetch(bufs[i], b.entries[len(b.entries)-1].Seq)
		}
		for j := range b.entries {
			if err := fn(&b.entries[j]); err != nil {
				if next != nil {
					<-next
				}
				return err
			}
		}
		if next == nil {
			return nil
		}
	}
}

// readEntries reads the next planBatch entries of the plan after seq into buf.
func readEntries(ctx context.Context, pool *pgxpool.Pool, tenantID, bundleID uuid.UUID, after int, buf []entry) ([]entry, error) {
	buf = buf[:0]
	err := database.InTenant(ctx, pool, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, "SELECT "+strings.Join(entryColumns, ", ")+
			" FROM bundle_entries WHERE bundle_id = $1 AND seq > $2 ORDER BY seq LIMIT $3", bundleID, after, planBatch)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			buf = append(buf, entry{})
			if err := scanEntry(rows, &buf[len(buf)-1]); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("read bundle plan: %w", err)
	}
	return buf, nil
}

// planner gives entries, one at a time in the bundle's order, their sequence number, path and
// part. A part holds entries in order until the next one would take it past partSize; an entry
// larger than partSize by itself gets a part of its own. Part 1 starts with the workbook,
// counted at an upper bound of its size.
//
// It keeps only what later entries can collide with: the names in the root and in the
// employees' folder (a hash per employee), and those of the dossier and the category folder
// it is in. The order puts each dossier's, and each category folder's, documents together, so
// a folder's names are forgotten when the planner leaves it.
type planner struct {
	plan     plan
	partSize int64
	used     int64 // bytes of the current part, at their upper bound
	alone    bool  // the current part holds an oversized entry: nothing joins it

	root, employees, dossier, folder *namer
	owner                            uuid.UUID // the dossier in hand: an employee, or uuid.Nil for the employer
	ownerDir                         string
	category                         uuid.UUID // the category folder in hand
	categoryDir                      string
	started                          bool
}

// newPlanner starts a plan whose workbook takes at most workbook bytes.
func newPlanner(partSize, workbook int64) *planner {
	pn := &planner{plan: plan{Parts: 1}, partSize: partSize, used: archiveOverhead + workbook,
		root: newNamer(), employees: newNamer(), dossier: newNamer(), folder: newNamer()}
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
		}
	}
	if pn.categoryDir == "" || e.CategoryID != pn.category {
		pn.category = e.CategoryID
		pn.folder.reset()
		pn.categoryDir = pn.dossier.unique(pn.ownerDir, sanitizeComponent(e.CategoryName, maxFolderRunes, "categorie"))
	}
	e.Path = pn.folder.unique(pn.categoryDir, sanitizeComponent(e.FileName, maxFileRunes, "document"))

	cost := entryBound(e)
	oversized := cost+archiveOverhead > pn.partSize
	if pn.used > archiveOverhead && (pn.alone || oversized || pn.used+cost > pn.partSize) {
		pl.Parts++
		pn.used = archiveOverhead
	}
	e.Part = pl.Parts
	pn.used += cost
	pn.alone = oversized
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
