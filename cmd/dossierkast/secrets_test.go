package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/database/dbtest"
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
