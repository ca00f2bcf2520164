package datastream

import (
	"encoding/binary"
	"io"
	"sync"
	"time"
)

// batchLimit is how many bytes of whole SFTP packets a batchWriter holds before Write waits for
// the channel: about what OpenSSH's channel window lets through at once.
const batchLimit = 1 << 20

// batchDrainTimeout bounds how long Close waits for held packets to leave before it closes the
// channel anyway (a peer that stopped reading).
const batchDrainTimeout = 5 * time.Second

// batchWriter sits between pkg/sftp and an SSH channel and sends whole SFTP packets in large
// writes from a goroutine of its own.
//
// pkg/sftp writes every packet as two writes, the header and then the data, and x/crypto/ssh
// sends each write as SSH packets of its own: a 32 KiB read reply leaves as a 13-byte SSH packet
// and a 32 KiB one, each encrypted, written to the socket and woken up for at the other end
// alone. The batchWriter copies the writes into a buffer and hands the channel everything that
// has gathered up to the last complete SFTP packet, which it cuts into full-size SSH packets;
// the encryption and the socket writes run beside the reading of files instead of after each
// one. A packet is sent as soon as it is complete and the previous batch has left, so nothing
// waits for more to come.
type batchWriter struct {
	ch io.WriteCloser

	mu    sync.Mutex
	more  *sync.Cond // the sender waits for packets
	space *sync.Cond // writers wait for room
	buf   []byte     // bytes written and not yet handed to the channel
	spare []byte     // the buffer the sender last sent from, for reuse
	ready int        // buf[:ready] holds whole SFTP packets
	err   error      // the channel's write error: every later Write fails with it
	// The SFTP packet being written: its length field so far, and the bytes still to come.
	head    [4]byte
	headLen int
	left    int
	closing bool
	done    chan struct{} // closed when the sender has stopped
}

func newBatchWriter(ch io.WriteCloser) *batchWriter {
	w := &batchWriter{ch: ch, done: make(chan struct{})}
	w.more = sync.NewCond(&w.mu)
	w.space = sync.NewCond(&w.mu)
	go w.send()
	return w
}

// Write copies p to the buffer. It waits while the buffer holds batchLimit bytes of packets
// the channel has not taken yet, but never in the middle of a packet that cannot be sent yet.
func (w *batchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.err == nil && w.ready > 0 && len(w.buf) >= batchLimit {
		w.space.Wait()
	}
	if w.err != nil {
		return 0, w.err
	}
	if w.closing {
		return 0, io.ErrClosedPipe
	}
	w.buf = append(w.buf, p...)
	complete := false
	for rest := p; len(rest) > 0; {
		if w.headLen < 4 {
			n := copy(w.head[w.headLen:], rest)
			w.headLen += n
			rest = rest[n:]
			if w.headLen == 4 {
				w.left = int(binary.BigEndian.Uint32(w.head[:]))
			}
		} else {
			n := min(w.left, len(rest))
			w.left -= n
			rest = rest[n:]
		}
		if w.headLen == 4 && w.left == 0 {
			w.headLen = 0
			w.ready = len(w.buf) - len(rest)
			complete = true
		}
	}
	if complete {
		w.more.Signal()
	}
	return len(p), nil
}

// send hands the channel every batch of whole packets, until Close and the buffer is empty, or
// the channel fails.
func (w *batchWriter) send() {
	defer close(w.done)
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		for w.ready == 0 && !w.closing {
			w.more.Wait()
		}
		if w.ready == 0 {
			return
		}
		out := w.buf[:w.ready]
		// What follows the last whole packet stays for the next batch, in the spare buffer.
		w.buf = append(w.spare[:0], w.buf[w.ready:]...)
		w.ready = 0
		w.mu.Unlock()
		_, err := w.ch.Write(out)
		w.mu.Lock()
		w.spare = out
		if err != nil {
			w.err = err
			w.space.Broadcast()
			return
		}
		w.space.Broadcast()
	}
}

// Close lets the packets already written leave (waiting at most batchDrainTimeout) and closes
// the channel.
func (w *batchWriter) Close() error {
	w.mu.Lock()
	w.closing = true
	w.more.Signal()
	w.mu.Unlock()
	select {
	case <-w.done:
	case <-time.After(batchDrainTimeout):
	}
	return w.ch.Close()
}

// batchedChannel is a channel whose writes go through a batchWriter.
type batchedChannel struct {
	io.Reader
	*batchWriter
}
