package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer that a running command writes to while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// result is what one run of the program did.
type result struct {
	code           int
	stdout, stderr string
}

// fullmakt runs the program in-process with args (after the program name), the
// environment env (nothing else: the test's own environment never leaks in) and
// stdin.
func fullmakt(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr syncBuffer
	code := run(t.Context(), append([]string{"fullmakt"}, args...), mapEnv(env), strings.NewReader(stdin), &stdout, &stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

func mapEnv(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

// waitFor polls out until re matches, and returns the submatches. It fails the test
// after timeout, or as soon as done delivers the command's exit status.
func waitFor(t testing.TB, out *syncBuffer, re *regexp.Regexp, done <-chan int, timeout time.Duration) []string {
	t.Helper()
	deadline := time.After(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			return m
		}
		select {
		case code := <-done:
			t.Fatalf("the command exited with %d before printing %q; output:\n%s", code, re, out.String())
		case <-deadline:
			t.Fatalf("no %q within %s; output:\n%s", re, timeout, out.String())
		case <-tick.C:
		}
	}
}

func TestRunUsage(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout []string
		wantStderr []string
	}{
		{name: "no command", args: nil, wantCode: exitUsage, wantStderr: []string{"Usage:", "serve", "import", "demo-data", "version"}},
		{name: "help", args: []string{"--help"}, wantCode: exitOK, wantStdout: []string{"Usage:", "FULLMAKT_<FLAG>"}},
		{name: "help word", args: []string{"help"}, wantCode: exitOK, wantStdout: []string{"Commands:"}},
		{name: "unknown command", args: []string{"frobnicate"}, wantCode: exitUsage, wantStderr: []string{`unknown command "frobnicate"`, "Usage:"}},
		{
			name: "serve help", args: []string{"serve", "--help"}, wantCode: exitOK,
			wantStdout: []string{"Usage: fullmakt serve", "--addr HOST:PORT", "$FULLMAKT_ADDR", "$FULLMAKT_DATA", "$FULLMAKT_DEMO",
				"$FULLMAKT_ALLOW_SYNTHETIC_IDS", "$FULLMAKT_LOG_FORMAT", "$FULLMAKT_LOG_LEVEL", `(default "127.0.0.1:8080")`},
		},
		{
			name: "import help", args: []string{"import", "-h"}, wantCode: exitOK,
			wantStdout: []string{"Usage: fullmakt import [flags] FILE...", "$FULLMAKT_DATA", "$FULLMAKT_STRICT", "$FULLMAKT_BATCH", "(default 10000)", "$FULLMAKT_ALLOW_SYNTHETIC_IDS"},
		},
		{
			name: "demo-data help", args: []string{"demo-data", "--help"}, wantCode: exitOK,
			wantStdout: []string{"Usage: fullmakt demo-data", "$FULLMAKT_PERSONS", "$FULLMAKT_SEED", "$FULLMAKT_OUT", "$FULLMAKT_TODAY"},
		},
		{name: "version help", args: []string{"version", "--help"}, wantCode: exitOK, wantStdout: []string{"Usage: fullmakt version"}},
		{name: "unknown flag", args: []string{"serve", "--no-such-flag"}, wantCode: exitUsage, wantStderr: []string{"flag provided but not defined: -no-such-flag", "Usage: fullmakt serve"}},
		{name: "bad flag value", args: []string{"import", "--batch", "many", "x.jsonl"}, wantCode: exitUsage, wantStderr: []string{`invalid value "many" for flag -batch`}},
		{name: "serve takes no arguments", args: []string{"serve", "extra"}, wantCode: exitUsage, wantStderr: []string{"takes no arguments"}},
		{name: "import needs a file", args: []string{"import"}, wantCode: exitUsage, wantStderr: []string{"no file to import"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fullmakt(t, nil, "", tt.args...)
			if got.code != tt.wantCode {
				t.Errorf("run(%q) = %d, want %d; stderr:\n%s", tt.args, got.code, tt.wantCode, got.stderr)
			}
			for _, want := range tt.wantStdout {
				if !strings.Contains(got.stdout, want) {
					t.Errorf("run(%q) stdout lacks %q:\n%s", tt.args, want, got.stdout)
				}
			}
			for _, want := range tt.wantStderr {
				if !strings.Contains(got.stderr, want) {
					t.Errorf("run(%q) stderr lacks %q:\n%s", tt.args, want, got.stderr)
				}
			}
			if tt.wantCode == exitOK && got.stderr != "" {
				t.Errorf("run(%q) wrote to stderr on success:\n%s", tt.args, got.stderr)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	got := fullmakt(t, nil, "", "version")
	if got.code != exitOK || !strings.HasPrefix(got.stdout, "fullmakt ") || !strings.Contains(got.stdout, "go1.") {
		t.Errorf("run(version) = %d, %q, want 0 and \"fullmakt … go1.…\"", got.code, got.stdout)
	}
}

func TestEnvironmentVariables(t *testing.T) {
	t.Run("an invalid value names the variable", func(t *testing.T) {
		got := fullmakt(t, map[string]string{"FULLMAKT_BATCH": "lots", "FULLMAKT_STRICT": "maybe"}, "", "import", "x.jsonl")
		if got.code != exitUsage {
			t.Errorf("import with FULLMAKT_BATCH=lots = %d, want %d", got.code, exitUsage)
		}
		for _, want := range []string{"$FULLMAKT_BATCH: invalid value for --batch", "$FULLMAKT_STRICT: invalid value for --strict"} {
			if !strings.Contains(got.stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, got.stderr)
			}
		}
	})
	t.Run("the environment is read", func(t *testing.T) {
		// An out-of-range value from the environment reaches Validate: it was read.
		got := fullmakt(t, map[string]string{"FULLMAKT_PERSONS": "-3", "FULLMAKT_TODAY": "yesterday"}, "", "demo-data")
		if got.code != exitUsage || !strings.Contains(got.stderr, "--persons: -3") || !strings.Contains(got.stderr, `--today: "yesterday"`) {
			t.Errorf("demo-data with FULLMAKT_PERSONS=-3 = %d, stderr:\n%s", got.code, got.stderr)
		}
	})
	t.Run("a flag wins over the environment", func(t *testing.T) {
		got := fullmakt(t, map[string]string{"FULLMAKT_PERSONS": "-3", "FULLMAKT_TODAY": "2026-01-15"}, "", "demo-data", "--persons", "2", "--seed", "3")
		if got.code != exitOK {
			t.Fatalf("demo-data --persons 2 with FULLMAKT_PERSONS=-3 = %d, stderr:\n%s", got.code, got.stderr)
		}
		if n := strings.Count(got.stdout, `"type":"person"`); n != 2 {
			t.Errorf("demo-data --persons 2 wrote %d persons, want 2", n)
		}
	})
}

func TestValidateReportsEveryProblem(t *testing.T) {
	got := fullmakt(t, nil, "", "serve", "--addr", "localhost", "--data", "", "--log-format", "xml", "--log-level", "loud")
	if got.code != exitUsage {
		t.Errorf("serve with four bad flags = %d, want %d", got.code, exitUsage)
	}
	for _, want := range []string{`--addr: "localhost" is not host:port`, "--data: the data directory is empty",
		`--log-format: "xml" is not text or json`, `--log-level: "loud"`} {
		if !strings.Contains(got.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, got.stderr)
		}
	}

	tests := []struct {
		name     string
		validate func() error
		want     []string
	}{
		{
			name:     "default serve",
			validate: DefaultServeConfig().Validate,
		},
		{
			name: "serve",
			validate: func() error {
				c := DefaultServeConfig()
				c.Addr, c.LockTimeout, c.MaxHeaderBytes = "127.0.0.1:99999", 0, 0
				return c.Validate()
			},
			want: []string{"--addr", "lock timeout", "header size"},
		},
		{
			name: "serve, the OAuth server",
			validate: func() error {
				c := DefaultServeConfig()
				c.Addr, c.AccessTokenLifetime, c.RefreshTokenLifetime = "0.0.0.0:8080", 48*time.Hour, -time.Second
				return c.Validate()
			},
			want: []string{`--public-url: required when --addr "0.0.0.0:8080" is not a loopback address`,
				"--access-token-lifetime: idp: the access token lifetime 48h0m0s is outside", "--refresh-token-lifetime"},
		},
		{
			name: "serve, an http issuer",
			validate: func() error {
				c := DefaultServeConfig()
				c.Addr, c.PublicURL = "0.0.0.0:8080", "http://fullmakt.example"
				return c.Validate()
			},
			want: []string{`--public-url: "http://fullmakt.example" cannot be the OAuth issuer: it must be https`},
		},
		{
			name: "serve behind a proxy",
			validate: func() error {
				c := DefaultServeConfig()
				c.Addr, c.PublicURL, c.AccessTokenLifetime = "0.0.0.0:8080", "https://fullmakt.example", 5*time.Minute
				return c.Validate()
			},
		},
		{
			name: "import",
			validate: func() error {
				c := DefaultImportConfig()
				c.BatchSize, c.MemoryLimitMiB, c.Files = 0, -1, []string{"-", "a.jsonl", "-"}
				return c.Validate()
			},
			want: []string{"--batch: 0", "--memory-limit: -1", "standard input (-) can be imported only once"},
		},
		{
			name:     "demo-data",
			validate: DemoDataConfig{Persons: 0, Out: "", Today: "2026-02-30"}.Validate,
			want:     []string{"--persons: 0", "--out: empty", `--today: "2026-02-30"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Errorf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want %q", tt.want)
			}
			if n := len(unjoin(err)); n != len(tt.want) {
				t.Errorf("Validate() reported %d problems, want %d: %v", n, len(tt.want), err)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Validate() = %v, want it to mention %q", err, want)
				}
			}
		})
	}
}

func TestThousands(t *testing.T) {
	for _, tt := range []struct {
		n    int64
		want string
	}{{0, "0"}, {999, "999"}, {1000, "1,000"}, {54945, "54,945"}, {1000000, "1,000,000"}, {-1234, "-1,234"}} {
		if got := thousands(tt.n); got != tt.want {
			t.Errorf("thousands(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

// background runs the program in a goroutine until ctx ends; done delivers its exit
// status.
func background(ctx context.Context, env map[string]string, args ...string) (stderr *syncBuffer, done <-chan int) {
	stderr = &syncBuffer{}
	ch := make(chan int, 1)
	go func() {
		ch <- run(ctx, append([]string{"fullmakt"}, args...), mapEnv(env), strings.NewReader(""), &syncBuffer{}, stderr)
	}()
	return stderr, ch
}
