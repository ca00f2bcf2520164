package bundle

import (
	"archive/zip"
	"bytes"
	"io"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

// TestZipWriterAsArchiveZip checks that zipWriter writes the same bytes as one archive/zip.Writer:
// over several batches, with ZIP64 end records for more than 65,535 entries, and with offsets
// past 4 GiB (the archive placed after 5 GiB of other bytes, as SetOffset does).
func TestZipWriterAsArchiveZip(t *testing.T) {
	t.Parallel()
	modified := time.Date(2026, 3, 4, 10, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		entries int
		size    int // largest entry
		offset  int64
	}{
		{"Batches", 3*zipBatch + 7, 3000, 0},
		{"Zip64Records", 70_000, 0, 0},
		{"Zip64Offsets", zipBatch + 1, 100, 5 << 30},
		{"Empty", 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(1, 2))
			var want, got bytes.Buffer
			ref := zip.NewWriter(&want)
			ref.SetOffset(tc.offset)
			ref.RegisterCompressor(zip.Deflate, newFlateWriter)
			z := newZipWriter(&got)
			z.n = tc.offset
			for i := range tc.entries {
				data := make([]byte, rng.IntN(tc.size+1))
				for j := range data {
					data[j] = byte('a' + rng.IntN(4))
				}
				method := zip.Store
				if i%3 == 0 {
					method = zip.Deflate
				}
				name := "Werknemers/" + strconv.Itoa(i/10) + "/document " + strconv.Itoa(i) + ".pdf"
				for _, w := range []interface {
					CreateHeader(*zip.FileHeader) (io.Writer, error)
				}{ref, z} {
					ew, err := w.CreateHeader(&zip.FileHeader{Name: name, Method: method, Modified: modified})
					if err != nil {
						t.Fatal(err)
					}
					if _, err := ew.Write(data); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := ref.Close(); err != nil {
				t.Fatal(err)
			}
			if err := z.Close(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Fatalf("zipWriter wrote %d bytes, archive/zip %d, not the same", got.Len(), want.Len())
			}
			if tc.offset > 0 {
				return
			}
			zr, err := zip.NewReader(bytes.NewReader(got.Bytes()), int64(got.Len()))
			if err != nil {
				t.Fatal(err)
			}
			if len(zr.File) != tc.entries {
				t.Errorf("%d entries read back, want %d", len(zr.File), tc.entries)
			}
		})
	}
}
