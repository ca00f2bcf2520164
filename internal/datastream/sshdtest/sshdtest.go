// Package sshdtest runs a real OpenSSH sshd for tests: a child process on a free loopback port
// with a throwaway host key, its own authorized_keys and a dedicated user chrooted to a folder
// of its own (LIBRARIES.md has the recipe and its pitfalls). Never the system's sshd.
package sshdtest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// SSHD is the absolute path of OpenSSH's server; sshd refuses to start from a relative one.
const SSHD = "/usr/sbin/sshd"

// Server is one running sshd and its user.
type Server struct {
	Host     string
	Port     int
	User     string
	Password string
	// HostKey is the server's public host key, in authorized_keys form ("ssh-ed25519 AAAA…").
	HostKey string
	// Root is the folder the user may write, as the SFTP client sees it ("/data").
	Root string

	dir     string // root-owned folder of everything: etc/ and the jail
	jail    string
	cmd     *exec.Cmd
	logPath string
	mu      sync.Mutex
}

// Require skips t when an sshd cannot run here (not root, OpenSSH's server not installed),
// except under CI, where that is a failure: CI installs it (.ci/run).
func Require(t testing.TB) {
	t.Helper()
	var why string
	if os.Geteuid() != 0 {
		why = "the test sshd needs root (chroot, a user of its own)"
	} else if _, err := os.Stat(SSHD); err != nil {
		why = "OpenSSH's server is not installed (apt-get install openssh-server)"
	} else if _, err := exec.LookPath("useradd"); err != nil {
		why = "useradd is missing"
	}
	if why == "" {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatal(why)
	}
	t.Skip(why)
}

// Start runs a new sshd with a new user (a random password, no authorized key yet) and stops
// and removes both when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	Require(t)
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatalf("sshd privilege-separation folder: %v", err)
	}
	// Not under /tmp: every folder up to the chroot must be root-owned and not group- or
	// other-writable, and /tmp is 1777.
	if err := os.MkdirAll("/srv", 0o755); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("/srv", "dk-sshd-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := &Server{Host: "127.0.0.1", User: "dk" + randomHex(6), Password: "pw-" + randomHex(12), Root: "/data",
		dir: dir, jail: filepath.Join(dir, "jail"), logPath: filepath.Join(dir, "etc", "sshd.log")}
	t.Cleanup(func() {
		s.stop()
		_ = exec.Command("userdel", s.User).Run()
		_ = os.RemoveAll(dir)
	})
	for _, d := range []string{filepath.Join(dir, "etc"), s.jail} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", s.User).CombinedOutput(); err != nil {
		t.Fatalf("useradd: %v: %s", err, out)
	}
	// A new user is locked until it has a password; with UsePAM no, even key log-ins are refused.
	chpasswd := exec.Command("chpasswd")
	chpasswd.Stdin = strings.NewReader(s.User + ":" + s.Password + "\n")
	if out, err := chpasswd.CombinedOutput(); err != nil {
		t.Fatalf("chpasswd: %v: %s", err, out)
	}
	data := filepath.Join(s.jail, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	s.chownToUser(t, data)
	if err := os.WriteFile(s.etc("authorized_keys"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s.NewHostKey(t)
	s.Port = freePort(t)
	s.start(t)
	return s
}

func (s *Server) etc(name string) string { return filepath.Join(s.dir, "etc", name) }

// Addr returns host:port.
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// Path returns the path on this machine of rel inside the user's jail ("/data/x" → …/jail/data/x).
func (s *Server) Path(rel string) string {
	return filepath.Join(s.jail, filepath.FromSlash(strings.TrimPrefix(rel, "/")))
}

// Mkdir makes the folder rel in the jail, owned by the user (writable) or, with readOnly, by
// root (readable but not writable for the user).
func (s *Server) Mkdir(t testing.TB, rel string, readOnly bool) {
	t.Helper()
	p := s.Path(rel)
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	if !readOnly {
		s.chownToUser(t, p)
	}
}

func (s *Server) chownToUser(t testing.TB, path string) {
	t.Helper()
	if out, err := exec.Command("chown", s.User, path).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v: %s", err, out)
	}
}

// AuthorizeKey lets the user log in with the public key in authorized_keys form.
func (s *Server) AuthorizeKey(t testing.TB, line string) {
	t.Helper()
	f, err := os.OpenFile(s.etc("authorized_keys"), os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := fmt.Fprintln(f, strings.TrimSpace(line)); err != nil {
		t.Fatal(err)
	}
}

// NewHostKey gives the server a new ed25519 host key; a running server presents it after
// Restart.
func (s *Server) NewHostKey(t testing.TB) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.etc("host_ed25519"), pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	s.HostKey = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub)))
}

// Restart stops the server and starts it again on the same port (with its current host key).
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.stop()
	s.start(t)
}

func (s *Server) start(t testing.TB) {
	t.Helper()
	config := fmt.Sprintf(`ListenAddress 127.0.0.1:%d
HostKey %s
PidFile %s
UsePAM no
StrictModes no
PermitRootLogin no
PasswordAuthentication yes
PubkeyAuthentication yes
KbdInteractiveAuthentication no
AuthorizedKeysFile %s
MaxStartups 100
Subsystem sftp internal-sftp
Match User %s
    ForceCommand internal-sftp
    ChrootDirectory %s
`, s.Port, s.etc("host_ed25519"), s.etc("sshd.pid"), s.etc("authorized_keys"), s.User, s.jail)
	if err := os.WriteFile(s.etc("sshd_config"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = os.Truncate(s.logPath, 0)
	cmd := exec.Command(SSHD, "-D", "-E", s.logPath, "-f", s.etc("sshd_config"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sshd: %v", err)
	}
	s.mu.Lock()
	s.cmd = cmd
	s.mu.Unlock()
	want := fmt.Sprintf("Server listening on 127.0.0.1 port %d.", s.Port)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(s.Log(), want) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.stop()
	t.Fatalf("sshd did not start within 10 s; log:\n%s\nstderr:\n%s", s.Log(), stderr.String())
}

func (s *Server) stop() {
	s.mu.Lock()
	cmd := s.cmd
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
}

// CPUMeter adds up the processor time of sshd and of every process under it while it runs:
// the session processes of each connection, which are not all reaped by sshd itself, so its own
// accounting of children misses them. Start it before a transfer and Stop it after.
type CPUMeter struct {
	root int
	stop chan struct{}
	done chan struct{}
	seen map[int]time.Duration // the last processor time read of each process seen
	// stats holds each live process's /proc stat file open: reading it again is cheaper than
	// opening it, and the sampling runs beside the transfer it measures.
	stats map[int]*os.File
}

// CPUMeter starts measuring.
func (s *Server) CPUMeter(t testing.TB) *CPUMeter {
	t.Helper()
	s.mu.Lock()
	cmd := s.cmd
	s.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		t.Fatal("sshd is not running")
	}
	m := &CPUMeter{root: cmd.Process.Pid, stop: make(chan struct{}), done: make(chan struct{}), seen: map[int]time.Duration{}, stats: map[int]*os.File{}}
	m.sample()
	base := maps.Clone(m.seen)
	go func() {
		defer close(m.done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-m.stop:
				m.sample()
				for _, f := range m.stats {
					f.Close()
				}
				for pid, cpu := range base {
					m.seen[pid] -= cpu
				}
				return
			case <-tick.C:
				m.sample()
			}
		}
	}()
	return m
}

// Stop ends the measurement and returns the processor time used since the start. A process that
// ended between two samples (100 ms apart) loses its last moments.
func (m *CPUMeter) Stop() time.Duration {
	close(m.stop)
	<-m.done
	var total time.Duration
	for _, cpu := range m.seen {
		total += cpu
	}
	return total
}

// sample reads the processor time of sshd, its descendants and every process seen before (a
// session process whose parent ended is no longer under sshd, but still counts).
func (m *CPUMeter) sample() {
	todo := []int{m.root}
	for pid := range m.seen {
		todo = append(todo, pid)
	}
	visited := map[int]bool{}
	for len(todo) > 0 {
		pid := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if visited[pid] {
			continue
		}
		visited[pid] = true
		cpu, ok := m.processCPU(pid)
		if !ok {
			continue
		}
		m.seen[pid] = max(m.seen[pid], cpu)
		children, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
		for _, f := range strings.Fields(string(children)) {
			if child, err := strconv.Atoi(f); err == nil {
				todo = append(todo, child)
			}
		}
	}
}

// processCPU is the user and system time of a process's own threads (utime and stime, fields 14
// and 15 of /proc/PID/stat, in clock ticks of 10 ms); false once the process has ended.
func (m *CPUMeter) processCPU(pid int) (time.Duration, bool) {
	f, ok := m.stats[pid]
	if !ok {
		var err error
		if f, err = os.Open(fmt.Sprintf("/proc/%d/stat", pid)); err != nil {
			return 0, false
		}
		m.stats[pid] = f
	}
	var buf [1024]byte
	n, err := f.ReadAt(buf[:], 0)
	if n == 0 && err != nil {
		f.Close()
		delete(m.stats, pid)
		return 0, false
	}
	stat := buf[:n]
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	if len(fields) < 13 {
		return 0, false
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, false
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, true
}

// Log returns what sshd logged so far (useful in a failing test's message).
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.logPath)
	return string(b)
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
