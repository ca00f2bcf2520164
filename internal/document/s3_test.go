package document_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"log"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/document"
)

// s3Server is an S3-compatible server (gofakes3, objects in memory) on a 127.0.0.1 listener,
// with one bucket.
type s3Server struct {
	backend *s3mem.Backend
	client  *s3.Client // a plain S3 client, to see what the store cannot show
	url     string     // s3:// URL of the bucket for OpenBlobStore
}

const s3Bucket = "dossierkast-test"

// newS3Server starts the server and points the AWS SDK's static credentials at it through the
// environment, as an operator would (t.Setenv: the caller must not run in parallel).
func newS3Server(t *testing.T) *s3Server {
	t.Helper()
	t.Setenv("AWS_ACCESS_KEY_ID", "dossierkast")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "dossierkast-secret")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	backend := s3mem.New()
	if err := backend.CreateBucket(s3Bucket); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(gofakes3.New(backend, gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
	// A download closed before its end makes gofakes3 try to write an error status after the body
	// has begun, which net/http logs: expected when a range reader is dropped, so not shown.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	t.Cleanup(srv.Close)
	client := s3.New(s3.Options{
		BaseEndpoint: aws.String(srv.URL),
		UsePathStyle: true,
		Region:       "eu-west-1",
		Credentials:  credentials.NewStaticCredentialsProvider("dossierkast", "dossierkast-secret", ""),
	})
	return &s3Server{
		backend: backend,
		client:  client,
		url:     "s3://" + s3Bucket + "?region=eu-west-1&endpoint=" + srv.URL + "&use_path_style=true",
	}
}

// keys lists the bucket's objects.
func (s *s3Server) keys(t *testing.T) []string {
	t.Helper()
	list, err := s.backend.ListBucket(s3Bucket, nil, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, c := range list.Contents {
		keys = append(keys, c.Key)
	}
	return keys
}

// pendingUploads lists the bucket's multipart uploads that were neither completed nor aborted.
func (s *s3Server) pendingUploads(t *testing.T) []string {
	t.Helper()
	out, err := s.client.ListMultipartUploads(t.Context(), &s3.ListMultipartUploadsInput{Bucket: aws.String(s3Bucket)})
	if ae, ok := errors.AsType[smithy.APIError](err); ok && ae.ErrorCode() == "NoSuchUpload" {
		return nil // gofakes3's answer for a bucket that never had a multipart upload
	}
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, u := range out.Uploads {
		keys = append(keys, aws.ToString(u.Key))
	}
	return keys
}

// TestS3BlobStore runs the document service on S3 over TCP: an upload with its size and SHA-256,
// range reads, a missing key, uploads refused at the size limit that leave neither an object nor
// an unfinished multipart upload, and delete.
func TestS3BlobStore(t *testing.T) {
	s3 := newS3Server(t)
	// Past the SDK's 8 MiB part size, so a refused upload has begun a multipart upload: the
	// transfer manager reads a few parts ahead before it starts one.
	const maxSize = 40 << 20
	b := setup(t, maxSize)
	blobs, err := document.OpenBlobStore(b.ctx, s3.url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blobs.Close() })
	b.svc = document.NewService(blobs, maxSize, slog.New(slog.NewTextHandler(io.Discard, nil)))
	cat := b.category(t, "Verzuim", document.DossierEmployee)
	upload := func(content io.Reader) (document.Document, error) {
		n := document.NewDocument{EmployeeID: &b.employee, CategoryID: cat.ID, FileName: "verslag.pdf"}
		return b.svc.Upload(b.ctx, b.db.Pool, access.System(audit.Actor{}), b.tenant, n, content)
	}

	content := pdf(7 << 20)
	d, err := upload(bytes.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	if d.Size != int64(len(content)) || d.SHA256 != hex.EncodeToString(sum[:]) || d.ContentType != "application/pdf" {
		t.Errorf("document = size %d, sha256 %s, type %s; want %d, %x, application/pdf", d.Size, d.SHA256, d.ContentType, len(content), sum)
	}
	if diff := cmp.Diff([]string{d.StorageKey}, s3.keys(t)); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
	a, err := blobs.Attributes(b.ctx, d.StorageKey)
	if err != nil || a.Size != int64(len(content)) {
		t.Errorf("Attributes = %+v, %v", a, err)
	}

	t.Run("RangeReads", func(t *testing.T) {
		r, err := b.svc.Open(b.ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		for _, off := range []int64{6 << 20, 17, 0} {
			if _, err := r.Seek(off, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 1000)
			if _, err := io.ReadFull(r, buf); err != nil || !bytes.Equal(buf, content[off:off+1000]) {
				t.Errorf("1000 bytes at %d differ (err %v)", off, err)
			}
		}
		if _, err := r.Seek(-10, io.SeekEnd); err != nil {
			t.Fatal(err)
		}
		tail, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(tail, content[len(content)-10:]) {
			t.Errorf("tail = %q, %v", tail, err)
		}
		rr, err := blobs.NewRangeReader(b.ctx, d.StorageKey, 5<<20, 100)
		if err != nil {
			t.Fatal(err)
		}
		defer rr.Close()
		got, err := io.ReadAll(rr)
		if err != nil || !bytes.Equal(got, content[5<<20:5<<20+100]) {
			t.Errorf("range read of 100 bytes at 5 MiB: %d bytes, %v", len(got), err)
		}
	})

	t.Run("MissingKey", func(t *testing.T) {
		ghost := d
		ghost.StorageKey = "documents/nothing/here"
		if _, err := b.svc.Open(b.ctx, ghost); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Open(missing object) = %v, want fs.ErrNotExist", err)
		}
		if err := blobs.Delete(b.ctx, ghost.StorageKey); err != nil {
			t.Errorf("Delete(missing object) = %v, want nil", err)
		}
	})

	small := document.NewService(blobs, 1<<20, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, tt := range []struct {
		name string
		svc  *document.Service
		size int
	}{
		{"PastLimitWithinOnePart", small, 2 << 20},
		{"JustPastLimit", b.svc, maxSize + 1},
		{"FarPastLimit", b.svc, 60 << 20},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := document.NewDocument{EmployeeID: &b.employee, CategoryID: cat.ID, FileName: "groot.pdf"}
			_, err := tt.svc.Upload(b.ctx, b.db.Pool, access.System(audit.Actor{}), b.tenant, n, bytes.NewReader(make([]byte, tt.size)))
			wantCode(t, err, apperr.ETOOLARGE)
			if diff := cmp.Diff([]string{d.StorageKey}, s3.keys(t)); diff != "" {
				t.Errorf("objects after a refused upload (-want +got):\n%s", diff)
			}
			if pending := s3.pendingUploads(t); len(pending) != 0 {
				t.Errorf("multipart uploads left open: %v", pending)
			}
			if n := b.documentCount(t); n != 1 {
				t.Errorf("%d document rows, want 1", n)
			}
		})
	}

	t.Run("Delete", func(t *testing.T) {
		if _, err := b.svc.Delete(b.ctx, b.db.Pool, access.System(audit.Actor{}), b.tenant, d.ID); err != nil {
			t.Fatal(err)
		}
		if keys := s3.keys(t); len(keys) != 0 {
			t.Errorf("objects after delete: %v", keys)
		}
		if _, err := blobs.Attributes(b.ctx, d.StorageKey); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Attributes after delete = %v, want fs.ErrNotExist", err)
		}
	})
}
