package document_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dossierkast/dossierkast/internal/document"
)

// TestBlobListers lists a prefix of a local folder and of an S3 bucket: the blobs under it, and
// in the folder also an unfinished write's temporary file, named by the key it was writing.
func TestBlobListers(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	stores := map[string]string{"folder": "file://" + filepath.ToSlash(dir), "s3": newS3Server(t).url}
	for name, url := range stores {
		t.Run(name, func(t *testing.T) {
			blobs, err := document.OpenBlobStore(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			defer blobs.Close()
			for _, key := range []string{"documents/t1/a", "documents/t1/b", "documents/t2/c"} {
				w, err := blobs.NewWriter(ctx, key, "application/pdf")
				if err != nil {
					t.Fatal(err)
				}
				if _, err := w.Write([]byte("%PDF-1.7\n")); err != nil {
					t.Fatal(err)
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
			}
			want := []string{"documents/t1/a", "documents/t1/b"}
			if name == "folder" {
				if err := os.WriteFile(filepath.Join(dir, "documents", "t1", "d.18f2a3b4c5d6e7f8.tmp"), []byte("part"), 0o644); err != nil {
					t.Fatal(err)
				}
				want = append(want, "documents/t1/d (unfinished)")
			}
			var got []string
			err = blobs.(document.BlobLister).List(ctx, "documents/t1/", func(b document.ListedBlob) error {
				if b.ModTime.IsZero() || b.Size == 0 {
					t.Errorf("%s listed without time or size: %+v", b.Key, b)
				}
				if b.Unfinished {
					b.Key += " (unfinished)"
				}
				got = append(got, b.Key)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(got)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("listed (-want +got):\n%s", diff)
			}
			if err := blobs.(document.BlobLister).List(ctx, "documents/none/", func(document.ListedBlob) error { return nil }); err != nil {
				t.Errorf("listing an empty prefix: %v", err)
			}
		})
	}
}
