package stream_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dossierkast/dossierkast/internal/datastream/stream"
)

func TestFolderTransport(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	f, err := stream.OpenFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.MkdirAll(ctx, "cfg/20270104T010000Z"); err != nil {
		t.Fatal(err)
	}
	if n, err := f.Upload(ctx, "cfg/20270104T010000Z/b.csv", strings.NewReader("eerste")); err != nil || n != 6 {
		t.Fatalf("upload: %d, %v", n, err)
	}
	if _, err := f.Upload(ctx, "cfg/20270104T010000Z/a.csv", strings.NewReader("a")); err != nil {
		t.Fatal(err)
	}
	// A failed upload leaves the file as it was and no .part behind.
	_, err = f.Upload(ctx, "cfg/20270104T010000Z/b.csv", io.MultiReader(strings.NewReader("half"), errReader{errServerGone}))
	if !errors.Is(err, errServerGone) {
		t.Fatalf("failed upload: err = %v", err)
	}
	list, err := f.List(ctx, "cfg/20270104T010000Z")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "a.csv" || list[1].Name != "b.csv" || list[1].Size != 6 {
		t.Errorf("list after a failed upload: %+v; want a.csv and the first b.csv, sorted", list)
	}
	r, err := f.Open(ctx, "cfg/20270104T010000Z/b.csv")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(r)
	r.Close()
	if string(data) != "eerste" {
		t.Errorf("b.csv holds %q after the failed upload", data)
	}
	// A cancelled upload publishes nothing.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := f.Upload(cancelled, "cfg/c.csv", strings.NewReader("c")); err == nil {
		t.Error("upload with a cancelled context succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, "cfg", "c.csv")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cancelled upload: c.csv exists (%v)", err)
	}
	if err := f.Remove(ctx, "cfg/20270104T010000Z/a.csv"); err != nil {
		t.Fatal(err)
	}
	// Nothing outside the folder.
	outside := filepath.Join(filepath.Dir(dir), "buiten.csv")
	for _, name := range []string{"../buiten.csv", "cfg/../../buiten.csv", "cfg/./x", ""} {
		if _, err := f.Upload(ctx, name, strings.NewReader("x")); err == nil {
			t.Errorf("upload to %q succeeded", name)
		}
	}
	if err := os.Symlink(filepath.Dir(dir), filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Upload(ctx, "link/buiten.csv", strings.NewReader("x")); err == nil {
		t.Error("upload through a symbolic link out of the folder succeeded")
	}
	if _, err := os.Stat(outside); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a file appeared outside the folder: %v", err)
	}
}

func TestPositionText(t *testing.T) {
	t.Parallel()
	at := time.Date(2027, 1, 4, 1, 0, 0, 123456000, time.UTC)
	for _, p := range []stream.Position{{}, {Snapshot: "10:20:", At: at}, {Snapshot: "10:20:10,15", At: at}} {
		got, err := stream.ParsePosition(p.String())
		if err != nil || got != p {
			t.Errorf("ParsePosition(%q) = %v, %v; want %v", p.String(), got, err, p)
		}
	}
	for _, s := range []string{"10:20:", "x:20:@2027-01-04T01:00:00Z", "10:5:@2027-01-04T01:00:00Z", "10:20:30@2027-01-04T01:00:00Z", "10:20:@gisteren"} {
		if _, err := stream.ParsePosition(s); err == nil {
			t.Errorf("ParsePosition(%q) succeeded", s)
		}
	}
}
