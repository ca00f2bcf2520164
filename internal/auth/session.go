package auth

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/alexedwards/scs/pgxstore"
	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Session lifetimes.
const (
	IdleTimeout = 30 * time.Minute
	MaxLifetime = 12 * time.Hour
)

// touchEvery is how often a session's activity is written. scs's own idle timeout writes the
// session on every request; recording activity once a minute keeps reads from writing.
const touchEvery = time.Minute

// NewSessions returns the session manager: tokens in an HttpOnly, SameSite=Lax cookie (Secure
// when served over HTTPS), data in PostgreSQL, ended after MaxLifetime; Active ends them after
// IdleTimeout without a request. Expired rows are removed by the sessions cleanup job, not by
// the store.
func NewSessions(pool *pgxpool.Pool, secure bool) *scs.SessionManager {
	sm := scs.New()
	sm.Store = pgxstore.NewWithCleanupInterval(pool, 0)
	sm.Codec = sessionCodec{}
	sm.Lifetime = MaxLifetime
	sm.Cookie.Name = "dossierkast_session"
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Secure = secure
	sm.Cookie.Persist = false
	return sm
}

// Active reports whether the session in ctx has seen a request within IdleTimeout, and records
// this request's activity when the last record is older than a minute.
func Active(ctx context.Context, sm *scs.SessionManager, now time.Time) bool {
	// Unix seconds: scs's gob codec stores an int64 without registering types.
	last := time.Unix(sm.GetInt64(ctx, "last_seen"), 0)
	if sm.Exists(ctx, "last_seen") && now.Sub(last) > IdleTimeout {
		return false
	}
	if now.Sub(last) >= touchEvery {
		sm.Put(ctx, "last_seen", now.Unix())
	}
	return true
}

// DeleteExpired removes expired sessions, throttle records older than the window and device
// tokens past their lifetime. It returns
// how many sessions went.
func DeleteExpired(ctx context.Context, pool *pgxpool.Pool) (int64, error) {
	tag, err := pool.Exec(ctx, "DELETE FROM sessions WHERE expiry < now()")
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	if _, err := pool.Exec(ctx, "DELETE FROM login_failures WHERE at < now() - $1::interval", Window); err != nil {
		return 0, fmt.Errorf("delete old login failures: %w", err)
	}
	if _, err := pool.Exec(ctx, "DELETE FROM login_devices WHERE created_at < now() - $1::interval", DeviceLifetime); err != nil {
		return 0, fmt.Errorf("delete old login devices: %w", err)
	}
	return tag.RowsAffected(), nil
}
