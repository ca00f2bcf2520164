package secret_test

import (
	"bytes"
	"context"
	"encoding/hex"
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

func TestSealOpen(t *testing.T) {
	t.Parallel()
	k := secret.GenerateKey()
	ring := secret.NewKeyring(k)
	id, sealed := ring.Seal([]byte("hunter2-geheim"), []byte("ad"))
	if id != k.ID() {
		t.Errorf("key id = %s, want %s", id, k.ID())
	}
	if bytes.Contains(sealed, []byte("hunter2")) {
		t.Fatal("sealed value contains the plaintext")
	}
	got, err := ring.Open(id, sealed, []byte("ad"))
	if err != nil || string(got) != "hunter2-geheim" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	t.Run("OtherAssociatedData", func(t *testing.T) {
		if _, err := ring.Open(id, sealed, []byte("other row")); err == nil {
			t.Error("opened with other associated data")
		}
	})
	t.Run("Tampered", func(t *testing.T) {
		bad := bytes.Clone(sealed)
		bad[len(bad)-1] ^= 1
		if _, err := ring.Open(id, bad, []byte("ad")); err == nil {
			t.Error("opened a tampered value")
		}
	})
	t.Run("UnknownKey", func(t *testing.T) {
		other := secret.NewKeyring(secret.GenerateKey())
		if _, err := other.Open(id, sealed, []byte("ad")); !secret.IsUnknownKey(err) {
			t.Errorf("Open with another key: %v, want ErrUnknownKey", err)
		}
	})
	t.Run("OlderKeyOpens", func(t *testing.T) {
		newer := secret.NewKeyring(secret.GenerateKey(), k)
		if got, err := newer.Open(id, sealed, []byte("ad")); err != nil || string(got) != "hunter2-geheim" {
			t.Errorf("Open with the old key in the ring = %q, %v", got, err)
		}
	})
}

func TestLoadKeyFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "secret.key")
	if _, err := secret.LoadKeyFile(path, false); err == nil {
		t.Fatal("missing key file without create: no error")
	}
	k, err := secret.LoadKeyFile(path, true)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %v, want 0600", fi.Mode().Perm())
	}
	again, err := secret.LoadKeyFile(path, true)
	if err != nil || again.ID() != k.ID() {
		t.Fatalf("second load: id %s, %v; want the same key %s", again.ID(), err, k.ID())
	}
	text, _ := os.ReadFile(path)
	raw, _ := hex.DecodeString(strings.TrimSpace(string(text)))
	rawPath := filepath.Join(dir, "raw.key")
	if err := os.WriteFile(rawPath, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if fromRaw, err := secret.LoadKeyFile(rawPath, false); err != nil || fromRaw.ID() != k.ID() {
		t.Errorf("raw key file: id %s, %v; want %s", fromRaw.ID(), err, k.ID())
	}
	short := filepath.Join(dir, "short.key")
	if err := os.WriteFile(short, []byte("abcd\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := secret.LoadKeyFile(short, true); err == nil || !strings.Contains(err.Error(), "64 hexadecimal") {
		t.Errorf("short key file: %v, want an error that says what a key file holds", err)
	}
}

// TestRotate stores secrets in two tenants and one platform secret, rotates to a new key, and
// checks that the new key alone opens everything and no plaintext is in the tables.
func TestRotate(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	ctx := context.Background()
	oldKey := secret.GenerateKey()
	old := secret.NewKeyring(oldKey)

	plain := map[uuid.UUID]string{}
	tenants := map[uuid.UUID]uuid.UUID{}
	for _, name := range []string{"Arbo Noord", "Arbo Zuid"} {
		tn, err := org.CreateTenant(ctx, db.Pool, name, false)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			value := name + " wachtwoord " + string(rune('a'+i))
			err := database.InTenant(ctx, db.Pool, tn.ID, func(tx pgx.Tx) error {
				id, err := old.Store(ctx, tx, []byte(value))
				plain[id], tenants[id] = value, tn.ID
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	hostKey, err := old.PlatformSecret(ctx, db.Pool, "sftp_host_key", func() ([]byte, error) { return []byte("host key bytes"), nil })
	if err != nil || string(hostKey) != "host key bytes" {
		t.Fatalf("PlatformSecret = %q, %v", hostKey, err)
	}
	again, err := old.PlatformSecret(ctx, db.Pool, "sftp_host_key", func() ([]byte, error) { return []byte("another"), nil })
	if err != nil || string(again) != "host key bytes" {
		t.Fatalf("second PlatformSecret = %q, %v; want the first value kept", again, err)
	}

	newKey := secret.GenerateKey()
	res, err := secret.Rotate(ctx, db.Pool, old, newKey)
	if err != nil {
		t.Fatal(err)
	}
	if res.Tenants != 2 || res.Secrets != 6 || res.Platform != 1 {
		t.Errorf("Rotate = %+v, want 2 tenants, 6 secrets, 1 platform secret", res)
	}
	// The old key file can go: a keyring with only the new key opens everything.
	only := secret.NewKeyring(newKey)
	for id, want := range plain {
		err := database.InTenant(ctx, db.Pool, tenants[id], func(tx pgx.Tx) error {
			got, err := only.Load(ctx, tx, id)
			if err == nil && string(got) != want {
				t.Errorf("secret %s = %q, want %q", id, got, want)
			}
			return err
		})
		if err != nil {
			t.Errorf("secret %s after rotation: %v", id, err)
		}
		err = database.InTenant(ctx, db.Pool, tenants[id], func(tx pgx.Tx) error {
			_, err := old.Load(ctx, tx, id)
			return err
		})
		if !secret.IsUnknownKey(err) {
			t.Errorf("old keyring opens rotated secret %s: %v", id, err)
		}
	}
	if got, err := only.PlatformSecret(ctx, db.Pool, "sftp_host_key", nil); err != nil || string(got) != "host key bytes" {
		t.Errorf("platform secret after rotation = %q, %v", got, err)
	}
	// Running it again finds nothing left to do.
	if res, err := secret.Rotate(ctx, db.Pool, only, newKey); err != nil || res != (secret.Rotation{}) {
		t.Errorf("second Rotate = %+v, %v; want nothing to do", res, err)
	}

	// No plaintext anywhere in the two tables, read as the owner past row-level security.
	conn, err := pgx.Connect(ctx, db.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var sealed [][]byte
	if err := conn.QueryRow(ctx, `SELECT array(SELECT sealed FROM secrets UNION ALL SELECT sealed FROM platform_secrets)`).
		Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if len(sealed) != 7 {
		t.Fatalf("%d sealed values, want 7", len(sealed))
	}
	dump := bytes.Join(sealed, nil)
	for _, v := range plain {
		if bytes.Contains(dump, []byte(v)) {
			t.Errorf("plaintext %q found in the secrets table", v)
		}
	}
	if bytes.Contains(dump, []byte("host key bytes")) {
		t.Error("platform secret's plaintext found in platform_secrets")
	}
}
