package datastream

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// The steps of a connection and of a transport's operations, named in StepError.
const (
	StepDial      = "dial"      // TCP connection
	StepHandshake = "handshake" // SSH handshake, the host key
	StepHostKey   = "host_key"  // the presented host key is not the pinned one
	StepAuth      = "auth"      // log-in
	StepSFTP      = "sftp"      // the SFTP subsystem
	StepBaseDir   = "base_dir"  // the base folder exists
	StepMkdir     = "mkdir"
	StepWrite     = "write" // writing the temporary .part file
	StepRename    = "rename"
	StepList      = "list"
	StepOpen      = "open"
	StepRead      = "read"
	StepRemove    = "remove"
)

// ErrTimeout means an operation made no progress within its time-out.
var ErrTimeout = errors.New("timed out")

// StepError is a failure of one step of a connection or operation.
type StepError struct {
	Step string
	Path string // the file or folder concerned, if any
	Err  error
}

func (e *StepError) Error() string {
	if e.Path != "" {
		return fmt.Sprintf("sftp %s %s: %v", e.Step, e.Path, e.Err)
	}
	return fmt.Sprintf("sftp %s: %v", e.Step, e.Err)
}

func (e *StepError) Unwrap() error { return e.Err }

// HostKeyMismatchError means the server presented another host key than the pinned one: the
// connection is refused until an administrator accepts the new key deliberately.
type HostKeyMismatchError struct {
	Pinned    string // fingerprint of the pinned key
	Presented string // fingerprint of the key the server showed
	// PresentedKey is the presented key in authorized_keys form, to accept it.
	PresentedKey string
}

func (e *HostKeyMismatchError) Error() string {
	return fmt.Sprintf("host key mismatch: pinned %s, server presented %s", e.Pinned, e.Presented)
}

// Default time-outs of an external connection.
const (
	DefaultDialTimeout = 15 * time.Second
	DefaultOpTimeout   = 60 * time.Second
)

// ExternalConfig is how to reach an external SFTP server.
type ExternalConfig struct {
	Host string
	Port int
	User string
	// Password, or PrivateKey (OpenSSH PEM); one of them.
	Password   string
	PrivateKey []byte
	// HostKey is the pinned host key in authorized_keys form. Dial refuses any other.
	HostKey string
	// BaseDir is the remote folder every path is relative to ("" is the log-in folder).
	BaseDir string
	// DialTimeout bounds the connection and handshake; OpTimeout bounds each operation's wait
	// for progress (a long upload that keeps moving does not time out). Zero: the defaults.
	DialTimeout, OpTimeout time.Duration
}

func (c ExternalConfig) addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

func (c ExternalConfig) dialTimeout() time.Duration {
	if c.DialTimeout > 0 {
		return c.DialTimeout
	}
	return DefaultDialTimeout
}

// errKeySeen stops a handshake once the host key is known: FetchHostKey needs nothing more.
var errKeySeen = errors.New("host key seen")

// FetchHostKey connects to host:port and returns the host key the server presents, in
// authorized_keys form, without logging in.
func FetchHostKey(ctx context.Context, host string, port int, timeout time.Duration) (string, error) {
	c := ExternalConfig{Host: host, Port: port, DialTimeout: timeout}
	var seen ssh.PublicKey
	conf := &ssh.ClientConfig{User: "dossierkast", Timeout: c.dialTimeout(),
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			seen = key
			return errKeySeen
		}}
	conn, err := dialTCP(ctx, c)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(c.dialTimeout()))
	_, _, _, err = ssh.NewClientConn(conn, c.addr(), conf)
	if seen == nil {
		return "", &StepError{Step: StepHandshake, Err: err}
	}
	return KeyLine(seen), nil
}

func dialTCP(ctx context.Context, c ExternalConfig) (net.Conn, error) {
	d := net.Dialer{Timeout: c.dialTimeout()}
	conn, err := d.DialContext(ctx, "tcp", c.addr())
	if err != nil {
		return nil, &StepError{Step: StepDial, Path: c.addr(), Err: err}
	}
	return conn, nil
}

// External is a connection to an external SFTP server: a Transport. After a time-out or a
// cancelled context the connection is closed and every later call fails.
type External struct {
	ssh       *ssh.Client
	client    *sftp.Client
	base      string
	opTimeout time.Duration
}

var _ Transport = (*External)(nil)

// DialExternal connects and logs in, accepting only the pinned host key and offering only its
// algorithm. A different key fails with a *HostKeyMismatchError (inside a StepError of step
// host_key); other failures are StepErrors of the step that failed.
func DialExternal(ctx context.Context, c ExternalConfig) (*External, error) {
	if c.HostKey == "" {
		return nil, &StepError{Step: StepHostKey, Err: errors.New("no pinned host key: test the connection and confirm the key first")}
	}
	pinned, err := ParsePublicKey(c.HostKey)
	if err != nil {
		return nil, &StepError{Step: StepHostKey, Err: err}
	}
	var auth []ssh.AuthMethod
	switch {
	case len(c.PrivateKey) > 0:
		signer, err := ssh.ParsePrivateKey(c.PrivateKey)
		if err != nil {
			return nil, &StepError{Step: StepAuth, Err: fmt.Errorf("private key: %w", err)}
		}
		auth = append(auth, ssh.PublicKeys(signer))
	case c.Password != "":
		auth = append(auth, ssh.Password(c.Password))
	default:
		return nil, &StepError{Step: StepAuth, Err: errors.New("no password and no key")}
	}
	var mismatch *HostKeyMismatchError
	conf := &ssh.ClientConfig{User: c.User, Auth: auth, Timeout: c.dialTimeout(),
		HostKeyAlgorithms: hostKeyAlgorithms(pinned),
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			if bytes.Equal(key.Marshal(), pinned.Marshal()) {
				return nil
			}
			mismatch = &HostKeyMismatchError{Pinned: ssh.FingerprintSHA256(pinned), Presented: ssh.FingerprintSHA256(key), PresentedKey: KeyLine(key)}
			return mismatch
		}}
	conn, err := dialTCP(ctx, c)
	if err != nil {
		return nil, err
	}
	// The deadline covers the handshake and log-in; the SFTP session clears it.
	_ = conn.SetDeadline(time.Now().Add(c.dialTimeout()))
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	sc, chans, reqs, err := ssh.NewClientConn(conn, c.addr(), conf)
	stop()
	if err != nil {
		conn.Close()
		if mismatch != nil {
			return nil, &StepError{Step: StepHostKey, Err: mismatch}
		}
		if isAuthError(err) {
			return nil, &StepError{Step: StepAuth, Err: err}
		}
		if strings.Contains(err.Error(), "no common algorithm for host key") {
			// The server no longer has a key of the pinned type: show what it has instead.
			if line, ferr := FetchHostKey(ctx, c.Host, c.Port, c.DialTimeout); ferr == nil {
				return nil, &StepError{Step: StepHostKey, Err: &HostKeyMismatchError{Pinned: ssh.FingerprintSHA256(pinned),
					Presented: Fingerprint(line), PresentedKey: line}}
			}
		}
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, &StepError{Step: StepHandshake, Err: err}
	}
	client := ssh.NewClient(sc, chans, reqs)
	opts := []sftp.ClientOption{sftp.UseConcurrentWrites(true)}
	if n := transferLimit(client); n > defaultSFTPPacket {
		opts = append(opts, sftp.MaxPacketUnchecked(n))
	}
	sc2, err := sftp.NewClient(client, opts...)
	if err != nil {
		client.Close()
		return nil, &StepError{Step: StepSFTP, Err: err}
	}
	_ = conn.SetDeadline(time.Time{})
	opTimeout := c.OpTimeout
	if opTimeout <= 0 {
		opTimeout = DefaultOpTimeout
	}
	return &External{ssh: client, client: sc2, base: c.BaseDir, opTimeout: opTimeout}, nil
}

// SFTP packet sizes: what every server must accept, and the largest read or write asked for
// (OpenSSH's sftp-server accepts 256 KiB less 1 KiB).
const (
	defaultSFTPPacket = 32 * 1024
	maxSFTPPacket     = 255 * 1024
)

// transferLimit returns the largest read and write the server accepts, as it states them with
// OpenSSH's limits@openssh.com extension, asked on an SFTP session of its own (pkg/sftp does not
// ask), up to maxSFTPPacket; 0 when it does not say. Larger writes mean fewer requests for the
// server to answer: 1 GiB is 4,112 writes instead of 32,768.
func transferLimit(c *ssh.Client) int {
	ch, reqs, err := c.OpenChannel("session", nil)
	if err != nil {
		return 0
	}
	defer ch.Close()
	go ssh.DiscardRequests(reqs)
	if ok, err := ch.SendRequest("subsystem", true, ssh.Marshal(struct{ Name string }{"sftp"})); err != nil || !ok {
		return 0
	}
	send := func(typ byte, body []byte) error {
		p := binary.BigEndian.AppendUint32(nil, uint32(1+len(body)))
		_, err := ch.Write(append(append(p, typ), body...))
		return err
	}
	recv := func() (byte, []byte, error) {
		var head [5]byte
		if _, err := io.ReadFull(ch, head[:]); err != nil {
			return 0, nil, err
		}
		n := binary.BigEndian.Uint32(head[:4])
		if n < 1 || n > 64*1024 {
			return 0, nil, errors.New("unexpected SFTP packet length")
		}
		body := make([]byte, n-1)
		_, err := io.ReadFull(ch, body)
		return head[4], body, err
	}
	const (
		fxpInit, fxpVersion, fxpExtended, fxpExtendedReply = 1, 2, 200, 201
		limitsExt                                          = "limits@openssh.com"
	)
	if send(fxpInit, binary.BigEndian.AppendUint32(nil, 3)) != nil {
		return 0
	}
	typ, body, err := recv()
	if err != nil || typ != fxpVersion || len(body) < 4 || !slices.Contains(extensionNames(body[4:]), limitsExt) {
		return 0
	}
	req := binary.BigEndian.AppendUint32(nil, 1)
	req = binary.BigEndian.AppendUint32(req, uint32(len(limitsExt)))
	if send(fxpExtended, append(req, limitsExt...)) != nil {
		return 0
	}
	// The reply: request id, then max-packet-length, max-read-length, max-write-length and
	// max-open-handles, each a uint64 (0: no limit stated).
	typ, body, err = recv()
	if err != nil || typ != fxpExtendedReply || len(body) < 4+4*8 {
		return 0
	}
	read, write := binary.BigEndian.Uint64(body[12:20]), binary.BigEndian.Uint64(body[20:28])
	if read == 0 || write == 0 {
		return 0
	}
	return int(min(read, write, maxSFTPPacket))
}

// extensionNames returns the names of the extensions in an SFTP version packet's tail: pairs of
// strings, a name and its data.
func extensionNames(b []byte) []string {
	var names []string
	for len(b) >= 4 {
		n := int(binary.BigEndian.Uint32(b))
		if len(b) < 4+n+4 {
			break
		}
		name := string(b[4 : 4+n])
		b = b[4+n:]
		d := int(binary.BigEndian.Uint32(b))
		if len(b) < 4+d {
			break
		}
		b = b[4+d:]
		names = append(names, name)
	}
	return names
}

func isAuthError(err error) bool {
	return strings.Contains(err.Error(), "unable to authenticate")
}

// remote returns the server path of name, relative to the base folder: ".." and a leading "/"
// cannot leave it.
func (e *External) remote(name string) string {
	clean := path.Clean("/" + name)
	if e.base != "" {
		return path.Join(e.base, clean)
	}
	if clean == "/" {
		return "."
	}
	return strings.TrimPrefix(clean, "/")
}

// watch guards one operation: when it makes no progress (touch) within the time-out, or ctx
// ends, the connection is closed, which ends every pending request.
type watch struct {
	e       *External
	timer   *time.Timer
	stopCtx func() bool
	fired   atomic.Bool
	ctx     context.Context
}

func (e *External) watch(ctx context.Context) *watch {
	w := &watch{e: e, ctx: ctx}
	w.timer = time.AfterFunc(e.opTimeout, func() {
		w.fired.Store(true)
		e.ssh.Close()
	})
	w.stopCtx = context.AfterFunc(ctx, func() { e.ssh.Close() })
	return w
}

func (w *watch) touch() { w.timer.Reset(w.e.opTimeout) }

// done ends the guard and wraps err, if any, in the step that failed.
func (w *watch) done(step, name string, err error) error {
	w.timer.Stop()
	w.stopCtx()
	if err == nil {
		return nil
	}
	switch {
	case w.fired.Load():
		err = ErrTimeout
	case w.ctx.Err() != nil:
		err = w.ctx.Err()
	}
	return &StepError{Step: step, Path: name, Err: err}
}

// MkdirAll makes dir and its missing parents under the base folder.
func (e *External) MkdirAll(ctx context.Context, dir string) error {
	w := e.watch(ctx)
	return w.done(StepMkdir, dir, e.client.MkdirAll(e.remote(dir)))
}

// progressReader touches its watch on every read, so a transfer that moves never times out.
type progressReader struct {
	r io.Reader
	w *watch
}

func (p progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.w.touch()
	return n, err
}

// Upload writes r to name+".part" with concurrent writes, then renames it over name (POSIX
// rename, replacing a file there). On failure the temporary file is removed.
func (e *External) Upload(ctx context.Context, name string, r io.Reader) (int64, error) {
	target := e.remote(name)
	tmp := target + ".part"
	w := e.watch(ctx)
	f, err := e.client.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
	if err != nil {
		return 0, w.done(StepWrite, name, err)
	}
	n, err := f.ReadFromWithConcurrency(progressReader{r: r, w: w}, 0)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		err = w.done(StepWrite, name, err)
		e.removeQuietly(tmp)
		return n, err
	}
	w.touch()
	if err := e.rename(tmp, target); err != nil {
		err = w.done(StepRename, name, err)
		e.removeQuietly(tmp)
		return n, err
	}
	return n, w.done(StepRename, name, nil)
}

// rename moves tmp over target: with OpenSSH's posix-rename where the server has it, else by
// removing target first (not atomic, but the only way on such a server).
func (e *External) rename(tmp, target string) error {
	if _, ok := e.client.HasExtension("posix-rename@openssh.com"); ok {
		return e.client.PosixRename(tmp, target)
	}
	if err := e.client.Remove(target); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return e.client.Rename(tmp, target)
}

// removeQuietly removes a temporary file after a failure, within a short time of its own: the
// failure is what the caller reports.
func (e *External) removeQuietly(p string) {
	done := make(chan struct{})
	go func() {
		_ = e.client.Remove(p)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
}

// List returns the entries of dir, sorted by name.
func (e *External) List(ctx context.Context, dir string) ([]FileInfo, error) {
	w := e.watch(ctx)
	entries, err := e.client.ReadDir(e.remote(dir))
	if err := w.done(StepList, dir, err); err != nil {
		return nil, err
	}
	list := make([]FileInfo, 0, len(entries))
	for _, fi := range entries {
		list = append(list, FileInfo{Name: fi.Name(), Size: fi.Size(), ModTime: fi.ModTime(), IsDir: fi.IsDir()})
	}
	slices.SortFunc(list, func(a, b FileInfo) int { return strings.Compare(a.Name, b.Name) })
	return list, nil
}

// Open streams the file name; reading keeps the operation's time-out moving.
func (e *External) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	w := e.watch(ctx)
	f, err := e.client.Open(e.remote(name))
	if err != nil {
		return nil, w.done(StepOpen, name, err)
	}
	fi, err := f.Stat()
	if err == nil && fi.IsDir() {
		err = errors.New("is a folder")
	}
	if err != nil {
		f.Close()
		return nil, w.done(StepOpen, name, err)
	}
	return &remoteFile{f: f, w: w, name: name}, nil
}

type remoteFile struct {
	f    *sftp.File
	w    *watch
	name string
	once sync.Once
}

func (r *remoteFile) Read(b []byte) (int, error) {
	n, err := r.f.Read(b)
	r.w.touch()
	if err != nil && err != io.EOF {
		return n, &StepError{Step: StepRead, Path: r.name, Err: err}
	}
	return n, err
}

// WriteTo is the fast path of io.Copy: pkg/sftp reads ahead with concurrent requests.
func (r *remoteFile) WriteTo(dst io.Writer) (int64, error) {
	n, err := r.f.WriteTo(progressWriter{w: dst, watch: r.w})
	if err != nil {
		return n, &StepError{Step: StepRead, Path: r.name, Err: err}
	}
	return n, nil
}

type progressWriter struct {
	w     io.Writer
	watch *watch
}

func (p progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.watch.touch()
	return n, err
}

func (r *remoteFile) Close() error {
	err := r.f.Close()
	r.once.Do(func() { _ = r.w.done(StepRead, r.name, nil) })
	return err
}

// Remove deletes the file name.
func (e *External) Remove(ctx context.Context, name string) error {
	w := e.watch(ctx)
	return w.done(StepRemove, name, e.client.Remove(e.remote(name)))
}

// Close ends the connection.
func (e *External) Close() error {
	e.client.Close()
	return e.ssh.Close()
}

// Check is one step of a connection test and how it went.
type Check struct {
	Step string
	Err  error // nil: the step succeeded
}

// ConnectionTest is what TestConnection found.
type ConnectionTest struct {
	// HostKey is the key the server presented (authorized_keys form) and Fingerprint its
	// SHA-256 fingerprint; empty when the server could not be reached.
	HostKey, Fingerprint string
	// Unconfirmed: no key is pinned yet, so nothing further was tried; the administrator
	// must confirm HostKey first.
	Unconfirmed bool
	Checks      []Check
}

// OK reports whether every step succeeded and the key was pinned.
func (t ConnectionTest) OK() bool {
	if t.Unconfirmed || len(t.Checks) == 0 {
		return false
	}
	for _, c := range t.Checks {
		if c.Err != nil {
			return false
		}
	}
	return true
}

// TestConnection fetches the server's host key; with a pinned key it then logs in and checks
// that the base folder exists and is writable, by writing, renaming and deleting a probe file.
// It stops at the first step that fails.
func TestConnection(ctx context.Context, c ExternalConfig) ConnectionTest {
	var res ConnectionTest
	line, err := FetchHostKey(ctx, c.Host, c.Port, c.DialTimeout)
	if err != nil {
		var se *StepError
		if errors.As(err, &se) {
			res.Checks = append(res.Checks, Check{Step: se.Step, Err: err})
		} else {
			res.Checks = append(res.Checks, Check{Step: StepDial, Err: err})
		}
		return res
	}
	res.HostKey, res.Fingerprint = line, Fingerprint(line)
	if c.HostKey == "" {
		res.Unconfirmed = true
		return res
	}
	add := func(step string, err error) bool {
		res.Checks = append(res.Checks, Check{Step: step, Err: err})
		return err == nil
	}
	e, err := DialExternal(ctx, c)
	if err != nil {
		var se *StepError
		step := StepHandshake
		if errors.As(err, &se) {
			step = se.Step
		}
		add(step, err)
		return res
	}
	defer e.Close()
	add(StepAuth, nil)
	w := e.watch(ctx)
	fi, err := e.client.Stat(e.remote(""))
	if err == nil && !fi.IsDir() {
		err = errors.New("not a folder")
	}
	if !add(StepBaseDir, w.done(StepBaseDir, c.BaseDir, err)) {
		return res
	}
	probe := ".dossierkast-probe-" + randomHex(6)
	w = e.watch(ctx)
	f, err := e.client.OpenFile(e.remote(probe+".part"), os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
	if err == nil {
		_, err = f.Write([]byte("dossierkast connection test\n"))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if !add(StepWrite, w.done(StepWrite, probe+".part", err)) {
		return res
	}
	w = e.watch(ctx)
	if !add(StepRename, w.done(StepRename, probe, e.rename(e.remote(probe+".part"), e.remote(probe)))) {
		e.removeQuietly(e.remote(probe + ".part"))
		return res
	}
	w = e.watch(ctx)
	add(StepRemove, w.done(StepRemove, probe, e.client.Remove(e.remote(probe))))
	return res
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
