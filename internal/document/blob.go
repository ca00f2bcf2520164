package document

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
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
	// when Close returns nil, and is then durable (on disk, for a local folder); to abort, cancel
	// ctx before Close: nothing is published then.
	NewWriter(ctx context.Context, key, contentType string) (io.WriteCloser, error)
	// NewRangeReader reads length bytes of key from offset (length < 0: to the end). A missing
	// key is an error that matches fs.ErrNotExist.
	NewRangeReader(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error)
	// Attributes describes key. A missing key is an error that matches fs.ErrNotExist.
	Attributes(ctx context.Context, key string) (BlobAttributes, error)
	// Delete removes key. Deleting a key that does not exist is not an error.
	Delete(ctx context.Context, key string) error
	// RemoveUnfinished removes what an interrupted write of key may have left where the store
	// can see it: a local folder's temporary file, when the process writing it died before
	// Close. Object storage never shows an unfinished upload, so there it does nothing. Call
	// it only when no write of key can be running.
	RemoveUnfinished(ctx context.Context, key string) error
	// Close releases the store.
	Close() error
}

// FileBlobStore is a BlobStore that keeps each blob as a file of the machine: a download can then
// hand the file to the kernel (sendfile) instead of copying it through the process.
type FileBlobStore interface {
	BlobStore
	// OpenFile opens key's file for reading. A missing key is an error that matches
	// fs.ErrNotExist.
	OpenFile(ctx context.Context, key string) (*BlobFile, error)
}

// BlobFile is a blob's open file. Reads, seeks and the system calls on the file go to the
// *os.File, so a copy to a network connection can use sendfile; Close releases the file.
type BlobFile struct {
	*os.File
	r    io.Closer // what opened the file (the bucket's reader), or the file itself
	size int64
}

// Size is the blob's size in bytes, as it was when the file was opened.
func (f *BlobFile) Size() int64 { return f.size }

// Close closes the file.
func (f *BlobFile) Close() error { return f.r.Close() }

// BlobAttributes describes a stored blob.
type BlobAttributes struct {
	Size    int64
	ModTime time.Time
}

// OpenBlobStore opens the store at rawURL: file:///path or file://./relative (a local folder,
// created when missing) or s3://bucket?region=…&endpoint=…&use_path_style=true (S3-compatible
// object storage). A local folder writes each blob to a temporary file next to its final name
// and renames it when complete (no_tmp_dir), and keeps no metadata sidecar files
// (metadata=skip): the database holds the metadata. It writes a large blob to disk while it
// arrives (write-behind, see fileWriter); write_behind=0 in the URL writes plainly instead, with
// one sync at Close (the transfer benchmark compares the two). On S3 an aborted write also
// aborts its multipart upload, so no unfinished parts stay behind on the server.
func OpenBlobStore(ctx context.Context, rawURL string) (BlobStore, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("blob url: %w", err)
	}
	switch u.Scheme {
	case "file":
		return openFolderStore(ctx, u)
	case "s3":
		return openS3Store(ctx, u)
	}
	return nil, fmt.Errorf("blob url: want file:// or s3://, got %q", u.Scheme)
}

// bucket holds what both stores do the same way on a Go CDK bucket.
type bucket struct{ b *blob.Bucket }

func (s bucket) Attributes(ctx context.Context, key string) (BlobAttributes, error) {
	a, err := s.b.Attributes(ctx, key)
	if err != nil {
		return BlobAttributes{}, blobError("stat", key, err)
	}
	return BlobAttributes{Size: a.Size, ModTime: a.ModTime}, nil
}

func (s bucket) Delete(ctx context.Context, key string) error {
	if err := s.b.Delete(ctx, key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return fmt.Errorf("delete blob %s: %w", key, err)
	}
	return nil
}

func (s bucket) Close() error { return s.b.Close() }

// writerOptions are the bucket's options for a new blob of contentType. A content type given up
// front keeps the bucket from buffering the start to sniff one.
func writerOptions(contentType string) *blob.WriterOptions {
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	return &blob.WriterOptions{ContentType: contentType}
}

// blobError wraps err, making a missing key match fs.ErrNotExist.
func blobError(op, key string, err error) error {
	if gcerrors.Code(err) == gcerrors.NotFound {
		return fmt.Errorf("%s blob %s: %w", op, key, errors.Join(fs.ErrNotExist, err))
	}
	return fmt.Errorf("%s blob %s: %w", op, key, err)
}
