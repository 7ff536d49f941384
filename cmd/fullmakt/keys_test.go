package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fullmakt/fullmakt/delegation/bolt"
)

// keyRows parses the table of `keys list` into kid → state, in order.
func keyRows(t *testing.T, out string) (kids, states []string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) == 0 || !regexp.MustCompile(`^KID +ALG +CREATED +SIGNS FROM +STATE$`).MatchString(lines[0]) {
		t.Fatalf("keys list output has no table header:\n%s", out)
	}
	row := regexp.MustCompile(`^([A-Za-z0-9_-]{43}) +ES256 +(\S+) +(\S+) +(pending|signing|retiring)$`)
	for _, line := range lines[1:] {
		m := row.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("keys list row %q is not kid, ES256, two times and a state", line)
		}
		for _, ts := range m[2:4] {
			if _, err := time.Parse(time.RFC3339, ts); err != nil {
				t.Errorf("keys list time %q: %v", ts, err)
			}
		}
		kids, states = append(kids, m[1]), append(states, m[4])
	}
	return kids, states
}

// newDataDir returns a data directory with an empty database in it.
func newDataDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := openTestStore(t, dir).Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestKeysRotateAndList(t *testing.T) {
	data := newDataDir(t)

	got := fullmakt(t, nil, "", "keys", "list", "--data", data)
	if got.code != exitOK || !strings.Contains(got.stdout, "No signing keys yet") {
		t.Errorf("keys list on a new database = %d, %q; want a note that there are none", got.code, got.stdout)
	}

	// On a database without keys, even a planned rotation signs at once.
	newKey := regexp.MustCompile(`^New signing key ([A-Za-z0-9_-]{43}): published and signing from now \((\S+)\)\.\n`)
	got = fullmakt(t, nil, "", "keys", "rotate", "--data", data)
	m := newKey.FindStringSubmatch(got.stdout)
	if got.code != exitOK || m == nil {
		t.Fatalf("keys rotate on an empty database = %d, %q (stderr %q); want a key that signs now", got.code, got.stdout, got.stderr)
	}
	first := m[1]

	// A planned rotation: the new key signs an hour later.
	got = fullmakt(t, map[string]string{"FULLMAKT_DATA": data}, "", "keys", "rotate")
	m = regexp.MustCompile(`^New signing key ([A-Za-z0-9_-]{43}): published now, signs from (\S+) \(in 1h0m0s\)\.\nStart fullmakt serve again to use it\.\n$`).FindStringSubmatch(got.stdout)
	if got.code != exitOK || m == nil {
		t.Fatalf("keys rotate = %d, %q (stderr %q); want a key that signs in an hour", got.code, got.stdout, got.stderr)
	}
	planned := m[1]
	if signsFrom, err := time.Parse(time.RFC3339, m[2]); err != nil || time.Until(signsFrom) < 59*time.Minute || time.Until(signsFrom) > time.Hour {
		t.Errorf("the planned key signs from %s (%v), want an hour from now", m[2], err)
	}
	got = fullmakt(t, nil, "", "keys", "list", "--data", data)
	if got.code != exitOK {
		t.Fatalf("keys list = %d; stderr %q", got.code, got.stderr)
	}
	kids, states := keyRows(t, got.stdout)
	if want := []string{first, planned}; !slices.Equal(kids, want) || !slices.Equal(states, []string{"signing", "pending"}) {
		t.Errorf("keys list = %v %v, want %v signing, pending:\n%s", kids, states, want, got.stdout)
	}

	// A suspected compromise: the new key signs at once, replaces the pending one,
	// and the old one is retiring.
	got = fullmakt(t, nil, "", "keys", "rotate", "--now", "--data", data)
	m = newKey.FindStringSubmatch(got.stdout)
	if got.code != exitOK || m == nil {
		t.Fatalf("keys rotate --now = %d, %q (stderr %q)", got.code, got.stdout, got.stderr)
	}
	urgent := m[1]
	got = fullmakt(t, nil, "", "keys", "list", "--data", data)
	kids, states = keyRows(t, got.stdout)
	if want := []string{first, urgent}; !slices.Equal(kids, want) || !slices.Equal(states, []string{"retiring", "signing"}) {
		t.Errorf("keys list after rotate --now = %v %v, want %v retiring, signing:\n%s", kids, states, want, got.stdout)
	}

	// What the command wrote is what the server will read.
	s := openTestStore(t, data)
	defer s.Close()
	stored, err := s.SigningKeys(t.Context())
	if err != nil || len(stored) != 2 || stored[0].ID != first || stored[1].ID != urgent {
		t.Errorf("stored keys = %v, %v; want %s and %s", stored, err, first, urgent)
	}
}

func TestKeysNeedsTheServerStopped(t *testing.T) {
	data := newDataDir(t)
	s, err := bolt.Open(filepath.Join(data, dbFile), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, args := range [][]string{{"keys", "list"}, {"keys", "rotate", "--now"}} {
		start := time.Now()
		got := fullmakt(t, map[string]string{"FULLMAKT_LOCK_TIMEOUT": "100ms"}, "", append(args, "--data", data)...)
		if got.code != exitError || !strings.Contains(got.stderr, "is in use by another process, most likely fullmakt serve") ||
			!strings.Contains(got.stderr, "Stop the server and run this again (waited 100ms") {
			t.Errorf("%q while the database is open = %d, %q; want exit 1 saying to stop the server", args, got.code, got.stderr)
		}
		if waited := time.Since(start); waited > 5*time.Second {
			t.Errorf("%q waited %s, want about --lock-timeout (100ms)", args, waited)
		}
	}
}

func TestKeysUsage(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nowhere")
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "no subcommand", args: []string{"keys"}, wantCode: exitUsage, wantStderr: "fullmakt keys rotate [--now]"},
		{name: "help", args: []string{"keys", "--help"}, wantCode: exitOK, wantStdout: "stop the server first"},
		{name: "unknown subcommand", args: []string{"keys", "frob"}, wantCode: exitUsage, wantStderr: `unknown subcommand "frob"`},
		{name: "list help", args: []string{"keys", "list", "--help"}, wantCode: exitOK, wantStdout: "--lock-timeout DURATION"},
		{name: "rotate help", args: []string{"keys", "rotate", "-h"}, wantCode: exitOK, wantStdout: "[$FULLMAKT_NOW]"},
		{name: "list with an argument", args: []string{"keys", "list", "x"}, wantCode: exitUsage, wantStderr: "takes no arguments"},
		{name: "bad flag", args: []string{"keys", "rotate", "--later"}, wantCode: exitUsage, wantStderr: "flag provided but not defined: -later"},
		{name: "bad lock timeout", args: []string{"keys", "list", "--lock-timeout", "0s"}, wantCode: exitUsage, wantStderr: "--lock-timeout: 0s is not a positive duration"},
		{name: "no database", args: []string{"keys", "list", "--data", missing}, wantCode: exitError, wantStderr: "no database at " + filepath.Join(missing, dbFile) + " (is --data right?)"},
		{name: "rotate creates no database", args: []string{"keys", "rotate", "--data", missing}, wantCode: exitError, wantStderr: "no database at"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fullmakt(t, nil, "", tt.args...)
			if got.code != tt.wantCode || !strings.Contains(got.stdout, tt.wantStdout) || !strings.Contains(got.stderr, tt.wantStderr) {
				t.Errorf("%q = %d, stdout %q, stderr %q; want %d, stdout with %q, stderr with %q",
					tt.args, got.code, got.stdout, got.stderr, tt.wantCode, tt.wantStdout, tt.wantStderr)
			}
		})
	}
	if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("keys created the data directory named by a wrong --data: %v", err)
	}
}
