package idp_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/go-cmp/cmp"

	"github.com/fullmakt/fullmakt/idp"
)

// TestSignReceipt: a receipt is a compact JWS with the header of the contract
// (alg ES256, the kid of a key in the published JWK Set, typ
// fullmakt-receipt+jwt), verifiable with the JWK Set alone, carrying the claims
// it was given and the issuer, and no expiry.
func TestSignReceipt(t *testing.T) {
	f := newFixture(t)
	iat := time.Now().Unix()
	claims := map[string]any{
		"iss": "https://someone-else.example", // replaced: the issuer is the server's
		"iat": iat, "jti": "mZ3q0pXn4Tq8Yl2vH1cK9w", "client_id": "machine", "decision": true,
		"actor":   map[string]any{"type": "person", "id": f.parent.ID.String()},
		"party":   map[string]any{"type": "person", "id": f.child.ID.String()},
		"service": "helsenorge.journal", "action": "read", "acr": acrHigh, "auth_time": iat - 60,
		"relation": map[string]any{"kind": "parent"}, "reasons": []string{"permitted"}, "policy_version": "sha256:0123456789abcdef",
	}
	raw, err := f.server.SignReceipt(t.Context(), claims)
	if err != nil {
		t.Fatalf("SignReceipt() error = %v", err)
	}
	if claims["iss"] != "https://someone-else.example" {
		t.Error("SignReceipt changed the caller's claims")
	}

	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("SignReceipt() = %q, want a compact JWS", raw)
	}
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	var header map[string]any
	if err := json.Unmarshal(hb, &header); err != nil {
		t.Fatal(err)
	}
	kid, _ := header["kid"].(string)
	if diff := cmp.Diff(map[string]any{"alg": "ES256", "kid": kid, "typ": idp.ReceiptType}, header); diff != "" || kid == "" {
		t.Errorf("receipt header (-want +got):\n%s", diff)
	}

	tok, err := josejwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatalf("parse the receipt: %v", err)
	}
	set := f.jwks(t)
	keys := set.Key(kid)
	if len(keys) != 1 {
		t.Fatalf("receipt kid %q: %d keys in the JWKS, want 1", kid, len(keys))
	}
	var got map[string]any
	if err := tok.Claims(keys[0].Key, &got); err != nil {
		t.Fatalf("verify the receipt with the JWKS: %v", err)
	}
	want := map[string]any{
		"iss": f.issuer, "iat": float64(iat), "jti": "mZ3q0pXn4Tq8Yl2vH1cK9w", "client_id": "machine", "decision": true,
		"actor":   map[string]any{"type": "person", "id": f.parent.ID.String()},
		"party":   map[string]any{"type": "person", "id": f.child.ID.String()},
		"service": "helsenorge.journal", "action": "read", "acr": acrHigh, "auth_time": float64(iat - 60),
		"relation": map[string]any{"kind": "parent"}, "reasons": []any{"permitted"}, "policy_version": "sha256:0123456789abcdef",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("receipt claims (-want +got):\n%s", diff)
	}

	if _, err := f.server.SignReceipt(t.Context(), nil); err == nil {
		t.Error("SignReceipt(nil) = nil error, want one")
	}
}
