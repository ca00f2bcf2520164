package auth

import (
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/google/go-cmp/cmp"
)

func TestSessionCodec(t *testing.T) {
	t.Parallel()
	deadline := time.Date(2027, 1, 2, 14, 5, 6, 789, time.UTC)
	values := map[string]any{"tenant_id": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "user_id": "ü-ß", "flash": "",
		"last_seen": int64(1798812306), "negative": int64(-3)}

	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		b, err := sessionCodec{}.Encode(deadline, values)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(b), codecMagic) {
			t.Fatalf("strings and int64s were not stored in the codec's own format: %q", b)
		}
		checkDecode(t, b, deadline, values)
	})

	t.Run("Empty", func(t *testing.T) {
		t.Parallel()
		b, err := sessionCodec{}.Encode(deadline, map[string]any{})
		if err != nil {
			t.Fatal(err)
		}
		_, got, err := sessionCodec{}.Decode(b)
		if err != nil || len(got) != 0 {
			t.Errorf("Decode = %v, %v; want no values", got, err)
		}
	})

	// A value of another kind keeps the whole session in gob, which this codec reads too.
	t.Run("OtherKindsInGob", func(t *testing.T) {
		t.Parallel()
		other := map[string]any{"user_id": "u", "remember": true}
		b, err := sessionCodec{}.Encode(deadline, other)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(string(b), codecMagic) {
			t.Fatal("a bool was stored in the codec's own format")
		}
		checkDecode(t, b, deadline, other)
	})

	// Sessions stored before this codec, with scs's gob codec, stay valid.
	t.Run("ReadsGob", func(t *testing.T) {
		t.Parallel()
		b, err := scs.GobCodec{}.Encode(deadline, values)
		if err != nil {
			t.Fatal(err)
		}
		checkDecode(t, b, deadline, values)
	})

	t.Run("RefusesDamagedData", func(t *testing.T) {
		t.Parallel()
		b, err := sessionCodec{}.Encode(deadline, values)
		if err != nil {
			t.Fatal(err)
		}
		for n := len(codecMagic); n < len(b); n++ {
			if _, _, err := (sessionCodec{}).Decode(b[:n]); err == nil {
				t.Errorf("Decode of the first %d of %d bytes succeeded", n, len(b))
			}
		}
		if _, _, err := (sessionCodec{}).Decode(append(b, 0)); err == nil {
			t.Error("Decode with a byte too many succeeded")
		}
	})
}

// checkDecode decodes b with the codec and compares it with the deadline and values encoded.
func checkDecode(t *testing.T, b []byte, deadline time.Time, values map[string]any) {
	t.Helper()
	gotDeadline, got, err := sessionCodec{}.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !gotDeadline.Equal(deadline) {
		t.Errorf("deadline = %v, want %v", gotDeadline, deadline)
	}
	if diff := cmp.Diff(values, got); diff != "" {
		t.Errorf("values (-want +got):\n%s", diff)
	}
}
