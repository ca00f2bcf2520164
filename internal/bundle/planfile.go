package bundle

import (
	"bufio"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"
)

// planFile holds a generation's plan, its entries in order, in a temporary file: the generation
// keeps only the entry in hand in memory, whatever the dossier's size, and reads the plan back
// from the start as often as it needs (for the workbook, then for the documents). The file's name
// is removed as soon as it is made (where the system allows it: Linux does), so nothing of it
// outlives the attempt, not even when the process dies; an attempt always plans anew.
type planFile struct {
	f   *os.File
	bw  *bufio.Writer
	enc *gob.Encoder
	// named is set when the name could not be removed at once: close removes it.
	named bool
}

// planFileBuffer is the buffer of writing and of each reading pass.
const planFileBuffer = 64 << 10

// newPlanFile starts a plan file in dir, the system's temporary folder when "".
func newPlanFile(dir string) (*planFile, error) {
	f, err := os.CreateTemp(dir, "dossierkast-plan-*")
	if err != nil {
		return nil, fmt.Errorf("plan file: %w", err)
	}
	pf := &planFile{f: f, named: os.Remove(f.Name()) != nil}
	pf.bw = bufio.NewWriterSize(f, planFileBuffer)
	pf.enc = gob.NewEncoder(pf.bw)
	return pf, nil
}

// add appends e to the plan.
func (pf *planFile) add(e *entry) error {
	if err := pf.enc.Encode(e); err != nil {
		return fmt.Errorf("plan file: %w", err)
	}
	return nil
}

// finish ends the writing: after it, each reads the whole plan.
func (pf *planFile) finish() error {
	if err := pf.bw.Flush(); err != nil {
		return fmt.Errorf("plan file: %w", err)
	}
	return nil
}

// each calls fn with every entry of the plan, in order, each a new entry fn may keep.
func (pf *planFile) each(ctx context.Context, fn func(e *entry) error) error {
	dec := gob.NewDecoder(bufio.NewReaderSize(io.NewSectionReader(pf.f, 0, 1<<62), planFileBuffer))
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		e := new(entry) // gob leaves out zero fields: each entry is decoded into a zero one
		if err := dec.Decode(e); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("read plan file: %w", err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
}

// close removes the plan.
func (pf *planFile) close() error {
	err := pf.f.Close()
	if pf.named {
		err = errors.Join(err, os.Remove(pf.f.Name()))
	}
	return err
}
