package datastream_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/ssh"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/auth"
	"github.com/dossierkast/dossierkast/internal/datastream"
	"github.com/dossierkast/dossierkast/internal/document"
)

// requireSFTPClient skips t without OpenSSH's sftp client and sshpass, except under CI.
func requireSFTPClient(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"sftp", "sshpass", "ssh-keygen"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not installed", tool)
			}
			t.Skipf("%s is not installed (apt-get install openssh-client sshpass)", tool)
		}
	}
}

type hostedBundle struct {
	accountBundle
	blobs document.BlobStore
	port  int
	key   ssh.PublicKey
}

// setupHosted starts a hosted SFTP server on a free loopback port over a fresh database and
// blob folder.
func setupHosted(t *testing.T) *hostedBundle {
	t.Helper()
	requireSFTPClient(t)
	b := &hostedBundle{accountBundle: setupAccounts(t), blobs: openBlobs(t)}
	b.port, b.key = b.startServer(t)
	return b
}

// openBlobs opens a folder blob store in a temporary folder.
func openBlobs(t testing.TB) document.BlobStore {
	t.Helper()
	blobs, err := document.OpenBlobStore(context.Background(), "file://"+filepath.ToSlash(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blobs.Close() })
	return blobs
}

// startServer starts another server process's worth of hosted server on the same database.
func (b *hostedBundle) startServer(t testing.TB) (int, ssh.PublicKey) {
	t.Helper()
	signer, err := datastream.HostKey(context.Background(), b.db.Pool, b.keys)
	if err != nil {
		t.Fatal(err)
	}
	srv := datastream.NewServer(b.db.Pool, b.blobs, signer, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port, signer.PublicKey()
}

// account creates a hosted account (a pasted key when publicKey is set, else a generated
// password) with files, and returns it and its password.
func (b *hostedBundle) account(t testing.TB, name, publicKey string, files map[string]string) (datastream.Account, string) {
	t.Helper()
	ctx := context.Background()
	in := datastream.AccountInput{Name: name, Type: datastream.TypeHosted, Language: "nl", AllEmployers: true, AuthMethod: datastream.AuthPassword}
	if publicKey != "" {
		in.AuthMethod, in.PublicKey = datastream.AuthKey, publicKey
	}
	var a datastream.Account
	var creds datastream.Credentials
	err := b.inTenant(t, func(tx pgx.Tx) (err error) {
		a, creds, err = datastream.CreateAccount(ctx, tx, editorWith(b.tenantID, access.DatastreamsManage), b.keys, in)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	folder := datastream.NewFolder(b.db.Pool, b.blobs, b.tenantID, a.ID)
	for p, content := range files {
		if _, err := folder.Upload(ctx, p, strings.NewReader(content)); err != nil {
			t.Fatal(err)
		}
	}
	return a, creds.Password
}

// sftpSession runs OpenSSH's sftp client in batch mode as user, in a fresh local folder, and
// returns what it printed and that folder. A command starting with "-" may fail without
// stopping the batch. With keyFile it logs in with that key, else with password.
func sftpSession(t *testing.T, port int, user, password, keyFile string, commands ...string) (string, string, error) {
	t.Helper()
	dir := t.TempDir()
	batch := filepath.Join(dir, ".batch")
	if err := os.WriteFile(batch, []byte(strings.Join(commands, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"-P", strconv.Itoa(port), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10"}
	name := "sftp"
	if keyFile != "" {
		args = append(args, "-i", keyFile, "-o", "IdentitiesOnly=yes", "-o", "PreferredAuthentications=publickey", "-b", batch, user+"@127.0.0.1")
	} else {
		args = append(args, "-o", "PreferredAuthentications=password", "-o", "PubkeyAuthentication=no", "-o", "NumberOfPasswordPrompts=1",
			"-o", "BatchMode=no", "-b", batch, user+"@127.0.0.1")
		name, args = "sshpass", append([]string{"-p", password, "sftp"}, args...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), dir, err
}

func localFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	return names
}

func (b *hostedBundle) auditActions(t *testing.T, accountID uuid.UUID) []string {
	t.Helper()
	var actions []string
	_ = b.inTenant(t, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT coalesce(array_agg(action ORDER BY at), '{}') FROM audit_events
			WHERE subject_id = $1 AND action LIKE 'sftp.%'`, accountID).Scan(&actions)
	})
	return actions
}

// TestHostedServerWithOpenSSHClient logs in with the shown password as a user would, lists and
// downloads, tries every way out of the folder and every change but delete.
func TestHostedServerWithOpenSSHClient(t *testing.T) {
	t.Parallel()
	b := setupHosted(t)
	a, password := b.account(t, "Warehouse", "", map[string]string{
		"lees-mij.txt":                    "Leveringen staan per configuratie in een eigen map.\n",
		"bi/20270104T010000Z/verzuim.csv": "id,mutatie\n1,insert\n",
	})
	other, _ := b.account(t, "Ander account", "", map[string]string{"geheim.csv": "niet voor Warehouse\n"})
	otherFolder := datastream.NewFolder(b.db.Pool, b.blobs, b.tenantID, other.ID)

	out, dir, err := sftpSession(t, b.port, a.SFTPUser, password, "",
		"ls -1",
		"get lees-mij.txt",
		"cd bi/20270104T010000Z",
		"get verzuim.csv",
		"cd /",
		"-cd ..",
		"-get ../geheim.csv",
		"-get ../../etc/passwd",
		"-get /etc/passwd",
		"-get /"+other.ID.String()+"/geheim.csv",
		"-put .batch",
		"-rename lees-mij.txt hernoemd.txt",
		"-mkdir nieuw",
		"-symlink /etc/passwd link",
		"-get link",
		"-chmod 777 lees-mij.txt",
		"rm bi/20270104T010000Z/verzuim.csv",
		"ls -1 /",
	)
	if err != nil {
		t.Fatalf("sftp: %v\n%s", err, out)
	}
	if got := localFiles(t, dir); !slices.Equal(got, []string{"lees-mij.txt", "verzuim.csv"}) {
		t.Errorf("downloaded %v, want only lees-mij.txt and verzuim.csv\n%s", got, out)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "verzuim.csv")); string(got) != "id,mutatie\n1,insert\n" {
		t.Errorf("verzuim.csv = %q", got)
	}
	// put, rename, mkdir, symlink and chmod: each refused with a permission error.
	if n := strings.Count(out, "Permission denied"); n < 5 {
		t.Errorf("%d permission errors, want one for each of put, rename, mkdir, symlink and chmod:\n%s", n, out)
	}
	ctx := context.Background()
	folder := datastream.NewFolder(b.db.Pool, b.blobs, b.tenantID, a.ID)
	list, err := folder.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range list {
		names = append(names, f.Name)
	}
	if !slices.Equal(names, []string{"bi", "lees-mij.txt"}) {
		t.Errorf("folder after the session: %v, want bi and lees-mij.txt unchanged", names)
	}
	if _, err := folder.Stat(ctx, "bi/20270104T010000Z/verzuim.csv"); err == nil {
		t.Error("verzuim.csv still there after rm")
	}
	if _, err := otherFolder.Stat(ctx, "geheim.csv"); err != nil {
		t.Errorf("the other account's file: %v", err)
	}
	want := []string{audit.SFTPLoginSucceeded, audit.SFTPDownloaded, audit.SFTPDownloaded, audit.SFTPDeleted}
	if got := b.auditActions(t, a.ID); !slices.Equal(got, want) {
		t.Errorf("audit %v, want %v", got, want)
	}
}

// TestHostedKeyLoginAndArchive logs in with a pasted public key, then archives the account:
// the same key is refused.
func TestHostedKeyLoginAndArchive(t *testing.T) {
	t.Parallel()
	b := setupHosted(t)
	keyFile := filepath.Join(t.TempDir(), "id_ed25519")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", keyFile).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	pub, err := os.ReadFile(keyFile + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	a, _ := b.account(t, "Sleutel", string(pub), map[string]string{"a.csv": "a\n"})
	out, dir, err := sftpSession(t, b.port, a.SFTPUser, "", keyFile, "get a.csv")
	if err != nil || !slices.Equal(localFiles(t, dir), []string{"a.csv"}) {
		t.Fatalf("key log-in: %v\n%s", err, out)
	}
	if err := b.inTenant(t, func(tx pgx.Tx) error {
		return datastream.ArchiveAccount(context.Background(), tx, editorWith(b.tenantID, access.DatastreamsManage), a.ID)
	}); err != nil {
		t.Fatal(err)
	}
	if out, _, err := sftpSession(t, b.port, a.SFTPUser, "", keyFile, "ls"); err == nil {
		t.Errorf("archived account logged in:\n%s", out)
	}
	got := b.auditActions(t, a.ID)
	if !slices.Contains(got, audit.SFTPLoginFailed) {
		t.Errorf("audit %v: the refused log-in of the archived account is missing", got)
	}
}

// TestHostedThrottle: after auth.FreeAttempts wrong passwords, even the right one is refused
// for a while, and the refusal is audited as throttled.
func TestHostedThrottle(t *testing.T) {
	t.Parallel()
	b := setupHosted(t)
	a, password := b.account(t, "Warehouse", "", map[string]string{"a.csv": "a\n"})
	for range auth.FreeAttempts + 1 {
		conf := &ssh.ClientConfig{User: a.SFTPUser, Auth: []ssh.AuthMethod{ssh.Password("fout")},
			HostKeyCallback: ssh.FixedHostKey(b.key), Timeout: 10 * time.Second}
		if c, err := ssh.Dial("tcp", "127.0.0.1:"+strconv.Itoa(b.port), conf); err == nil {
			c.Close()
			t.Fatal("logged in with a wrong password")
		}
	}
	if out, _, err := sftpSession(t, b.port, a.SFTPUser, password, "", "ls"); err == nil {
		t.Fatalf("right password accepted while throttled:\n%s", out)
	}
	var throttled int
	_ = b.inTenant(t, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT count(*) FROM audit_events WHERE subject_id = $1
			AND action = 'sftp.login_failed' AND details->>'reason' = 'throttled'`, a.ID).Scan(&throttled)
	})
	if throttled == 0 {
		t.Error("the throttled attempt is not audited")
	}
}

// TestHostedTwoServers: two servers on the same database present the same host key and serve
// the same files, as two serve processes would.
func TestHostedTwoServers(t *testing.T) {
	t.Parallel()
	b := setupHosted(t)
	port2, key2 := b.startServer(t)
	if datastream.KeyLine(key2) != datastream.KeyLine(b.key) {
		t.Fatal("the second server made another host key")
	}
	ctx := context.Background()
	for _, port := range []int{b.port, port2} {
		line, err := datastream.FetchHostKey(ctx, "127.0.0.1", port, 10*time.Second)
		if err != nil || line != datastream.KeyLine(b.key) {
			t.Errorf("server on port %d presents %q, %v", port, line, err)
		}
	}
	a, password := b.account(t, "Warehouse", "", map[string]string{"gedeeld.csv": "zelfde bestand\n"})
	for _, port := range []int{b.port, port2} {
		out, dir, err := sftpSession(t, port, a.SFTPUser, password, "", "get gedeeld.csv")
		if err != nil {
			t.Fatalf("port %d: %v\n%s", port, err, out)
		}
		if got, _ := os.ReadFile(filepath.Join(dir, "gedeeld.csv")); string(got) != "zelfde bestand\n" {
			t.Errorf("port %d: gedeeld.csv = %q", port, got)
		}
	}
}

// TestHostedNewPasswordAndBlock: a new password replaces the old one at once; a blocked account
// cannot log in until it is unblocked.
func TestHostedNewPasswordAndBlock(t *testing.T) {
	t.Parallel()
	b := setupHosted(t)
	ctx := context.Background()
	ed := editorWith(b.tenantID, access.DatastreamsManage)
	a, old := b.account(t, "Warehouse", "", map[string]string{"a.csv": "a\n"})
	logIn := func(password string) error {
		conf := &ssh.ClientConfig{User: a.SFTPUser, Auth: []ssh.AuthMethod{ssh.Password(password)},
			HostKeyCallback: ssh.FixedHostKey(b.key), Timeout: 10 * time.Second}
		c, err := ssh.Dial("tcp", "127.0.0.1:"+strconv.Itoa(b.port), conf)
		if err == nil {
			c.Close()
		}
		return err
	}
	var creds datastream.Credentials
	if err := b.inTenant(t, func(tx pgx.Tx) (err error) {
		creds, err = datastream.NewHostedPassword(ctx, tx, ed, a.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := logIn(old); err == nil {
		t.Error("the old password still logs in")
	}
	if err := logIn(creds.Password); err != nil {
		t.Errorf("the new password: %v", err)
	}
	for _, tc := range []struct {
		status string
		ok     bool
	}{{datastream.StatusBlocked, false}, {datastream.StatusActive, true}} {
		if err := b.inTenant(t, func(tx pgx.Tx) error {
			return datastream.SetAccountStatus(ctx, tx, ed, a.ID, tc.status)
		}); err != nil {
			t.Fatal(err)
		}
		if err := logIn(creds.Password); (err == nil) != tc.ok {
			t.Errorf("status %s: log-in %v, want success %v", tc.status, err, tc.ok)
		}
	}
}
