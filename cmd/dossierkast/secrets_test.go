package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/database/dbtest"
	"github.com/dossierkast/dossierkast/internal/datastream"
	"github.com/dossierkast/dossierkast/internal/org"
	"github.com/dossierkast/dossierkast/internal/secret"
)

// TestSecretsRotate stores a secret under SECRET_KEY_FILE, rotates to a new key file with the
// command, removes the old file and opens the secret with the new key alone.
func TestSecretsRotate(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	ctx := context.Background()
	dir := t.TempDir()
	oldFile, newFile := filepath.Join(dir, "old.key"), filepath.Join(dir, "new.key")
	getenv := testEnv(t, db, map[string]string{"SECRET_KEY_FILE": oldFile})

	oldKey, err := secret.LoadKeyFile(oldFile, true)
	if err != nil {
		t.Fatal(err)
	}
	tn, err := org.CreateTenant(ctx, db.Pool, "Arbo Noord", false)
	if err != nil {
		t.Fatal(err)
	}
	var id uuid.UUID
	err = database.InTenant(ctx, db.Pool, tn.ID, func(tx pgx.Tx) error {
		sid, err := secret.NewKeyring(oldKey).Store(ctx, tx, []byte("sftp-wachtwoord"))
		id = sid
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	if _, err := runCommand(t, getenv, "", "secrets", "rotate"); err == nil || !strings.Contains(err.Error(), "--new-key-file") {
		t.Errorf("rotate without --new-key-file: %v, want an error naming the flag", err)
	}
	if _, err := runCommand(t, getenv, "", "secrets", "rotate", "--new-key-file", oldFile); err == nil {
		t.Error("rotate to the same key: no error")
	}
	out, err := runCommand(t, getenv, "", "secrets", "rotate", "--new-key-file", newFile)
	if err != nil {
		t.Fatalf("secrets rotate: %v", err)
	}
	if !strings.Contains(out, "re-encrypted 1 secrets of 1 tenants") || !strings.Contains(out, "SECRET_KEY_FILE="+newFile) {
		t.Errorf("secrets rotate printed %q", out)
	}
	if err := os.Remove(oldFile); err != nil {
		t.Fatal(err)
	}
	newKey, err := secret.LoadKeyFile(newFile, false)
	if err != nil {
		t.Fatal(err)
	}
	err = database.InTenant(ctx, db.Pool, tn.ID, func(tx pgx.Tx) error {
		got, err := secret.NewKeyring(newKey).Load(ctx, tx, id)
		if err == nil && string(got) != "sftp-wachtwoord" {
			t.Errorf("secret after rotation = %q", got)
		}
		return err
	})
	if err != nil {
		t.Fatalf("open with the new key only: %v", err)
	}
}

var sftpLineRE = regexp.MustCompile(`hosted SFTP server on sftp://[^:]+:(\d+), host key (SHA256:\S+)`)

// TestServeProcessesShareSFTPHostKey starts two serve processes on one database and one
// SECRET_KEY_FILE: both hosted SFTP servers present the same host key, made once.
func TestServeProcessesShareSFTPHostKey(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	keyFile := filepath.Join(t.TempDir(), "secret.key")
	var fingerprints []string
	for _, name := range []string{"first", "second"} {
		p := startServe(t, name, testEnv(t, db, map[string]string{"SECRET_KEY_FILE": keyFile}))
		var m []string
		waitFor(t, 10*time.Second, name+" prints its SFTP server", func() (bool, string) {
			m = sftpLineRE.FindStringSubmatch(p.stdout.String())
			return m != nil, p.stdout.String()
		})
		port, _ := strconv.Atoi(m[1])
		line, err := datastream.FetchHostKey(context.Background(), "127.0.0.1", port, 10*time.Second)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := datastream.Fingerprint(line); got != m[2] {
			t.Errorf("%s presents %s, printed %s", name, got, m[2])
		}
		fingerprints = append(fingerprints, m[2])
	}
	if fingerprints[0] != fingerprints[1] {
		t.Errorf("the two processes present %s and %s", fingerprints[0], fingerprints[1])
	}
}
