package datastream

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/dossierkast/dossierkast/internal/datastream/sshdtest"
)

// OpenSSH's server states its limits, and uploads then go in writes of 255 KiB, which it takes
// whole and in order.
func TestTransferLimitOfOpenSSH(t *testing.T) {
	srv := sshdtest.Start(t)
	client, err := ssh.Dial("tcp", srv.Addr(), &ssh.ClientConfig{User: srv.User,
		Auth: []ssh.AuthMethod{ssh.Password(srv.Password)}, HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if got := transferLimit(client); got != maxSFTPPacket {
		t.Fatalf("transferLimit = %d, want %d (OpenSSH accepts 256 KiB less 1 KiB)", got, maxSFTPPacket)
	}

	tr, err := DialExternal(context.Background(), ExternalConfig{Host: srv.Host, Port: srv.Port, User: srv.User,
		Password: srv.Password, HostKey: srv.HostKey, BaseDir: "/data"})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	want := make([]byte, 3<<20+12345)
	_, _ = rand.Read(want)
	if n, err := tr.Upload(context.Background(), "big.bin", bytes.NewReader(want)); err != nil || n != int64(len(want)) {
		t.Fatalf("Upload = %d, %v", n, err)
	}
	got, err := os.ReadFile(srv.Path("/data/big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("the uploaded file differs from what was sent")
	}
}
