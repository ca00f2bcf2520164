package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// writeOnly is a middleware writer with Write only, as the session manager's.
type writeOnly struct{ http.ResponseWriter }

func (w writeOnly) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// readFromRecorder records whether a copy reached its ReadFrom.
type readFromRecorder struct {
	*httptest.ResponseRecorder
	readFrom bool
}

func (r *readFromRecorder) ReadFrom(src io.Reader) (int64, error) {
	r.readFrom = true
	return io.Copy(writerOnly{r.ResponseRecorder}, src)
}

func TestSendfileWriterReachesReadFrom(t *testing.T) {
	for _, status := range []int{0, http.StatusPartialContent} {
		rec := &readFromRecorder{ResponseRecorder: httptest.NewRecorder()}
		sw := &statusWriter{ResponseWriter: rec}
		w := &sendfileWriter{ResponseWriter: writeOnly{sw}}
		if status != 0 {
			w.WriteHeader(status)
		}
		n, err := io.Copy(w, io.LimitReader(strings.NewReader("dossier bytes"), 7))
		want := max(status, http.StatusOK)
		if n != 7 || err != nil || rec.Body.String() != "dossier" || !rec.readFrom || sw.status != want || rec.Code != want {
			t.Errorf("status %d: copied %d, %v: body %q, ReadFrom reached %t, status seen %d, sent %d", status, n, err,
				rec.Body.String(), rec.readFrom, sw.status, rec.Code)
		}
	}
}
