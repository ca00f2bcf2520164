package datastream_test

import (
	"context"
	"crypto/rand"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dossierkast/dossierkast/internal/datastream"
	"github.com/dossierkast/dossierkast/internal/datastream/sshdtest"
)

// benchSize is the file the SFTP benchmarks move: 1 GiB, or DK_BENCH_SFTP_BYTES.
func benchSize(b *testing.B) int64 {
	if v := os.Getenv("DK_BENCH_SFTP_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			b.Fatalf("DK_BENCH_SFTP_BYTES: %v", err)
		}
		return n
	}
	return 1 << 30
}

// writeRandomFile writes size bytes that do not compress (a random MiB, repeated) to path.
func writeRandomFile(b *testing.B, path string, size int64) {
	b.Helper()
	buf := make([]byte, 1<<20)
	_, _ = rand.Read(buf)
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	for left := size; left > 0; left -= int64(len(buf)) {
		if _, err := f.Write(buf[:min(left, int64(len(buf)))]); err != nil {
			b.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

// openSSHKey makes a key pair for OpenSSH's client and returns the private key's file and the
// public key's line.
func openSSHKey(b *testing.B) (string, string) {
	b.Helper()
	keyFile := filepath.Join(b.TempDir(), "id_ed25519")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", keyFile).CombinedOutput(); err != nil {
		b.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	pub, err := os.ReadFile(keyFile + ".pub")
	if err != nil {
		b.Fatal(err)
	}
	return keyFile, strings.TrimSpace(string(pub))
}

// sftpBatch runs OpenSSH's sftp client with the key against port, with the extra options
// before the destination, and returns how long it took and the processor time the client (sftp
// and the ssh process it runs) used.
func sftpBatch(b *testing.B, port int, user, keyFile string, options []string, commands ...string) (time.Duration, time.Duration) {
	b.Helper()
	batch := filepath.Join(b.TempDir(), "batch")
	if err := os.WriteFile(batch, []byte(strings.Join(commands, "\n")+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	args := append([]string{"-P", strconv.Itoa(port), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "LogLevel=ERROR", "-i", keyFile, "-o", "IdentitiesOnly=yes", "-b", batch}, options...)
	cmd := exec.Command("sftp", append(args, user+"@127.0.0.1")...)
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("sftp: %v\n%s", err, out)
	}
	return time.Since(start), cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}

// selfCPU is the processor time this process has used so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuPerGiB is processor seconds per GiB moved.
func cpuPerGiB(cpu time.Duration, size int64) float64 {
	return cpu.Seconds() * (1 << 30) / float64(size)
}

// peakRSSMB is this process's peak resident set so far, in MB (the benchmark process: the
// transport or the hosted server under test, plus the test binary around it).
func peakRSSMB() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Maxrss) / 1024 // Linux reports kilobytes
}

func mbps(size int64, d time.Duration) float64 { return float64(size) / 1e6 / d.Seconds() }

// BenchmarkUploadVsOpenSSH uploads the same 1 GiB file to a real OpenSSH sshd on loopback,
// once with OpenSSH's own `sftp put` (the baseline) and once through our external transport
// (.part, concurrent writes, rename), and reports both speeds, their ratio, this process's peak
// RSS and the processor time each side used per GiB. OpenSSH's client runs with its defaults.
// Run: go test -run '^$' -bench UploadVsOpenSSH -benchtime 1x ./internal/datastream/
func BenchmarkUploadVsOpenSSH(b *testing.B) {
	srv := sshdtest.Start(b)
	requireTools(b)
	size := benchSize(b)
	src := filepath.Join(b.TempDir(), "big.bin")
	writeRandomFile(b, src, size)
	keyFile, pub := openSSHKey(b)
	srv.AuthorizeKey(b, pub)
	c := datastream.ExternalConfig{Host: srv.Host, Port: srv.Port, User: srv.User, Password: srv.Password, HostKey: srv.HostKey, BaseDir: "/data"}
	ctx := context.Background()
	for b.Loop() {
		meter := srv.CPUMeter(b)
		openssh, opensshClient := sftpBatch(b, srv.Port, srv.User, keyFile, nil, "put "+src+" /data/openssh.bin")
		opensshServer := meter.Stop()
		f, err := os.Open(src)
		if err != nil {
			b.Fatal(err)
		}
		meter = srv.CPUMeter(b)
		self0 := selfCPU()
		start := time.Now()
		tr, err := datastream.DialExternal(ctx, c)
		if err != nil {
			b.Fatal(err)
		}
		n, err := tr.Upload(ctx, "ours.bin", f)
		tr.Close()
		f.Close()
		ours := time.Since(start)
		oursClient := selfCPU() - self0
		oursServer := meter.Stop()
		if err != nil || n != size {
			b.Fatalf("Upload = %d, %v", n, err)
		}
		b.ReportMetric(mbps(size, openssh), "MB/s_openssh_put")
		b.ReportMetric(mbps(size, ours), "MB/s_ours")
		b.ReportMetric(openssh.Seconds()/ours.Seconds(), "x_openssh")
		b.ReportMetric(peakRSSMB(), "MB_peak_rss")
		b.Logf("upload %d bytes: OpenSSH sftp put %.0f MB/s, our transport %.0f MB/s (%.2fx); peak RSS of this process %.0f MB",
			size, mbps(size, openssh), mbps(size, ours), openssh.Seconds()/ours.Seconds(), peakRSSMB())
		b.Logf("processor seconds per GiB: OpenSSH sftp put: client %.2f, sshd %.2f; ours: client %.2f, sshd %.2f",
			cpuPerGiB(opensshClient, size), cpuPerGiB(opensshServer, size), cpuPerGiB(oursClient, size), cpuPerGiB(oursServer, size))
		_ = os.Remove(srv.Path("/data/openssh.bin"))
		_ = os.Remove(srv.Path("/data/ours.bin"))
	}
}

// BenchmarkHostedDownloadVsOpenSSH downloads the same 1 GiB file with OpenSSH's `sftp get`, once
// from a real OpenSSH sshd (the baseline) and once from our hosted server (in this process, over
// the folder blob store), both from the page cache and with the same cipher (a sub-benchmark per
// cipher), and reports both speeds, their ratio, this process's peak RSS and the processor time
// each side used per GiB (on a shared machine a steadier figure than the speeds).
// Run: go test -run '^$' -bench HostedDownloadVsOpenSSH -benchtime 1x ./internal/datastream/
func BenchmarkHostedDownloadVsOpenSSH(b *testing.B) {
	srv := sshdtest.Start(b)
	requireTools(b)
	size := benchSize(b)
	writeRandomFile(b, srv.Path("/data/big.bin"), size)
	keyFile, pub := openSSHKey(b)
	srv.AuthorizeKey(b, pub)

	hb := &hostedBundle{accountBundle: setupAccounts(b)}
	ctx := context.Background()
	blobs := openBlobs(b)
	hb.blobs = blobs
	hb.port, hb.key = hb.startServer(b)
	a, _ := hb.account(b, "Bench", pub, nil)
	folder := datastream.NewFolder(hb.db.Pool, blobs, hb.tenantID, a.ID)
	f, err := os.Open(srv.Path("/data/big.bin"))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := folder.Upload(ctx, "big.bin", f); err != nil {
		b.Fatal(err)
	}
	f.Close()
	before := peakRSSMB()
	dst := filepath.Join(b.TempDir(), "got.bin")
	// Both servers read from the page cache: the blob store drops what it has written from the
	// cache (write-behind), and OpenSSH's copy was just written through it.
	warm := func() {
		b.Helper()
		for _, open := range []func() (io.ReadCloser, error){
			func() (io.ReadCloser, error) { return os.Open(srv.Path("/data/big.bin")) },
			func() (io.ReadCloser, error) { return folder.Open(ctx, "big.bin") },
		} {
			r, err := open()
			if err != nil {
				b.Fatal(err)
			}
			_, err = io.Copy(io.Discard, r)
			r.Close()
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	// Both servers encrypt alike in each run: OpenSSH's client is told the cipher (and MAC).
	// aes128-ctr with hmac-sha2-256-etm is what it picks by default from those our server
	// offers (it prefers umac, which x/crypto lacks); aes128-gcm is what it picks when a server
	// offers no CTR, and what x/crypto's client picks first.
	for _, alg := range []struct{ name, cipher, mac string }{
		{"aes128-ctr", "aes128-ctr", "hmac-sha2-256-etm@openssh.com"},
		{"aes128-gcm", "aes128-gcm@openssh.com", ""},
	} {
		options := []string{"-c", alg.cipher}
		if alg.mac != "" {
			options = append(options, "-o", "MACs="+alg.mac)
		}
		b.Run(alg.name, func(b *testing.B) {
			for b.Loop() {
				warm()
				meter := srv.CPUMeter(b)
				openssh, opensshClient := sftpBatch(b, srv.Port, srv.User, keyFile, options, "get /data/big.bin "+dst)
				opensshServer := meter.Stop()
				_ = os.Remove(dst)
				self0 := selfCPU()
				ours, oursClient := sftpBatch(b, hb.port, a.SFTPUser, keyFile, options, "get big.bin "+dst)
				oursServer := selfCPU() - self0
				if fi, err := os.Stat(dst); err != nil || fi.Size() != size {
					b.Fatalf("downloaded %v, %v; want %d bytes", fi, err, size)
				}
				_ = os.Remove(dst)
				b.ReportMetric(mbps(size, openssh), "MB/s_openssh_get")
				b.ReportMetric(mbps(size, ours), "MB/s_ours")
				b.ReportMetric(openssh.Seconds()/ours.Seconds(), "x_openssh")
				b.ReportMetric(peakRSSMB(), "MB_peak_rss")
				b.Logf("download %d bytes with sftp get %s: from OpenSSH %.0f MB/s, from our hosted server %.0f MB/s (%.2fx); "+
					"peak RSS of this process %.0f MB (%.0f MB before the downloads)",
					size, strings.Join(options, " "), mbps(size, openssh), mbps(size, ours), openssh.Seconds()/ours.Seconds(), peakRSSMB(), before)
				b.Logf("processor seconds per GiB: from OpenSSH: sshd %.2f, client %.2f; from ours: server %.2f, client %.2f",
					cpuPerGiB(opensshServer, size), cpuPerGiB(opensshClient, size), cpuPerGiB(oursServer, size), cpuPerGiB(oursClient, size))
			}
		})
	}
}

func requireTools(b *testing.B) {
	b.Helper()
	for _, tool := range []string{"sftp", "ssh-keygen"} {
		if _, err := exec.LookPath(tool); err != nil {
			b.Skipf("%s is not installed", tool)
		}
	}
}
