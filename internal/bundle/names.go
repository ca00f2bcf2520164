package bundle

import (
	"hash/maphash"
	"path"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Longest path components inside the archive, in characters. Windows Explorer refuses paths
// past 260 characters including the folder extracted to: a dossier folder, a category folder
// and a file name together stay under about 200.
const (
	maxFolderRunes = 60
	maxFileRunes   = 100
	maxExtBytes    = 16
)

// reservedNames are device names Windows will not create a file or folder under, with any
// extension ("con.txt" too).
var reservedNames = map[string]bool{"CON": true, "PRN": true, "AUX": true, "NUL": true, "CONIN$": true, "CONOUT$": true}

func init() {
	for _, d := range []string{"COM", "LPT"} {
		for i := '0'; i <= '9'; i++ {
			reservedNames[d+string(i)] = true
		}
		for _, s := range []string{"¹", "²", "³"} {
			reservedNames[d+s] = true
		}
	}
}

// sanitizeComponent makes s safe as one path component of an archive that is extracted on any
// system: valid UTF-8; no control, bidirectional-override or path characters; none of the
// characters Windows forbids (< > : " / \ | ? *); no leading dots (so never "." or ".."), no
// trailing dots or spaces (Windows drops them, which would merge names); not a Windows device
// name (a "_" is put in front); at most maxRunes characters, keeping a short extension; fallback
// when nothing is left.
func sanitizeComponent(s string, maxRunes int, fallback string) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsControl(r), r == utf8.RuneError, isBidiControl(r):
			return -1
		case strings.ContainsRune(`<>:"/\|?*`, r):
			return '_'
		}
		return r
	}, s)
	s = strings.TrimLeft(strings.TrimSpace(s), ". ")
	s = strings.TrimRight(s, ". ")
	if utf8.RuneCountInString(s) > maxRunes {
		ext := path.Ext(s)
		if len(ext) > maxExtBytes || len(ext) >= len(s) {
			ext = ""
		}
		stem := []rune(strings.TrimSuffix(s, ext))
		s = strings.TrimRight(string(stem[:max(maxRunes-utf8.RuneCountInString(ext), 1)]), ". ") + ext
	}
	if s == "" {
		return fallback
	}
	base, _, _ := strings.Cut(s, ".")
	if reservedNames[strings.ToUpper(strings.TrimRight(base, " "))] {
		s = "_" + s
	}
	return s
}

// isBidiControl reports whether r reorders the text around it (U+202E can make "gpj.exe" look
// like "exe.jpg").
func isBidiControl(r rune) bool {
	return r == '\u200e' || r == '\u200f' || r == '\u061c' || (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069')
}

// namer hands out names in one folder that are unique when compared without regard to case
// (Windows and macOS file systems merge names that differ only in case): a name already taken
// gets " (2)", " (3)", … before its extension. It keeps a 64-bit hash per name rather than the
// name: two different names with the same hash (a chance of about n²/2⁶⁵) only cost one of them
// a needless number, never a duplicate.
type namer struct {
	seed  maphash.Seed
	taken map[uint64]bool // hashes of the lower-cased names handed out
	next  map[uint64]int  // per lower-cased wanted name, the number to try next: k equal names cost O(k), not O(k²)
}

func newNamer() *namer {
	return &namer{seed: maphash.MakeSeed(), taken: map[uint64]bool{}, next: map[uint64]int{}}
}

// reset forgets every name: the planner has left the folder.
func (n *namer) reset() {
	if len(n.taken) > 0 {
		n.taken, n.next = map[uint64]bool{}, map[uint64]int{}
	}
}

func (n *namer) key(name string) uint64 { return maphash.String(n.seed, foldName(name)) }

// reserve marks name as taken.
func (n *namer) reserve(name string) { n.taken[n.key(name)] = true }

// unique returns the path of name (already sanitised) in folder dir ("" for the root), made
// unique among the names of this namer, and reserves it.
func (n *namer) unique(dir, name string) string {
	ext := path.Ext(name)
	if len(ext) > maxExtBytes || len(ext) >= len(name) {
		ext = ""
	}
	stem := strings.TrimSuffix(name, ext)
	wanted := n.key(name)
	for i := max(n.next[wanted], 1); ; i++ {
		candidate := name
		if i > 1 {
			candidate = stem + " (" + strconv.Itoa(i) + ")" + ext
		}
		if key := n.key(candidate); !n.taken[key] {
			n.taken[key] = true
			n.next[wanted] = i + 1
			if dir == "" {
				return candidate
			}
			return dir + "/" + candidate
		}
	}
}

// foldName is the key under which two names count as the same on a case-insensitive system.
func foldName(p string) string { return strings.ToLower(strings.ToUpper(p)) }
