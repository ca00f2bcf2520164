// Package formdata reads a multipart/form-data body (RFC 7578) part by part, streaming, as
// mime/multipart does, but scanning and handing out a part's data in spans of up to 256 KiB,
// where mime/multipart works in rounds of 4 KiB (a read from the connection, a scan and a copy
// each). It pays its way on a large upload: with mime/multipart in its place, the server took
// 48% and 81% longer for a 1 GiB upload (2.82 s vs 1.90 s and 3.95 s vs 2.19 s, medians of
// three rounds in two runs, the client in a process of its own), and the bare server of the
// benchmark below takes 1.87 times as long (5.41 s vs 2.89 s). The command, which reports it as
// formdata-gain, with the plain and the tuned version in the same run:
//
//	go test -count=1 -run '^$' -bench BenchmarkDocumentTransfer1GiB -benchtime 1x ./internal/server/
//
// FuzzReader checks it against mime/multipart on any input:
//
//	go test -run '^$' -fuzz FuzzReader ./internal/formdata/
package formdata

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/textproto"
	"strings"
)

// readBuffer is how much of a multipart body a Reader buffers: a part's data is scanned for the
// delimiter and handed out in spans of up to this size, so a large file costs one copy and one
// scan per byte rather than mime/multipart's rounds of 4 KiB.
const readBuffer = 256 << 10

// MaxPartHeader bounds a part's header block; textproto would read an endless line into
// memory. MaxBoundary is RFC 2046's limit on a boundary's length (§5.1.1).
const (
	MaxPartHeader = 16 << 10
	MaxBoundary   = 70
)

// The errors a Reader refuses a form with, where mime/multipart would read it.
var (
	ErrBadBoundary      = errors.New("multipart: boundary empty, longer than 70 bytes or with a line break")
	ErrPartHeaderLarge  = errors.New("multipart: part header block larger than 16 KiB")
	ErrHeaderCutShort   = errors.New("multipart: body ends in a part header block")
	ErrTransferEncoding = errors.New("multipart: content transfer encoding other than 7bit, 8bit or binary")
)

// Reader reads a multipart/form-data body (RFC 7578) part by part, as mime/multipart.Reader
// does and with the same results for every form a browser or curl sends, and for a preamble,
// transport padding after a delimiter, LF-only line ends (when the first delimiter line has
// them), an epilogue, empty parts and a body that ends early. It differs where it refuses: a part
// header block past 16 KiB; a body that ends within a header block (mime/multipart may take that
// for the end of the form); a Content-Transfer-Encoding other than 7bit, 8bit or binary (RFC 7578
// §4.7 deprecates it; mime/multipart decodes quoted-printable); a boundary longer than 70 bytes.
// And it accepts lines outside the parts (preamble, delimiter padding) up to its buffer's size,
// where mime/multipart stops at 4 KiB.
type Reader struct {
	src *stickyReader
	br  *bufio.Reader
	hs  headerSource
	hdr *bufio.Reader // a part's header block, fed by hs
	tp  *textproto.Reader

	nl               []byte // "\r\n", or "\n" when the first delimiter line ends so
	nlDashBoundary   []byte // nl + "--" + boundary: the delimiter within a body
	dashBoundary     []byte // "--" + boundary: a delimiter line
	dashBoundaryDash []byte // "--" + boundary + "--": the closing delimiter line

	partsRead int
	cur       *Part
}

// NewReader reads the multipart body r with the given boundary. It fails with ErrBadBoundary
// for a boundary that is empty, longer than MaxBoundary bytes or holds CR or LF.
func NewReader(r io.Reader, boundary string) (*Reader, error) {
	if boundary == "" || len(boundary) > MaxBoundary || strings.ContainsAny(boundary, "\r\n") {
		return nil, ErrBadBoundary
	}
	b := []byte("\r\n--" + boundary + "--")
	src := &stickyReader{r: r}
	fr := &Reader{
		src:              src,
		br:               bufio.NewReaderSize(src, readBuffer),
		nl:               b[:2],
		nlDashBoundary:   b[:len(b)-2],
		dashBoundaryDash: b[2:],
		dashBoundary:     b[2 : len(b)-2],
	}
	fr.hs.br = fr.br
	fr.hdr = bufio.NewReader(&fr.hs)
	fr.tp = textproto.NewReader(fr.hdr)
	return fr, nil
}

// stickyReader returns its reader's first error for ever, and remembers it: once err is set,
// what the bufio.Reader above holds is the rest of the body.
type stickyReader struct {
	r   io.Reader
	err error
}

func (s *stickyReader) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.r.Read(p)
	s.err = err
	return n, err
}

// headerSource hands textproto the bytes buffered in br from off on, without consuming them,
// filling br as textproto asks for more and failing with ErrPartHeaderLarge at MaxPartHeader.
// What textproto did not use stays in br for the part's data.
type headerSource struct {
	br  *bufio.Reader
	off int
}

func (h *headerSource) Read(p []byte) (int, error) {
	if h.off >= MaxPartHeader {
		return 0, ErrPartHeaderLarge
	}
	if _, err := h.br.Peek(h.off + 1); err != nil {
		return 0, err
	}
	buf, _ := h.br.Peek(min(h.br.Buffered(), MaxPartHeader))
	n := copy(p, buf[h.off:])
	h.off += n
	return n, nil
}

// NextPart returns the next part, after reading what is left of the current one. It returns
// io.EOF at the closing delimiter; any other error (a malformed form, a body cut short, the
// body's own read error, wrapped) means the form cannot be read.
func (fr *Reader) NextPart() (*Part, error) {
	if fr.cur != nil {
		if _, err := io.Copy(io.Discard, fr.cur); err != nil {
			return nil, err
		}
		fr.cur = nil
	}
	expectNewPart := false
	for {
		line, err := fr.br.ReadSlice('\n')
		if err == io.EOF && fr.isFinalBoundary(line) {
			return nil, io.EOF // the closing delimiter without a line end, at the body's end
		}
		if err != nil {
			return nil, fmt.Errorf("multipart: read delimiter line: %w", err)
		}
		if fr.isDelimiterLine(line) {
			fr.partsRead++
			p, err := fr.newPart()
			if err != nil {
				return nil, err
			}
			fr.cur = p
			return p, nil
		}
		if fr.isFinalBoundary(line) {
			return nil, io.EOF // what follows is the epilogue, never read
		}
		switch {
		case expectNewPart:
			return nil, fmt.Errorf("multipart: want a delimiter line, got %q", line)
		case fr.partsRead == 0:
			continue // the preamble
		case bytes.Equal(line, fr.nl):
			expectNewPart = true // the line end that ended the part's data
		default:
			return nil, fmt.Errorf("multipart: unexpected line %q", line)
		}
	}
}

// isFinalBoundary reports whether line is the closing delimiter line: "--boundary--", transport
// padding (spaces, tabs) and the line end, or the body's end.
func (fr *Reader) isFinalBoundary(line []byte) bool {
	rest, ok := bytes.CutPrefix(line, fr.dashBoundaryDash)
	if !ok {
		return false
	}
	rest = bytes.TrimLeft(rest, " \t")
	return len(rest) == 0 || bytes.Equal(rest, fr.nl)
}

// isDelimiterLine reports whether line is a delimiter line: "--boundary", transport padding
// and the line end. The first one decides whether lines end in CRLF or, against RFC 2046 but
// seen in practice, in LF alone.
func (fr *Reader) isDelimiterLine(line []byte) bool {
	rest, ok := bytes.CutPrefix(line, fr.dashBoundary)
	if !ok {
		return false
	}
	rest = bytes.TrimLeft(rest, " \t")
	if fr.partsRead == 0 && len(rest) == 1 && rest[0] == '\n' {
		fr.nl = fr.nl[1:]
		fr.nlDashBoundary = fr.nlDashBoundary[1:]
	}
	return bytes.Equal(rest, fr.nl)
}

// newPart reads a part's header block, which follows the delimiter line just read.
func (fr *Reader) newPart() (*Part, error) {
	fr.hs.off = 0
	fr.hdr.Reset(&fr.hs)
	header, err := fr.tp.ReadMIMEHeader()
	if err != nil {
		// textproto takes a header line cut off by the body's end for a whole one, and a
		// header block cut off after a line for the end of the form (mime/multipart's io.EOF):
		// the body's end or failure is the cause.
		switch {
		case fr.src.err == io.EOF && fr.br.Buffered() <= fr.hs.off:
			err = ErrHeaderCutShort
		case fr.src.err != nil && fr.src.err != io.EOF:
			err = fr.src.err
		}
		return nil, fmt.Errorf("multipart: read part header: %w", err)
	}
	// fr.hdr read ahead what textproto did not use: it stays in fr.br.
	if _, err := fr.br.Discard(fr.hs.off - fr.hdr.Buffered()); err != nil {
		return nil, err
	}
	// RFC 7578 §4.7 deprecates Content-Transfer-Encoding in form-data; browsers and curl send
	// none, so rather than decode one we refuse it.
	switch cte := strings.ToLower(header.Get("Content-Transfer-Encoding")); cte {
	case "", "7bit", "8bit", "binary":
	default:
		return nil, fmt.Errorf("%w: %q", ErrTransferEncoding, cte)
	}
	p := &Part{fr: fr}
	// As mime/multipart: a name only for form-data, no name or file name when the header is
	// malformed. The file name is the one sent, unaltered: SanitizeFileName decides.
	disposition, params, err := mime.ParseMediaType(header.Get("Content-Disposition"))
	if err == nil {
		if disposition == "form-data" {
			p.Name = params["name"]
		}
		p.FileName = params["filename"]
	}
	return p, nil
}

// Part is one part of a form: its name and file name from Content-Disposition, and its data as
// an io.Reader. Name is empty unless the disposition is form-data; FileName is as sent,
// unaltered (no path removed): the caller sanitises it.
type Part struct {
	Name, FileName string

	fr    *Reader
	total int64 // data bytes returned so far
	n     int   // bytes buffered in fr.br known to be data, not yet returned
	end   bool  // the delimiter follows those n bytes
	err   error // the body failed within the part's data
}

// Read reads the part's data. It returns io.EOF at the delimiter that ends it, and
// io.ErrUnexpectedEOF (or the body's own read error) when the body ends first.
func (p *Part) Read(d []byte) (int, error) {
	fr := p.fr
	for p.n == 0 && !p.end {
		if p.err != nil {
			return 0, p.err
		}
		buf, _ := fr.br.Peek(fr.br.Buffered())
		eof := fr.src.err != nil // buf is all that is left of the body
		p.n, p.end = fr.scan(buf, p.total == 0, eof)
		if p.n > 0 || p.end {
			break
		}
		if eof {
			p.err = fr.src.err
			if p.err == io.EOF {
				p.err = io.ErrUnexpectedEOF
			}
			return 0, p.err
		}
		fr.br.Peek(len(buf) + 1) // at least one byte more, or fr.src.err
	}
	if p.n == 0 {
		return 0, io.EOF
	}
	n, _ := fr.br.Read(d[:min(len(d), p.n)])
	p.n -= n
	p.total += int64(n)
	if p.n == 0 && p.end {
		return n, io.EOF
	}
	return n, nil
}

// scan returns how many bytes at the start of buf are surely the part's data, and whether the
// delimiter follows them. No bytes and no delimiter means scan needs more of the body to decide;
// eof says there is none. The delimiter is nl + "--boundary" followed by transport padding, a
// line end, "--" or the body's end; at the very start of a part's data (start), where the
// header block's line end serves as its nl, "--boundary" alone. What could be the start of a
// delimiter at the end of buf is kept back.
func (fr *Reader) scan(buf []byte, start, eof bool) (int, bool) {
	if start {
		if bytes.HasPrefix(buf, fr.dashBoundary) {
			switch delimiterEnds(buf[len(fr.dashBoundary):], eof) {
			case +1:
				return 0, true
			case 0:
				return 0, false
			}
		} else if bytes.HasPrefix(fr.dashBoundary, buf) {
			return 0, false
		}
	}
	delim := fr.nlDashBoundary
	for from := 0; ; {
		i := bytes.Index(buf[from:], delim)
		if i < 0 {
			break
		}
		i += from
		switch delimiterEnds(buf[i+len(delim):], eof) {
		case +1:
			return i, true
		case 0:
			return i, false
		}
		from = i + len(delim) // not a delimiter, "--boundaryX": data
	}
	// A boundary holds neither CR nor LF, so a partial delimiter at the end starts at buf's
	// last nl[0], within the last len(delim)-1 bytes.
	tail := max(0, len(buf)-len(delim)+1)
	if i := bytes.LastIndexByte(buf[tail:], delim[0]); i >= 0 && bytes.HasPrefix(delim, buf[tail+i:]) {
		return tail + i, false
	}
	return len(buf), false
}

// delimiterEnds tells what rest, the bytes after a "--boundary", makes of it: +1 a delimiter
// (padding, a line end, "--", or the body's end), -1 data, 0 undecided until more is read.
func delimiterEnds(rest []byte, eof bool) int {
	if len(rest) == 0 {
		if eof {
			return +1
		}
		return 0
	}
	switch rest[0] {
	case ' ', '\t', '\r', '\n':
		return +1
	case '-':
		if len(rest) == 1 {
			if eof {
				return -1
			}
			return 0
		}
		if rest[1] == '-' {
			return +1
		}
	}
	return -1
}
