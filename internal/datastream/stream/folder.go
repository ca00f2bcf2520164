package stream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"

	"github.com/dossierkast/dossierkast/internal/datastream"
)

// Folder is a datastream.Transport on a local folder: deliveries to a mounted share, and the
// transport of this package's tests and benchmarks. Every path stays inside the folder (os.Root
// refuses .. and symbolic links that leave it).
type Folder struct {
	root *os.Root
}

var _ datastream.Transport = (*Folder)(nil)

// OpenFolder opens dir, which must exist, as a Transport.
func OpenFolder(dir string) (*Folder, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open folder %s: %w", dir, err)
	}
	return &Folder{root: root}, nil
}

// local checks a slash-separated transport path (a leading slash is the folder itself) and
// returns it as os.Root takes it: no "..", "." or empty components.
func local(name string) (string, error) {
	p := strings.TrimPrefix(name, "/")
	if p == "" {
		p = "."
	}
	if !fs.ValidPath(p) {
		return "", fmt.Errorf("path %q is not a clean path inside the folder", name)
	}
	return p, nil
}

// MkdirAll makes dir and its missing parents.
func (f *Folder) MkdirAll(_ context.Context, dir string) error {
	p, err := local(dir)
	if err != nil {
		return err
	}
	if err := f.root.MkdirAll(p, 0o755); err != nil {
		return fmt.Errorf("make folder %s: %w", dir, err)
	}
	return nil
}

// Upload writes r to name.part, syncs it and renames it to name.
func (f *Folder) Upload(ctx context.Context, name string, r io.Reader) (int64, error) {
	p, err := local(name)
	if err == nil && p == "." {
		err = fmt.Errorf("upload: no file name")
	}
	if err != nil {
		return 0, err
	}
	part := p + ".part"
	file, err := f.root.OpenFile(part, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return 0, fmt.Errorf("upload %s: create: %w", name, err)
	}
	n, err := io.Copy(file, r)
	if err == nil {
		err = ctx.Err()
	}
	if err == nil {
		err = file.Sync()
	}
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = f.root.Rename(part, p)
	}
	if err != nil {
		if rerr := f.root.Remove(part); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			err = errors.Join(err, rerr)
		}
		return n, fmt.Errorf("upload %s: %w", name, err)
	}
	return n, nil
}

// List returns the entries of dir sorted by name.
func (f *Folder) List(_ context.Context, dir string) ([]datastream.FileInfo, error) {
	p, err := local(dir)
	if err != nil {
		return nil, err
	}
	d, err := f.root.Open(p)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	defer d.Close()
	entries, err := d.ReadDir(-1)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	list := make([]datastream.FileInfo, 0, len(entries))
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", dir, err)
		}
		list = append(list, datastream.FileInfo{Name: e.Name(), Size: info.Size(), ModTime: info.ModTime(), IsDir: e.IsDir()})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	return list, nil
}

// Open streams the file name.
func (f *Folder) Open(_ context.Context, name string) (io.ReadCloser, error) {
	p, err := local(name)
	if err != nil {
		return nil, err
	}
	file, err := f.root.Open(p)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	return file, nil
}

// Remove deletes the file name.
func (f *Folder) Remove(_ context.Context, name string) error {
	p, err := local(name)
	if err != nil {
		return err
	}
	if err := f.root.Remove(p); err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	return nil
}

// Close releases the folder.
func (f *Folder) Close() error { return f.root.Close() }
