package secret

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/database"
)

// tenantAD is the associated data of a tenant's secret: its tenant and id, so a sealed value
// moved to another row does not open.
func tenantAD(tenantID, id uuid.UUID) []byte {
	return append(append([]byte("tenant\x00"), tenantID[:]...), id[:]...)
}

func platformAD(name string) []byte { return []byte("platform\x00" + name) }

// Store seals plaintext and keeps it as a new secret of the transaction's tenant, returning its
// id. The caller keeps the id on its own row.
func (r *Keyring) Store(ctx context.Context, tx pgx.Tx, plaintext []byte) (uuid.UUID, error) {
	var tenantID uuid.UUID
	if err := tx.QueryRow(ctx, "SELECT app_tenant()").Scan(&tenantID); err != nil {
		return uuid.Nil, fmt.Errorf("store secret: %w", err)
	}
	id := uuid.Must(uuid.NewV7())
	keyID, sealed := r.Seal(plaintext, tenantAD(tenantID, id))
	if _, err := tx.Exec(ctx, "INSERT INTO secrets (tenant_id, id, key_id, sealed) VALUES (app_tenant(), $1, $2, $3)",
		id, keyID, sealed); err != nil {
		return uuid.Nil, fmt.Errorf("store secret: %w", err)
	}
	return id, nil
}

// Load opens the transaction tenant's secret id. ENOTFOUND when there is none.
func (r *Keyring) Load(ctx context.Context, tx pgx.Tx, id uuid.UUID) ([]byte, error) {
	var tenantID uuid.UUID
	var keyID string
	var sealed []byte
	err := tx.QueryRow(ctx, "SELECT tenant_id, key_id, sealed FROM secrets WHERE id = $1", id).Scan(&tenantID, &keyID, &sealed)
	if database.IsNoRows(err) {
		return nil, apperr.New(apperr.ENOTFOUND, "error.not_found")
	}
	if err != nil {
		return nil, fmt.Errorf("load secret: %w", err)
	}
	return r.Open(keyID, sealed, tenantAD(tenantID, id))
}

// Delete removes the transaction tenant's secret id; a secret already gone is no error.
func Delete(ctx context.Context, tx pgx.Tx, id uuid.UUID) error {
	if _, err := tx.Exec(ctx, "DELETE FROM secrets WHERE id = $1", id); err != nil {
		return fmt.Errorf("delete secret: %w", err)
	}
	return nil
}

// PlatformSecret returns the platform secret name, creating it with generate when there is none
// yet. Processes that start together agree on one value: the first insert wins and the others
// read it.
func (r *Keyring) PlatformSecret(ctx context.Context, pool *pgxpool.Pool, name string, generate func() ([]byte, error)) ([]byte, error) {
	load := func() ([]byte, error) {
		var keyID string
		var sealed []byte
		err := pool.QueryRow(ctx, "SELECT key_id, sealed FROM platform_secrets WHERE name = $1", name).Scan(&keyID, &sealed)
		if err != nil {
			return nil, err
		}
		return r.Open(keyID, sealed, platformAD(name))
	}
	v, err := load()
	if !database.IsNoRows(err) {
		return v, err
	}
	plain, err := generate()
	if err != nil {
		return nil, fmt.Errorf("platform secret %s: %w", name, err)
	}
	keyID, sealed := r.Seal(plain, platformAD(name))
	if _, err := pool.Exec(ctx, `INSERT INTO platform_secrets (name, key_id, sealed) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO NOTHING`, name, keyID, sealed); err != nil {
		return nil, fmt.Errorf("platform secret %s: %w", name, err)
	}
	return load()
}

// Rotation reports what Rotate re-sealed.
type Rotation struct {
	Tenants  int // tenants whose secrets were re-sealed
	Secrets  int // tenant secrets re-sealed
	Platform int // platform secrets re-sealed
}

// Rotate re-seals every secret under next: each tenant's in one transaction, then the
// platform's. old must open every secret (ErrUnknownKey otherwise, and that tenant's
// transaction rolls back); secrets already under next are left as they are, so a rotation that
// stopped half-way can simply be run again. Afterwards next alone opens everything and the old
// key file can be removed.
func Rotate(ctx context.Context, pool *pgxpool.Pool, old *Keyring, next Key) (Rotation, error) {
	var res Rotation
	ring := NewKeyring(next, old.keysList()...)
	tenants, err := database.FindAll[struct{ ID uuid.UUID }](ctx, pool, "tenants", "SELECT id FROM tenants ORDER BY id")
	if err != nil {
		return res, err
	}
	for _, t := range tenants {
		n := 0
		err := database.InTenant(ctx, pool, t.ID, func(tx pgx.Tx) error {
			rows, err := database.FindAll[struct {
				ID     uuid.UUID
				KeyID  string
				Sealed []byte
			}](ctx, tx, "secrets", "SELECT id, key_id, sealed FROM secrets WHERE key_id <> $1 FOR UPDATE", next.id)
			if err != nil {
				return err
			}
			for _, s := range rows {
				ad := tenantAD(t.ID, s.ID)
				plain, err := ring.Open(s.KeyID, s.Sealed, ad)
				if err != nil {
					return fmt.Errorf("secret %s: %w", s.ID, err)
				}
				keyID, sealed := ring.Seal(plain, ad)
				if _, err := tx.Exec(ctx, "UPDATE secrets SET key_id = $2, sealed = $3, updated_at = now() WHERE id = $1",
					s.ID, keyID, sealed); err != nil {
					return fmt.Errorf("rotate secret %s: %w", s.ID, err)
				}
			}
			n = len(rows)
			return nil
		})
		if err != nil {
			return res, fmt.Errorf("rotate tenant %s: %w", t.ID, err)
		}
		if n > 0 {
			res.Tenants++
			res.Secrets += n
		}
	}
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		rows, err := database.FindAll[struct {
			Name   string
			KeyID  string
			Sealed []byte
		}](ctx, tx, "platform secrets", "SELECT name, key_id, sealed FROM platform_secrets WHERE key_id <> $1 FOR UPDATE", next.id)
		if err != nil {
			return err
		}
		for _, s := range rows {
			plain, err := ring.Open(s.KeyID, s.Sealed, platformAD(s.Name))
			if err != nil {
				return fmt.Errorf("platform secret %s: %w", s.Name, err)
			}
			keyID, sealed := ring.Seal(plain, platformAD(s.Name))
			if _, err := tx.Exec(ctx, "UPDATE platform_secrets SET key_id = $2, sealed = $3, updated_at = now() WHERE name = $1",
				s.Name, keyID, sealed); err != nil {
				return fmt.Errorf("rotate platform secret %s: %w", s.Name, err)
			}
		}
		res.Platform = len(rows)
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("rotate platform secrets: %w", err)
	}
	return res, nil
}

func (r *Keyring) keysList() []Key {
	list := make([]Key, 0, len(r.keys))
	for _, k := range r.keys {
		list = append(list, k)
	}
	return list
}

// IsUnknownKey reports whether err means a secret was sealed under a key this process lacks.
func IsUnknownKey(err error) bool { return errors.Is(err, ErrUnknownKey) }
