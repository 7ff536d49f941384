package main

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
)

func TestLoadOrCreateKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "client-key.pem")
	key, created, err := loadOrCreateKey(path)
	if err != nil || !created {
		t.Fatalf("loadOrCreateKey on a new path = %v, created %v; want a new key", err, created)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the key file: %v, %v; want mode 0600", fi.Mode(), err)
	}
	again, created, err := loadOrCreateKey(path)
	if err != nil || created {
		t.Fatalf("loadOrCreateKey again = %v, created %v; want the same key read back", err, created)
	}
	if !again.Equal(key) {
		t.Error("the key read back differs from the one generated")
	}

	// A SEC 1 key, as openssl ecparam writes it, is read too.
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	sec1 := filepath.Join(t.TempDir(), "sec1.pem")
	os.WriteFile(sec1, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600)
	if k, _, err := loadOrCreateKey(sec1); err != nil || !k.Equal(key) {
		t.Errorf("loadOrCreateKey(SEC 1) = %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.pem")
	os.WriteFile(bad, []byte("not a key"), 0o600)
	if _, _, err := loadOrCreateKey(bad); err == nil {
		t.Error("loadOrCreateKey on a file that is not a key succeeded")
	}
}

func TestJWK(t *testing.T) {
	key, _, err := loadOrCreateKey(filepath.Join(t.TempDir(), "k.pem"))
	if err != nil {
		t.Fatal(err)
	}
	jwk, err := jwkOf(key)
	if err != nil {
		t.Fatal(err)
	}
	// RFC 7638: the thumbprint is over the required members in lexicographic
	// order, which encoding/json gives a map.
	canonical, _ := json.Marshal(map[string]string{"crv": "P-256", "kty": "EC", "x": jwk.X, "y": jwk.Y})
	sum := sha256.Sum256(canonical)
	if want := base64.RawURLEncoding.EncodeToString(sum[:]); jwk.Kid != want {
		t.Errorf("kid = %q, want the RFC 7638 thumbprint %q", jwk.Kid, want)
	}
	// The coordinates are the public key's.
	x, _ := base64.RawURLEncoding.DecodeString(jwk.X)
	y, _ := base64.RawURLEncoding.DecodeString(jwk.Y)
	point := append(append([]byte{4}, x...), y...)
	pub, err := ecdsa.ParseUncompressedPublicKey(key.Curve, point)
	if err != nil || !pub.Equal(&key.PublicKey) {
		t.Errorf("the JWK's x and y are not the public key: %v", err)
	}

	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(jwkSet(jwk), &set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("jwkSet = %s, %v", jwkSet(jwk), err)
	}
	k := set.Keys[0]
	if k["kty"] != "EC" || k["crv"] != "P-256" || k["use"] != "sig" || k["alg"] != "ES256" || k["kid"] != jwk.Kid {
		t.Errorf("the JWK Set's key = %v", k)
	}
	if _, ok := k["d"]; ok {
		t.Error("the JWK Set holds the private key")
	}
}
