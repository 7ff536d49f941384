package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// loadOrCreateKey reads the client's ES256 private key from path (PEM: PKCS #8
// "PRIVATE KEY" or SEC 1 "EC PRIVATE KEY"), or generates one there, mode 0600,
// when the file does not exist. created reports which.
func loadOrCreateKey(path string) (key *ecdsa.PrivateKey, created bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, false, fmt.Errorf("generate the client key: %w", err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, false, fmt.Errorf("encode the client key: %w", err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, false, fmt.Errorf("create the key's directory: %w", err)
		}
		// O_EXCL: two processes starting at once must not each write a key and
		// then use different ones.
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, false, fmt.Errorf("create the client key: %w", err)
		}
		if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
			f.Close()
			os.Remove(path)
			return nil, false, fmt.Errorf("write the client key: %w", err)
		}
		if err := f.Close(); err != nil {
			os.Remove(path)
			return nil, false, fmt.Errorf("write the client key: %w", err)
		}
		return key, true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read the client key: %w", err)
	}
	key, err = parseKey(data)
	if err != nil {
		return nil, false, fmt.Errorf("the client key %s: %w", path, err)
	}
	return key, false, nil
}

// parseKey parses a PEM-encoded P-256 private key.
func parseKey(data []byte) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("not PEM")
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("a PEM block of type %q, want PRIVATE KEY or EC PRIVATE KEY", block.Type)
	}
	if err != nil {
		return nil, err
	}
	ec, ok := key.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, errors.New("not an ECDSA key on P-256 (ES256)")
	}
	return ec, nil
}

// publicJWK is a P-256 public key as a JWK (RFC 7517, RFC 7518 §6.2.1).
type publicJWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
}

// jwkOf returns the public JWK of key, its kid the RFC 7638 thumbprint.
func jwkOf(key *ecdsa.PrivateKey) (publicJWK, error) {
	point, err := key.PublicKey.Bytes() // 0x04 || X || Y, 32 bytes each
	if err != nil || len(point) != 65 {
		return publicJWK{}, fmt.Errorf("encode the public key: %v", err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	x, y := b64(point[1:33]), b64(point[33:])
	// RFC 7638 §3: the required members only, in lexicographic order, no spaces.
	canonical := `{"crv":"P-256","kty":"EC","x":"` + x + `","y":"` + y + `"}`
	sum := sha256.Sum256([]byte(canonical))
	return publicJWK{Kty: "EC", Crv: "P-256", X: x, Y: y, Kid: b64(sum[:]), Use: "sig", Alg: "ES256"}, nil
}

// jwkSet returns the JWK Set of the public key, as served at /jwks.json.
func jwkSet(jwk publicJWK) []byte {
	b, _ := json.Marshal(struct {
		Keys []publicJWK `json:"keys"`
	}{[]publicJWK{jwk}})
	return b
}
