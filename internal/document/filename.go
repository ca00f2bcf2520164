package document

import (
	"fmt"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxFileNameBytes is the longest file name kept, in bytes of UTF-8 (what file systems allow).
const MaxFileNameBytes = 255

// SanitizeFileName returns the name to keep for a file as a browser or client sent it: the last
// path component (after / or \), valid UTF-8, without control and bidirectional-override
// characters, without leading dots or surrounding spaces and trailing dots, at most
// MaxFileNameBytes long (keeping the extension), and "document" when nothing is left. The name
// is only ever shown and offered on download; storage keys never derive from it.
func SanitizeFileName(name string) string {
	name = strings.ToValidUTF8(name, "")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || isBidiControl(r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	name = strings.TrimLeft(name, ". ")
	name = strings.TrimRight(name, ". ")
	if len(name) > MaxFileNameBytes {
		ext := path.Ext(name)
		if len(ext) > 16 || len(ext) >= len(name) {
			ext = ""
		}
		name = truncateUTF8(strings.TrimSuffix(name, ext), MaxFileNameBytes-len(ext)) + ext
	}
	if name == "" {
		return "document"
	}
	return name
}

// isBidiControl reports whether r reorders the text around it: U+202E can make "gpj.exe" look
// like "exe.jpg".
func isBidiControl(r rune) bool {
	return r == '\u200e' || r == '\u200f' || r == '\u061c' || (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069')
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// FormatSize shows a byte count for people, the Dutch way: 512 B, 64 KB, 1,5 MB, 2 GB (powers of
// 1024, one decimal below ten).
func FormatSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	units := []string{"KB", "MB", "GB", "TB", "PB"}
	v, i := float64(n)/unit, 0
	for v >= unit && i < len(units)-1 {
		v /= unit
		i++
	}
	var s string
	if v < 10 && v != float64(int64(v)) {
		s = strings.Replace(fmt.Sprintf("%.1f", v), ".", ",", 1)
		s = strings.TrimSuffix(s, ",0")
	} else {
		s = fmt.Sprintf("%.0f", v)
	}
	return s + " " + units[i]
}
