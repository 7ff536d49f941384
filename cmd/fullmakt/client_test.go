package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fullmakt/fullmakt/idp"
)

var secretLine = regexp.MustCompile(`(?m)^client_secret: (fms_[A-Za-z0-9_-]{43})$`)

// verifies reports whether secret authenticates client id in the clients file at
// path at time now, the way the server checks it: the current hash, then the
// rotated ones the registry still serves.
func verifies(t *testing.T, path, id, secret string, now time.Time) bool {
	t.Helper()
	cs, err := idp.LoadClients(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := idp.NewClientRegistry(cs, func() time.Time { return now }).GetClient(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	hashes := append([][]byte{c.GetHashedSecret()}, c.(interface{ GetRotatedHashes() [][]byte }).GetRotatedHashes()...)
	for _, h := range hashes {
		if (idp.SecretHasher{}).Compare(t.Context(), h, []byte(secret)) == nil {
			return true
		}
	}
	return false
}

func TestClientCommands(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "clients.json")
	env := map[string]string{"FULLMAKT_DATA": dir}

	// add: a confidential web client gets a secret, shown once.
	got := fullmakt(t, env, "", "client", "add", "web", "--name", "Lånekassen", "--redirect-uri", "https://lanekassen.example/cb",
		"--service", "lanekassen.studiestotte", "--pid", "--audience", "https://api.lanekassen.example")
	if got.code != exitOK {
		t.Fatalf("client add web = %d; stderr:\n%s", got.code, got.stderr)
	}
	m := secretLine.FindStringSubmatch(got.stdout)
	if m == nil || !strings.Contains(got.stdout, "will not be shown again") {
		t.Fatalf("client add web printed no secret, or no warning:\n%s", got.stdout)
	}
	first := m[1]
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("the clients file: %v, %v; want mode 0600", st, err)
	}

	// A public client and a machine client with keys from a file.
	if got := fullmakt(t, nil, "", "client", "add", "app", "--clients", path, "--auth-method", "none", "--redirect-uri", "com.example.app:/cb"); got.code != exitOK || secretLine.MatchString(got.stdout) {
		t.Fatalf("client add app = %d, %q; want no secret; stderr:\n%s", got.code, got.stdout, got.stderr)
	}
	keyFile := filepath.Join(dir, "key.json")
	write(t, keyFile, `{"kty": "EC", "crv": "P-256", "kid": "nav-1",
	  "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}`)
	got = fullmakt(t, env, "", "client", "add", "nav", "--auth-method", "private_key_jwt", "--jwks-file", keyFile,
		"--grant-type", "client_credentials,urn:ietf:params:oauth:grant-type:token-exchange", "--scope", "decide", "--service", "*")
	if got.code != exitOK || secretLine.MatchString(got.stdout) {
		t.Fatalf("client add nav = %d, %q; stderr:\n%s", got.code, got.stdout, got.stderr)
	}

	// list: every client, no secrets.
	got = fullmakt(t, env, "", "client", "list")
	wantList := []string{
		"ID   NAME        AUTH METHOD          GRANT TYPES",
		"app              none                 authorization_code,refresh_token",
		"nav              private_key_jwt      client_credentials,urn:ietf:params:oauth:grant-type:token-exchange",
		"web  Lånekassen  client_secret_basic  authorization_code,refresh_token",
	}
	if diff := cmp.Diff(wantList, strings.Split(strings.TrimSpace(got.stdout), "\n")); got.code != exitOK || diff != "" {
		t.Errorf("client list = %d (-want +got):\n%s", got.code, diff)
	}

	// show: the client without its hash.
	got = fullmakt(t, env, "", "client", "show", "web")
	var shown map[string]any
	if err := json.Unmarshal([]byte(got.stdout), &shown); err != nil || got.code != exitOK {
		t.Fatalf("client show web = %d, %q, %v", got.code, got.stdout, err)
	}
	want := map[string]any{
		"id": "web", "name": "Lånekassen", "token_endpoint_auth_method": "client_secret_basic",
		"grant_types": []any{"authorization_code", "refresh_token"}, "scopes": []any{"openid", "offline_access"},
		"redirect_uris": []any{"https://lanekassen.example/cb"}, "services": []any{"lanekassen.studiestotte"},
		"audiences": []any{"https://api.lanekassen.example"}, "pid": true,
	}
	if diff := cmp.Diff(want, shown); diff != "" {
		t.Errorf("client show web (-want +got):\n%s", diff)
	}
	got = fullmakt(t, env, "", "client", "show", "nav")
	if !strings.Contains(got.stdout, `"kid": "nav-1"`) || !strings.Contains(got.stdout, `"token_endpoint_auth_signing_alg": "ES256"`) {
		t.Errorf("client show nav: want the key and ES256:\n%s", got.stdout)
	}

	// rotate-secret: the old secret works during the grace, and the new one too.
	now := time.Now()
	got = fullmakt(t, env, "", "client", "rotate-secret", "web", "--grace", "1h")
	m = secretLine.FindStringSubmatch(got.stdout)
	if got.code != exitOK || m == nil || m[1] == first {
		t.Fatalf("client rotate-secret web = %d, %q; stderr:\n%s", got.code, got.stdout, got.stderr)
	}
	second := m[1]
	for _, tt := range []struct {
		name   string
		secret string
		at     time.Time
		want   bool
	}{
		{"the new secret", second, now, true},
		{"the old secret during the grace", first, now.Add(55 * time.Minute), true},
		{"the old secret after the grace", first, now.Add(62 * time.Minute), false},
		{"the new secret after the grace", second, now.Add(62 * time.Minute), true},
		{"no secret", "", now, false},
	} {
		if got := verifies(t, path, "web", tt.secret, tt.at); got != tt.want {
			t.Errorf("%s verifies = %v, want %v", tt.name, got, tt.want)
		}
	}

	// --grace 0 drops the old secret at once, and prunes the expired ones.
	got = fullmakt(t, env, "", "client", "rotate-secret", "web", "--grace", "0")
	m = secretLine.FindStringSubmatch(got.stdout)
	if got.code != exitOK || m == nil || !strings.Contains(got.stdout, "the old secret no longer works") {
		t.Fatalf("client rotate-secret --grace 0 = %d, %q; stderr:\n%s", got.code, got.stdout, got.stderr)
	}
	third := m[1]
	if verifies(t, path, "web", second, now) || !verifies(t, path, "web", third, now) || !verifies(t, path, "web", first, now) {
		t.Error("after --grace 0: want the previous secret refused at once, the new one and the one still in its grace accepted")
	}

	// Expired rotated secrets are pruned at the next rotation.
	cs, err := idp.LoadClients(path)
	if err != nil {
		t.Fatal(err)
	}
	list := cs.All()
	for i := range list {
		if list[i].ID == "web" {
			if len(list[i].RotatedSecrets) != 1 {
				t.Fatalf("web has %d rotated secrets, want 1", len(list[i].RotatedSecrets))
			}
			list[i].RotatedSecrets = []idp.RotatedSecret{{Hash: list[i].RotatedSecrets[0].Hash, ExpiresAt: now.Add(-time.Minute)}}
		}
	}
	if err := idp.WriteClients(path, list); err != nil {
		t.Fatal(err)
	}
	got = fullmakt(t, env, "", "client", "rotate-secret", "web", "--grace", "0")
	if m = secretLine.FindStringSubmatch(got.stdout); got.code != exitOK || m == nil {
		t.Fatalf("client rotate-secret --grace 0 = %d, %q; stderr:\n%s", got.code, got.stdout, got.stderr)
	}
	third = m[1]
	if cs, err = idp.LoadClients(path); err != nil {
		t.Fatal(err)
	}
	if web, _ := cs.Get("web"); len(web.RotatedSecrets) != 0 {
		t.Errorf("after rotating: rotated secrets %+v, want the expired one pruned", web.RotatedSecrets)
	}

	// The file never holds a secret.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{first, second, third, "fms_"} {
		if strings.Contains(string(data), s) {
			t.Errorf("the clients file holds a secret %q:\n%s", s, data)
		}
	}

	// remove.
	if got := fullmakt(t, env, "", "client", "remove", "app"); got.code != exitOK || !strings.Contains(got.stdout, `removed client "app"`) {
		t.Errorf("client remove app = %d, %q, %q", got.code, got.stdout, got.stderr)
	}
	if got := fullmakt(t, env, "", "client", "list"); strings.Contains(got.stdout, "app ") {
		t.Errorf("client list after remove:\n%s", got.stdout)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("the clients file after writes: %v, %v; want mode 0600", st, err)
	}
}

func TestClientCommandErrors(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"FULLMAKT_CLIENTS": filepath.Join(dir, "clients.json")}
	if got := fullmakt(t, env, "", "client", "add", "m2m"); got.code != exitOK {
		t.Fatalf("client add m2m = %d; stderr:\n%s", got.code, got.stderr)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     []string // in stderr
	}{
		{"an existing id", []string{"add", "m2m"}, exitError, []string{`client "m2m" already exists`}},
		{"an invalid redirect URI", []string{"add", "web", "--redirect-uri", "http://web.example/cb", "--redirect-uri", "https://*.example/cb"}, exitUsage, []string{
			`the configuration is not valid`,
			`- idp: client "web": redirect_uris[0]: "http://web.example/cb" uses http on a host that is not loopback`,
			`- idp: client "web": redirect_uris[1]: "https://*.example/cb" has a wildcard`,
		}},
		{"implicit", []string{"add", "spa", "--auth-method", "none", "--grant-type", "implicit"}, exitUsage, []string{
			"implicit is not offered", "a public client must use authorization_code", "a public client needs at least one redirect URI",
		}},
		{"a bad id", []string{"add", "a/b"}, exitUsage, []string{`id: only A-Z`}},
		{"no id", []string{"add"}, exitUsage, []string{"name one client id"}},
		{"a missing key file", []string{"add", "k", "--auth-method", "private_key_jwt", "--jwks-file", filepath.Join(dir, "nope.json")}, exitUsage, []string{"--jwks-file"}},
		{"show an unknown client", []string{"show", "nobody"}, exitError, []string{`no client "nobody" in`}},
		{"rotate an unknown client", []string{"rotate-secret", "nobody"}, exitError, []string{`no client "nobody" in`}},
		{"remove an unknown client", []string{"remove", "nobody"}, exitError, []string{`no client "nobody" in`}},
		{"a negative grace", []string{"rotate-secret", "m2m", "--grace", "-1h"}, exitUsage, []string{"--grace: -1h0m0s is not between 0 and 720h0m0s"}},
		{"an unknown subcommand", []string{"frob"}, exitUsage, []string{`unknown subcommand "frob"`}},
		{"an unknown flag", []string{"add", "x", "--secret", "hunter2"}, exitUsage, []string{"flag provided but not defined: -secret"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fullmakt(t, env, "", append([]string{"client"}, tt.args...)...)
			if got.code != tt.wantCode {
				t.Errorf("client %q = %d, want %d; stderr:\n%s", tt.args, got.code, tt.wantCode, got.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(got.stderr, w) {
					t.Errorf("client %q: stderr lacks %q:\n%s", tt.args, w, got.stderr)
				}
			}
		})
	}

	// Nothing was written by the failures: m2m is still alone.
	got := fullmakt(t, env, "", "client", "list")
	if lines := strings.Split(strings.TrimSpace(got.stdout), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[1], "m2m ") {
		t.Errorf("client list after failures:\n%s", got.stdout)
	}

	// A public client has no secret to rotate.
	if got := fullmakt(t, env, "", "client", "add", "spa", "--auth-method", "none", "--redirect-uri", "http://127.0.0.1/cb"); got.code != exitOK {
		t.Fatalf("client add spa = %d; stderr:\n%s", got.code, got.stderr)
	}
	if got := fullmakt(t, env, "", "client", "rotate-secret", "spa"); got.code != exitError || !strings.Contains(got.stderr, `client "spa" uses none and has no secret`) {
		t.Errorf("client rotate-secret spa = %d, %q", got.code, got.stderr)
	}

	// A broken file is reported with its place, and left alone.
	write(t, filepath.Join(dir, "clients.json"), "{\"clients\": [\n  {\"id\": \"x\",}]}")
	if got := fullmakt(t, env, "", "client", "add", "y"); got.code != exitError || !strings.Contains(got.stderr, "clients.json:2:14: invalid character") {
		t.Errorf("client add with a broken file = %d, %q", got.code, got.stderr)
	}

	// A file that does not exist yet lists nothing.
	if got := fullmakt(t, map[string]string{"FULLMAKT_DATA": filepath.Join(dir, "none")}, "", "client", "list"); got.code != exitOK || !strings.Contains(got.stderr, "does not exist") {
		t.Errorf("client list without a file = %d, %q", got.code, got.stderr)
	}
	if got := fullmakt(t, nil, "", "client", "--help"); got.code != exitOK || !strings.Contains(got.stdout, "rotate-secret") {
		t.Errorf("client --help = %d, %q", got.code, got.stdout)
	}
	if got := fullmakt(t, nil, "", "client", "add", "--help"); got.code != exitOK || !strings.Contains(got.stdout, "[$FULLMAKT_CLIENTS]") {
		t.Errorf("client add --help = %d, %q", got.code, got.stdout)
	}
}
