// Package migrations holds the numbered SQL migrations of Dossierkast's own tables.
// River's tables are migrated separately by rivermigrate; database.Migrate runs both.
package migrations

import "embed"

// FS holds every migration file, in goose's format.
//
//go:embed *.sql
var FS embed.FS
