package document

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"time"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob" // file:// URLs
	_ "gocloud.dev/blob/s3blob"   // s3:// URLs
	"gocloud.dev/gcerrors"
)

// BlobStore keeps the bytes of documents under opaque keys. It is all the product needs of a
// storage service, so a local folder and S3-compatible object storage are interchangeable.
type BlobStore interface {
	// NewWriter starts writing the blob key with the given content type. The blob appears only
	// when Close returns nil; to abort, cancel ctx before Close: nothing is published then.
	NewWriter(ctx context.Context, key, contentType string) (io.WriteCloser, error)
	// NewRangeReader reads length bytes of key from offset (length < 0: to the end). A missing
	// key is an error that matches fs.ErrNotExist.
	NewRangeReader(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error)
	// Attributes describes key. A missing key is an error that matches fs.ErrNotExist.
	Attributes(ctx context.Context, key string) (BlobAttributes, error)
	// Delete removes key. Deleting a key that does not exist is not an error.
	Delete(ctx context.Context, key string) error
	// Close releases the store.
	Close() error
}

// BlobAttributes describes a stored blob.
type BlobAttributes struct {
	Size    int64
	ModTime time.Time
}

// OpenBlobStore opens the store at rawURL: file:///path or file://./relative (a local folder,
// created when missing) or s3://bucket?region=…&endpoint=…&use_path_style=true (S3-compatible
// object storage). A local folder writes each blob to a temporary file next to its final name
// and renames it when complete (no_tmp_dir), and keeps no metadata sidecar files
// (metadata=skip): the database holds the metadata.
func OpenBlobStore(ctx context.Context, rawURL string) (BlobStore, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("blob url: %w", err)
	}
	switch u.Scheme {
	case "file":
		q := u.Query()
		for k, v := range map[string]string{"no_tmp_dir": "1", "metadata": "skip", "create_dir": "1"} {
			if !q.Has(k) {
				q.Set(k, v)
			}
		}
		u.RawQuery = q.Encode()
	case "s3":
	default:
		return nil, fmt.Errorf("blob url: want file:// or s3://, got %q", u.Scheme)
	}
	b, err := blob.OpenBucket(ctx, u.String())
	if err != nil {
		return nil, fmt.Errorf("open blob store: %w", err)
	}
	return bucketStore{b}, nil
}

// bucketStore is a BlobStore on a Go CDK bucket.
type bucketStore struct{ b *blob.Bucket }

func (s bucketStore) NewWriter(ctx context.Context, key, contentType string) (io.WriteCloser, error) {
	// A content type given up front keeps the bucket from buffering the start to sniff one.
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	w, err := s.b.NewWriter(ctx, key, &blob.WriterOptions{ContentType: contentType})
	if err != nil {
		return nil, fmt.Errorf("write blob %s: %w", key, err)
	}
	return w, nil
}

func (s bucketStore) NewRangeReader(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	r, err := s.b.NewRangeReader(ctx, key, offset, length, nil)
	if err != nil {
		return nil, blobError("read", key, err)
	}
	return r, nil
}

func (s bucketStore) Attributes(ctx context.Context, key string) (BlobAttributes, error) {
	a, err := s.b.Attributes(ctx, key)
	if err != nil {
		return BlobAttributes{}, blobError("stat", key, err)
	}
	return BlobAttributes{Size: a.Size, ModTime: a.ModTime}, nil
}

func (s bucketStore) Delete(ctx context.Context, key string) error {
	if err := s.b.Delete(ctx, key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return fmt.Errorf("delete blob %s: %w", key, err)
	}
	return nil
}

func (s bucketStore) Close() error { return s.b.Close() }

// blobError wraps err, making a missing key match fs.ErrNotExist.
func blobError(op, key string, err error) error {
	if gcerrors.Code(err) == gcerrors.NotFound {
		return fmt.Errorf("%s blob %s: %w", op, key, errors.Join(fs.ErrNotExist, err))
	}
	return fmt.Errorf("%s blob %s: %w", op, key, err)
}
