package datastream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/document"
)

// Folder is a hosted account's folder: its files' names, sizes and times are rows of
// datastream_files, their bytes blobs in the blob store, so every serve process sees the same
// folder. It is the Transport of a hosted account, and what the hosted SFTP server serves.
type Folder struct {
	pool      *pgxpool.Pool
	blobs     document.BlobStore
	tenantID  uuid.UUID
	accountID uuid.UUID
}

var _ Transport = (*Folder)(nil)

// NewFolder returns the folder of hosted account accountID of tenantID.
func NewFolder(pool *pgxpool.Pool, blobs document.BlobStore, tenantID, accountID uuid.UUID) *Folder {
	return &Folder{pool: pool, blobs: blobs, tenantID: tenantID, accountID: accountID}
}

// rel turns a path as a client gives it ("/a/../b", "a/b", "") into the folder's form: cleaned,
// relative, never above the folder ("" is the folder itself).
func rel(p string) string {
	return strings.TrimPrefix(path.Clean("/"+p), "/")
}

// Entry is a file or folder of a Folder.
type Entry struct {
	Path    string
	IsDir   bool
	Size    int64
	ModTime time.Time
	key     string
}

func (f *Folder) inTenant(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return database.InTenant(ctx, f.pool, f.tenantID, fn)
}

// Stat describes p: a stored file or folder, a folder implied by the files under it, or the
// folder itself (""). fs.ErrNotExist when there is nothing at p.
func (f *Folder) Stat(ctx context.Context, p string) (Entry, error) {
	p = rel(p)
	if p == "" {
		return Entry{Path: "", IsDir: true}, nil
	}
	var e Entry
	err := f.inTenant(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT path, is_dir, size, modified_at, storage_key FROM datastream_files
			WHERE account_id = $1 AND path = $2`, f.accountID, p).Scan(&e.Path, &e.IsDir, &e.Size, &e.ModTime, &e.key)
		if !database.IsNoRows(err) {
			return err
		}
		var modified *time.Time
		if err := tx.QueryRow(ctx, `SELECT max(modified_at) FROM datastream_files WHERE account_id = $1 AND left(path, length($2)) = $2`,
			f.accountID, p+"/").Scan(&modified); err != nil {
			return err
		}
		if modified == nil {
			return fs.ErrNotExist
		}
		e = Entry{Path: p, IsDir: true, ModTime: *modified}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		err = fmt.Errorf("stat %s: %w", p, err)
	}
	return e, err
}

// ReadDir lists the entries directly in dir by name: files, and folders stored or implied by the
// files under them. fs.ErrNotExist when dir is not a folder.
func (f *Folder) ReadDir(ctx context.Context, dir string) ([]Entry, error) {
	dir = rel(dir)
	if d, err := f.Stat(ctx, dir); err != nil {
		return nil, err
	} else if !d.IsDir {
		return nil, fs.ErrNotExist
	}
	prefix := ""
	if dir != "" {
		prefix = dir + "/"
	}
	var list []Entry
	err := f.inTenant(ctx, func(tx pgx.Tx) (err error) {
		list, err = database.FindAll[Entry](ctx, tx, "folder entries", `
			SELECT split_part(substr(path, length($2) + 1), '/', 1) AS name,
			       bool_or(is_dir OR strpos(substr(path, length($2) + 1), '/') > 0),
			       coalesce(sum(size) FILTER (WHERE strpos(substr(path, length($2) + 1), '/') = 0), 0),
			       max(modified_at)
			FROM datastream_files WHERE account_id = $1 AND left(path, length($2)) = $2 AND path <> $3
			GROUP BY name ORDER BY name`, f.accountID, prefix, dir)
		return err
	})
	return list, err
}

// MkdirAll stores dir and its parents as folders.
func (f *Folder) MkdirAll(ctx context.Context, dir string) error {
	dir = rel(dir)
	if dir == "" {
		return nil
	}
	var dirs []string
	for d := dir; d != "." && d != ""; d = path.Dir(d) {
		dirs = append(dirs, d)
	}
	err := f.inTenant(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO datastream_files (tenant_id, account_id, path, is_dir)
			SELECT app_tenant(), $1, unnest($2::text[]), true ON CONFLICT (tenant_id, account_id, path) DO NOTHING`, f.accountID, dirs)
		return err
	})
	if err != nil {
		return &StepError{Step: StepMkdir, Path: dir, Err: err}
	}
	return nil
}

// StoragePrefix is the folder of a tenant's hosted datastream files.
func StoragePrefix(tenantID uuid.UUID) string { return "datastreams/" + tenantID.String() + "/" }

// BlobRefs is what the orphan check needs of hosted files (in a tenant's transaction): the key
// of every file, and of those the keys of files last written before cutoff, which must exist.
func BlobRefs(ctx context.Context, tx pgx.Tx, cutoff time.Time) (known, required []string, err error) {
	rows, err := tx.Query(ctx, "SELECT storage_key, modified_at < $1 FROM datastream_files WHERE NOT is_dir", cutoff)
	if err != nil {
		return nil, nil, err
	}
	return document.CollectBlobRefs(rows)
}

// blobKey is where the bytes of one upload go: a new key per upload, so replacing a file never
// overwrites bytes a reader may be streaming.
func (f *Folder) blobKey() string {
	return StoragePrefix(f.tenantID) + f.accountID.String() + "/" + uuid.Must(uuid.NewV7()).String()
}

// Upload streams r to a new blob and then, in one transaction, makes name point at it,
// replacing a file there: a reader sees the old file or the whole new one, never a part. (The
// blob store publishes a blob only when complete, so no ".part" name is needed here.) The
// replaced file's bytes are deleted afterwards; on failure the new blob is not published.
func (f *Folder) Upload(ctx context.Context, name string, r io.Reader) (int64, error) {
	p := rel(name)
	if p == "" {
		return 0, &StepError{Step: StepWrite, Path: name, Err: errors.New("no file name")}
	}
	if err := f.MkdirAll(ctx, path.Dir(p)); err != nil {
		return 0, err
	}
	key := f.blobKey()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := f.blobs.NewWriter(wctx, key, "application/octet-stream")
	if err != nil {
		return 0, &StepError{Step: StepWrite, Path: p, Err: err}
	}
	n, err := io.Copy(w, r)
	if err != nil {
		cancel() // nothing is published
		w.Close()
		return n, &StepError{Step: StepWrite, Path: p, Err: err}
	}
	if err := w.Close(); err != nil {
		return n, &StepError{Step: StepWrite, Path: p, Err: err}
	}
	var old string
	err = f.inTenant(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT storage_key FROM datastream_files WHERE account_id = $1 AND path = $2 FOR UPDATE`,
			f.accountID, p).Scan(&old)
		if err != nil && !database.IsNoRows(err) {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO datastream_files (tenant_id, account_id, path, size, storage_key)
			VALUES (app_tenant(), $1, $2, $3, $4)
			ON CONFLICT (tenant_id, account_id, path) DO UPDATE SET size = $3, storage_key = $4, modified_at = now(), is_dir = false`,
			f.accountID, p, n, key)
		return err
	})
	if err != nil {
		_ = f.blobs.Delete(context.WithoutCancel(ctx), key)
		return n, &StepError{Step: StepRename, Path: p, Err: err}
	}
	if old != "" {
		_ = f.blobs.Delete(ctx, old)
	}
	return n, nil
}

// List returns the entries of dir, sorted by name.
func (f *Folder) List(ctx context.Context, dir string) ([]FileInfo, error) {
	entries, err := f.ReadDir(ctx, dir)
	if err != nil {
		return nil, &StepError{Step: StepList, Path: dir, Err: err}
	}
	list := make([]FileInfo, 0, len(entries))
	for _, e := range entries {
		list = append(list, FileInfo{Name: e.Path, Size: e.Size, ModTime: e.ModTime, IsDir: e.IsDir})
	}
	return list, nil
}

// Open streams the file name.
func (f *Folder) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	e, err := f.file(ctx, name)
	if err != nil {
		return nil, &StepError{Step: StepOpen, Path: name, Err: err}
	}
	rc, err := f.blobs.NewRangeReader(ctx, e.key, 0, -1)
	if err != nil {
		return nil, &StepError{Step: StepOpen, Path: name, Err: err}
	}
	return rc, nil
}

// file returns the stored file name: fs.ErrNotExist for a folder or nothing.
func (f *Folder) file(ctx context.Context, name string) (Entry, error) {
	e, err := f.Stat(ctx, name)
	if err == nil && e.IsDir {
		err = fs.ErrNotExist
	}
	return e, err
}

// Remove deletes the file name (not a folder): its row, then its bytes.
func (f *Folder) Remove(ctx context.Context, name string) error {
	p := rel(name)
	var key string
	err := f.inTenant(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `DELETE FROM datastream_files WHERE account_id = $1 AND path = $2 AND NOT is_dir RETURNING storage_key`,
			f.accountID, p).Scan(&key)
		if database.IsNoRows(err) {
			return fs.ErrNotExist
		}
		return err
	})
	if err != nil {
		return &StepError{Step: StepRemove, Path: name, Err: err}
	}
	if err := f.blobs.Delete(ctx, key); err != nil {
		return &StepError{Step: StepRemove, Path: name, Err: err}
	}
	return nil
}

// Close does nothing: a folder holds no connection.
func (f *Folder) Close() error { return nil }
