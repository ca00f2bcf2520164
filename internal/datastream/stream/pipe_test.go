package stream

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"time"
)

// TestBufferedPipe: everything written arrives in order, then the writer's error (io.EOF for
// none); a closed reading side stops a writer waiting on a full buffer.
func TestBufferedPipe(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 3*pipeDepth*pipeChunk+12345)
	for i := range data {
		data[i] = byte(rng.IntN(256))
	}
	for _, werr := range []error{nil, errors.New("read from PostgreSQL failed")} {
		p := newBufferedPipe()
		go func() {
			rest := data
			for len(rest) > 0 {
				n := min(len(rest), 1+rng.IntN(2*pipeChunk))
				if _, err := p.Write(rest[:n]); err != nil {
					t.Errorf("write: %v", err)
				}
				rest = rest[n:]
			}
			p.closeWrite(werr)
		}()
		got, err := io.ReadAll(p)
		// io.ReadAll turns io.EOF into nil.
		if !bytes.Equal(got, data) || !errors.Is(err, werr) {
			t.Errorf("writer error %v: read %d bytes (equal: %v), error %v", werr, len(got), bytes.Equal(got, data), err)
		}
	}

	p := newBufferedPipe()
	stopped := errors.New("upload stopped")
	wrote := make(chan error, 1)
	go func() {
		_, err := p.Write(data) // more than the buffer holds: it waits for a reader
		wrote <- err
	}()
	time.Sleep(50 * time.Millisecond)
	p.closeRead(stopped)
	select {
	case err := <-wrote:
		if !errors.Is(err, stopped) {
			t.Errorf("write after the reader stopped: %v, want %v", err, stopped)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a writer waiting on a full buffer was not stopped by the reader's close")
	}
}
