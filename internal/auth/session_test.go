package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"

	"github.com/dossierkast/dossierkast/internal/auth"
)

func TestActive(t *testing.T) {
	t.Parallel()
	sm := scs.New()
	sm.Store = memstore.New()
	ctx, err := sm.Load(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2027, 1, 2, 9, 0, 0, 0, time.UTC)
	if !auth.Active(ctx, sm, start) || sm.Status(ctx) != scs.Modified {
		t.Fatal("a new session is active and records its first request")
	}
	token, _, err := sm.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A request 30 s later is active and writes nothing.
	ctx, _ = sm.Load(context.Background(), token)
	if !auth.Active(ctx, sm, start.Add(30*time.Second)) || sm.Status(ctx) != scs.Unmodified {
		t.Errorf("within a minute: status %v, want unmodified", sm.Status(ctx))
	}
	// After two minutes the activity is written again.
	if !auth.Active(ctx, sm, start.Add(2*time.Minute)) || sm.Status(ctx) != scs.Modified {
		t.Errorf("after two minutes: status %v, want modified", sm.Status(ctx))
	}
	if _, _, err := sm.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	// Idle for longer than the timeout: no longer active.
	ctx, _ = sm.Load(context.Background(), token)
	if auth.Active(ctx, sm, start.Add(2*time.Minute+auth.IdleTimeout+time.Second)) {
		t.Error("a session idle past the timeout is still active")
	}
}
