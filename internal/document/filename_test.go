package document_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/dossierkast/dossierkast/internal/document"
)

func TestSanitizeFileName(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("ä", 200) + ".pdf" // 404 bytes
	tests := []struct{ name, in, want string }{
		{"Plain", "Verzuimverslag – Ä.pdf", "Verzuimverslag – Ä.pdf"},
		{"UnixTraversal", "../../etc/passwd", "passwd"},
		{"WindowsTraversal", `..\..\boot.ini`, "boot.ini"},
		{"WindowsPath", `C:\Users\jan\Documents\brief.docx`, "brief.docx"},
		{"MixedSeparators", `a/b\c/d.txt`, "d.txt"},
		{"TrailingSeparator", "map/", "document"},
		{"OnlyDots", "..", "document"},
		{"LeadingDots", "...hidden.txt", "hidden.txt"},
		{"TrailingDotsAndSpaces", " brief.pdf. . ", "brief.pdf"},
		{"ControlCharacters", "rap\x00port\r\n\t.pdf", "rapport.pdf"},
		{"BidiOverride", "factuur\u202Efdp.exe", "factuurfdp.exe"},
		{"InvalidUTF8", "naam\xff\xfe.txt", "naam.txt"},
		{"Empty", "", "document"},
		{"Spaces", "   ", "document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := document.SanitizeFileName(tt.in); got != tt.want {
				t.Errorf("SanitizeFileName(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	t.Run("Long", func(t *testing.T) {
		got := document.SanitizeFileName(long)
		if len(got) > document.MaxFileNameBytes || !utf8.ValidString(got) || !strings.HasSuffix(got, ".pdf") {
			t.Errorf("SanitizeFileName(long) = %q (%d bytes), want at most %d valid bytes ending in .pdf", got, len(got), document.MaxFileNameBytes)
		}
	})
}

func TestFormatSize(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   int64
		want string
	}{
		{0, "0 B"}, {512, "512 B"}, {1 << 10, "1 KB"}, {1536, "1,5 KB"}, {64 << 10, "64 KB"},
		{1 << 20, "1 MB"}, {2 << 30, "2 GB"}, {3 << 40, "3 TB"},
	} {
		if got := document.FormatSize(tt.in); got != tt.want {
			t.Errorf("FormatSize(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
