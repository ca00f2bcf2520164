package datastream_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dossierkast/dossierkast/internal/datastream"
	"github.com/dossierkast/dossierkast/internal/datastream/sshdtest"
)

// externalConfig is how to log in to srv with its password, with base as the base folder and
// no host key pinned yet.
func externalConfig(srv *sshdtest.Server, base string) datastream.ExternalConfig {
	return datastream.ExternalConfig{Host: srv.Host, Port: srv.Port, User: srv.User, Password: srv.Password,
		BaseDir: base, DialTimeout: 10 * time.Second, OpTimeout: 20 * time.Second}
}

func keygenFingerprint(t *testing.T, line string) string {
	t.Helper()
	cmd := exec.Command("ssh-keygen", "-l", "-f", "-")
	cmd.Stdin = strings.NewReader(line + "\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ssh-keygen -l: %v", err)
	}
	fields := strings.Fields(string(out))
	if len(fields) < 2 {
		t.Fatalf("ssh-keygen -l printed %q", out)
	}
	return fields[1]
}

func stepOf(err error) string {
	var se *datastream.StepError
	if errors.As(err, &se) {
		return se.Step
	}
	return ""
}

// TestExternalConnectionTest fetches the host key, checks its fingerprint against ssh-keygen's,
// then with the key pinned walks every step of the connection test.
func TestExternalConnectionTest(t *testing.T) {
	t.Parallel()
	srv := sshdtest.Start(t)
	ctx := context.Background()
	c := externalConfig(srv, "/data")

	first := datastream.TestConnection(ctx, c)
	if !first.Unconfirmed || first.OK() {
		t.Fatalf("without a pinned key: %+v, want unconfirmed and not OK", first)
	}
	if first.HostKey != srv.HostKey {
		t.Errorf("fetched host key %q, want %q", first.HostKey, srv.HostKey)
	}
	if want := keygenFingerprint(t, srv.HostKey); first.Fingerprint != want {
		t.Errorf("fingerprint %s, ssh-keygen -l says %s", first.Fingerprint, want)
	}

	c.HostKey = first.HostKey
	got := datastream.TestConnection(ctx, c)
	var steps []string
	for _, ch := range got.Checks {
		steps = append(steps, ch.Step)
		if ch.Err != nil {
			t.Errorf("step %s: %v", ch.Step, ch.Err)
		}
	}
	want := []string{datastream.StepAuth, datastream.StepBaseDir, datastream.StepWrite, datastream.StepRename, datastream.StepRemove}
	if diff := cmp.Diff(want, steps); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	if !got.OK() {
		t.Error("connection test not OK")
	}
	entries, err := os.ReadDir(srv.Path("/data"))
	if err != nil || len(entries) != 0 {
		t.Errorf("probe files left behind: %v, %v", entries, err)
	}

	t.Run("MissingBaseFolder", func(t *testing.T) {
		c := c
		c.BaseDir = "/data/bestaat-niet"
		got := datastream.TestConnection(ctx, c)
		last := got.Checks[len(got.Checks)-1]
		if got.OK() || last.Step != datastream.StepBaseDir || last.Err == nil {
			t.Errorf("checks %+v, want a failed base_dir step", got.Checks)
		}
	})
	t.Run("ReadOnlyBaseFolder", func(t *testing.T) {
		srv.Mkdir(t, "/data/alleen-lezen", true)
		c := c
		c.BaseDir = "/data/alleen-lezen"
		got := datastream.TestConnection(ctx, c)
		last := got.Checks[len(got.Checks)-1]
		if got.OK() || last.Step != datastream.StepWrite || last.Err == nil {
			t.Errorf("checks %+v, want a failed write step", got.Checks)
		}
	})
	t.Run("WrongPassword", func(t *testing.T) {
		c := c
		c.Password = "fout"
		got := datastream.TestConnection(ctx, c)
		if got.OK() || stepOf(got.Checks[len(got.Checks)-1].Err) != datastream.StepAuth {
			t.Errorf("checks %+v, want a failed auth step", got.Checks)
		}
	})
}

// TestExternalTransport uploads, lists, reads and removes with a password and with a generated
// key, and checks that a failed upload leaves neither the target nor a .part file.
func TestExternalTransport(t *testing.T) {
	t.Parallel()
	srv := sshdtest.Start(t)
	ctx := context.Background()
	pair, err := datastream.GenerateKeyPair("dossierkast-test")
	if err != nil {
		t.Fatal(err)
	}
	srv.AuthorizeKey(t, pair.PublicLine)

	withPassword := externalConfig(srv, "/data")
	withPassword.HostKey = srv.HostKey
	withKey := withPassword
	withKey.Password, withKey.PrivateKey = "", pair.PrivatePEM
	for name, c := range map[string]datastream.ExternalConfig{"Password": withPassword, "Key": withKey} {
		t.Run(name, func(t *testing.T) {
			tr, err := datastream.DialExternal(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()
			dir := "levering-" + strings.ToLower(name) + "/20270104T010000Z"
			if err := tr.MkdirAll(ctx, dir); err != nil {
				t.Fatal(err)
			}
			payload := make([]byte, 5<<20+123)
			_, _ = rand.Read(payload)
			n, err := tr.Upload(ctx, dir+"/werknemers.csv", bytes.NewReader(payload))
			if err != nil || n != int64(len(payload)) {
				t.Fatalf("Upload = %d, %v", n, err)
			}
			// A second upload replaces the file.
			if _, err := tr.Upload(ctx, dir+"/werknemers.csv", strings.NewReader("kort\n")); err != nil {
				t.Fatal(err)
			}
			if _, err := tr.Upload(ctx, dir+"/manifest.json", bytes.NewReader(payload)); err != nil {
				t.Fatal(err)
			}
			list, err := tr.List(ctx, dir)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, f := range list {
				names = append(names, f.Name)
			}
			if diff := cmp.Diff([]string{"manifest.json", "werknemers.csv"}, names); diff != "" {
				t.Errorf("listing (-want +got):\n%s", diff)
			}
			if list[0].Size != int64(len(payload)) || list[0].ModTime.IsZero() {
				t.Errorf("manifest.json listed as %+v", list[0])
			}
			rc, err := tr.Open(ctx, dir+"/manifest.json")
			if err != nil {
				t.Fatal(err)
			}
			h := sha256.New()
			if _, err := io.Copy(h, rc); err != nil {
				t.Fatal(err)
			}
			rc.Close()
			if want := sha256.Sum256(payload); !bytes.Equal(h.Sum(nil), want[:]) {
				t.Error("downloaded file differs from the upload")
			}
			got, _ := os.ReadFile(srv.Path("/data/" + dir + "/werknemers.csv"))
			if string(got) != "kort\n" {
				t.Errorf("werknemers.csv holds %d bytes, want the second upload", len(got))
			}
			if err := tr.Remove(ctx, dir+"/manifest.json"); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(srv.Path("/data/" + dir + "/manifest.json")); !os.IsNotExist(err) {
				t.Errorf("manifest.json after Remove: %v", err)
			}
			if _, err := tr.Open(ctx, dir+"/manifest.json"); stepOf(err) != datastream.StepOpen {
				t.Errorf("Open of a removed file: %v, want a StepError of step open", err)
			}
			// ".." cannot leave the base folder.
			if err := tr.MkdirAll(ctx, "../../ontsnapt"); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(srv.Path("/data/ontsnapt")); err != nil {
				t.Errorf("../../ontsnapt was not made inside the base folder: %v", err)
			}
		})
	}

	t.Run("FailedUploadLeavesNothing", func(t *testing.T) {
		tr, err := datastream.DialExternal(ctx, withPassword)
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		broken := io.MultiReader(bytes.NewReader(make([]byte, 1<<20)), errReader{errors.New("database went away")})
		if _, err := tr.Upload(ctx, "half.csv", broken); stepOf(err) != datastream.StepWrite {
			t.Fatalf("Upload of a failing reader: %v, want a StepError of step write", err)
		}
		for _, name := range []string{"half.csv", "half.csv.part"} {
			if _, err := os.Stat(srv.Path("/data/" + name)); !os.IsNotExist(err) {
				t.Errorf("%s after a failed upload: %v", name, err)
			}
		}
	})

	t.Run("IdleTimeout", func(t *testing.T) {
		c := withPassword
		c.OpTimeout = 300 * time.Millisecond
		tr, err := datastream.DialExternal(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		_, err = tr.Upload(ctx, "traag.csv", stallReader{d: 3 * time.Second})
		if !errors.Is(err, datastream.ErrTimeout) || stepOf(err) != datastream.StepWrite {
			t.Errorf("Upload of a stalled reader: %v, want a write step that timed out", err)
		}
	})
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

type stallReader struct{ d time.Duration }

func (r stallReader) Read([]byte) (int, error) {
	time.Sleep(r.d)
	return 0, io.EOF
}

// TestExternalHostKeyPinning changes the server's host key: the pinned connection is refused
// with both fingerprints, and accepting the new key lets it through again.
func TestExternalHostKeyPinning(t *testing.T) {
	t.Parallel()
	srv := sshdtest.Start(t)
	ctx := context.Background()
	c := externalConfig(srv, "/data")
	c.HostKey = srv.HostKey
	tr, err := datastream.DialExternal(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	tr.Close()

	oldKey := srv.HostKey
	srv.NewHostKey(t)
	srv.Restart(t)
	_, err = datastream.DialExternal(ctx, c)
	var mm *datastream.HostKeyMismatchError
	if !errors.As(err, &mm) || stepOf(err) != datastream.StepHostKey {
		t.Fatalf("dial with the old pinned key: %v, want a host-key mismatch", err)
	}
	if mm.Pinned != keygenFingerprint(t, oldKey) || mm.Presented != keygenFingerprint(t, srv.HostKey) || mm.PresentedKey != srv.HostKey {
		t.Errorf("mismatch %+v, want pinned %s and presented %s", mm, keygenFingerprint(t, oldKey), keygenFingerprint(t, srv.HostKey))
	}
	if got := datastream.TestConnection(ctx, c); got.OK() || got.Fingerprint != mm.Presented {
		t.Errorf("connection test with the old key: %+v, want a failure showing the new fingerprint", got)
	}
	c.HostKey = mm.PresentedKey
	tr, err = datastream.DialExternal(ctx, c)
	if err != nil {
		t.Fatalf("dial after accepting the new key: %v", err)
	}
	tr.Close()
}

// TestExternalDialTimeout dials a server that accepts the connection and never speaks.
func TestExternalDialTimeout(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}()
	addr := ln.Addr().(*net.TCPAddr)
	pair, err := datastream.GenerateKeyPair("")
	if err != nil {
		t.Fatal(err)
	}
	c := datastream.ExternalConfig{Host: "127.0.0.1", Port: addr.Port, User: "u", Password: "p",
		HostKey: pair.PublicLine, DialTimeout: 300 * time.Millisecond}
	start := time.Now()
	_, err = datastream.DialExternal(context.Background(), c)
	if stepOf(err) != datastream.StepHandshake {
		t.Errorf("dial of a silent server: %v, want a handshake StepError", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("dial took %v with a 300ms time-out", d)
	}
}
