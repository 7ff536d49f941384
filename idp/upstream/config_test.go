package upstream_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fullmakt/fullmakt/idp/upstream"
)

// goodFile is a providers file with both kinds of client authentication; the key
// path is relative to the file.
const goodFile = `{
  "providers": [
    {
      "id": "idporten",
      "name": "ID-porten",
      "issuer": "https://idporten.example",
      "client_id": "fullmakt",
      "client_secret": "s3cret",
      "acr": {"idporten-loa-substantial": "substantial", "idporten-loa-high": "high"}
    },
    {
      "id": "bankid-se",
      "name": "BankID",
      "issuer": "http://127.0.0.1:8081/",
      "client_id": "fullmakt",
      "private_key_file": "keys/bankid.pem",
      "client_assertion_audience": "issuer",
      "scopes": ["openid", "profile"],
      "acr": {"urn:bankid:high": "high"},
      "pid_claim": "personal_number",
      "allow_synthetic_ids": true
    }
  ]
}`

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "keys"), 0o700); err != nil {
		t.Fatal(err)
	}
	keyPath := writeKey(t, filepath.Join(dir, "keys"), "bankid.pem", ecKey(t))
	path := filepath.Join(dir, "upstreams.json")
	if err := os.WriteFile(path, []byte(goodFile), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := upstream.LoadConfig(path)
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	want := []upstream.Config{
		{ID: "idporten", Name: "ID-porten", Issuer: "https://idporten.example", ClientID: "fullmakt", ClientSecret: "s3cret",
			ACR: map[string]string{"idporten-loa-substantial": "substantial", "idporten-loa-high": "high"}},
		{ID: "bankid-se", Name: "BankID", Issuer: "http://127.0.0.1:8081/", ClientID: "fullmakt", PrivateKeyFile: keyPath,
			ClientAssertionAudience: "issuer", Scopes: []string{"openid", "profile"}, ACR: map[string]string{"urn:bankid:high": "high"},
			PIDClaim: "personal_number", AllowSyntheticIDs: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("LoadConfig (-want +got):\n%s", diff)
	}

	if _, err := upstream.LoadConfig(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("LoadConfig(missing file) = nil error")
	}
	// Errors name the file and the place in it.
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte("{\n  \"providers\": [],\n  \"extra\": 1\n}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := upstream.LoadConfig(bad); err == nil || !strings.Contains(err.Error(), bad+":3:3: unknown field \"extra\"") {
		t.Errorf("LoadConfig(unknown field) = %v, want it at %s:3:3", err, bad)
	}
}

// TestParseConfigProblems checks every rule: each file must give exactly the
// problems listed (substrings of the errors, in order).
func TestParseConfigProblems(t *testing.T) {
	dir := t.TempDir()
	writeKey(t, dir, "ec.pem", ecKey(t))
	writeKey(t, dir, "rsa1024.pem", rsaKey(t, 1024))
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	writeKey(t, dir, "p384.pem", p384)
	sec1, err := x509.MarshalECPrivateKey(ecKey(t))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"sec1.pem":  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}),
		"cert.pem":  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}}),
		"plain.txt": []byte("not a key"),
		"junk.pem":  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}}),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// provider is a good provider with fields replaced (a JSON object's members).
	provider := func(members ...string) string {
		m := map[string]string{
			"id": `"idporten"`, "name": `"ID-porten"`, "issuer": `"https://idporten.example"`, "client_id": `"fullmakt"`,
			"client_secret": `"s"`, "acr": `{"idporten-loa-high": "high"}`,
		}
		for _, kv := range members {
			k, v, _ := strings.Cut(kv, "=")
			if v == "" {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		var parts []string
		for _, k := range []string{"id", "name", "issuer", "client_id", "client_secret", "private_key_file", "client_assertion_audience", "scopes", "acr", "pid_claim", "allow_synthetic_ids"} {
			if v, ok := m[k]; ok {
				parts = append(parts, `"`+k+`": `+v)
			}
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	file := func(providers ...string) string { return `{"providers": [` + strings.Join(providers, ", ") + `]}` }

	tests := []struct {
		name string
		data string
		want []string
	}{
		{"good", file(provider()), nil},
		{"no providers", file(), nil},
		{"empty file", " \n", []string{"1:1: empty"}},
		{"not an object", `[]`, []string{"1:1: the file must hold an object"}},
		{"syntax", "{\"providers\": [\n  {\"id\": \"a\",]\n}", []string{"2:"}},
		{"repeated field", file(`{"id": "a", "id": "b"}`), []string{"1:28: duplicate object member name"}},
		{"wrong type", file(provider(`scopes="openid"`)), []string{"/providers/0/scopes"}},
		{"unknown fields, every one with its place", "{\n  \"providers\": [\n    {\"id\": \"a\", \"client_idd\": \"x\", \"acr\": {\"any-name\": \"high\"}}\n  ],\n  \"version\": 2\n}",
			[]string{`3:17: unknown field "client_idd" in a provider`, `5:3: unknown field "version" (the file has only "providers")`}},
		{"field names are case-sensitive", file(strings.Replace(provider(), `"client_id"`, `"Client_ID"`, 1)), []string{`unknown field "Client_ID"`}},
		{"id with capitals", file(provider(`id="IDporten"`)), []string{`id "IDporten" is not 1 to 32`}},
		{"id too long", file(provider(`id="` + strings.Repeat("a", 33) + `"`)), []string{"is not 1 to 32"}},
		{"no id", file(provider(`id=`)), []string{`providers[0]: id "" is not`}},
		{"no name", file(provider(`name=`)), []string{"name: missing"}},
		{"name with a control character", file(provider(`name="ID\u0007porten"`)), []string{"name: control characters"}},
		{"no issuer", file(provider(`issuer=`)), []string{"issuer: missing"}},
		{"relative issuer", file(provider(`issuer="idporten.example"`)), []string{"not an absolute URL"}},
		{"issuer with a query", file(provider(`issuer="https://idporten.example/?a=b"`)), []string{"not an absolute URL"}},
		{"http issuer", file(provider(`issuer="http://idporten.example"`)), []string{"must use https"}},
		{"no client id", file(provider(`client_id=`)), []string{"client_id: missing"}},
		{"no client authentication", file(provider(`client_secret=`)), []string{"one is needed"}},
		{"secret and key", file(provider(`private_key_file="ec.pem"`)), []string{"give one, not both"}},
		{"key file missing", file(provider(`client_secret=`, `private_key_file="nope.pem"`)), []string{"private_key_file:", "no such file"}},
		{"key file not PEM", file(provider(`client_secret=`, `private_key_file="plain.txt"`)), []string{"no PEM block"}},
		{"SEC 1 key", file(provider(`client_secret=`, `private_key_file="sec1.pem"`)), []string{"convert it to PKCS #8"}},
		{"a certificate", file(provider(`client_secret=`, `private_key_file="cert.pem"`)), []string{`"CERTIFICATE" block`}},
		{"broken PKCS #8", file(provider(`client_secret=`, `private_key_file="junk.pem"`)), []string{"junk.pem"}},
		{"P-384 key", file(provider(`client_secret=`, `private_key_file="p384.pem"`)), []string{"must be on P-256"}},
		{"short RSA key", file(provider(`client_secret=`, `private_key_file="rsa1024.pem"`)), []string{"at least 2048 bits"}},
		{"assertion audience unknown", file(provider(`client_secret=`, `private_key_file="ec.pem"`, `client_assertion_audience="aud"`)), []string{`client_assertion_audience "aud" is not`}},
		{"assertion audience with a secret", file(provider(`client_assertion_audience="issuer"`)), []string{"only for private_key_file"}},
		{"bad scope", file(provider(`scopes=["openid", "a b"]`)), []string{`scopes[1] "a b" is not a scope token`}},
		{"no acr", file(provider(`acr=`)), []string{"acr: missing"}},
		{"empty acr", file(provider(`acr={}`)), []string{"acr: missing"}},
		{"acr to an unknown level", file(provider(`acr={"idporten-loa-high": "very high"}`)), []string{`maps to "very high"`}},
		{"acr to a URI", file(provider(`acr={"x": "http://eidas.europa.eu/LoA/high"}`)), []string{`maps to "http://eidas.europa.eu/LoA/high"`}},
		{"acr value with a space", file(provider(`acr={"a b": "high"}`)), []string{`"a b" is not an acr value`}},
		{"bad pid claim", file(provider(`pid_claim="p i d"`)), []string{`pid_claim "p i d"`}},
		{"ids used twice", file(provider(), provider(`client_id="other"`)), []string{`providers[1] (idporten): id "idporten" is also the id of providers[0]`}},
		{"every problem at once", file(provider(`id="A"`, `name=`, `issuer="http://x.example"`, `client_id=`, `client_secret=`, `acr={"x": "top"}`), provider(`scopes=[""]`)),
			[]string{`providers[0] (A): id "A"`, "providers[0] (A): name: missing", "must use https", "client_id: missing", "one is needed", `maps to "top"`, `providers[1] (idporten): scopes[0]`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := upstream.ParseConfig([]byte(tt.data), dir)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("ParseConfig(%s) = %v, want no error", tt.data, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseConfig(%s) = nil error, want %q", tt.data, tt.want)
			}
			problems := []error{err}
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				problems = j.Unwrap()
			}
			// Each wanted substring in its own problem, in order; no other problems
			// (but a key problem may take two substrings).
			text := err.Error()
			at := 0
			for _, w := range tt.want {
				i := strings.Index(text[at:], w)
				if i < 0 {
					t.Fatalf("ParseConfig(%s) = %v\nwant %q (in this order: %q)", tt.data, err, w, tt.want)
				}
				at += i + len(w)
			}
			if n := len(problems); n > len(tt.want) {
				t.Errorf("ParseConfig(%s) = %d problems, want %d:\n%v", tt.data, n, len(tt.want), err)
			}
			for _, p := range problems {
				if !strings.HasPrefix(p.Error(), "upstream: ") {
					t.Errorf("problem %q does not begin with the package name", p)
				}
			}
		})
	}
}

func TestValidate(t *testing.T) {
	c := upstream.Config{ID: "x", Name: "X", Issuer: "https://x.example", ClientID: "c", ClientSecret: "s", ACR: map[string]string{"a": "low"}}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate(good) = %v", err)
	}
	c.ACR, c.ClientSecret = nil, ""
	err := c.Validate()
	var j interface{ Unwrap() []error }
	if !errors.As(err, &j) || len(j.Unwrap()) != 2 || !strings.Contains(err.Error(), "upstream: provider x: acr: missing") {
		t.Errorf("Validate(no acr, no secret) = %v, want those two problems of provider x", err)
	}
}
