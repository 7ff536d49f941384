package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fullmakt/fullmakt/delegation/registers/demo"
)

var listening = regexp.MustCompile(`fullmakt listening on http://127\.0\.0\.1:\d+, public URL (http://[^\s]+)\n`)

// startServe runs `fullmakt serve` in-process on a free port and returns its base
// URL; stop cancels it and returns its exit status.
func startServe(t testing.TB, args ...string) (base string, stderr *syncBuffer, stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	stderr, done := background(ctx, nil, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	base = waitFor(t, stderr, listening, done, 10*time.Second)[1]
	stopped := false
	stop = func() int {
		t.Helper()
		cancel()
		select {
		case code := <-done:
			stopped = true
			return code
		case <-time.After(15 * time.Second):
			t.Fatalf("serve did not stop within 15s of cancel; stderr:\n%s", stderr.String())
			return -1
		}
	}
	t.Cleanup(func() {
		if !stopped {
			cancel()
			<-done
		}
	})
	return base, stderr, stop
}

func TestServe(t *testing.T) {
	data := t.TempDir()
	base, stderr, stop := startServe(t, "--data", data, "--demo")

	cast := demo.Cast(time.Now())
	if len(cast) == 0 {
		t.Fatal("demo.Cast() is empty")
	}
	browserHeaders := map[string]string{
		"Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
	}
	tests := []struct {
		name        string
		method      string
		path        string
		header      map[string]string
		wantStatus  int
		wantBody    []string
		wantNot     []string
		wantHeaders map[string]string
	}{
		{name: "liveness", method: "GET", path: "/healthz", wantStatus: 200, wantBody: []string{"ok"}},
		{name: "readiness", method: "GET", path: "/readyz", wantStatus: 200, wantBody: []string{"ready"}},
		{
			name: "front page", method: "GET", path: "/", wantStatus: 200,
			// The cast's numbers are synthetic (no real person has one), and shown
			// in full so that a newcomer can type one into the portal.
			wantBody:    []string{`<html lang="en">`, `<a href="/login?return=/">Log in</a>`, cast[0].Name, cast[0].Story, string(cast[0].ID), cast[len(cast)-1].Name, demoClientSecret},
			wantNot:     []string{"<script", "style="},
			wantHeaders: browserHeaders,
		},
		{name: "a query string is not logged", method: "GET", path: "/?pid=01017012345", wantStatus: 200},
		{name: "stylesheet", method: "GET", path: "/static/fullmakt.css", wantStatus: 200, wantBody: []string{"font-family"}, wantHeaders: browserHeaders},
		{name: "unknown page", method: "GET", path: "/no/such/page", wantStatus: 404, wantHeaders: browserHeaders},
		{
			name: "cross-origin post", method: "POST", path: "/", wantStatus: 403,
			header:      map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
			wantHeaders: browserHeaders,
		},
		{
			name: "cross-origin post without fetch metadata", method: "POST", path: "/", wantStatus: 403,
			header: map[string]string{"Origin": "https://evil.example"},
		},
		{name: "same-origin post to a read-only page", method: "POST", path: "/", wantStatus: 405, header: map[string]string{"Sec-Fetch-Site": "same-origin"}},
		{name: "metrics", method: "GET", path: "/metrics", wantStatus: 200, wantBody: []string{
			`http_requests_total{code="200",route="GET /healthz"} 1`,
			`http_requests_total{code="403",route="/"} 2`,
			`http_requests_total{code="404",route="unmatched"} 1`,
			"http_request_duration_seconds_bucket",
			"go_goroutines", "process_start_time_seconds",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tt.method, base+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("%s %s = %d, want %d; body:\n%s", tt.method, tt.path, resp.StatusCode, tt.wantStatus, body)
			}
			for _, want := range tt.wantBody {
				if !strings.Contains(string(body), want) {
					t.Errorf("%s %s: body lacks %q:\n%s", tt.method, tt.path, want, body)
				}
			}
			for _, not := range tt.wantNot {
				if strings.Contains(string(body), not) {
					t.Errorf("%s %s: body contains %q", tt.method, tt.path, not)
				}
			}
			for k, want := range tt.wantHeaders {
				if got := resp.Header.Get(k); got != want {
					t.Errorf("%s %s: header %s = %q, want %q", tt.method, tt.path, k, got, want)
				}
			}
		})
	}

	if code := stop(); code != exitOK {
		t.Errorf("serve after cancel = %d, want %d; stderr:\n%s", code, exitOK, stderr.String())
	}
	logs := stderr.String()
	for _, want := range []string{"demo cast loaded", `route="GET /healthz" status=200`, "shutting down", "msg=stopped"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
	for _, not := range []string{"01017012345", "pid=", cast[0].ID.String()} {
		if strings.Contains(logs, not) {
			t.Errorf("logs contain %q:\n%s", not, logs)
		}
	}

	// A second start loads the same cast again and changes nothing: the store was
	// closed cleanly and the import is idempotent.
	_, stderr, stop = startServe(t, "--data", data, "--demo", "--log-format", "json")
	if code := stop(); code != exitOK {
		t.Errorf("second serve after cancel = %d, want %d", code, exitOK)
	}
	if !strings.Contains(stderr.String(), `"msg":"demo cast loaded","records":`) || !strings.Contains(stderr.String(), `"changed":0`) {
		t.Errorf("second start with --demo changed records or did not log JSON:\n%s", stderr.String())
	}
}

func TestServeWithoutDemo(t *testing.T) {
	base, _, stop := startServe(t, "--data", t.TempDir())
	defer stop()
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if name := demo.Cast(time.Now())[0].Name; strings.Contains(string(body), name) {
		t.Errorf("GET / without --demo lists the cast (%s)", name)
	}
	if strings.Contains(string(body), demoClientSecret) {
		t.Error("GET / without --demo shows the demo client's secret")
	}
	if !strings.Contains(string(body), "fullmakt serve --demo") {
		t.Errorf("GET / without --demo does not say how to get the demo:\n%s", body)
	}
}

func TestServeRefusesASecondProcess(t *testing.T) {
	data := t.TempDir()
	_, _, stop := startServe(t, "--data", data)
	defer stop()

	start := time.Now()
	got := fullmakt(t, nil, "", "serve", "--addr", "127.0.0.1:0", "--data", data)
	elapsed := time.Since(start)
	if got.code != exitError {
		t.Errorf("second serve on the same data = %d, want %d", got.code, exitError)
	}
	if want := "another fullmakt process is using " + data; !strings.Contains(got.stderr, want) {
		t.Errorf("second serve: stderr lacks %q:\n%s", want, got.stderr)
	}
	if elapsed > 5*time.Second {
		t.Errorf("second serve took %s to fail, want about the 1s lock timeout", elapsed)
	}

	got = fullmakt(t, nil, "", "import", "--data", data, "-")
	if got.code != exitError || !strings.Contains(got.stderr, "another fullmakt process is using") {
		t.Errorf("import while serving = %d, stderr:\n%s", got.code, got.stderr)
	}
}

func TestServeAddressInUse(t *testing.T) {
	base, _, stop := startServe(t, "--data", t.TempDir())
	defer stop()
	got := fullmakt(t, nil, "", "serve", "--addr", strings.TrimPrefix(base, "http://"), "--data", t.TempDir())
	if got.code != exitError || !strings.Contains(got.stderr, "listen") {
		t.Errorf("serve on a port in use = %d, stderr:\n%s", got.code, got.stderr)
	}
}

// brokenStore is a store that does not answer.
type brokenStore struct{}

func (brokenStore) LastChange(context.Context) (uint64, error) {
	return 0, errors.New("bolt: database not open")
}

func TestReadyzWhenTheStoreFails(t *testing.T) {
	m, err := newMetrics()
	if err != nil {
		t.Fatal(err)
	}
	s, err := newServer(slog.New(slog.DiscardHandler), brokenStore{}, false, nil, nil, m)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	s.routes().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("GET /readyz with a broken store = %d, want %d", rec.Code, http.StatusServiceUnavailable)
	}
}

// TestServeStopsOnSIGTERM runs the real binary, so that main's signal handling is
// what stops it.
func TestServeStopsOnSIGTERM(t *testing.T) {
	skipShortOutsideCI(t, "builds the binary")
	dir := t.TempDir()
	bin := buildFullmakt(t, dir)
	cmd := exec.CommandContext(t.Context(), bin, "serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(dir, "data"))
	cmd.Env = []string{"FULLMAKT_LOG_FORMAT=json"}
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan int, 1)
	go func() {
		cmd.Wait()
		exited <- cmd.ProcessState.ExitCode()
	}()
	base := waitFor(t, stderr, listening, exited, 10*time.Second)[1]
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-exited:
		if code != exitOK {
			t.Errorf("serve after SIGTERM exited with %d, want %d; stderr:\n%s", code, exitOK, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("serve did not exit within 15s of SIGTERM; stderr:\n%s", stderr.String())
	}
	if !strings.Contains(stderr.String(), `"msg":"stopped"`) {
		t.Errorf("no JSON \"stopped\" log line after SIGTERM:\n%s", stderr.String())
	}
}
