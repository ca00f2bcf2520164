package bundle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
)

// The read-ahead holds documents in blocks of readBlock bytes (a smaller document takes a
// block of its own, a larger one several in turn), at most readBlocks of them at a time. The
// blocks are small so that the bytes in flight stay in the processors' caches between the
// read, the archive, the hash and the write: with blocks of a megabyte the generation took
// more processor time, not less.
const (
	readBlock  = 128 << 10
	readBlocks = 8
)

// docChunk is a piece of a document read ahead, or the error that ended the read-ahead.
type docChunk struct {
	e           *entry
	buf         []byte // the document's bytes, in a block of the read-ahead
	first, last bool
	err         error
}

// readAhead is the goroutine that reads the documents of the plan in order into blocks and
// sends them to chunks, taking free blocks from free (making new ones while fewer than
// readBlocks exist).
type readAhead struct {
	ctx    context.Context
	chunks chan<- docChunk
	free   chan []byte
	made   int
}

// readDocuments runs the read-ahead; an error is sent as the last chunk. It closes chunks when
// done or when ctx is cancelled.
func (w *GenerateBundleWorker) readDocuments(ctx context.Context, g *genJob, chunks chan<- docChunk, free chan []byte) {
	defer close(chunks)
	ra := &readAhead{ctx: ctx, chunks: chunks, free: free}
	err := g.entries.each(ctx, func(e *entry) error { return w.readDocument(ra, e) })
	if err != nil && ctx.Err() == nil {
		_ = ra.send(docChunk{err: err})
	}
}

// block returns an empty block: a free one, a new one while fewer than readBlocks exist, or
// else the next one the archive is done with.
func (ra *readAhead) block() ([]byte, error) {
	select {
	case b := <-ra.free:
		return b, nil
	default:
	}
	if ra.made < readBlocks {
		ra.made++
		return make([]byte, readBlock), nil
	}
	select {
	case b := <-ra.free:
		return b, nil
	case <-ra.ctx.Done():
		return nil, ra.ctx.Err()
	}
}

// release returns a block that is not sent.
func (ra *readAhead) release(b []byte) { ra.free <- b[:cap(b)] }

func (ra *readAhead) send(c docChunk) error {
	select {
	case ra.chunks <- c:
		return nil
	case <-ra.ctx.Done():
		if c.buf != nil {
			ra.release(c.buf)
		}
		return ra.ctx.Err()
	}
}

// readDocument reads e's blob and sends it in chunks. A missing blob, or one whose size is not
// the row's, fails the bundle for good: retrying will not bring it back.
func (w *GenerateBundleWorker) readDocument(ra *readAhead, e *entry) error {
	r, err := w.Blobs.NewRangeReader(ra.ctx, e.StorageKey, 0, -1)
	if errors.Is(err, fs.ErrNotExist) {
		return permanent("bundle.error.document_missing", err)
	}
	if err != nil {
		return err
	}
	defer r.Close()
	wrongSize := func(n int64) error {
		return permanent("bundle.error.document_missing", fmt.Errorf("document %s: blob has %d bytes, row says %d", e.DocumentID, n, e.Size))
	}
	// A store's reader knows the blob's size: reading exactly that many bytes then saves the
	// read that finds the end.
	sized, known := r.(interface{ Size() int64 })
	if known && sized.Size() != e.Size {
		return wrongSize(sized.Size())
	}
	var n int64
	for first := true; first || n < e.Size; first = false {
		b, err := ra.block()
		if err != nil {
			return err
		}
		k, err := io.ReadFull(r, b[:min(int64(len(b)), e.Size-n)])
		n += int64(k)
		if err == nil && n == e.Size && !known {
			if extra, _ := io.ReadFull(r, make([]byte, 1)); extra > 0 {
				n, err = n+1, io.ErrShortBuffer // longer than the row says
			}
		}
		if err != nil {
			ra.release(b)
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrShortBuffer) {
				return wrongSize(n)
			}
			return fmt.Errorf("copy document %s: %w", e.DocumentID, err)
		}
		if err := ra.send(docChunk{e: e, buf: b[:k], first: first, last: n == e.Size}); err != nil {
			return err
		}
	}
	return nil
}
