package config

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
)

func TestLoad(t *testing.T) {
	t.Parallel()
	env := map[string]string{"HTTP_ADDR": ":9090", "BUNDLE_PART_SIZE": "512MiB", "MAX_UPLOAD_SIZE": "100MiB", "WEB_DB_CONNECTIONS": "3",
		"TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.7,::1"}
	c, rest, err := Load("serve", []string{"--log-format", "json", "extra"}, func(k string) string { return env[k] }, io.Discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != ":9090" || c.BundlePartSize != 512<<20 || c.MaxUploadSize != 100<<20 || c.WebDBConnections != 3 || c.LogFormat != "json" ||
		c.BaseURL != "http://localhost:9090" {
		t.Errorf("got %+v", c)
	}
	if got := fmt.Sprint(c.TrustedProxies); got != "[10.0.0.0/8 192.168.1.7/32 ::1/128]" {
		t.Errorf("TrustedProxies = %s", got)
	}
	if len(rest) != 1 || rest[0] != "extra" {
		t.Errorf("rest = %v", rest)
	}
}

func TestLoadRefusesBadValues(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct{ env, want string }{
		"HTTPAddr":  {"HTTP_ADDR=8080", "HTTP_ADDR"},
		"PartSize":  {"BUNDLE_PART_SIZE=huge", "BUNDLE_PART_SIZE"},
		"Upload":    {"MAX_UPLOAD_SIZE=12", "MAX_UPLOAD_SIZE"},
		"LogFormat": {"LOG_FORMAT=xml", "LOG_FORMAT"},
		"Database":  {"DATABASE_URL=mysql://x", "DATABASE_URL"},
		"SMTP":      {"SMTP_URL=http://mail", "SMTP_URL"},
		"Mode":      {"MODE=both", "MODE"},
		"WebDB":     {"WEB_DB_CONNECTIONS=0", "WEB_DB_CONNECTIONS"},
		"BaseURL":   {"BASE_URL=localhost", "BASE_URL"},
		"Proxies":   {"TRUSTED_PROXIES=10.0.0.1,proxy.local", "TRUSTED_PROXIES"},
	} {
		t.Run(name, func(t *testing.T) {
			k, v, _ := strings.Cut(tc.env, "=")
			_, _, err := Load("serve", nil, func(key string) string {
				if key == k {
					return v
				}
				return ""
			}, io.Discard, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("err = %v, want one line naming %s", err, tc.want)
			}
		})
	}
}

func TestLoadWebDBConnectionsDefault(t *testing.T) {
	t.Parallel()
	c, _, err := Load("serve", nil, func(string) string { return "" }, io.Discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := runtime.GOMAXPROCS(0); c.WebDBConnections != want {
		t.Errorf("WebDBConnections = %d, want GOMAXPROCS %d", c.WebDBConnections, want)
	}
}
