//go:build !linux

package document

import (
	"errors"
	"os"
)

// startWriteback does nothing where there is no sync_file_range: the sync at Close writes the
// whole file.
func startWriteback(*os.File, int64, int64) {}

// setDirect: only Linux's direct I/O is used.
func setDirect(*os.File, bool) error { return errors.ErrUnsupported }
