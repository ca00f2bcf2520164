package stream

import (
	"io"
	"sync"
)

// pipeChunk is the size of a buffered pipe's chunks: the CSV writer's buffer, which it flushes
// whole.
const pipeChunk = 256 << 10

// pipeDepth is how many chunks a buffered pipe holds unread (8 MB).
const pipeDepth = 32

// bufferedPipe is io.Pipe with a buffer of pipeDepth chunks: the writer goes on until that much
// waits unread. A delivery's CSV is made from PostgreSQL's rows at one pace and taken by a
// transport at another, in bursts (SFTP's flow control, a server process that is not
// scheduled): with io.Pipe each side waits for the other at every chunk, and on a busy machine
// every wait costs a scheduling delay of the process that is waited for (the delivery to
// OpenSSH took the sum of both sides' times rather than the longer one's).
//
// One goroutine writes and then closes the writing side (closeWrite); one reads, and may close
// the reading side (closeRead) to stop the writer. Data is never lost: the reader gets every
// chunk written before closeWrite, then its error (io.EOF for nil).
type bufferedPipe struct {
	chunks chan []byte
	free   chan []byte
	done   chan struct{} // closed by closeRead
	once   sync.Once
	rerr   error // set before done is closed
	werr   error // set before chunks is closed
	cur    []byte
	held   []byte // the chunk cur is part of
}

func newBufferedPipe() *bufferedPipe {
	return &bufferedPipe{chunks: make(chan []byte, pipeDepth), free: make(chan []byte, pipeDepth), done: make(chan struct{})}
}

// Write copies p into chunks and queues them; it blocks while the buffer is full, and fails
// once the reading side is closed.
func (p *bufferedPipe) Write(b []byte) (int, error) {
	written := 0
	for len(b) > 0 {
		var buf []byte
		select {
		case buf = <-p.free:
		default:
			buf = make([]byte, 0, pipeChunk)
		}
		n := min(len(b), pipeChunk)
		buf = append(buf[:0], b[:n]...)
		select {
		case p.chunks <- buf:
		case <-p.done:
			return written, p.rerr
		}
		written += n
		b = b[n:]
	}
	return written, nil
}

// closeWrite ends the writing side: the reader gets err after the data (io.EOF for nil).
func (p *bufferedPipe) closeWrite(err error) {
	if err == nil {
		err = io.EOF
	}
	p.werr = err
	close(p.chunks)
}

// Read reads queued data, waiting for it; after the writing side is closed and its data read,
// it returns the writer's error.
func (p *bufferedPipe) Read(b []byte) (int, error) {
	for len(p.cur) == 0 {
		if p.held != nil {
			select {
			case p.free <- p.held[:0]:
			default:
			}
			p.held = nil
		}
		select {
		case buf, ok := <-p.chunks:
			if !ok {
				return 0, p.werr
			}
			p.cur, p.held = buf, buf
		case <-p.done:
			return 0, io.ErrClosedPipe
		}
	}
	n := copy(b, p.cur)
	p.cur = p.cur[n:]
	return n, nil
}

// closeRead ends the reading side: the writer's next or waiting Write returns err.
func (p *bufferedPipe) closeRead(err error) {
	p.once.Do(func() {
		p.rerr = err
		close(p.done)
	})
}
