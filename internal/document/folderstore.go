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

	"gocloud.dev/blob"
)

// folderStore is a BlobStore on a local folder (the Go CDK's fileblob), and a FileBlobStore. It
// opens the files of the blobs it reads itself: the bucket's reader first looks for a metadata
// file beside the blob, which this store never writes (metadata=skip), and that failed lookup
// cost more than reading a 100 kB document.
type folderStore struct {
	bucket
	dir         string
	plainWrites bool // write_behind=0: no write-behind, one sync at Close
}

var _ FileBlobStore = folderStore{}

// openFolderStore opens the folder of the file:// URL u.
func openFolderStore(ctx context.Context, u *url.URL) (BlobStore, error) {
	// As fileblob reads the URL: host "." means a path relative to the working folder.
	dir := u.Path
	if u.Host == "." || os.PathSeparator != '/' {
		dir = strings.TrimPrefix(dir, "/")
	}
	q := u.Query()
	plainWrites := q.Get("write_behind") == "0"
	if v := q.Get("write_behind"); v != "" && v != "0" && v != "1" {
		return nil, fmt.Errorf("blob url: write_behind must be 0 or 1, got %q", v)
	}
	q.Del("write_behind") // ours, not the bucket's
	for k, v := range map[string]string{"no_tmp_dir": "1", "metadata": "skip", "create_dir": "1"} {
		if !q.Has(k) {
			q.Set(k, v)
		}
	}
	withDefaults := *u
	withDefaults.RawQuery = q.Encode()
	b, err := blob.OpenBucket(ctx, withDefaults.String())
	if err != nil {
		return nil, fmt.Errorf("open blob store: %w", err)
	}
	return folderStore{bucket: bucket{b}, dir: filepath.FromSlash(dir), plainWrites: plainWrites}, nil
}

func (s folderStore) NewWriter(ctx context.Context, key, contentType string) (io.WriteCloser, error) {
	ctx, cancel := context.WithCancel(ctx)
	fw := &fileWriter{ctx: ctx, cancel: cancel, plain: s.plainWrites}
	opts := writerOptions(contentType)
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
	fw.w = w
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
//
// This pays its way on this project's virtual machines: with plain writes and one sync at Close
// in its place (write_behind=0), a 1 GiB upload took 2.2 times as long (3.04 s vs 1.38 s, the
// server's CPU 3.7 s vs 1.4 s; medians of three rounds, the client in a process of its own, both
// stores in the same run; earlier runs 2.1 and 3.2 times). The command, which reports it as
// writebehind-gain:
//
//	go test -count=1 -run '^$' -bench BenchmarkDocumentTransfer1GiB -benchtime 1x ./internal/server/
type fileWriter struct {
	// w is the bucket's writer: a field, not embedded, so that io.Copy into a fileWriter
	// goes through its Write rather than through the bucket writer's own ReadFrom.
	w      *blob.Writer
	plain  bool // no write-behind and no syncs before Close (write_behind=0)
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
	if w.plain {
		return w.w.Write(p)
	}
	n, err := w.w.Write(p)
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
		return w.w.Close() // aborted: nothing to make durable
	}
	err := w.diskErr()
	if err == nil {
		if err = w.file.Sync(); err != nil {
			err = fmt.Errorf("sync blob: %w", err)
		}
	}
	if err != nil {
		w.cancel()
		_ = w.w.Close()
		return err
	}
	if err := w.w.Close(); err != nil {
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

// RemoveUnfinished removes fileblob's temporary files of key: with no_tmp_dir it writes
// <key>.<hex time>.tmp next to the final name and renames it on Close.
func (s folderStore) RemoveUnfinished(ctx context.Context, key string) error {
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
