// Package static holds the stylesheet, scripts and images the pages use, embedded in the binary.
package static

import "embed"

// FS holds the static files.
//
//go:embed *.css *.js
var FS embed.FS
