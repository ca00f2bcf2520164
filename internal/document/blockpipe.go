package document

import (
	"crypto/sha256"
	"hash"
	"io"
	"sync/atomic"
)

// BlockPipe carries a blob to the store in blocks of a fixed size: the caller fills a block and
// sends it on, one goroutine computes the SHA-256 over the blocks in order and passes each to
// another that writes it. So reading the next block, hashing and writing (which waits for the
// disk now and then) run side by side. At most a fixed number of blocks exist: a slow hash
// or store holds the caller back rather than letting memory grow.
type BlockPipe struct {
	size, max, made int
	h               hash.Hash
	n               int64 // bytes sent
	free            chan []byte
	hashq, writeq   chan []byte
	done            chan struct{} // closed when the writer has handled every block
	err             atomic.Pointer[error]
	started, closed bool
}

// NewBlockPipe returns a pipe of at most blocks blocks of size bytes; Start gives it its store.
func NewBlockPipe(size, blocks int) *BlockPipe {
	return &BlockPipe{size: size, max: blocks, h: sha256.New(),
		free: make(chan []byte, blocks), hashq: make(chan []byte, blocks), writeq: make(chan []byte, blocks),
		done: make(chan struct{})}
}

// Start starts hashing and writing the blocks sent to w. Blocks may be taken before it.
func (p *BlockPipe) Start(w io.Writer) {
	p.started = true
	go func() {
		defer close(p.writeq)
		for b := range p.hashq {
			p.h.Write(b)
			p.writeq <- b
		}
	}()
	go func() {
		defer close(p.done)
		for b := range p.writeq {
			if p.err.Load() == nil {
				if _, err := w.Write(b); err != nil {
					p.err.Store(&err)
				}
			}
			p.free <- b[:0]
		}
	}()
}

// Block returns an empty block of the pipe's block size: a free one, a new one while fewer than the
// pipe's blocks exist, or else the next one the writer is done with.
func (p *BlockPipe) Block() []byte {
	select {
	case b := <-p.free:
		return b
	default:
	}
	if p.made < p.max {
		p.made++
		return make([]byte, 0, p.size)
	}
	return <-p.free
}

// Send hands b, a block from Block, on to be hashed and written; the caller must not touch it
// again. A failed write shows in Err, then in Close.
func (p *BlockPipe) Send(b []byte) {
	p.n += int64(len(b))
	p.hashq <- b
}

// Release gives back a block that is not to be sent.
func (p *BlockPipe) Release(b []byte) { p.free <- b[:0] }

// Err is the first error writing to the store so far.
func (p *BlockPipe) Err() error {
	if err := p.err.Load(); err != nil {
		return *err
	}
	return nil
}

// Close waits until every block sent is hashed and written, and returns the first error
// writing. Every block taken must have been sent or released.
func (p *BlockPipe) Close() error {
	if !p.closed {
		p.closed = true
		close(p.hashq)
		if p.started {
			<-p.done
		}
	}
	return p.Err()
}

// Written is the number of bytes sent.
func (p *BlockPipe) Written() int64 { return p.n }

// Sum is the SHA-256 of every byte sent; only after Close.
func (p *BlockPipe) Sum() []byte { return p.h.Sum(nil) }
