package formdata_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"mime"
	"mime/multipart"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dossierkast/dossierkast/internal/formdata"
)

// formResult is what a form parses to: its parts in order, and whether parsing failed.
type formResult struct {
	Parts  []formResultPart
	Failed bool
}

type formResultPart struct {
	Name, FileName, Data string
}

// chunkReader returns what it holds in pieces of random size, 1 byte to 100 KiB, small ones
// more often, so delimiters fall across reads.
type chunkReader struct {
	b   []byte
	rnd *rand.Rand
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	var n int
	switch c.rnd.IntN(3) {
	case 0:
		n = 1 + c.rnd.IntN(8)
	case 1:
		n = 1 + c.rnd.IntN(200)
	default:
		n = 1 + c.rnd.IntN(100<<10)
	}
	n = copy(p[:min(n, len(p))], c.b)
	c.b = c.b[n:]
	return n, nil
}

// parseOurs parses body with formdata.Reader; the error, if any, is the one that ended it.
func parseOurs(body []byte, boundary string, seed uint64) (formResult, error) {
	var res formResult
	fr, err := formdata.NewReader(&chunkReader{b: body, rnd: rand.New(rand.NewPCG(seed, 1))}, boundary)
	if err != nil {
		return formResult{Failed: true}, err
	}
	for {
		p, err := fr.NextPart()
		if err == io.EOF {
			return res, nil
		}
		if err != nil {
			res.Failed = true
			return res, err
		}
		data, err := io.ReadAll(p)
		if err != nil {
			res.Failed = true
			return res, err
		}
		res.Parts = append(res.Parts, formResultPart{p.Name, p.FileName, string(data)})
	}
}

// parseStd parses body with mime/multipart, the oracle.
func parseStd(body []byte, boundary string, seed uint64) formResult {
	var res formResult
	mr := multipart.NewReader(&chunkReader{b: body, rnd: rand.New(rand.NewPCG(seed, 2))}, boundary)
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return res
		}
		if err != nil {
			res.Failed = true
			return res
		}
		data, err := io.ReadAll(p)
		if err != nil {
			res.Failed = true
			return res
		}
		fileName := ""
		if _, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition")); err == nil {
			fileName = params["filename"]
		}
		res.Parts = append(res.Parts, formResultPart{p.FormName(), fileName, string(data)})
	}
}

// compareWithStd fails t when formdata.Reader and mime/multipart disagree on body, except where
// Reader's doc comment says they do: it refuses a part header block past 16 KiB, a body cut
// short in a header block and a Content-Transfer-Encoding (mime/multipart decodes
// quoted-printable), and it reads lines
// outside the parts longer than mime/multipart's 4 KiB buffer.
func compareWithStd(t *testing.T, body []byte, boundary string, seed uint64) {
	t.Helper()
	std := parseStd(body, boundary, seed)
	ours, err := parseOurs(body, boundary, seed)
	if errors.Is(err, formdata.ErrPartHeaderLarge) || errors.Is(err, formdata.ErrTransferEncoding) {
		return
	}
	if std.Failed && !ours.Failed && hasLongLine(body, 4000) {
		return
	}
	if errors.Is(err, formdata.ErrHeaderCutShort) && !std.Failed && cmp.Equal(std.Parts, ours.Parts) {
		return // mime/multipart takes the body's end in a header block for the form's
	}
	if std.Failed && ours.Failed {
		return // where it failed may differ: a part's data read in other pieces
	}
	if bytes.Contains(bytes.ToLower(body), []byte("content-transfer-encoding")) {
		return // mime/multipart decodes quoted-printable, formdata.Reader refuses it
	}
	if diff := cmp.Diff(std, ours); diff != "" {
		t.Fatalf("boundary %q, body %q:\nmime/multipart (-) and formdata.Reader (+) differ:\n%s", boundary, body, diff)
	}
}

func hasLongLine(b []byte, n int) bool {
	for line := range bytes.Lines(b) {
		if len(line) > n {
			return true
		}
	}
	return false
}

// TestReaderMatchesMultipart parses random forms, well-formed or broken, both ways.
func TestReaderMatchesMultipart(t *testing.T) {
	t.Parallel()
	rnd := rand.New(rand.NewPCG(20261130, 3))
	n := 3000
	if testing.Short() {
		n = 300
	}
	for i := range n {
		boundary, body := randomForm(rnd)
		compareWithStd(t, body, boundary, uint64(i))
	}
}

// randomForm makes a form to parse: its boundary (as read back from a Content-Type that
// quotes it where needed) and its body, with data that holds CR, LF, "--", the boundary, partial
// and near delimiters; now and then with LF line ends, transport padding, a preamble, an
// epilogue, cut short or with a byte changed.
func randomForm(rnd *rand.Rand) (string, []byte) {
	const bchars = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=? "
	var bb []byte
	for range 1 + rnd.IntN(70) {
		bb = append(bb, bchars[rnd.IntN(len(bchars))])
	}
	if bb[len(bb)-1] == ' ' {
		bb[len(bb)-1] = '_' // RFC 2046: a boundary does not end in a space
	}
	_, params, err := mime.ParseMediaType(mime.FormatMediaType("multipart/form-data", map[string]string{"boundary": string(bb)}))
	if err != nil {
		panic(err)
	}
	boundary := params["boundary"]
	nl := "\r\n"
	if rnd.IntN(8) == 0 {
		nl = "\n"
	}
	pad := func() string {
		if rnd.IntN(6) != 0 {
			return ""
		}
		return strings.Repeat(" \t"[rnd.IntN(2):][:1], 1+rnd.IntN(3))
	}
	pieces := []string{"\r", "\n", "\r\n", "--", "-", boundary, "--" + boundary, "\r\n--", "\r\n-",
		"\n--" + boundary, "\r\n--" + boundary + "x", "\r\n--" + boundary + "-", "\r\n--" + boundary[:rnd.IntN(len(boundary)+1)],
		"a", "veld", "\x00\xff", " ", "\t"}
	data := func() string {
		var s strings.Builder
		switch rnd.IntN(5) {
		case 0:
		case 1: // large, to cross the buffers
			for s.Len() < 300<<10 {
				if rnd.IntN(50) == 0 {
					s.WriteString(pieces[rnd.IntN(len(pieces))])
				} else {
					s.WriteString("0123456789abcdef")
				}
			}
		default:
			for range rnd.IntN(30) {
				s.WriteString(pieces[rnd.IntN(len(pieces))])
			}
		}
		return s.String()
	}
	var body strings.Builder
	if rnd.IntN(5) == 0 {
		body.WriteString("preamble " + data() + nl + "--" + boundary + "x" + nl)
	}
	for range rnd.IntN(5) {
		body.WriteString("--" + boundary + pad() + nl)
		disp := `form-data; name="` + []string{"category_id", "file", "document_date", "", "x y"}[rnd.IntN(5)] + `"`
		if rnd.IntN(3) == 0 {
			disp += `; filename="` + []string{"a.pdf", "", `c:\dir\b.txt`, "d/e.txt"}[rnd.IntN(4)] + `"`
		}
		if rnd.IntN(10) != 0 {
			body.WriteString("Content-Disposition: " + disp + nl)
		}
		if rnd.IntN(4) == 0 {
			body.WriteString("Content-Type: application/octet-stream" + nl)
		}
		body.WriteString(nl)
		if rnd.IntN(10) == 0 {
			body.WriteString(data()) // no nl: "--boundary" right after the header block
		} else {
			body.WriteString(data() + nl)
		}
	}
	if rnd.IntN(10) != 0 {
		body.WriteString("--" + boundary + "--" + pad())
		if rnd.IntN(4) != 0 {
			body.WriteString(nl)
		}
		if rnd.IntN(4) == 0 {
			body.WriteString("epilogue " + data())
		}
	}
	b := []byte(body.String())
	switch rnd.IntN(8) {
	case 0:
		b = b[:rnd.IntN(len(b)+1)]
	case 1:
		if len(b) > 0 {
			b[rnd.IntN(len(b))] = "\r\n- x"[rnd.IntN(5)]
		}
	}
	return boundary, b
}

// FuzzReader checks formdata.Reader against mime/multipart on any body and boundary.
func FuzzReader(f *testing.F) {
	const b = "grens"
	for _, body := range []string{
		"--grens\r\nContent-Disposition: form-data; name=\"category_id\"\r\n\r\nabc\r\n--grens\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n\r\n%PDF\r\n--grensx\r\n--gren\r\n--grens--\r\n",
		"preamble\r\n--grens \t\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n--grens--\r\nepilogue",
		"--grens\nContent-Disposition: form-data; name=\"a\"\n\nx\r\n--grens\n\n\n--grens--",
		"--grens\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n\r\n--grens\r\n\r\n\r\n--grens--\r\n",
		"--grens\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\ncut short\r\n--gre",
		"--grens\r\nkapot\r\n\r\nx\r\n--grens--\r\n",
		"--grens\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\na=3D\r\n--grens--\r\n",
		"--grens--",
		"",
	} {
		f.Add([]byte(body), b, uint64(len(body)))
	}
	f.Fuzz(func(t *testing.T, body []byte, boundary string, seed uint64) {
		if boundary == "" || len(boundary) > formdata.MaxBoundary || strings.ContainsAny(boundary, "\r\n") {
			return // refused by NewReader, TestReaderBoundary
		}
		compareWithStd(t, body, boundary, seed)
	})
}

// TestReaderEdgeCases: the cases named, each read in pieces of every size from 1 byte.
func TestReaderEdgeCases(t *testing.T) {
	t.Parallel()
	const b = "grens"
	field := func(name, value, nl string) string {
		return "--" + b + nl + `Content-Disposition: form-data; name="` + name + `"` + nl + nl + value + nl
	}
	end := "--" + b + "--\r\n"
	tests := []struct {
		name  string
		body  string
		parts []formResultPart // nil with failed
		fail  bool
	}{
		{"Plain", field("a", "1", "\r\n") + field("b", "2", "\r\n") + end,
			[]formResultPart{{"a", "", "1"}, {"b", "", "2"}}, false},
		{"Preamble", "voorwoord\r\n--grensje\r\n-- grens\r\n" + field("a", "1", "\r\n") + end,
			[]formResultPart{{"a", "", "1"}}, false},
		{"TransportPadding", "--grens \t \r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--grens\t\r\n" +
			"Content-Disposition: form-data; name=\"b\"\r\n\r\n2\r\n--grens-- \t\r\n",
			[]formResultPart{{"a", "", "1"}, {"b", "", "2"}}, false},
		{"LFLineEnds", field("a", "1", "\n") + field("b", "2\r", "\n") + "--grens--\n",
			[]formResultPart{{"a", "", "1"}, {"b", "", "2\r"}}, false},
		{"LFLineEndsOnlyWhenTheFirstDelimiterHasThem", field("a", "1", "\r\n") + field("b", "2", "\n") + end, nil, true},
		{"Epilogue", field("a", "1", "\r\n") + end + "nawoord\r\n--grens\r\nkapot",
			[]formResultPart{{"a", "", "1"}}, false},
		{"ClosingDelimiterWithoutLineEnd", field("a", "1", "\r\n") + "--grens--",
			[]formResultPart{{"a", "", "1"}}, false},
		{"BoundaryInData", field("a", "x--grens\r\n--grensx\r\n--gren\r\n-grens--grens--", "\r\n") + end,
			[]formResultPart{{"a", "", "x--grens\r\n--grensx\r\n--gren\r\n-grens--grens--"}}, false},
		{"DelimiterThenGarbage", field("a", "1\r\n--grens x", "\r\n") + end, nil, true},
		{"EmptyParts", field("a", "", "\r\n") + "--grens\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\"\r\n\r\n--grens\r\n" +
			"Content-Disposition: form-data; name=\"c\"\r\n\r\n\r\n" + end,
			[]formResultPart{{"a", "", ""}, {"file", "", ""}, {"c", "", ""}}, false},
		{"NoParts", end, nil, false},
		{"CutShortInData", field("a", "1", "\r\n") + "--grens\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\ndata", nil, true},
		{"CutShortInPartialDelimiter", field("a", "1", "\r\n") + "--gre", nil, true},
		{"CutShortAfterDelimiter", field("a", "1", "\r\n"), nil, true},
		{"CutShortInHeader", "--grens\r\nContent-Disposition: form-da", nil, true},
		{"NoClosingDelimiter", field("a", "1", "\r\n") + "--grens", nil, true},
		{"Empty", "", nil, true},
		{"HeaderWithoutColon", "--grens\r\nkapot\r\n\r\nx\r\n" + end, nil, true},
		{"HeaderTooLarge", "--grens\r\nX-Lang: " + strings.Repeat("x", formdata.MaxPartHeader) + "\r\n\r\nx\r\n" + end, nil, true},
		{"HeaderJustFits", "--grens\r\nX-Lang: " + strings.Repeat("x", formdata.MaxPartHeader-len("X-Lang: \r\n\r\n")) + "\r\n\r\nx\r\n" + end,
			[]formResultPart{{"", "", "x"}}, false},
		{"QuotedPrintableRefused", "--grens\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\na=3D\r\n" + end, nil, true},
		{"BinaryAllowed", "--grens\r\nContent-Transfer-Encoding: Binary\r\n\r\na=3D\r\n" + end, []formResultPart{{"", "", "a=3D"}}, false},
		{"NameOnlyForFormData", "--grens\r\nContent-Disposition: attachment; name=\"a\"; filename=\"f\"\r\n\r\nx\r\n" + end,
			[]formResultPart{{"", "f", "x"}}, false},
		{"FileNameUnaltered", "--grens\r\nContent-Disposition: form-data; name=\"file\"; filename=\"c:\\\\map\\\\a.pdf\"\r\n\r\nx\r\n" + end,
			[]formResultPart{{"file", `c:\map\a.pdf`, "x"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, size := range []int{1, 2, 3, 7, 64, 100 << 10} {
				fr, err := formdata.NewReader(&sizedReader{b: []byte(tt.body), size: size}, b)
				if err != nil {
					t.Fatal(err)
				}
				var got formResult
				for {
					p, err := fr.NextPart()
					if err == io.EOF {
						break
					}
					if err == nil {
						var data []byte
						data, err = io.ReadAll(p)
						got.Parts = append(got.Parts, formResultPart{p.Name, p.FileName, string(data)})
					}
					if err != nil {
						got = formResult{Failed: true}
						break
					}
				}
				want := formResult{Parts: tt.parts, Failed: tt.fail}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Fatalf("pieces of %d: (-want +got)\n%s", size, diff)
				}
			}
			compareWithStd(t, []byte(tt.body), b, 1)
		})
	}
}

// TestReaderBoundary: a boundary must be 1 to 70 bytes, without a line break.
func TestReaderBoundary(t *testing.T) {
	t.Parallel()
	for _, b := range []string{"", strings.Repeat("b", 71), "a\rb", "a\nb"} {
		if _, err := formdata.NewReader(strings.NewReader(""), b); !errors.Is(err, formdata.ErrBadBoundary) {
			t.Errorf("boundary %q: err %v, want ErrBadBoundary", b, err)
		}
	}
	if _, err := formdata.NewReader(strings.NewReader(""), strings.Repeat("b", 70)); err != nil {
		t.Errorf("boundary of 70 bytes: %v", err)
	}
}

// BenchmarkReader reads a form with a 256 MiB file in 1 MiB blocks, as PutBlob does, from a
// source that returns 64 KiB per Read, as a socket does: through mime/multipart over a 256 KiB
// bufio and through formdata.Reader. "source" reads the source alone, the part of the cost that
// is not the form's. It shows the parser alone, in this process; what a user would notice is
// BenchmarkDocumentTransfer1GiB's (package doc).
func BenchmarkReader(b *testing.B) {
	const fileSize = 256 << 20
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	mw.WriteField("category_id", "0b6f4a2e-8f4e-4f5c-9d1c-1f2e3d4c5b6a")
	mw.WriteField("document_date", "2027-01-02")
	mw.CreateFormFile("file", "dossier.bin")
	block := make([]byte, 1<<20)
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range block {
		block[i] = byte(rnd.Uint32())
	}
	body := append([]byte(nil), head.Bytes()...)
	for range fileSize / len(block) {
		body = append(body, block...)
	}
	body = append(body, "\r\n--"+mw.Boundary()+"--\r\n"...)
	blocks := func(b *testing.B, r io.Reader) {
		buf := make([]byte, 1<<20)
		var n int64
		for {
			m, err := io.ReadFull(r, buf)
			n += int64(m)
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		if n != fileSize {
			b.Fatalf("read %d bytes, want %d", n, fileSize)
		}
	}
	run := func(b *testing.B, read func(src io.Reader)) {
		b.ReportAllocs()
		b.SetBytes(fileSize)
		for b.Loop() {
			read(&sizedReader{b: body, size: 64 << 10})
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)*float64(1<<30)/fileSize, "ns/GiB")
	}
	b.Run("source", func(b *testing.B) {
		run(b, func(src io.Reader) {
			src.(*sizedReader).b = body[head.Len() : head.Len()+fileSize]
			blocks(b, src)
		})
	})
	b.Run("multipart", func(b *testing.B) {
		run(b, func(src io.Reader) {
			mr := multipart.NewReader(bufio.NewReaderSize(src, 256<<10), mw.Boundary())
			for {
				p, err := mr.NextPart()
				if err != nil {
					b.Fatal(err)
				}
				if p.FormName() == "file" {
					blocks(b, p)
					break
				}
				io.ReadAll(p)
			}
		})
	})
	b.Run("formdata", func(b *testing.B) {
		run(b, func(src io.Reader) {
			fr, err := formdata.NewReader(src, mw.Boundary())
			if err != nil {
				b.Fatal(err)
			}
			for {
				p, err := fr.NextPart()
				if err != nil {
					b.Fatal(err)
				}
				if p.Name == "file" {
					blocks(b, p)
					break
				}
				io.ReadAll(p)
			}
		})
	})
}

// sizedReader returns b in reads of at most size bytes.
type sizedReader struct {
	b    []byte
	size int
}

func (r *sizedReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.size)], r.b)
	r.b = r.b[n:]
	return n, nil
}
