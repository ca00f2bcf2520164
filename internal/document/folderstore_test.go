package document_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/dossierkast/dossierkast/internal/document"
)

// TestFolderWriterWriteBehind writes blobs large enough for the folder store to write them to
// disk while they arrive (several write-behind chunks, syncs meanwhile), in blocks of uneven
// sizes: the stored bytes must be exactly those written. A write aborted after that publishes
// nothing and leaves no file. The same holds with write_behind=0 (plain writes).
func TestFolderWriterWriteBehind(t *testing.T) {
	t.Parallel()
	for name, query := range map[string]string{"WriteBehind": "", "PlainWrites": "?write_behind=0"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dir := t.TempDir()
			blobs, err := document.OpenBlobStore(ctx, "file://"+filepath.ToSlash(dir)+query)
			if err != nil {
				t.Fatal(err)
			}
			defer blobs.Close()
			block := make([]byte, 1<<20+3)
			rand.Read(block)
			// write sends size bytes of block, repeated, in pieces of uneven sizes, and returns their
			// SHA-256.
			write := func(w io.Writer, size int) []byte {
				h := sha256.New()
				for i, n := 0, 0; n < size; i++ {
					p := block[:min(len(block)-i%7, size-n)]
					if m, err := w.Write(p); err != nil || m != len(p) {
						t.Fatalf("write %d bytes: %d, %v", len(p), m, err)
					}
					h.Write(p)
					n += len(p)
				}
				return h.Sum(nil)
			}

			const size = 200<<20 + 12345 // past several chunks and a sync
			w, err := blobs.NewWriter(ctx, "documents/x/large", "application/octet-stream")
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := w.(io.ReaderFrom); ok {
				t.Errorf("the writer is an io.ReaderFrom: io.Copy into it would not go through its Write")
			}
			want := write(w, size)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(filepath.Join(dir, "documents", "x", "large"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			h := sha256.New()
			if n, err := io.Copy(h, f); err != nil || n != size || !bytes.Equal(h.Sum(nil), want) {
				t.Errorf("stored %d bytes (err %v), want %d; same bytes: %v", n, err, size, bytes.Equal(h.Sum(nil), want))
			}

			abortCtx, cancel := context.WithCancel(ctx)
			w, err = blobs.NewWriter(abortCtx, "documents/x/aborted", "application/octet-stream")
			if err != nil {
				t.Fatal(err)
			}
			write(w, 150<<20)
			cancel()
			if err := w.Close(); !errors.Is(err, context.Canceled) {
				t.Errorf("close after cancel: %v, want context.Canceled", err)
			}
			var files []string
			filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					files = append(files, path)
				}
				return err
			})
			if want := []string{filepath.Join(dir, "documents", "x", "large")}; !slices.Equal(files, want) {
				t.Errorf("files %q, want %q", files, want)
			}
		})
	}
	if _, err := document.OpenBlobStore(context.Background(), "file://"+filepath.ToSlash(t.TempDir())+"?write_behind=ja"); err == nil {
		t.Error("write_behind=ja: no error")
	}
}

// TestFolderStoreReads reads blobs of a local folder by the two ways the store opens them: a
// key with a plain path (as StorageKey makes) and any other key, through the bucket.
func TestFolderStoreReads(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	blobs, err := document.OpenBlobStore(ctx, "file://"+filepath.ToSlash(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer blobs.Close()
	content := []byte("0123456789 dossier")
	for _, key := range []string{"documents/t1/plain-1", "Documents/Met Spatie/ä ../x"} {
		w, err := blobs.NewWriter(ctx, key, "text/plain")
		if err == nil {
			_, err = w.Write(content)
		}
		if err == nil {
			err = w.Close()
		}
		if err != nil {
			t.Fatalf("write %q: %v", key, err)
		}
		for _, r := range []struct {
			offset, length int64
			want           string
		}{{0, -1, string(content)}, {3, 4, "3456"}, {11, -1, "dossier"}} {
			rc, err := blobs.NewRangeReader(ctx, key, r.offset, r.length)
			if err != nil {
				t.Fatalf("read %q from %d: %v", key, r.offset, err)
			}
			got, err := io.ReadAll(rc)
			size := rc.(interface{ Size() int64 }).Size()
			rc.Close()
			if err != nil || string(got) != r.want || size != int64(len(content)) {
				t.Errorf("read %q from %d, %d bytes: %q, size %d, %v; want %q, size %d", key, r.offset, r.length, got, size, err, r.want, len(content))
			}
		}
	}
	for _, key := range []string{"documents/t1/missing", "documents/t1", "Documents/missing"} {
		if _, err := blobs.NewRangeReader(ctx, key, 0, -1); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("read %q: %v, want fs.ErrNotExist", key, err)
		}
	}
}
