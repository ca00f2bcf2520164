package bundle

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// zipBatch is how many entries a zipWriter writes with one archive/zip.Writer: the most
// central directory records it holds in memory (some 300 bytes each).
const zipBatch = 1024

// zipWriter writes a ZIP archive, byte for byte as one archive/zip.Writer would, without holding
// its central directory in memory. archive/zip keeps a record of every entry (its header, name
// and extra fields: some 300 bytes) until Close writes them all at the end, so a part of tens of
// thousands of documents held megabytes that grew with the dossier. zipWriter writes the entries
// with an archive/zip.Writer per zipBatch entries, placed in the archive with SetOffset: when a
// batch ends, its Close (the last entry's end, then the batch's central directory records and
// an end record) goes to a buffer; the first goes on into the archive, the records to a
// temporary file and the end record nowhere. Close copies the records from the file into the
// archive and writes the end of central directory (with the ZIP64 records when the archive
// needs them) as archive/zip does.
type zipWriter struct {
	w      io.Writer
	n      int64 // bytes written to w
	zw     *zip.Writer
	batch  int // entries in zw
	tail   bytes.Buffer
	toTail bool // writes to the zipWriter go to tail, not w

	dir     *os.File // the central directory records of the batches ended so far
	dirw    *bufio.Writer
	records int64
	dirSize int64
}

func newZipWriter(w io.Writer) *zipWriter { return &zipWriter{w: w} }

// Write takes what the batch's archive/zip.Writer writes.
func (z *zipWriter) Write(p []byte) (int, error) {
	if z.toTail {
		return z.tail.Write(p)
	}
	n, err := z.w.Write(p)
	z.n += int64(n)
	return n, err
}

// CreateHeader starts an entry as archive/zip.Writer.CreateHeader does; it ends the entry before.
func (z *zipWriter) CreateHeader(fh *zip.FileHeader) (io.Writer, error) {
	if z.batch == zipBatch {
		if err := z.endBatch(); err != nil {
			return nil, err
		}
	}
	if z.zw == nil {
		z.zw = zip.NewWriter(z)
		z.zw.SetOffset(z.n)
		z.zw.RegisterCompressor(zip.Deflate, newFlateWriter)
	}
	z.batch++
	return z.zw.CreateHeader(fh)
}

// endBatch closes the batch's writer and keeps its central directory records.
func (z *zipWriter) endBatch() error {
	if err := z.zw.Flush(); err != nil {
		return err
	}
	z.tail.Reset()
	z.toTail = true
	err := z.zw.Close()
	z.toTail = false
	if err != nil {
		return err
	}
	// The tail is the rest of the last entry (a compressor's last block, the data descriptor),
	// the central directory records, and the end records, whose size field says where the
	// records start.
	tail := z.tail.Bytes()
	end, err := directoryEnd(tail)
	if err != nil {
		return err
	}
	records := tail[end.recordsAt:end.at]
	if _, err := z.w.Write(tail[:end.recordsAt]); err != nil {
		return err
	}
	z.n += int64(end.recordsAt)
	if z.dir == nil {
		f, err := newSpillFile("", "dossierkast-zipdir-")
		if err != nil {
			return fmt.Errorf("zip directory: %w", err)
		}
		z.dir, z.dirw = f.File, f.w
	}
	if _, err := z.dirw.Write(records); err != nil {
		return fmt.Errorf("zip directory: %w", err)
	}
	z.records += int64(z.batch)
	z.dirSize += int64(len(records))
	z.zw, z.batch = nil, 0
	return nil
}

// Close ends the last entry and writes the central directory and its end.
func (z *zipWriter) Close() error {
	if z.zw != nil {
		if err := z.endBatch(); err != nil {
			return err
		}
	}
	start := z.n
	if z.dir != nil {
		if err := z.dirw.Flush(); err != nil {
			return fmt.Errorf("zip directory: %w", err)
		}
		if _, err := z.dir.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("zip directory: %w", err)
		}
		n, err := io.Copy(z.w, z.dir)
		z.n += n
		if err != nil {
			return err
		}
		if n != z.dirSize {
			return fmt.Errorf("zip directory: copied %d bytes of %d", n, z.dirSize)
		}
	}
	_, err := z.w.Write(appendDirectoryEnd(nil, uint64(z.records), uint64(z.dirSize), uint64(start)))
	z.release()
	return err
}

// release removes the temporary file; for a write that is given up.
func (z *zipWriter) release() {
	if z.dir != nil {
		z.dir.Close()
		z.dir, z.dirw = nil, nil
	}
}

// The ZIP format's end records (APPNOTE.TXT 4.3.14–4.3.16), as archive/zip writes them.
const (
	directoryEndSignature   = 0x06054b50
	directory64LocSignature = 0x07064b50
	directory64EndSignature = 0x06064b50
	directoryEndLen         = 22
	directory64LocLen       = 20
	directory64EndLen       = 56
	uint16max               = 1<<16 - 1
	uint32max               = 1<<32 - 1
	zipVersion45            = 45
)

// appendDirectoryEnd appends the end of a central directory of records entries and size bytes
// that starts at offset: the end record, after a ZIP64 end record and its locator when a count
// or size does not fit the end record's fields (archive/zip.Writer.Close).
func appendDirectoryEnd(b []byte, records, size, offset uint64) []byte {
	le := binary.LittleEndian
	if records >= uint16max || size >= uint32max || offset >= uint32max {
		b = le.AppendUint32(b, directory64EndSignature)
		b = le.AppendUint64(b, directory64EndLen-12) // its length without signature and length
		b = le.AppendUint16(b, zipVersion45)         // made by
		b = le.AppendUint16(b, zipVersion45)         // needed to extract
		b = le.AppendUint32(b, 0)                    // this disk
		b = le.AppendUint32(b, 0)                    // the disk the directory starts on
		b = le.AppendUint64(b, records)              // entries on this disk
		b = le.AppendUint64(b, records)              // entries
		b = le.AppendUint64(b, size)
		b = le.AppendUint64(b, offset)
		b = le.AppendUint32(b, directory64LocSignature)
		b = le.AppendUint32(b, 0)                               // the disk of the ZIP64 end record
		b = le.AppendUint64(b, offset+size)                     // where the ZIP64 end record is
		b = le.AppendUint32(b, 1)                               // disks
		records, size, offset = uint16max, uint32max, uint32max // see the ZIP64 record
	}
	b = le.AppendUint32(b, directoryEndSignature)
	b = le.AppendUint16(b, 0) // this disk
	b = le.AppendUint16(b, 0) // the disk the directory starts on
	b = le.AppendUint16(b, uint16(records))
	b = le.AppendUint16(b, uint16(records))
	b = le.AppendUint32(b, uint32(size))
	b = le.AppendUint32(b, uint32(offset))
	return le.AppendUint16(b, 0) // comment length
}

// directoryEndAt is where the central directory's records and its end records start in a tail.
type directoryEndAt struct{ recordsAt, at int }

// directoryEnd finds the end records at the end of tail, as appendDirectoryEnd writes them, and
// from their size field where the records start.
func directoryEnd(tail []byte) (directoryEndAt, error) {
	le := binary.LittleEndian
	bad := errors.New("zip: unexpected end of central directory")
	at := len(tail) - directoryEndLen
	if at < 0 || le.Uint32(tail[at:]) != directoryEndSignature {
		return directoryEndAt{}, bad
	}
	size := uint64(le.Uint32(tail[at+12:]))
	if le.Uint16(tail[at+10:]) == uint16max || size == uint32max || le.Uint32(tail[at+16:]) == uint32max {
		at -= directory64LocLen + directory64EndLen
		if at < 0 || le.Uint32(tail[at:]) != directory64EndSignature {
			return directoryEndAt{}, bad
		}
		size = le.Uint64(tail[at+40:])
	}
	if size > uint64(at) {
		return directoryEndAt{}, bad
	}
	return directoryEndAt{recordsAt: at - int(size), at: at}, nil
}
