package auth

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/database"
)

// Throttle settings: after FreeAttempts failures within Window for one account or one address,
// each further attempt must wait twice as long as the previous, up to MaxDelay.
const (
	FreeAttempts = 5
	Window       = 15 * time.Minute
	MaxDelay     = 15 * time.Minute
)

// Identity is who logged in.
type Identity struct {
	TenantID uuid.UUID
	UserID   uuid.UUID
}

// Login checks an e-mail address and password. It returns the user's identity, or an EINVALID
// error with one message for every refusal (unknown address, wrong password, blocked user), or
// ETOOMANY while the throttle holds. Failures and successes of known users are audited.
func Login(ctx context.Context, pool *pgxpool.Pool, email, password string, actor audit.Actor) (Identity, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	keys := []string{"email:" + email, "ip:" + actor.IP}
	if wait, err := throttled(ctx, pool, keys); err != nil {
		return Identity{}, err
	} else if wait > 0 {
		return Identity{}, apperr.New(apperr.ETOOMANY, "login.error.throttled", int(math.Ceil(wait.Seconds())))
	}

	var id Identity
	var hash, status string
	err := pool.QueryRow(ctx, "SELECT tenant_id, user_id, password_hash, status FROM find_login($1)", email).
		Scan(&id.TenantID, &id.UserID, &hash, &status)
	found := err == nil
	if err != nil && !database.IsNoRows(err) {
		return Identity{}, fmt.Errorf("login: %w", err)
	}
	if !found {
		hash = dummyHash
	}
	ok, err := VerifyPassword(hash, password)
	if err != nil {
		return Identity{}, fmt.Errorf("login: %w", err)
	}
	refused := apperr.New(apperr.EINVALID, "login.error.failed")
	if !found || !ok || status != "active" {
		if err := recordFailure(ctx, pool, keys); err != nil {
			return Identity{}, err
		}
		if found {
			reason := "password"
			if ok {
				reason = "blocked"
			}
			err := database.InTenant(ctx, pool, id.TenantID, func(tx pgx.Tx) error {
				return audit.Write(ctx, tx, actor, audit.Event{Action: audit.LoginFailed, SubjectType: "user",
					SubjectID: &id.UserID, Details: map[string]any{"reason": reason}})
			})
			if err != nil {
				return Identity{}, err
			}
		}
		return Identity{}, refused
	}
	if _, err := pool.Exec(ctx, "DELETE FROM login_failures WHERE key = $1", keys[0]); err != nil {
		return Identity{}, fmt.Errorf("login: %w", err)
	}
	actor.UserID = &id.UserID
	err = database.InTenant(ctx, pool, id.TenantID, func(tx pgx.Tx) error {
		return audit.Write(ctx, tx, actor, audit.Event{Action: audit.LoginSucceeded, SubjectType: "user", SubjectID: &id.UserID})
	})
	return id, err
}

// throttled returns how long the caller must still wait before another attempt.
func throttled(ctx context.Context, pool *pgxpool.Pool, keys []string) (time.Duration, error) {
	var wait time.Duration
	for _, key := range keys {
		var n int
		var last *time.Time
		err := pool.QueryRow(ctx, "SELECT count(*), max(at) FROM login_failures WHERE key = $1 AND at > now() - $2::interval",
			key, Window).Scan(&n, &last)
		if err != nil {
			return 0, fmt.Errorf("login throttle: %w", err)
		}
		if n < FreeAttempts || last == nil {
			continue
		}
		delay := min(time.Second<<min(n-FreeAttempts, 20), MaxDelay)
		wait = max(wait, time.Until(last.Add(delay)))
	}
	return wait, nil
}

func recordFailure(ctx context.Context, pool *pgxpool.Pool, keys []string) error {
	_, err := pool.Exec(ctx, "INSERT INTO login_failures (key) SELECT unnest($1::text[])", keys)
	if err != nil {
		return fmt.Errorf("login: record failure: %w", err)
	}
	return nil
}
