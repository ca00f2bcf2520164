package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
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

// The log-in throttle, after OWASP's authentication guidance. Failures are counted per account
// and address pair: after FreeAttempts failures within Window, each further attempt of that
// pair must wait twice as long as the previous one (from one second), up to MaxDelay. An
// address is slowed as a whole only when it failed on SprayAccounts distinct accounts within
// Window (password spraying): then each attempt from it waits SprayDelay, doubling, and not for
// an account on a browser where that account logged in before (its device cookie, valid for
// DeviceLifetime). So one person's typing errors never stop a colleague behind the same
// address, and a spraying attack never stops a user on his own browser.
const (
	FreeAttempts   = 5
	SprayAccounts  = 30
	SprayDelay     = 30 * time.Second
	Window         = 15 * time.Minute
	MaxDelay       = 15 * time.Minute
	DeviceLifetime = 180 * 24 * time.Hour
)

// Identity is who logged in.
type Identity struct {
	TenantID uuid.UUID
	UserID   uuid.UUID
}

// Attempt is one log-in: the form's e-mail address and password, the device cookie the
// browser sent ("" if none) and who is asking, from which address.
type Attempt struct {
	Email, Password string
	Device          string
	Actor           audit.Actor
}

// Login checks an attempt. It returns the user's identity and the device token the browser
// should keep (the one it sent while that is valid, else a new one), or an EINVALID error with
// one message for every refusal (unknown address, wrong password, blocked user), or ETOOMANY
// while the throttle holds, whose first Arg is the seconds to wait. Failures, throttled
// attempts and successes of known users are audited.
func Login(ctx context.Context, pool *pgxpool.Pool, a Attempt) (Identity, string, error) {
	email := strings.ToLower(strings.TrimSpace(a.Email))
	ip := a.Actor.IP
	var id Identity
	var hash, status string
	err := pool.QueryRow(ctx, "SELECT tenant_id, user_id, password_hash, status FROM find_login($1)", email).
		Scan(&id.TenantID, &id.UserID, &hash, &status)
	found := err == nil
	if err != nil && !database.IsNoRows(err) {
		return Identity{}, "", fmt.Errorf("login: %w", err)
	}
	auditUser := func(action string, details map[string]any) error {
		if !found {
			return nil
		}
		return database.InTenant(ctx, pool, id.TenantID, func(tx pgx.Tx) error {
			return audit.Write(ctx, tx, a.Actor, audit.Event{Action: action, SubjectType: "user", SubjectID: &id.UserID, Details: details})
		})
	}

	wait, reason, err := throttled(ctx, pool, email, ip, a.Device)
	if err != nil {
		return Identity{}, "", err
	}
	if wait > 0 {
		seconds := int(math.Ceil(wait.Seconds()))
		if err := auditUser(audit.LoginThrottled, map[string]any{"reason": reason, "wait_seconds": seconds}); err != nil {
			return Identity{}, "", err
		}
		return Identity{}, "", apperr.New(apperr.ETOOMANY, "login.error.throttled", seconds)
	}

	if !found {
		hash = dummyHash
	}
	ok, err := VerifyPassword(hash, a.Password)
	if err != nil {
		return Identity{}, "", fmt.Errorf("login: %w", err)
	}
	if !found || !ok || status != "active" {
		if err := RecordFailure(ctx, pool, email, ip); err != nil {
			return Identity{}, "", err
		}
		reason := "password"
		if ok {
			reason = "blocked"
		}
		if err := auditUser(audit.LoginFailed, map[string]any{"reason": reason}); err != nil {
			return Identity{}, "", err
		}
		return Identity{}, "", apperr.New(apperr.EINVALID, "login.error.failed")
	}
	if err := ClearFailures(ctx, pool, email, ip); err != nil {
		return Identity{}, "", err
	}
	device, err := rememberDevice(ctx, pool, a.Device, email)
	if err != nil {
		return Identity{}, "", err
	}
	a.Actor.UserID = &id.UserID
	err = database.InTenant(ctx, pool, id.TenantID, func(tx pgx.Tx) error {
		return audit.Write(ctx, tx, a.Actor, audit.Event{Action: audit.LoginSucceeded, SubjectType: "user", SubjectID: &id.UserID})
	})
	return id, device, err
}

// Logout records that the actor's user logged out of tenantID (logout); the caller ends the
// session.
func Logout(ctx context.Context, pool *pgxpool.Pool, tenantID uuid.UUID, actor audit.Actor) error {
	return database.InTenant(ctx, pool, tenantID, func(tx pgx.Tx) error {
		return audit.Write(ctx, tx, actor, audit.Event{Action: audit.Logout, SubjectType: "user", SubjectID: actor.UserID})
	})
}

// throttled returns how long the attempt must still wait and which rule holds it ("pair" or
// "spray").
func throttled(ctx context.Context, pool *pgxpool.Pool, email, ip, device string) (time.Duration, string, error) {
	var pairFailures, accounts int
	var pairLast, ipLast *time.Time
	err := pool.QueryRow(ctx, `SELECT
		count(*) FILTER (WHERE email = $1), max(at) FILTER (WHERE email = $1),
		count(DISTINCT email), max(at)
		FROM login_failures WHERE ip = $2 AND at > now() - $3::interval`, email, ip, Window).
		Scan(&pairFailures, &pairLast, &accounts, &ipLast)
	if err != nil {
		return 0, "", fmt.Errorf("login throttle: %w", err)
	}
	if wait := waitAfter(pairFailures-FreeAttempts, time.Second, pairLast); wait > 0 {
		return wait, "pair", nil
	}
	if accounts < SprayAccounts {
		return 0, "", nil
	}
	trusted, err := knownDevice(ctx, pool, device, email)
	if err != nil || trusted {
		return 0, "", err
	}
	return waitAfter(accounts-SprayAccounts, SprayDelay, ipLast), "spray", nil
}

// PairWait is how long another log-in of key (an e-mail address, or another service's user
// name) from ip must still wait by the pair rule: after FreeAttempts failures within Window,
// each further attempt waits twice as long as the one before, from one second, at most MaxDelay.
func PairWait(ctx context.Context, pool *pgxpool.Pool, key, ip string) (time.Duration, error) {
	var failures int
	var last *time.Time
	err := pool.QueryRow(ctx, `SELECT count(*), max(at) FROM login_failures WHERE email = $1 AND ip = $2 AND at > now() - $3::interval`,
		key, ip, Window).Scan(&failures, &last)
	if err != nil {
		return 0, fmt.Errorf("login throttle: %w", err)
	}
	return waitAfter(failures-FreeAttempts, time.Second, last), nil
}

// RecordFailure records a failed log-in of key from ip for the throttle.
func RecordFailure(ctx context.Context, pool *pgxpool.Pool, key, ip string) error {
	if _, err := pool.Exec(ctx, "INSERT INTO login_failures (email, ip) VALUES ($1, $2)", key, ip); err != nil {
		return fmt.Errorf("login: record failure: %w", err)
	}
	return nil
}

// ClearFailures forgets the failed log-ins of key from ip after a successful one.
func ClearFailures(ctx context.Context, pool *pgxpool.Pool, key, ip string) error {
	if _, err := pool.Exec(ctx, "DELETE FROM login_failures WHERE email = $1 AND ip = $2", key, ip); err != nil {
		return fmt.Errorf("login: clear failures: %w", err)
	}
	return nil
}

// waitAfter is what is left of the delay after the last failure when over failures past the
// free ones have been made: first for the first, doubling, at most MaxDelay.
func waitAfter(over int, first time.Duration, last *time.Time) time.Duration {
	if over < 0 || last == nil {
		return 0
	}
	return time.Until(last.Add(min(first<<min(over, 20), MaxDelay)))
}

// knownDevice reports whether device is a token the account logged in with within
// DeviceLifetime.
func knownDevice(ctx context.Context, pool *pgxpool.Pool, device, email string) (bool, error) {
	if device == "" {
		return false, nil
	}
	var known bool
	err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM login_devices WHERE token_hash = $1 AND email = $2
		AND created_at > now() - $3::interval)`, deviceHash(device), email, DeviceLifetime).Scan(&known)
	if err != nil {
		return false, fmt.Errorf("login device: %w", err)
	}
	return known, nil
}

// rememberDevice records that email logged in on the browser holding device, and returns the
// token the browser should keep: the one it sent while that is still known, else a new one.
func rememberDevice(ctx context.Context, pool *pgxpool.Pool, device, email string) (string, error) {
	var valid bool
	if device != "" {
		err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM login_devices WHERE token_hash = $1
			AND created_at > now() - $2::interval)`, deviceHash(device), DeviceLifetime).Scan(&valid)
		if err != nil {
			return "", fmt.Errorf("login device: %w", err)
		}
	}
	if !valid {
		device = rand.Text()
	}
	_, err := pool.Exec(ctx, `INSERT INTO login_devices (token_hash, email) VALUES ($1, $2)
		ON CONFLICT (token_hash, email) DO UPDATE SET created_at = now()`, deviceHash(device), email)
	if err != nil {
		return "", fmt.Errorf("login device: %w", err)
	}
	return device, nil
}

func deviceHash(device string) []byte {
	h := sha256.Sum256([]byte(device))
	return h[:]
}

// DeviceCookie names the cookie that holds the device token.
const DeviceCookie = "dk_device"
