package document

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"
	"gocloud.dev/blob"
)

// CollectBlobRefs reads rows of (storage key, whether its blob must exist already) for the
// orphan check: every key, and the keys whose blob must exist.
func CollectBlobRefs(rows pgx.Rows) (known, required []string, err error) {
	var key string
	var must bool
	_, err = pgx.ForEachRow(rows, []any{&key, &must}, func() error {
		known = append(known, key)
		if must {
			required = append(required, key)
		}
		return nil
	})
	return known, required, err
}

// ListedBlob is a blob a store holds, or what an unfinished write of one left.
type ListedBlob struct {
	Key        string // for an unfinished write, the key it was writing
	Unfinished bool   // a temporary file of a write that never finished (a local folder only)
	Size       int64
	ModTime    time.Time
}

// BlobLister is a BlobStore that lists what it holds: the orphan check compares it with the
// rows that point to blobs.
type BlobLister interface {
	BlobStore
	// List calls fn for each blob whose key starts with prefix, and for each unfinished write
	// of such a key the store shows, in no particular order; it stops at fn's first error.
	List(ctx context.Context, prefix string, fn func(ListedBlob) error) error
}

var (
	_ BlobLister = folderStore{}
	_ BlobLister = s3Store{}
)

// unfinishedName is fileblob's temporary name of a write with no_tmp_dir: <key>.<hex time>.tmp.
var unfinishedName = regexp.MustCompile(`^(.+)\.[0-9a-f]+\.tmp$`)

// List walks the folder under prefix (a key prefix ending at a "/").
func (s folderStore) List(ctx context.Context, prefix string, fn func(ListedBlob) error) error {
	root := filepath.Join(s.dir, filepath.FromSlash(prefix))
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && path == root {
			return filepath.SkipAll
		}
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // gone meanwhile
		}
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(s.dir, path)
		if err != nil {
			return err
		}
		b := ListedBlob{Key: filepath.ToSlash(rel), Size: info.Size(), ModTime: info.ModTime()}
		if m := unfinishedName.FindStringSubmatch(b.Key); m != nil {
			b.Key, b.Unfinished = m[1], true
		}
		return fn(b)
	})
	if err != nil {
		return fmt.Errorf("list blobs %s: %w", prefix, err)
	}
	return nil
}

// List pages through the bucket's objects under prefix. An unfinished multipart upload is no
// object: S3 never shows it (a lifecycle rule removes it).
func (s s3Store) List(ctx context.Context, prefix string, fn func(ListedBlob) error) error {
	it := s.b.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("list blobs %s: %w", prefix, err)
		}
		if obj.IsDir {
			continue
		}
		if err := fn(ListedBlob{Key: obj.Key, Size: obj.Size, ModTime: obj.ModTime}); err != nil {
			return err
		}
	}
}
