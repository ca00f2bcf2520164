package server

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/dossierkast/dossierkast/internal/apperr"
)

// TestReadUploadFormPastTheLimit: a body past http.MaxBytesReader's limit is ETOOLARGE wherever
// the limit falls: in a header, a field, the file, or after the file.
func TestReadUploadFormPastTheLimit(t *testing.T) {
	t.Parallel()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("category_id", "c")
	fw, _ := mw.CreateFormFile("file", "a.bin")
	fw.Write(bytes.Repeat([]byte("0123456789\r\n-"), 50<<10))
	mw.WriteField("after", "x")
	mw.Close()
	for _, limit := range []int{10, 100, 200, 300 << 10, body.Len() - 10} {
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body.Bytes()))
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Body = http.MaxBytesReader(httptest.NewRecorder(), req.Body, int64(limit))
		_, file, err := readUploadForm(req)
		if err == nil {
			_, err = io.Copy(io.Discard, file)
		}
		if apperr.CodeOf(err) != apperr.ETOOLARGE {
			t.Errorf("limit %d: err %v, want ETOOLARGE", limit, err)
		}
	}
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body.Bytes()))
	req.Header.Set("Content-Type", mw.FormDataContentType())
	values, file, err := readUploadForm(req)
	if err != nil || values["category_id"] != "c" || file == nil || file.part.FileName != "a.bin" {
		t.Fatalf("values %v, file %v, err %v", values, file, err)
	}
	if n, err := io.Copy(io.Discard, file); err != nil || n != 13*50<<10 {
		t.Errorf("file: %d bytes, err %v", n, err)
	}
}
