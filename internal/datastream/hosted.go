package datastream

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/subtle"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/auth"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/document"
	"github.com/dossierkast/dossierkast/internal/secret"
)

// hostKeyName names the hosted server's host key among the platform secrets.
const hostKeyName = "sftp_host_key"

// HostKey returns the hosted SFTP server's host key: made once (ed25519), kept sealed in the
// database, so every serve process and every restart presents the same key.
func HostKey(ctx context.Context, pool *pgxpool.Pool, keys *secret.Keyring) (ssh.Signer, error) {
	pemBytes, err := keys.PlatformSecret(ctx, pool, hostKeyName, func() ([]byte, error) {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		block, err := ssh.MarshalPrivateKey(priv, "dossierkast")
		if err != nil {
			return nil, err
		}
		return pem.EncodeToMemory(block), nil
	})
	if err != nil {
		return nil, fmt.Errorf("sftp host key: %w", err)
	}
	signer, err := ssh.ParsePrivateKey(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("sftp host key: %w", err)
	}
	return signer, nil
}

// Time-outs of the hosted server: the log-in must be done within loginTimeout, and a session
// that sends nothing for idleTimeout is closed.
const (
	loginTimeout = 30 * time.Second
	idleTimeout  = 10 * time.Minute
)

// Server is the hosted SFTP server: one account is one user, who sees only the account's folder
// and may list, read and delete there.
type Server struct {
	pool   *pgxpool.Pool
	blobs  document.BlobStore
	log    *slog.Logger
	config *ssh.ServerConfig

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	ln    net.Listener
}

// NewServer returns a hosted SFTP server presenting hostKey.
func NewServer(pool *pgxpool.Pool, blobs document.BlobStore, hostKey ssh.Signer, log *slog.Logger) *Server {
	s := &Server{pool: pool, blobs: blobs, log: log, conns: map[net.Conn]struct{}{}}
	s.config = &ssh.ServerConfig{
		PasswordCallback:  s.password,
		PublicKeyCallback: s.publicKey,
		ServerVersion:     "SSH-2.0-Dossierkast",
		MaxAuthTries:      3,
		// AES only: x/crypto's chacha20-poly1305 has no amd64 assembly and OpenSSH clients pick
		// it first when offered, which more than halved download speed. AES-GCM and AES-CTR run
		// on the CPU's AES instructions; CTR (with an SHA-2 MAC) keeps clients without GCM.
		Config: ssh.Config{Ciphers: []string{"aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "aes128-ctr", "aes192-ctr", "aes256-ctr"}},
	}
	s.config.AddHostKey(hostKey)
	return s
}

// hostedLogin is what the log-in of a hosted account needs.
type hostedLogin struct {
	TenantID     uuid.UUID
	AccountID    uuid.UUID
	PasswordHash string
	PublicKey    string
	Status       string
}

func (s *Server) findLogin(ctx context.Context, user string) (hostedLogin, bool, error) {
	var l hostedLogin
	err := s.pool.QueryRow(ctx, "SELECT tenant_id, account_id, password_hash, public_key, status FROM find_sftp_account($1)", user).
		Scan(&l.TenantID, &l.AccountID, &l.PasswordHash, &l.PublicKey, &l.Status)
	if database.IsNoRows(err) {
		return l, false, nil
	}
	return l, err == nil, err
}

func actorOf(meta ssh.ConnMetadata) audit.Actor {
	host, _, _ := net.SplitHostPort(meta.RemoteAddr().String())
	return audit.Actor{IP: host, UserAgent: "sftp " + string(meta.ClientVersion())}
}

func (s *Server) auditAccount(ctx context.Context, l hostedLogin, actor audit.Actor, action string, details map[string]any) {
	err := database.InTenant(ctx, s.pool, l.TenantID, func(tx pgx.Tx) error {
		return audit.Write(ctx, tx, actor, audit.Event{Action: action, SubjectType: "datastream_account", SubjectID: &l.AccountID, Details: details})
	})
	if err != nil {
		s.log.Error("sftp audit", "action", action, "err", err)
	}
}

// errRefused is the one answer to every refused log-in, whatever the reason.
var errRefused = errors.New("log-in refused")

func permissionsOf(l hostedLogin, method string) *ssh.Permissions {
	return &ssh.Permissions{Extensions: map[string]string{"tenant": l.TenantID.String(), "account": l.AccountID.String(), "method": method}}
}

// password checks a password log-in under the log-in throttle: failures are counted per user
// name and address as for the web log-in (the throttle's table, with "sftp:" before the user
// name), and an attempt while the throttle holds is refused without looking at the password.
func (s *Server) password(meta ssh.ConnMetadata, password []byte) (*ssh.Permissions, error) {
	ctx, cancel := context.WithTimeout(context.Background(), loginTimeout)
	defer cancel()
	actor := actorOf(meta)
	key := "sftp:" + meta.User()
	l, found, err := s.findLogin(ctx, meta.User())
	if err != nil {
		s.log.Error("sftp log-in", "err", err)
		return nil, errRefused
	}
	wait, err := auth.PairWait(ctx, s.pool, key, actor.IP)
	if err != nil {
		s.log.Error("sftp throttle", "err", err)
		return nil, errRefused
	}
	if wait > 0 {
		if found {
			s.auditAccount(ctx, l, actor, audit.SFTPLoginFailed, map[string]any{"method": "password", "reason": "throttled",
				"wait_seconds": int(wait.Seconds()) + 1})
		}
		return nil, errRefused
	}
	hash := l.PasswordHash
	if !found || hash == "" {
		hash = unknownHash
	}
	ok, err := auth.VerifyPassword(hash, string(password))
	if err != nil {
		s.log.Error("sftp log-in", "err", err)
		return nil, errRefused
	}
	if !ok || !found || l.PasswordHash == "" || l.Status != StatusActive {
		if err := auth.RecordFailure(ctx, s.pool, key, actor.IP); err != nil {
			s.log.Error("sftp throttle", "err", err)
		}
		if found {
			reason := "password"
			if ok {
				reason = l.Status
			}
			s.auditAccount(ctx, l, actor, audit.SFTPLoginFailed, map[string]any{"method": "password", "reason": reason})
		}
		return nil, errRefused
	}
	if err := auth.ClearFailures(ctx, s.pool, key, actor.IP); err != nil {
		s.log.Error("sftp throttle", "err", err)
	}
	return permissionsOf(l, "password"), nil
}

// unknownHash is verified against when no account matches, so an unknown user name takes as long
// as a wrong password.
var unknownHash, _ = auth.HashPassword("no hosted account has this password")

// publicKey accepts the account's pasted key. A client offers its keys one by one, so a key that
// is not the account's is no failed log-in; a blocked or archived account is refused, audited.
func (s *Server) publicKey(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
	ctx, cancel := context.WithTimeout(context.Background(), loginTimeout)
	defer cancel()
	l, found, err := s.findLogin(ctx, meta.User())
	if err != nil || !found || l.PublicKey == "" {
		return nil, errRefused
	}
	want, err := ParsePublicKey(l.PublicKey)
	if err != nil || subtle.ConstantTimeCompare(want.Marshal(), key.Marshal()) != 1 {
		return nil, errRefused
	}
	if l.Status != StatusActive {
		s.auditAccount(ctx, l, actorOf(meta), audit.SFTPLoginFailed, map[string]any{"method": "key", "reason": l.Status})
		return nil, errRefused
	}
	return permissionsOf(l, "key"), nil
}

// Serve accepts connections on ln until Close.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		s.mu.Lock()
		s.conns[conn] = struct{}{}
		s.mu.Unlock()
		go func() {
			defer func() {
				conn.Close()
				s.mu.Lock()
				delete(s.conns, conn)
				s.mu.Unlock()
			}()
			s.handle(conn)
		}()
	}
}

// Close stops accepting and ends every connection.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		s.ln.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	return nil
}

// idleConn closes the connection when nothing arrives for idleTimeout.
type idleConn struct{ net.Conn }

func (c idleConn) Read(b []byte) (int, error) {
	_ = c.SetReadDeadline(time.Now().Add(idleTimeout))
	return c.Conn.Read(b)
}

func (s *Server) handle(conn net.Conn) {
	login := time.AfterFunc(loginTimeout, func() { conn.Close() })
	sc, chans, reqs, err := ssh.NewServerConn(idleConn{conn}, s.config)
	login.Stop()
	if err != nil {
		return
	}
	defer sc.Close()
	go ssh.DiscardRequests(reqs)
	ctx := context.Background()
	tenantID, err1 := uuid.Parse(sc.Permissions.Extensions["tenant"])
	accountID, err2 := uuid.Parse(sc.Permissions.Extensions["account"])
	if err1 != nil || err2 != nil {
		return
	}
	l := hostedLogin{TenantID: tenantID, AccountID: accountID}
	actor := actorOf(sc)
	s.auditAccount(ctx, l, actor, audit.SFTPLoginSucceeded, map[string]any{"method": sc.Permissions.Extensions["method"]})
	h := &handlers{s: s, folder: NewFolder(s.pool, s.blobs, tenantID, accountID), login: l, actor: actor}
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, requests, err := nc.Accept()
		if err != nil {
			return
		}
		go s.session(ch, requests, h)
	}
}

// session answers the one request a session may make here, the sftp subsystem, and serves it.
func (s *Server) session(ch ssh.Channel, requests <-chan *ssh.Request, h *handlers) {
	defer ch.Close()
	for req := range requests {
		if req.Type == "subsystem" && len(req.Payload) >= 4 && string(req.Payload[4:]) == "sftp" {
			_ = req.Reply(true, nil)
			// Replies leave through a batchWriter (whole packets, full SSH packets, sent beside
			// the file reads), and the allocator reuses the request and reply buffers instead
			// of allocating 32 KiB or more per read.
			srv := sftp.NewRequestServer(batchedChannel{Reader: ch, batchWriter: newBatchWriter(ch)},
				sftp.Handlers{FileGet: h, FilePut: h, FileCmd: h, FileList: h}, sftp.WithRSAllocator())
			if err := srv.Serve(); err != nil && !errors.Is(err, io.EOF) {
				s.log.Debug("sftp session", "err", err)
			}
			srv.Close()
			return
		}
		_ = req.Reply(false, nil)
	}
}

// handlers serve one account's folder to the sftp request server: read, list and delete; every
// change but delete is refused.
type handlers struct {
	s      *Server
	folder *Folder
	login  hostedLogin
	actor  audit.Actor
}

// active reports whether the account may still use its session: blocked or archived since the
// log-in ends what it may do.
func (h *handlers) active(ctx context.Context) bool {
	var status string
	err := database.InTenant(ctx, h.s.pool, h.login.TenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, "SELECT status FROM datastream_accounts WHERE id = $1", h.login.AccountID).Scan(&status)
	})
	return err == nil && status == StatusActive
}

// Fileread opens a file for reading, audited (sftp.downloaded).
func (h *handlers) Fileread(r *sftp.Request) (io.ReaderAt, error) {
	ctx := r.Context()
	if !h.active(ctx) {
		return nil, sftp.ErrSSHFxPermissionDenied
	}
	e, err := h.folder.file(ctx, r.Filepath)
	if err != nil {
		return nil, notExist(err)
	}
	h.s.auditAccount(ctx, h.login, h.actor, audit.SFTPDownloaded, map[string]any{"path": e.Path, "size": e.Size})
	if fstore, ok := h.s.blobs.(document.FileBlobStore); ok {
		f, err := fstore.OpenFile(ctx, e.key)
		if err != nil {
			return nil, notExist(err)
		}
		return f, nil // *os.File's ReadAt is safe for concurrent, out-of-order reads
	}
	return &blobReaderAt{ctx: ctx, blobs: h.s.blobs, key: e.key}, nil
}

func notExist(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return sftp.ErrSSHFxNoSuchFile
	}
	return err
}

// Filewrite refuses: a hosted account only receives what Dossierkast delivers.
func (h *handlers) Filewrite(*sftp.Request) (io.WriterAt, error) {
	return nil, sftp.ErrSSHFxPermissionDenied
}

// Filecmd allows Remove of a file (a consumer deletes what it picked up), audited
// (sftp.deleted); rename, mkdir, rmdir, setstat and links are refused.
func (h *handlers) Filecmd(r *sftp.Request) error {
	if r.Method != "Remove" {
		return sftp.ErrSSHFxPermissionDenied
	}
	ctx := r.Context()
	if !h.active(ctx) {
		return sftp.ErrSSHFxPermissionDenied
	}
	p := rel(r.Filepath)
	if err := h.folder.Remove(ctx, p); err != nil {
		return notExist(err)
	}
	h.s.auditAccount(ctx, h.login, h.actor, audit.SFTPDeleted, map[string]any{"path": p})
	return nil
}

// Filelist answers List and Stat; Readlink is refused (the folder holds no links).
func (h *handlers) Filelist(r *sftp.Request) (sftp.ListerAt, error) {
	ctx := r.Context()
	if !h.active(ctx) {
		return nil, sftp.ErrSSHFxPermissionDenied
	}
	switch r.Method {
	case "List":
		entries, err := h.folder.ReadDir(ctx, r.Filepath)
		if err != nil {
			return nil, notExist(err)
		}
		list := make(listerAt, 0, len(entries))
		for _, e := range entries {
			list = append(list, fileInfo(e))
		}
		return list, nil
	case "Stat":
		e, err := h.folder.Stat(ctx, r.Filepath)
		if err != nil {
			return nil, notExist(err)
		}
		e.Path = path.Base("/" + e.Path)
		return listerAt{fileInfo(e)}, nil
	}
	return nil, sftp.ErrSSHFxOpUnsupported
}

type listerAt []os.FileInfo

func (l listerAt) ListAt(out []os.FileInfo, offset int64) (int, error) {
	if offset >= int64(len(l)) {
		return 0, io.EOF
	}
	n := copy(out, l[offset:])
	if n < len(out) {
		return n, io.EOF
	}
	return n, nil
}

// entryInfo is an Entry as an os.FileInfo: files read-only, folders listable.
type entryInfo struct{ e Entry }

func fileInfo(e Entry) os.FileInfo { return entryInfo{e} }

func (i entryInfo) Name() string       { return path.Base("/" + i.e.Path) }
func (i entryInfo) Size() int64        { return i.e.Size }
func (i entryInfo) ModTime() time.Time { return i.e.ModTime }
func (i entryInfo) IsDir() bool        { return i.e.IsDir }
func (i entryInfo) Sys() any           { return nil }
func (i entryInfo) Mode() os.FileMode {
	if i.e.IsDir {
		return os.ModeDir | 0o555
	}
	return 0o444
}

// blobReaderAt reads a blob of object storage at the offsets the request server asks: it keeps
// one range reader going while reads follow each other, and opens a new one on a jump.
type blobReaderAt struct {
	ctx   context.Context
	blobs document.BlobStore
	key   string
	mu    sync.Mutex
	rc    io.ReadCloser
	pos   int64
}

func (b *blobReaderAt) ReadAt(p []byte, off int64) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.rc == nil || off != b.pos {
		if b.rc != nil {
			b.rc.Close()
		}
		rc, err := b.blobs.NewRangeReader(b.ctx, b.key, off, -1)
		if err != nil {
			b.rc = nil
			return 0, err
		}
		b.rc, b.pos = rc, off
	}
	n, err := io.ReadFull(b.rc, p)
	b.pos += int64(n)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = io.EOF
	}
	return n, err
}

func (b *blobReaderAt) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.rc != nil {
		return b.rc.Close()
	}
	return nil
}
