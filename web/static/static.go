// Package static holds the stylesheet and images the pages use, embedded in the binary.
package static

import "embed"

// FS holds the static files.
//
//go:embed *.css
var FS embed.FS
