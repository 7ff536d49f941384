package idp_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v3"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/fullmakt/fullmakt/idp"
)

// validFile is a clients file with one client of each kind.
const validFile = `{
  "clients": [
    {
      "id": "web",
      "name": "Skatteetaten",
      "secret_hash": "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
      "rotated_secrets": [{"hash": "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae", "expires_at": "2026-11-24T12:00:00Z"}],
      "token_endpoint_auth_method": "client_secret_basic",
      "grant_types": ["authorization_code", "refresh_token"],
      "scopes": ["openid", "offline_access"],
      "redirect_uris": ["https://skatt.example/cb?a=1&b=2"],
      "services": ["skatteetaten.skattemelding"],
      "pid": true
    },
    {
      "id": "app",
      "token_endpoint_auth_method": "none",
      "grant_types": ["authorization_code"],
      "redirect_uris": ["com.example.app:/cb"]
    }
  ]
}
`

func TestParseClients(t *testing.T) {
	cs, err := idp.ParseClients(strings.NewReader(validFile), "clients.json")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range cs.All() {
		ids = append(ids, c.ID)
	}
	if diff := cmp.Diff([]string{"app", "web"}, ids); diff != "" {
		t.Errorf("All() ids, ordered (-want +got):\n%s", diff)
	}
	web, ok := cs.Get("web")
	if !ok || !web.PID || web.RotatedSecrets[0].ExpiresAt != time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC) {
		t.Errorf("Get(web) = %+v, %v", web, ok)
	}
	if _, ok := cs.Get("nobody"); ok {
		t.Error("Get(nobody) found a client")
	}
	for _, empty := range []string{`{"clients": []}`, `{"clients": null}`, `{}`} {
		cs, err := idp.ParseClients(strings.NewReader(empty), "clients.json")
		if err != nil || cs.Len() != 0 {
			t.Errorf("ParseClients(%s) = %v clients, %v; want none", empty, cs.Len(), err)
		}
	}
}

func TestParseClientsErrors(t *testing.T) {
	client := func(fields string) string {
		return `{"id": "web", "token_endpoint_auth_method": "none", "grant_types": ["authorization_code"], "redirect_uris": ["https://a.example/cb"]` + fields + `}`
	}
	hash := idp.HashSecret("fms_shared")
	tests := []struct {
		name, file string
		want       []string
	}{
		{"empty", " \n", []string{`idp: clients.json: empty; a file without clients is {"clients": []}`}},
		{"syntax error", "{\n  \"clients\": [\n    {\"id\": \"a\",}\n  ]\n}",
			[]string{"idp: clients.json:3:16: invalid character '}' looking for beginning of object key string"}},
		{"cut short", "{\n  \"clients\": [\n",
			[]string{"idp: clients.json:3:1: unexpected end of JSON input"}},
		{"trailing data", "{\"clients\": []}\n{}",
			[]string{"idp: clients.json:2:1: invalid character '{' after top-level value"}},
		{"not an object", "[]", []string{`idp: clients.json:1:1: the file must hold an object, {"clients": [...]}`}},
		{"clients not an array", `{"clients": {"id": "web"}}`, []string{`idp: clients.json:1:13: "clients" must be an array of clients`}},
		{"unknown top-level field", `{"client": [], "clients": []}`,
			[]string{`idp: clients.json:1:2: unknown field "client" (the file has only "clients")`}},
		{"clients twice", `{"clients": [], "clients": []}`, []string{`idp: clients.json:1:17: "clients" appears twice`}},
		{"unknown fields", "{\"clients\": [\n" + client(`, "redirect_uri": "x", "secret": "y"`) + "]}", []string{
			`idp: clients.json:2:135: client "web": unknown field "redirect_uri"`,
			`idp: clients.json:2:156: client "web": unknown field "secret"`,
		}},
		{"unknown field in a rotated secret", "{\"clients\": [\n" + client(`, "rotated_secrets": [{"hash": "h", "expiry": "2026-01-01T00:00:00Z"}]`) + "]}",
			[]string{`idp: clients.json:2:169: client "web": unknown field "expiry"`}},
		{"repeated field", "{\"clients\": [\n" + client(`, "pid": false, "pid": true`) + "]}",
			[]string{`idp: clients.json:2:149: client "web": field "pid" appears twice`}},
		{"wrong type", "{\"clients\": [\n" + client(`, "pid": "yes"`) + "]}",
			[]string{`idp: clients.json:2:142: client "web": pid: want true or false, not string`}},
		{"wrong type for the id", "{\"clients\": [\n" + `{"id": 7}` + "]}",
			[]string{`idp: clients.json:2:8: clients[0]: id: want a string, not number`}},
		{"a time that is not one", "{\"clients\": [\n" + client(`, "rotated_secrets": [{"hash": "h", "expires_at": "tomorrow"}]`) + "]}",
			[]string{`idp: clients.json:2:183: client "web": "tomorrow" is not an RFC 3339 time such as 2026-01-02T15:04:05Z`}},
		{"a client that is not an object", `{"clients": ["web"]}`, []string{`idp: clients.json:1:14: clients[0] is not an object`}},
		{"every problem of every client", "{\"clients\": [\n" +
			`{"id": "web", "token_endpoint_auth_method": "none", "grant_types": ["password"], "redirect_uris": ["https://a.example/cb"]}` + ",\n" +
			`{"id": "m2m", "token_endpoint_auth_method": "client_secret_basic", "grant_types": ["client_credentials"]}` + "]}", []string{
			`idp: clients.json:2:1: client "web": grant_types: password is not offered (RFC 9700 §2.4): use authorization_code, or client_credentials for a machine`,
			`idp: clients.json:2:1: client "web": grant_types: a public client must use authorization_code`,
			`idp: clients.json:3:1: client "m2m": secret_hash: missing; a client_secret_basic client needs one (fullmakt client rotate-secret m2m)`,
		}},
		{"duplicate id", "{\"clients\": [\n" + client("") + ",\n  " + client("") + "]}",
			[]string{`idp: clients.json:3:3: client "web": the id is already used by another client at clients.json:2:1`}},
		{"a secret shared by two clients", `{"clients": [
			{"id": "a", "token_endpoint_auth_method": "client_secret_basic", "grant_types": ["client_credentials"], "secret_hash": "` + hash + `"},
			{"id": "b", "token_endpoint_auth_method": "client_secret_basic", "grant_types": ["client_credentials"], "secret_hash": "` + hash + `"}]}`,
			[]string{`idp: clients.json:3:4: client "b": has the same secret as client "a"; every client needs its own`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs, err := idp.ParseClients(strings.NewReader(tt.file), "clients.json")
			if err == nil {
				t.Fatalf("ParseClients = %d clients, want errors %q", cs.Len(), tt.want)
			}
			if diff := cmp.Diff(tt.want, strings.Split(err.Error(), "\n")); diff != "" {
				t.Errorf("ParseClients errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseClientsTooBig(t *testing.T) {
	big := `{"clients": [], "x": "` + strings.Repeat("a", 8<<20) + `"}`
	if _, err := idp.ParseClients(strings.NewReader(big), "big.json"); err == nil || !strings.Contains(err.Error(), "longer than 8 MiB") {
		t.Errorf("ParseClients(9 MiB) = %v, want an error about its size", err)
	}
}

func TestLoadClientsMissing(t *testing.T) {
	if _, err := idp.LoadClients(filepath.Join(t.TempDir(), "clients.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadClients(missing) = %v, want fs.ErrNotExist", err)
	}
}

// compactJSON compares raw JSON by content, whatever its indentation.
var compactJSON = cmp.Comparer(func(a, b json.RawMessage) bool {
	var x, y bytes.Buffer
	if json.Compact(&x, a) != nil || json.Compact(&y, b) != nil {
		return bytes.Equal(a, b)
	}
	return bytes.Equal(x.Bytes(), y.Bytes())
})

func TestWriteClients(t *testing.T) {
	ec := ecKey(t)
	m := machineClient(t, &ec.PublicKey)
	m.TokenEndpointAuthSigningAlg = "ES256"
	m.AccessTokenLifetime = "5m"
	w := webClient()
	w.RedirectURIs = []string{"https://skatt.example/cb?a=1&b=<2>"}
	w.RotatedSecrets = []idp.RotatedSecret{{Hash: idp.HashSecret("old"), ExpiresAt: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)}}
	w.Organization = "974760673"
	w.AuthorizationDetailsTypes = []string{"consent"}
	list := []idp.Client{w, appClient(), m}

	path := filepath.Join(t.TempDir(), "clients.json")
	if err := idp.WriteClients(path, list); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("the file's mode = %v, %v; want 0600", st.Mode().Perm(), err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(`"https://skatt.example/cb?a=1&b=<2>"`)) || !bytes.HasPrefix(data, []byte("{\n  \"clients\": [\n    {\n      \"id\": \"app\",")) {
		t.Errorf("the file is not indented, ordered by id and unescaped:\n%s", data)
	}
	cs, err := idp.LoadClients(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []idp.Client{appClient(), m, w}
	if diff := cmp.Diff(want, cs.All(), cmpopts.IgnoreUnexported(idp.Client{}), compactJSON); diff != "" {
		t.Errorf("LoadClients(WriteClients(list)) (-want +got):\n%s", diff)
	}
	// Writing the loaded clients again changes nothing: the order is stable.
	if err := idp.WriteClients(path, cs.All()); err != nil {
		t.Fatal(err)
	}
	again, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(again, data) {
		t.Errorf("a second write changed the file: %v\n%s", err, again)
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil || len(entries) != 1 {
		t.Errorf("the folder holds %d entries, want only the clients file (no temporary files): %v", len(entries), err)
	}

	// Nothing is written when a client is not valid.
	bad := appClient()
	bad.GrantTypes = []string{"implicit"}
	err = idp.WriteClients(path, []idp.Client{bad})
	if err == nil || !strings.Contains(err.Error(), "implicit is not offered") {
		t.Errorf("WriteClients(invalid) = %v, want the problem", err)
	}
	if now, _ := os.ReadFile(path); !bytes.Equal(now, data) {
		t.Error("WriteClients(invalid) changed the file")
	}
	if err := idp.WriteClients(path, nil); err != nil {
		t.Fatal(err)
	}
	if now, _ := os.ReadFile(path); string(now) != "{\n  \"clients\": []\n}\n" {
		t.Errorf("WriteClients(none) wrote %q", now)
	}
}

func FuzzParseClients(f *testing.F) {
	f.Add([]byte(validFile))
	f.Add([]byte(`{"clients": [{"id": "m", "token_endpoint_auth_method": "private_key_jwt", "grant_types": ["client_credentials"],
		"jwks": {"keys": [{"kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}}]}`))
	f.Add([]byte(`{"clients": [{"id": 7}, "x", {"id": "a", "id": "b", "rotated_secrets": [{"hash": 1}]}]}`))
	f.Add([]byte(`{"clients": [{"id": "a", "jwks_uri": "http://[::1]:80/x", "redirect_uris": ["%zz", "a.b:c#d", "http://[::1"]}]}`))
	f.Add([]byte("{\"clients\": [\n{\"id\": \"a\",}"))
	f.Add([]byte(`{"clients": [], "clients": null, "x": 1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cs, err := idp.ParseClients(bytes.NewReader(data), "fuzz.json")
		if err != nil {
			return
		}
		// What loads is valid, and survives a round trip.
		for _, c := range cs.All() {
			if err := c.Validate(); err != nil {
				t.Fatalf("ParseClients accepted a client that does not validate: %v", err)
			}
		}
		path := filepath.Join(t.TempDir(), "clients.json")
		if err := idp.WriteClients(path, cs.All()); err != nil {
			t.Fatalf("WriteClients(ParseClients(data)) = %v", err)
		}
		again, err := idp.LoadClients(path)
		if err != nil || again.Len() != cs.Len() {
			t.Fatalf("LoadClients(WriteClients(ParseClients(data))) = %v clients, %v; want %d", again.Len(), err, cs.Len())
		}
	})
}

// The JWK Set from a file keeps every key member through a round trip.
func TestWriteClientsKeepsJWKS(t *testing.T) {
	ec := ecKey(t)
	m := machineClient(t, nil)
	m.JWKS = jwks(t, jose.JSONWebKey{Key: &ec.PublicKey, KeyID: "2026-11", Algorithm: "ES256", Use: "sig"})
	path := filepath.Join(t.TempDir(), "clients.json")
	if err := idp.WriteClients(path, []idp.Client{m}); err != nil {
		t.Fatal(err)
	}
	cs, err := idp.LoadClients(path)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := cs.Get("nav.api")
	k := got.GetJSONWebKeys().Key("2026-11")
	if len(k) != 1 || k[0].Algorithm != "ES256" || k[0].Use != "sig" || !k[0].IsPublic() {
		t.Errorf("GetJSONWebKeys().Key(2026-11) = %+v", k)
	}
}
