package bundle

import (
	"bufio"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
)

// planFile holds a generation's plan, its entries in order, in a spill file: the generation
// keeps only the entry in hand in memory, whatever the dossier's size, and reads the plan back
// from the start as often as it needs (for the workbook, then for the documents). Nothing of it
// outlives the attempt, not even when the process dies; an attempt always plans anew.
type planFile struct {
	f   spillFile
	enc *gob.Encoder
}

// newPlanFile starts a plan file in dir, the system's temporary folder when "".
func newPlanFile(dir string) (*planFile, error) {
	f, err := newSpillFile(dir, "dossierkast-plan-")
	if err != nil {
		return nil, fmt.Errorf("plan file: %w", err)
	}
	return &planFile{f: f, enc: gob.NewEncoder(f.w)}, nil
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
	if err := pf.f.w.Flush(); err != nil {
		return fmt.Errorf("plan file: %w", err)
	}
	return nil
}

// each calls fn with every entry of the plan, in order, each a new entry fn may keep.
func (pf *planFile) each(ctx context.Context, fn func(e *entry) error) error {
	dec := gob.NewDecoder(bufio.NewReaderSize(io.NewSectionReader(pf.f, 0, 1<<62), 64<<10))
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
func (pf *planFile) close() error { return pf.f.Close() }
