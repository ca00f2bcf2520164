package document

import (
	"crypto/sha256"
	"errors"
	"hash"
	"sync"
)

// An upload moves in blocks of copyBuffer bytes, at most copyBuffers of them at once: one being
// read and written while others wait for or are in the hash. Large blocks keep system calls
// few; the fixed number keeps memory flat whatever the file's size.
const (
	copyBuffer  = 1 << 20
	copyBuffers = 4
)

// errTooLarge stops a copy at the size limit.
var errTooLarge = errors.New("upload past the size limit")

// buffers keeps the blocks of finished uploads for the next ones.
var buffers = sync.Pool{New: func() any { b := make([]byte, copyBuffer); return &b }}

// hashPipe computes a SHA-256 on a goroutine of its own over blocks handed to it in order. A
// block goes back to the free set once hashed, so the caller may write a block while the hasher
// works on it or on earlier ones, and blocks when all copyBuffers are in use: a slow hash holds
// the reading back instead of letting blocks pile up.
type hashPipe struct {
	h    hash.Hash
	free chan *[]byte
	todo chan hashBlock
	done chan struct{}
	made int
	// stopped is set once todo is closed.
	stopped bool
}

type hashBlock struct {
	buf *[]byte
	n   int
}

func newHashPipe() *hashPipe {
	todo := make(chan hashBlock, copyBuffers)
	p := &hashPipe{h: sha256.New(), free: make(chan *[]byte, copyBuffers), todo: todo, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for b := range todo {
			p.h.Write((*b.buf)[:b.n])
			p.free <- b.buf
		}
	}()
	return p
}

// buffer returns a block to read into: a free one, a new one while fewer than copyBuffers exist,
// or else the next one the hasher finishes.
func (p *hashPipe) buffer() *[]byte {
	select {
	case b := <-p.free:
		return b
	default:
	}
	if p.made < copyBuffers {
		p.made++
		return buffers.Get().(*[]byte)
	}
	return <-p.free
}

// hash hands the first n bytes of buf to the hasher; buf must not be written to again until
// buffer returns it. The caller may still read it (to write it to the store).
func (p *hashPipe) hash(buf *[]byte, n int) { p.todo <- hashBlock{buf, n} }

// release returns a block that is not to be hashed.
func (p *hashPipe) release(buf *[]byte) { p.free <- buf }

// sum waits for the hasher and returns the SHA-256 of every block handed to it.
func (p *hashPipe) sum() []byte {
	p.stop()
	return p.h.Sum(nil)
}

// stop ends the hasher once it has hashed what it was given.
func (p *hashPipe) stop() {
	if !p.stopped {
		p.stopped = true
		close(p.todo)
		<-p.done
	}
}

// close stops the hasher and keeps the blocks for later uploads. Every block must have been
// handed to hash or release.
func (p *hashPipe) close() {
	p.stop()
	for range p.made {
		buffers.Put(<-p.free)
	}
}
