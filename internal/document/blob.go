package document

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
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
// (metadata=skip): the database holds the metadata. On S3 an aborted write also aborts its
// multipart upload, so no unfinished parts stay behind on the server.
func OpenBlobStore(ctx context.Context, rawURL string) (BlobStore, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("blob url: %w", err)
	}
	var dir string
	switch u.Scheme {
	case "file":
		// As fileblob reads the URL: host "." means a path relative to the working folder.
		dir = u.Path
		if u.Host == "." || os.PathSeparator != '/' {
			dir = strings.TrimPrefix(dir, "/")
		}
		dir = filepath.FromSlash(dir)
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
	s := bucketStore{b: b, dir: dir}
	if u.Scheme == "s3" {
		s.bucket = u.Host
		if !b.As(&s.s3) {
			b.Close()
			return nil, errors.New("open blob store: the s3 bucket gives no S3 client")
		}
		return s, nil
	}
	return folderStore{s}, nil
}

// bucketStore is a BlobStore on a Go CDK bucket.
type bucketStore struct {
	b *blob.Bucket
	// s3 is the bucket's client when it is S3, else nil.
	s3     *s3.Client
	bucket string
	// dir is the folder of a local store, else "".
	dir string
}

func (s bucketStore) NewWriter(ctx context.Context, key, contentType string) (io.WriteCloser, error) {
	// A content type given up front keeps the bucket from buffering the start to sniff one.
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	opts := &blob.WriterOptions{ContentType: contentType}
	if s.s3 != nil {
		w, err := s.b.NewWriter(ctx, key, opts)
		if err != nil {
			return nil, fmt.Errorf("write blob %s: %w", key, err)
		}
		return &s3Writer{Writer: w, ctx: ctx, store: s, key: key}, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	fw := &fileWriter{ctx: ctx, cancel: cancel}
	opts.BeforeWrite = func(as func(any) bool) error {
		if !as(&fw.file) {
			return errors.New("the folder store gives no file to make durable")
		}
		return nil
	}
	w, err := s.b.NewWriter(ctx, key, opts)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("write blob %s: %w", key, err)
	}
	fw.Writer = w
	return fw, nil
}

// fileWriter makes a blob in a local folder durable before it appears. The folder store writes a
// temporary file and renames it on Close, without fsync: after a crash the name could point at
// a file whose bytes never reached the disk, while the document's row, committed by PostgreSQL,
// survives. So Close first syncs the file, then lets the store rename it, then syncs the folder
// that holds the new name. A failed sync aborts the write: nothing is published.
//
// While a large blob is written, its bytes go to the disk behind the writer rather than all at
// Close (write-behind): every writeBehindChunk bytes the kernel is asked to start writing the new
// chunk, the writer waits until the chunk before it is on disk and drops that one from the page
// cache. So at most two chunks wait in memory, the page cache keeps what PostgreSQL and the
// downloads read rather than blobs just written, and the writer reuses the same few pages (on a
// virtual machine, touching fresh pages cost more processor time than copying into them). And
// every syncEvery bytes a goroutine syncs the file meanwhile, so the disk's own cache is emptied
// while the rest is still arriving and the sync at Close waits for the last part only.
type fileWriter struct {
	*blob.Writer
	file   *os.File
	ctx    context.Context
	cancel context.CancelFunc // aborts the write when the sync fails
	// written bytes so far; the kernel was asked to write back the first started, of which
	// the first dropped are on disk and out of the page cache.
	written, started, dropped int64
	// synced is what was written when the last sync was asked for. syncs asks the syncing
	// goroutine for a sync (nil until the first); syncsDone is closed when it has stopped.
	synced    int64
	syncs     chan struct{}
	syncsDone chan struct{}
	// err is the first failure writing the file to disk before Close. It must be kept: the
	// kernel reports a failed write-back once per open file, so the sync at Close may not
	// report it again.
	err atomic.Pointer[error]
}

const (
	writeBehindChunk = 32 << 20
	syncEvery        = 128 << 20
)

func (w *fileWriter) Write(p []byte) (int, error) {
	n, err := w.Writer.Write(p)
	w.written += int64(n)
	if w.written-w.started >= writeBehindChunk {
		if werr := writeBehind(w.file, w.dropped, w.started, w.written); werr != nil {
			w.fail(werr)
		}
		w.dropped, w.started = w.started, w.written
	}
	if w.written-w.synced >= syncEvery {
		w.requestSync()
	}
	if err == nil {
		err = w.diskErr()
	}
	return n, err
}

// requestSync asks the syncing goroutine, started on the first request, to sync the file. A
// request while a sync runs is dropped: the next one comes syncEvery bytes later.
func (w *fileWriter) requestSync() {
	if w.syncs == nil {
		w.syncs, w.syncsDone = make(chan struct{}), make(chan struct{})
		go func() {
			defer close(w.syncsDone)
			for range w.syncs {
				if err := w.file.Sync(); err != nil {
					w.fail(err)
				}
			}
		}()
	}
	select {
	case w.syncs <- struct{}{}:
		w.synced = w.written
	default:
	}
}

// fail keeps err if it is the first failure writing the file to disk.
func (w *fileWriter) fail(err error) {
	err = fmt.Errorf("sync blob: %w", err)
	w.err.CompareAndSwap(nil, &err)
}

// diskErr is the first failure writing the file to disk so far.
func (w *fileWriter) diskErr() error {
	if err := w.err.Load(); err != nil {
		return *err
	}
	return nil
}

func (w *fileWriter) Close() error {
	defer w.cancel()
	if w.syncs != nil {
		close(w.syncs)
		<-w.syncsDone
	}
	if w.ctx.Err() != nil {
		return w.Writer.Close() // aborted: nothing to make durable
	}
	err := w.diskErr()
	if err == nil {
		if err = w.file.Sync(); err != nil {
			err = fmt.Errorf("sync blob: %w", err)
		}
	}
	if err != nil {
		w.cancel()
		_ = w.Writer.Close()
		return err
	}
	if err := w.Writer.Close(); err != nil {
		return err
	}
	return syncDir(filepath.Dir(w.file.Name()))
}

// syncDir makes the entries of the folder dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync blob folder: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync blob folder: %w", err)
	}
	return nil
}

// s3Writer cleans up after an aborted S3 write. The SDK's transfer manager aborts a failed
// multipart upload with the request's own context, which is already cancelled when the write
// is aborted: the abort request never leaves, and the uploaded parts would stay on the server
// (invisible as objects, yet stored and billed) until a lifecycle rule removes them.
type s3Writer struct {
	*blob.Writer
	ctx   context.Context
	store bucketStore
	key   string
}

// abortTimeout bounds the clean-up of an aborted S3 upload.
const abortTimeout = 30 * time.Second

func (w *s3Writer) Close() error {
	err := w.Writer.Close()
	if w.ctx.Err() == nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), abortTimeout)
	defer cancel()
	if aerr := w.store.abortUploads(ctx, w.key); aerr != nil {
		return aerr
	}
	return err
}

// abortUploads aborts the unfinished multipart uploads of key. Keys are documents/<uuid>/<uuid>,
// which s3blob sends unescaped.
func (s bucketStore) abortUploads(ctx context.Context, key string) error {
	out, err := s.s3.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(s.bucket), Prefix: aws.String(key)})
	if ae, ok := errors.AsType[smithy.APIError](err); ok && ae.ErrorCode() == "NoSuchUpload" {
		// Some S3-compatible servers answer so for a bucket without unfinished uploads.
		return nil
	}
	if err != nil {
		return fmt.Errorf("list unfinished uploads of blob %s: %w", key, err)
	}
	for _, up := range out.Uploads {
		if aws.ToString(up.Key) != key {
			continue
		}
		_, err := s.s3.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(s.bucket), Key: up.Key, UploadId: up.UploadId})
		if err != nil {
			return fmt.Errorf("abort unfinished upload of blob %s: %w", key, err)
		}
	}
	return nil
}

func (s bucketStore) NewRangeReader(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	r, err := s.b.NewRangeReader(ctx, key, offset, length, nil)
	if err != nil {
		return nil, blobError("read", key, err)
	}
	return r, nil
}

// folderStore is a bucketStore on a local folder. It opens the files of the blobs it reads
// itself: the bucket's reader first looks for a metadata file beside the blob, which this store
// never writes (metadata=skip), and that failed lookup cost more than reading a 100 kB document.
type folderStore struct{ bucketStore }

// path is the file of key when key is made of lower-case letters, digits and dashes in parts
// separated by single slashes (every key StorageKey makes): the bucket leaves such a key
// unescaped, so its file is the key's path in the folder. ok is false for any other key.
func (s folderStore) path(key string) (path string, ok bool) {
	for part := range strings.SplitSeq(key, "/") {
		if part == "" || strings.Trim(part, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
			return "", false
		}
	}
	return filepath.Join(s.dir, filepath.FromSlash(key)), true
}

// NewRangeReader reads from key's file.
func (s folderStore) NewRangeReader(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	f, err := s.OpenFile(ctx, key)
	if err != nil {
		return nil, err
	}
	if length < 0 {
		length = f.Size()
	}
	return &fileRange{SectionReader: io.NewSectionReader(f, offset, length), f: f}, nil
}

// OpenFile opens key's file for reading: itself for a key with a plain path, else through the
// bucket.
func (s folderStore) OpenFile(ctx context.Context, key string) (*BlobFile, error) {
	path, ok := s.path(key)
	if !ok {
		var f *os.File
		r, err := s.b.NewRangeReader(ctx, key, 0, -1, &blob.ReaderOptions{BeforeRead: func(as func(any) bool) error {
			if !as(&f) {
				return errors.New("the folder store gives no file to read")
			}
			return nil
		}})
		if err != nil {
			return nil, blobError("read", key, err)
		}
		return &BlobFile{File: f, r: r, size: r.Size()}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, blobError("read", key, err)
	}
	info, err := f.Stat()
	if err == nil && !info.Mode().IsRegular() {
		err = fs.ErrNotExist // a folder of the store, not a blob
	}
	if err != nil {
		f.Close()
		return nil, blobError("read", key, err)
	}
	return &BlobFile{File: f, r: f, size: info.Size()}, nil
}

// fileRange reads a range of a blob's file; Size is the whole blob's, as the bucket's reader
// reports it.
type fileRange struct {
	*io.SectionReader
	f *BlobFile
}

func (r *fileRange) Size() int64  { return r.f.Size() }
func (r *fileRange) Close() error { return r.f.Close() }

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

// RemoveUnfinished removes fileblob's temporary files of key: with no_tmp_dir it writes
// <key>.<hex time>.tmp next to the final name and renames it on Close.
func (s bucketStore) RemoveUnfinished(ctx context.Context, key string) error {
	if s.dir == "" {
		return nil
	}
	matches, err := filepath.Glob(filepath.Join(s.dir, filepath.FromSlash(key)) + ".*.tmp")
	if err != nil {
		return fmt.Errorf("remove unfinished %s: %w", key, err)
	}
	for _, m := range matches {
		if err := os.Remove(m); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove unfinished %s: %w", key, err)
		}
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
