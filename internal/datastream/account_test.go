package datastream_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/database/dbtest"
	"github.com/dossierkast/dossierkast/internal/datastream"
	"github.com/dossierkast/dossierkast/internal/org"
	"github.com/dossierkast/dossierkast/internal/secret"
)

type accountBundle struct {
	db       dbtest.DB
	tenantID uuid.UUID
	keys     *secret.Keyring
}

func setupAccounts(t testing.TB) accountBundle {
	t.Helper()
	db := dbtest.New(t)
	tn, err := org.CreateTenant(context.Background(), db.Pool, "Arbo Noord", false)
	if err != nil {
		t.Fatal(err)
	}
	return accountBundle{db: db, tenantID: tn.ID, keys: secret.NewKeyring(secret.GenerateKey())}
}

func (b accountBundle) inTenant(t testing.TB, fn func(tx pgx.Tx) error) error {
	t.Helper()
	return database.InTenant(context.Background(), b.db.Pool, b.tenantID, fn)
}

func editorWith(tenant uuid.UUID, rights ...access.Right) access.Editor {
	p := access.Principal{TenantID: tenant, UserID: uuid.New(), Kind: access.KindProvider, Rights: rights}
	return access.Editor{Principal: p, Actor: audit.Actor{IP: "192.0.2.1"}}
}

func ptr[T any](v T) *T { return &v }

// TestAccountsKeepNoPlaintextSecret creates a hosted account with a generated password and
// external ones with a password and a generated key, then reads every table of the database
// as text: neither the passwords nor the private key are anywhere, audit log included.
func TestAccountsKeepNoPlaintextSecret(t *testing.T) {
	t.Parallel()
	b := setupAccounts(t)
	ctx := context.Background()
	ed := editorWith(b.tenantID, access.DatastreamsManage, access.MedicalView)
	const externalPassword = "Extern-Wachtwoord-7391"
	var secrets []string
	err := b.inTenant(t, func(tx pgx.Tx) error {
		hosted, creds, err := datastream.CreateAccount(ctx, tx, ed, b.keys, datastream.AccountInput{Name: "Warehouse", Type: datastream.TypeHosted,
			Language: "nl", Recipients: "bi@arbo.nl, data@arbo.nl", Medical: ptr(true), AllEmployers: true, AuthMethod: datastream.AuthPassword})
		if err != nil {
			return err
		}
		if len(creds.Password) < 20 || !strings.HasPrefix(hosted.SFTPUser, "dk-") || !hosted.Medical {
			t.Errorf("hosted account %+v, password %q", hosted, creds.Password)
		}
		secrets = append(secrets, creds.Password)
		ext, _, err := datastream.CreateAccount(ctx, tx, ed, b.keys, datastream.AccountInput{Name: "BI extern", Type: datastream.TypeExternal,
			Language: "en", AllEmployers: true, AuthMethod: datastream.AuthPassword, Host: "sftp.example.nl", Port: 22,
			RemoteUser: "arbo", Password: externalPassword, BaseDir: "/in"})
		if err != nil {
			return err
		}
		c, err := datastream.ExternalConfigOf(ctx, tx, b.keys, ext)
		if err != nil || c.Password != externalPassword {
			t.Errorf("ExternalConfigOf = %+v, %v", c, err)
		}
		secrets = append(secrets, externalPassword)
		withKey, creds, err := datastream.CreateAccount(ctx, tx, ed, b.keys, datastream.AccountInput{Name: "BI sleutel", Type: datastream.TypeExternal,
			Language: "nl", AllEmployers: true, AuthMethod: datastream.AuthKey, Host: "sftp.example.nl", Port: 2222, RemoteUser: "arbo"})
		if err != nil {
			return err
		}
		if !strings.HasPrefix(creds.PublicKey, "ssh-ed25519 ") || withKey.KeyPublic != creds.PublicKey {
			t.Errorf("key account: public key %q, shown %q", withKey.KeyPublic, creds.PublicKey)
		}
		c, err = datastream.ExternalConfigOf(ctx, tx, b.keys, withKey)
		if err != nil || !strings.Contains(string(c.PrivateKey), "OPENSSH PRIVATE KEY") {
			t.Fatalf("ExternalConfigOf key account: %v", err)
		}
		// The base64 body of the private key, line by line.
		for _, line := range strings.Split(string(c.PrivateKey), "\n") {
			if len(line) > 40 && !strings.HasPrefix(line, "-----") {
				secrets = append(secrets, line)
			}
		}
		// Changing the password replaces the secret; the old one is gone from the table too.
		in := datastream.AccountInput{Name: "BI extern", Language: "en", AllEmployers: true, AuthMethod: datastream.AuthPassword,
			Host: "sftp.example.nl", Port: 22, RemoteUser: "arbo", Password: "Nieuw-Wachtwoord-2468", BaseDir: "/in"}
		if _, _, err := datastream.UpdateAccount(ctx, tx, ed, b.keys, ext.ID, in); err != nil {
			return err
		}
		secrets = append(secrets, "Nieuw-Wachtwoord-2468")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	conn, err := pgx.Connect(ctx, b.db.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tables, err := database.FindAll[struct{ Name string }](ctx, conn, "tables",
		"SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range tables {
		var dump string
		if err := conn.QueryRow(ctx, "SELECT coalesce(string_agg(t::text, E'\\n'), '') FROM "+pgx.Identifier{tb.Name}.Sanitize()+" t").
			Scan(&dump); err != nil {
			t.Fatalf("read %s: %v", tb.Name, err)
		}
		for _, s := range secrets {
			if strings.Contains(dump, s) {
				t.Errorf("table %s holds a secret in plaintext (%.12s…)", tb.Name, s)
			}
		}
	}
}

// TestAccountMedicalFlag: only a user with medical.view may tick or untick the flag; a user
// without it may change everything else, and the flag stays as it was.
func TestAccountMedicalFlag(t *testing.T) {
	t.Parallel()
	b := setupAccounts(t)
	ctx := context.Background()
	medical := editorWith(b.tenantID, access.DatastreamsManage, access.MedicalView)
	plain := editorWith(b.tenantID, access.DatastreamsManage)
	in := datastream.AccountInput{Name: "Warehouse", Type: datastream.TypeHosted, Language: "nl", AllEmployers: true,
		AuthMethod: datastream.AuthPassword, Medical: ptr(true)}
	err := b.inTenant(t, func(tx pgx.Tx) error {
		_, _, err := datastream.CreateAccount(ctx, tx, plain, b.keys, in)
		return err
	})
	if apperr.CodeOf(err) != apperr.EFORBIDDEN {
		t.Fatalf("create with the medical flag without medical.view: %v, want EFORBIDDEN", err)
	}
	var id uuid.UUID
	err = b.inTenant(t, func(tx pgx.Tx) error {
		a, _, err := datastream.CreateAccount(ctx, tx, medical, b.keys, in)
		id = a.ID
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		ed      access.Editor
		medical *bool
		want    apperr.Code
		after   bool
	}{
		{"without the right, flag not offered", plain, nil, "", true},
		{"without the right, flag kept as it is", plain, ptr(true), "", true},
		{"without the right, unticking", plain, ptr(false), apperr.EFORBIDDEN, true},
		{"with the right, unticking", medical, ptr(false), "", false},
		{"without the right, ticking", plain, ptr(true), apperr.EFORBIDDEN, false},
	} {
		upd := in
		upd.Name, upd.Medical = "Warehouse 2", tc.medical
		err := b.inTenant(t, func(tx pgx.Tx) error {
			_, _, err := datastream.UpdateAccount(ctx, tx, tc.ed, b.keys, id, upd)
			return err
		})
		if got := apperr.Code(""); err != nil {
			got = apperr.CodeOf(err)
			if got != tc.want {
				t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
			}
		} else if tc.want != "" {
			t.Errorf("%s: no error, want %s", tc.name, tc.want)
		}
		_ = b.inTenant(t, func(tx pgx.Tx) error {
			a, err := datastream.FindAccountByID(ctx, tx, id)
			if err == nil && a.Medical != tc.after {
				t.Errorf("%s: medical = %v, want %v", tc.name, a.Medical, tc.after)
			}
			return err
		})
	}
}

// TestAccountValidation: every field that can be wrong says so, and nothing is written.
func TestAccountValidation(t *testing.T) {
	t.Parallel()
	b := setupAccounts(t)
	ctx := context.Background()
	ed := editorWith(b.tenantID, access.DatastreamsManage)
	err := b.inTenant(t, func(tx pgx.Tx) error {
		_, _, err := datastream.CreateAccount(ctx, tx, ed, b.keys, datastream.AccountInput{Type: datastream.TypeExternal, Language: "fr",
			Recipients: "bi@arbo.nl, geen-adres", AllEmployers: false, AuthMethod: datastream.AuthPassword, Host: "a b", Port: 70000})
		return err
	})
	e, ok := apperr.As(err)
	if !ok || e.Code != apperr.EINVALID {
		t.Fatalf("invalid account: %v, want EINVALID", err)
	}
	for _, f := range []string{"name", "language", "recipients", "employers", "host", "port", "remote_user", "password"} {
		if e.Fields[f] == "" {
			t.Errorf("field %s: no message (fields %v)", f, e.Fields)
		}
	}
	err = b.inTenant(t, func(tx pgx.Tx) error {
		_, _, err := datastream.CreateAccount(ctx, tx, ed, b.keys, datastream.AccountInput{Name: "Sleutel", Type: datastream.TypeHosted,
			Language: "nl", AllEmployers: true, AuthMethod: datastream.AuthKey, PublicKey: "ssh-ed25519 geen-sleutel"})
		return err
	})
	if e, ok := apperr.As(err); !ok || e.Fields["public_key"] == "" {
		t.Errorf("hosted account with a broken public key: %v, want a public_key message", err)
	}
	_ = b.inTenant(t, func(tx pgx.Tx) error {
		list, err := datastream.FindAccounts(ctx, tx)
		if err == nil && len(list) != 0 {
			t.Errorf("%d accounts after refused creations", len(list))
		}
		return err
	})
}
