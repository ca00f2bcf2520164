package document

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/database"
)

// DefaultMaxSize is the largest upload when nothing else is configured.
const DefaultMaxSize = 2 << 30

// Service stores and retrieves document bytes: uploads stream into the blob store with a
// maximum size, downloads stream out of it.
type Service struct {
	blobs   BlobStore
	maxSize int64
	log     *slog.Logger
}

// NewService returns a Service on blobs that refuses uploads larger than maxSize bytes
// (DefaultMaxSize when maxSize <= 0) and logs to log.
func NewService(blobs BlobStore, maxSize int64, log *slog.Logger) *Service {
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	if log == nil {
		log = slog.Default()
	}
	return &Service{blobs: blobs, maxSize: maxSize, log: log}
}

// MaxSize is the largest upload in bytes.
func (s *Service) MaxSize() int64 { return s.maxSize }

// Blobs is the store the documents' bytes live in.
func (s *Service) Blobs() BlobStore { return s.blobs }

// Blob is a complete blob written by PutBlob.
type Blob struct {
	Key         string
	Size        int64
	SHA256      string // lower-case hex
	ContentType string // sniffed from the first 512 bytes
}

// An upload moves in blocks of uploadBlock bytes through a BlockPipe of uploadBlocks: large
// blocks keep system calls few; the fixed number keeps memory flat whatever the file's size.
const (
	uploadBlock  = 1 << 20
	uploadBlocks = 4
)

// PutBlob streams r into a new blob under key, computing its size and SHA-256 on the way and
// sniffing its content type from the first 512 bytes. Memory stays flat: r moves in blocks
// through a BlockPipe, which hashes and writes each block on goroutines of their own while the
// next is read. Past MaxSize it aborts the write, so nothing is stored, and returns ETOOLARGE
// (message document.error.too_large with the limit); not one byte past the limit reaches the
// store. Any other failure, including ctx ending, stores nothing either.
func (s *Service) PutBlob(ctx context.Context, key string, r io.Reader) (Blob, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pipe := NewBlockPipe(uploadBlock, uploadBlocks)
	buf := pipe.Block()
	buf, rerr := readBlock(r, buf)
	b := Blob{Key: key, ContentType: http.DetectContentType(buf[:min(len(buf), 512)])}
	w, err := s.blobs.NewWriter(ctx, key, b.ContentType)
	if err != nil {
		pipe.Release(buf)
		pipe.Close()
		return Blob{}, err
	}
	pipe.Start(w)
	for {
		if rerr != nil && rerr != io.EOF {
			err = fmt.Errorf("read upload: %w", rerr)
		} else if pipe.Written()+int64(len(buf)) > s.maxSize {
			err = errTooLarge
		} else {
			err = pipe.Err()
		}
		if err != nil || len(buf) == 0 {
			pipe.Release(buf)
			break
		}
		pipe.Send(buf)
		if rerr != nil {
			break // the upload ended within this block
		}
		buf, rerr = readBlock(r, pipe.Block())
	}
	if err != nil {
		// Cancelling before Close aborts the write: the store publishes nothing.
		cancel()
		_ = pipe.Close()
		if cerr := w.Close(); cerr != nil && !errors.Is(cerr, context.Canceled) {
			s.log.ErrorContext(ctx, "abort blob write", "key", key, "err", cerr)
		}
		if errors.Is(err, errTooLarge) {
			return Blob{}, apperr.New(apperr.ETOOLARGE, "document.error.too_large", FormatSize(s.maxSize))
		}
		return Blob{}, fmt.Errorf("write blob %s: %w", key, err)
	}
	if err := pipe.Close(); err != nil {
		cancel()
		_ = w.Close()
		return Blob{}, fmt.Errorf("write blob %s: %w", key, err)
	}
	if err := w.Close(); err != nil {
		return Blob{}, fmt.Errorf("write blob %s: %w", key, err)
	}
	b.Size, b.SHA256 = pipe.Written(), hex.EncodeToString(pipe.Sum())
	return b, nil
}

// errTooLarge stops a copy at the size limit.
var errTooLarge = errors.New("upload past the size limit")

// readBlock reads from r into the empty block buf until it is full or r fails, and returns r's
// error as it is: io.EOF at the end. (io.ReadFull would turn an end within buf into
// io.ErrUnexpectedEOF, the error a reader gives when its input was cut short, so a broken upload
// would pass for a complete one.)
func readBlock(r io.Reader, buf []byte) ([]byte, error) {
	for len(buf) < cap(buf) {
		m, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// Upload stores a new document by ed: it streams r into a blob under a fresh storage key
// (PutBlob, with its size limit), then, in one transaction of tenantID, inserts the row
// (CreateDocument), checks that ed may add it there (a long upload gives access time to
// change, so this is decided as the row is recorded: access.CanSeeDossier, ENOTFOUND outside
// his access; access.CanUpload, EFORBIDDEN without the right or the category's write level) and
// records it (document.uploaded). Whenever the row is not committed, the blob is deleted again,
// so a refused or failed upload leaves nothing behind. The file name is sanitised.
func (s *Service) Upload(ctx context.Context, db database.Beginner, ed access.Editor, tenantID uuid.UUID, n NewDocument,
	r io.Reader) (Document, error) {
	id := uuid.Must(uuid.NewV7())
	b, err := s.PutBlob(ctx, StorageKey(tenantID, id), r)
	if err != nil {
		return Document{}, err
	}
	var d Document
	err = database.InTenant(ctx, db, tenantID, func(tx pgx.Tx) (err error) {
		if d, err = CreateDocument(ctx, tx, id, n, b); err != nil {
			return err
		}
		if err := ed.Allow(access.CanSeeDossier(ctx, tx, ed.Principal, n.EmployerID, n.EmployeeID)); err != nil {
			return err
		}
		cats, err := access.LoadCategories(ctx, tx, ed.Principal)
		if err != nil {
			return err
		}
		if err := ed.Allow(access.CanUpload(ed.Principal, cats, d.CategoryID)); err != nil {
			return err
		}
		return writeDocument(ctx, tx, ed, audit.DocumentUploaded, d)
	})
	if err != nil {
		s.RemoveBlob(context.WithoutCancel(ctx), b.Key)
		return Document{}, err
	}
	return d, nil
}

// Delete removes document id of tenantID by ed: in one transaction it reads the row, checks
// that ed may delete it (access.CanReadDocument, ENOTFOUND when he may not read it;
// access.CanDeleteDocument, EFORBIDDEN; CheckDeletable, ECONFLICT for a bundle's part), deletes
// the row and records it (document.deleted); after commit it deletes the blob. A failed blob
// delete is logged, not returned: the row is gone, so the document is.
func (s *Service) Delete(ctx context.Context, db database.Beginner, ed access.Editor, tenantID, id uuid.UUID) (Document, error) {
	var d Document
	err := database.InTenant(ctx, db, tenantID, func(tx pgx.Tx) (err error) {
		cats, err := access.LoadCategories(ctx, tx, ed.Principal)
		if err != nil {
			return err
		}
		if err := ed.Allow(access.CanReadDocument(ctx, tx, ed.Principal, cats, id)); err != nil {
			return err
		}
		if err := ed.Allow(access.CanDeleteDocument(ed.Principal)); err != nil {
			return err
		}
		if d, err = FindDocumentByID(ctx, tx, id); err != nil {
			return err
		}
		if err := CheckDeletable(d); err != nil {
			return err
		}
		if _, err = DeleteDocument(ctx, tx, id); err != nil {
			return err
		}
		return writeDocument(ctx, tx, ed, audit.DocumentDeleted, d)
	})
	if err != nil {
		return Document{}, err
	}
	s.RemoveBlob(context.WithoutCancel(ctx), d.StorageKey)
	return d, nil
}

// writeDocument records action on d, with the facts about it the audit log keeps.
func writeDocument(ctx context.Context, tx pgx.Tx, ed access.Editor, action string, d Document) error {
	return audit.Write(ctx, tx, ed.Actor, audit.Event{Action: action, SubjectType: "document", SubjectID: &d.ID,
		EmployeeID: d.EmployeeID, EmployerID: &d.EmployerID, Details: Details(d)})
}

// Details are the facts about a document an audit event keeps.
func Details(d Document) map[string]any {
	return map[string]any{"file_name": d.FileName, "category_id": d.CategoryID, "category": d.CategoryName,
		"size": d.Size, "sha256": d.SHA256, "content_type": d.ContentType}
}

// CheckDeletable returns nil when d may be deleted on its own. A part of a full-dossier bundle
// may not (ECONFLICT, document.error.bundle_part): the bundle would be left incomplete, and its
// parts go together, with the bundle (package bundle).
func CheckDeletable(d Document) error {
	if d.BundleID != nil {
		return apperr.New(apperr.ECONFLICT, "document.error.bundle_part")
	}
	return nil
}

// RemoveBlob deletes a blob whose row is gone (or never came); a failure is logged, since the
// caller's work is done either way.
func (s *Service) RemoveBlob(ctx context.Context, key string) {
	if err := s.blobs.Delete(ctx, key); err != nil {
		s.log.ErrorContext(ctx, "delete blob", "key", key, "err", err)
	}
}

// Open returns d's bytes as a seekable stream for a download. From a local folder it is the
// blob's file (a *BlobFile), which net/http sends with sendfile; from object storage every Read
// after a Seek opens a range read at that offset, so serving an HTTP range reads only from there.
// It checks first that the blob exists and has d's size; a mismatch is an internal error.
func (s *Service) Open(ctx context.Context, d Document) (io.ReadSeekCloser, error) {
	if fs, ok := s.blobs.(FileBlobStore); ok {
		f, err := fs.OpenFile(ctx, d.StorageKey)
		if err != nil {
			return nil, fmt.Errorf("open document %s: %w", d.ID, err)
		}
		if f.Size() != d.Size {
			f.Close()
			return nil, fmt.Errorf("open document %s: blob has %d bytes, row says %d", d.ID, f.Size(), d.Size)
		}
		return f, nil
	}
	a, err := s.blobs.Attributes(ctx, d.StorageKey)
	if err != nil {
		return nil, fmt.Errorf("open document %s: %w", d.ID, err)
	}
	if a.Size != d.Size {
		return nil, fmt.Errorf("open document %s: blob has %d bytes, row says %d", d.ID, a.Size, d.Size)
	}
	return &blobReader{ctx: ctx, blobs: s.blobs, key: d.StorageKey, size: d.Size}, nil
}

// blobReader reads a blob from the current offset, opening a range reader lazily.
type blobReader struct {
	ctx       context.Context
	blobs     BlobStore
	key       string
	size, off int64
	r         io.ReadCloser
}

func (b *blobReader) Read(p []byte) (int, error) {
	if b.off >= b.size {
		return 0, io.EOF
	}
	if b.r == nil {
		r, err := b.blobs.NewRangeReader(b.ctx, b.key, b.off, -1)
		if err != nil {
			return 0, err
		}
		b.r = r
	}
	n, err := b.r.Read(p)
	b.off += int64(n)
	return n, err
}

func (b *blobReader) Seek(offset int64, whence int) (int64, error) {
	var off int64
	switch whence {
	case io.SeekStart:
		off = offset
	case io.SeekCurrent:
		off = b.off + offset
	case io.SeekEnd:
		off = b.size + offset
	default:
		return b.off, errors.New("seek: invalid whence")
	}
	if off < 0 {
		return b.off, errors.New("seek: negative position")
	}
	if off != b.off && b.r != nil {
		b.r.Close()
		b.r = nil
	}
	b.off = off
	return off, nil
}

func (b *blobReader) Close() error {
	if b.r == nil {
		return nil
	}
	err := b.r.Close()
	b.r = nil
	return err
}
