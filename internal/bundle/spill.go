package bundle

import (
	"bufio"
	"os"
)

// spillFile is a temporary file with a buffered writer, for what a generation would otherwise
// hold in memory in proportion to the dossier (the plan, the workbook's rows, a part's central
// directory). Its name is removed as soon as it is made: it needs no cleaning up, not even after
// a crash. Close the file to free it.
type spillFile struct {
	*os.File
	w *bufio.Writer
}

// newSpillFile makes a spill file in dir (the system's temporary folder when "") with a name
// that starts with prefix.
func newSpillFile(dir, prefix string) (spillFile, error) {
	f, err := os.CreateTemp(dir, prefix)
	if err != nil {
		return spillFile{}, err
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return spillFile{}, err
	}
	return spillFile{File: f, w: bufio.NewWriterSize(f, 64<<10)}, nil
}
