package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    func(Config) bool
		code    int
		done    bool
		wantErr string
	}{
		{
			name: "defaults with --demo", args: []string{"--demo"},
			want: func(c Config) bool {
				return c.Addr == "localhost:8081" && c.Fullmakt == "http://localhost:8080" && c.DataDir == "example-agency-data" &&
					c.ClientID == "example-agency" && c.DiplomasClientID == "example-diplomas" && c.keyFile() == "example-agency-data/client-key.pem"
			},
		},
		{
			name: "the environment", env: map[string]string{"EXAMPLE_AGENCY_DEMO": "true", "EXAMPLE_AGENCY_ADDR": "127.0.0.1:9000", "EXAMPLE_AGENCY_DATA": "/d"},
			want: func(c Config) bool { return c.Demo && c.Addr == "127.0.0.1:9000" && c.keyFile() == "/d/client-key.pem" },
		},
		{
			name: "a flag wins over its variable", args: []string{"--demo", "--addr", "127.0.0.1:1"}, env: map[string]string{"EXAMPLE_AGENCY_ADDR": "127.0.0.1:2"},
			want: func(c Config) bool { return c.Addr == "127.0.0.1:1" },
		},
		{
			name: "a secret file instead of --demo", args: []string{"--diplomas-secret-file", "/s", "--key-file", "/k.pem"},
			want: func(c Config) bool { return !c.Demo && c.DiplomasSecretFile == "/s" && c.keyFile() == "/k.pem" },
		},
		{name: "no secret without --demo", args: nil, code: exitUsage, done: true, wantErr: "--diplomas-secret-file is needed"},
		{name: "every problem at once", args: []string{"--fullmakt", "ftp://x", "--public-url", "/rel", "--log-level", "loud"}, code: exitUsage, done: true,
			wantErr: "--fullmakt \"ftp://x\" is not http or https"},
		{name: "a bad variable", env: map[string]string{"EXAMPLE_AGENCY_DEMO": "perhaps"}, code: exitUsage, done: true, wantErr: "$EXAMPLE_AGENCY_DEMO"},
		{name: "arguments", args: []string{"--demo", "extra"}, code: exitUsage, done: true, wantErr: "takes no arguments"},
		{name: "help", args: []string{"--help"}, code: exitOK, done: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			cfg, code, done := parseFlags(append([]string{"example-agency"}, tt.args...), env(tt.env), &stdout, &stderr)
			if code != tt.code || done != tt.done {
				t.Fatalf("parseFlags(%q) = %d, %v, want %d, %v; stderr:\n%s", tt.args, code, done, tt.code, tt.done, stderr.String())
			}
			if tt.want != nil && !tt.want(cfg) {
				t.Errorf("parseFlags(%q) = %+v", tt.args, cfg)
			}
			if tt.wantErr != "" && !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("parseFlags(%q): stderr lacks %q:\n%s", tt.args, tt.wantErr, stderr.String())
			}
		})
	}

	var stdout bytes.Buffer
	parseFlags([]string{"example-agency", "--help"}, env(nil), &stdout, &bytes.Buffer{})
	for _, want := range []string{"--fullmakt URL", "[$EXAMPLE_AGENCY_FULLMAKT]", "--diplomas-secret-file FILE", "--demo\n"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("--help lacks %q:\n%s", want, stdout.String())
		}
	}
	// Every problem at once.
	var stderr bytes.Buffer
	parseFlags([]string{"example-agency", "--fullmakt", "ftp://x", "--public-url", "/rel", "--log-level", "loud"}, env(nil), &bytes.Buffer{}, &stderr)
	for _, want := range []string{"--fullmakt", "--public-url", "--log-level", "--diplomas-secret-file"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("the problems lack %s:\n%s", want, stderr.String())
		}
	}
}

// Without Fullmakt, the office gives up after --wait-for-fullmakt and says why.
func TestRunWithoutFullmakt(t *testing.T) {
	args := []string{"example-agency", "--demo", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--fullmakt", "http://127.0.0.1:1"}
	noEnv := func(string) string { return "" }
	var out bytes.Buffer
	code := run(context.Background(), append(args, "--wait-for-fullmakt", "300ms"), noEnv, strings.NewReader(""), &out, &out)
	if code != exitError {
		t.Errorf("run without Fullmakt = %d, want %d:\n%s", code, exitError, out.String())
	}
	if !strings.Contains(out.String(), "connect to Fullmakt at http://127.0.0.1:1") {
		t.Errorf("run without Fullmakt does not say so:\n%s", out.String())
	}

	// A signal while it waits is a clean stop.
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append(args, "--wait-for-fullmakt", "1h"), noEnv, strings.NewReader(""), logs, logs)
	}()
	waitForLine(t, logs, regexp.MustCompile(`trying again`), done, 30*time.Second)
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("run stopped while waiting = %d, want %d:\n%s", code, exitOK, logs.String())
	}
}
