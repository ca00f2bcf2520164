package datastream

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// recorder is a channel that keeps every write it is handed, optionally failing or holding
// them back.
type recorder struct {
	mu     sync.Mutex
	writes [][]byte
	closed bool
	fail   error
	hold   chan struct{} // when not nil, each write waits for a receive
	// entered, when not nil, is told of each write as it begins.
	entered chan struct{}
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.entered != nil {
		r.entered <- struct{}{}
	}
	if r.hold != nil {
		<-r.hold
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return 0, r.fail
	}
	r.writes = append(r.writes, bytes.Clone(p))
	return len(p), nil
}

func (r *recorder) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	return nil
}

func (r *recorder) all() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Join(r.writes, nil)
}

// sftpPacket is an SFTP packet of n payload bytes: a length, then the payload.
func sftpPacket(n int, fill byte) []byte {
	p := make([]byte, 4+n)
	binary.BigEndian.PutUint32(p, uint32(n))
	for i := 4; i < len(p); i++ {
		p[i] = fill
	}
	return p
}

// wholePackets reports whether b is a run of complete SFTP packets.
func wholePackets(b []byte) bool {
	for len(b) > 0 {
		if len(b) < 4 {
			return false
		}
		n := int(binary.BigEndian.Uint32(b))
		if len(b) < 4+n {
			return false
		}
		b = b[4+n:]
	}
	return true
}

// Writes cut anywhere, as pkg/sftp's header-then-data writes or worse, reach the channel intact,
// in order, and only as whole packets.
func TestBatchWriterSendsWholePackets(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var want []byte
	for i := range 500 {
		want = append(want, sftpPacket(rng.IntN(40000), byte(i))...)
	}
	rec := &recorder{}
	w := newBatchWriter(rec)
	for rest := want; len(rest) > 0; {
		n := min(len(rest), 1+rng.IntN(50000))
		if rng.IntN(4) == 0 {
			n = min(len(rest), 1+rng.IntN(5)) // a length field cut in pieces
		}
		if got, err := w.Write(rest[:n]); err != nil || got != n {
			t.Fatalf("Write = %d, %v", got, err)
		}
		rest = rest[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rec.all(), want) {
		t.Fatal("the channel received other bytes than were written")
	}
	for i, b := range rec.writes {
		if !wholePackets(b) {
			t.Fatalf("write %d of %d holds a part of a packet", i, len(rec.writes))
		}
	}
	if !rec.closed {
		t.Fatal("Close did not close the channel")
	}
}

// A header written alone leaves with its data, not before it; the packets that gather while
// the channel is busy leave together.
func TestBatchWriterJoinsHeaderAndData(t *testing.T) {
	rec := &recorder{hold: make(chan struct{}), entered: make(chan struct{}, 10)}
	w := newBatchWriter(rec)
	first := sftpPacket(10, 1)
	if _, err := w.Write(first); err != nil {
		t.Fatal(err)
	}
	<-rec.entered
	// The sender now waits in the channel's Write with the first packet; two more arrive, each
	// as a header and then its data.
	var want []byte
	for i := range 2 {
		p := sftpPacket(32768, byte(2+i))
		want = append(want, p...)
		if _, err := w.Write(p[:13]); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(p[13:]); err != nil {
			t.Fatal(err)
		}
	}
	close(rec.hold)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if len(rec.writes) != 2 || !bytes.Equal(rec.writes[0], first) || !bytes.Equal(rec.writes[1], want) {
		t.Fatalf("the channel got %d writes; want the first packet, then the other two together", len(rec.writes))
	}
}

// Once the channel fails, Write reports its error instead of taking more.
func TestBatchWriterReportsChannelError(t *testing.T) {
	broken := errors.New("channel broken")
	rec := &recorder{fail: broken}
	w := newBatchWriter(rec)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := w.Write(sftpPacket(100, 1))
		if errors.Is(err, broken) {
			break
		}
		if err != nil {
			t.Fatalf("Write = %v, want %v", err, broken)
		}
		if time.Now().After(deadline) {
			t.Fatal("Write never reported the channel's error")
		}
		time.Sleep(time.Millisecond)
	}
	_ = w.Close()
	if _, err := w.Write(sftpPacket(1, 1)); !errors.Is(err, broken) {
		t.Fatalf("Write after the failure = %v, want %v", err, broken)
	}
}

// Write waits while a full buffer has not left, so a slow peer holds the memory to about
// batchLimit.
func TestBatchWriterBoundsItsBuffer(t *testing.T) {
	rec := &recorder{hold: make(chan struct{})}
	w := newBatchWriter(rec)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 3 * batchLimit / 32768 {
			if _, err := w.Write(sftpPacket(32768-4, 1)); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	time.Sleep(200 * time.Millisecond)
	w.mu.Lock()
	held := len(w.buf)
	w.mu.Unlock()
	if held > batchLimit+32768 {
		t.Fatalf("the buffer holds %d bytes while the channel is stuck; want at most %d", held, batchLimit+32768)
	}
	close(rec.hold)
	<-done
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := len(rec.all()); got != 3*batchLimit {
		t.Fatalf("the channel got %d bytes, want %d", got, 3*batchLimit)
	}
}

var _ io.WriteCloser = (*batchWriter)(nil)
