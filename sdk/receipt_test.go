package sdk

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// receiptClaimsFor are the claims of a receipt of the fake: Kari may submit for
// her son Ola.
func (f *fakeOP) receiptClaims() map[string]any {
	now := f.clock.Now()
	return map[string]any{
		"iss": f.issuer(), "iat": now.Unix(), "jti": "r-1", "client_id": "example-agency", "decision": true,
		"actor": map[string]any{"type": "person", "id": "12345678901"}, "party": map[string]any{"type": "person", "id": "01010112345"},
		"service": "lanekassen.studiestotte", "action": "submit", "acr": eidasHigh, "auth_time": now.Add(-time.Minute).Unix(),
		"relation": map[string]any{"kind": "parent", "id": "rel-1"}, "reasons": []string{"parent"}, "policy_version": "pack-7",
	}
}

func TestVerifyReceipt(t *testing.T) {
	f := newFakeOP(t)
	c := f.client()
	ctx := context.Background()
	now := f.clock.Now()
	raw := f.sign(receiptType, f.receiptClaims())
	got, err := c.VerifyReceipt(ctx, raw)
	if err != nil {
		t.Fatalf("VerifyReceipt = %v", err)
	}
	want := &Receipt{
		Issuer: f.issuer(), IssuedAt: now, ID: "r-1", ClientID: "example-agency", Allowed: true,
		Actor: Person("12345678901"), Party: Person("01010112345"), Service: "lanekassen.studiestotte", Action: "submit",
		ACR: eidasHigh, AuthTime: now.Add(-time.Minute), Relation: &Relation{Kind: "parent", ID: "rel-1"},
		Reasons: []string{"parent"}, PolicyVersion: "pack-7", KeyID: f.signer.kid, Raw: raw,
	}
	key := got.Key
	got.Key = nil
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("VerifyReceipt: -want +got\n%s", diff)
	}

	// Archived with its key, the receipt verifies offline after the key is retired.
	old := f.signer
	f.rotate()
	f.retire(old)
	f.clock.Advance(time.Hour)
	if _, err := c.VerifyReceipt(ctx, raw); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("VerifyReceipt after the key was retired = %v, want ErrInvalidToken", err)
	}
	offline, err := VerifyReceiptWithKey(raw, key, f.issuer())
	if err != nil {
		t.Fatalf("VerifyReceiptWithKey = %v", err)
	}
	offline.Key = nil
	if diff := cmp.Diff(want, offline); diff != "" {
		t.Errorf("VerifyReceiptWithKey: -want +got\n%s", diff)
	}
	// A key go-jose wrote works too, and the archived key names its kid.
	if _, err := VerifyReceiptWithKey(raw, old.jwk(t), f.issuer()); err != nil {
		t.Errorf("VerifyReceiptWithKey(go-jose's JWK) = %v", err)
	}
	var archived map[string]any
	if err := json.Unmarshal(key, &archived); err != nil || archived["kid"] != old.kid || archived["d"] != nil {
		t.Errorf("Key = %s, want the public JWK with kid %s", key, old.kid)
	}
}

func TestVerifyReceiptRefusals(t *testing.T) {
	f := newFakeOP(t)
	c := f.client()
	now := f.clock.Now()
	key := f.signer
	jwk := key.jwk(t)
	stranger := newOPKey(t)
	with := func(e func(map[string]any)) map[string]any {
		m := f.receiptClaims()
		e(m)
		return m
	}
	good := f.sign(receiptType, f.receiptClaims())
	parts := strings.Split(good, ".")
	tampered := with(func(m map[string]any) { m["decision"] = false })
	for _, tt := range []struct {
		name    string
		raw     string
		why     string
		offline bool // the refusal also holds offline
	}{
		{"typ application/…", f.sign("application/"+receiptType, f.receiptClaims()), "", true},
		{"a deny without relation", f.sign(receiptType, with(func(m map[string]any) { m["decision"] = false; delete(m, "relation") })), "", true},
		{"iat within the skew", f.sign(receiptType, with(func(m map[string]any) { m["iat"] = now.Add(DefaultClockSkew).Unix() })), "", false},

		{"tampered", parts[0] + "." + base64.RawURLEncoding.EncodeToString(mustJSON(t, tampered)) + "." + parts[2], "signature", true},
		{"an access token", f.sign("at+jwt", f.receiptClaims()), "typ", true},
		{"no typ", f.sign("", f.receiptClaims()), "typ", true},
		{"alg none", opSignHeader(t, key, map[string]any{"alg": "none", "typ": receiptType, "kid": key.kid}, mustJSON(t, f.receiptClaims()), []byte{}), "alg none", true},
		{"another key", opSign(t, stranger, receiptType, f.receiptClaims()), "key", true},
		{"another issuer", f.sign(receiptType, with(func(m map[string]any) { m["iss"] = "https://evil.example" })), "issuer", true},
		{"no iat", f.sign(receiptType, with(func(m map[string]any) { delete(m, "iat") })), "iat", true},
		{"iat in the future", f.sign(receiptType, with(func(m map[string]any) { m["iat"] = time.Now().Add(time.Hour).Unix() })), "future", true},
		{"no decision", f.sign(receiptType, with(func(m map[string]any) { delete(m, "decision") })), "decision", true},
		{"decision a string", f.sign(receiptType, with(func(m map[string]any) { m["decision"] = "yes" })), "shape", true},
		{"no actor", f.sign(receiptType, with(func(m map[string]any) { delete(m, "actor") })), "actor", true},
		{"a party of no type", f.sign(receiptType, with(func(m map[string]any) { m["party"] = map[string]any{"id": "1"} })), "party", true},
		{"no service", f.sign(receiptType, with(func(m map[string]any) { delete(m, "service") })), "service", true},
		{"garbage", "garbage", "compact JWS", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.VerifyReceipt(context.Background(), tt.raw)
			check := func(what string, err error) {
				t.Helper()
				if tt.why == "" {
					if err != nil {
						t.Errorf("%s = %v, want a receipt", what, err)
					}
					return
				}
				var te *TokenError
				if !errors.As(err, &te) || !strings.Contains(te.Reason, tt.why) || !strings.HasPrefix(te.Reason, "receipt: ") {
					t.Errorf("%s = %v, want a refusal about %q", what, err, tt.why)
				}
			}
			check("VerifyReceipt", err)
			if tt.offline {
				_, err := VerifyReceiptWithKey(tt.raw, jwk, f.issuer())
				check("VerifyReceiptWithKey", err)
			}
		})
	}

	// Offline: the key must be the receipt's, and usable.
	if _, err := VerifyReceiptWithKey(good, stranger.jwk(t), f.issuer()); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("VerifyReceiptWithKey(another key) = %v, want ErrInvalidToken", err)
	}
	var noKid map[string]any
	_ = json.Unmarshal(stranger.jwk(t), &noKid)
	delete(noKid, "kid")
	if _, err := VerifyReceiptWithKey(good, mustJSON(t, noKid), f.issuer()); !isReason("signature")(err) {
		t.Errorf("VerifyReceiptWithKey(another key without kid) = %v, want a bad signature", err)
	}
	if _, err := VerifyReceiptWithKey(good, json.RawMessage(`{"kty":"oct","k":"c2VjcmV0"}`), f.issuer()); !isReason("key")(err) {
		t.Errorf("VerifyReceiptWithKey(a symmetric key) = %v", err)
	}
	if _, err := VerifyReceiptWithKey(good, jwk, f.issuer()+"/"); !isReason("issuer")(err) {
		t.Errorf("VerifyReceiptWithKey(another issuer) = %v", err)
	}
}

// FuzzVerifyReceiptWithKey verifies arbitrary receipts with a fixed key: it must
// never panic, and accept only what the key signed.
func FuzzVerifyReceiptWithKey(f *testing.F) {
	key := newOPKey(f)
	jwk := key.jwk(f)
	claims := map[string]any{
		"iss": "https://fullmakt.example", "iat": 1700000000, "decision": false, "service": "s", "action": "a",
		"actor": map[string]any{"type": "person", "id": "1"}, "party": map[string]any{"type": "organization", "id": "2"},
	}
	good := opSign(f, key, receiptType, claims)
	f.Add(good, []byte(nil))
	f.Add("", mustJSON(f, claims))
	f.Add("a.b.c", []byte(`{"reasons":[1]}`))
	f.Fuzz(func(t *testing.T, raw string, payload []byte) {
		if _, err := VerifyReceiptWithKey(raw, jwk, "https://fullmakt.example"); err == nil && raw != good {
			parts := strings.Split(raw, ".")
			if len(parts) != 3 || parts[0]+"."+parts[1] != strings.Join(strings.Split(good, ".")[:2], ".") {
				t.Fatalf("accepted a receipt the key did not sign")
			}
		}
		if payload != nil {
			signed := opSignHeader(t, key, map[string]any{"alg": "ES256", "typ": receiptType, "kid": key.kid}, payload, nil)
			r, err := VerifyReceiptWithKey(signed, jwk, "https://fullmakt.example")
			if err == nil && (r.Service == "" || r.Actor.IsZero() || r.IssuedAt.IsZero()) {
				t.Fatalf("accepted a receipt without service, actor or iat")
			}
		}
	})
}
