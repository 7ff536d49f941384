package sdk

import (
	"context"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// opSignHeader signs payload under any header with key's ES256 signature, or
// with sig when it is not nil: for headers go-jose will not write.
func opSignHeader(t testing.TB, key *opKey, header map[string]any, payload []byte, sig []byte) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	input := b64(h) + "." + b64(payload)
	if sig == nil {
		digest := sha256.Sum256([]byte(input))
		r, s, err := ecdsa.Sign(rand.Reader, key.priv, digest[:])
		if err != nil {
			t.Fatal(err)
		}
		sig = make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
	}
	return input + "." + b64(sig)
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVerifyAccessTokenRefusals(t *testing.T) {
	f := newFakeOP(t)
	c := f.client()
	now := f.clock.Now()
	skew := DefaultClockSkew
	key := f.signer
	stranger := newOPKey(t)
	with := func(edit func(map[string]any)) []byte {
		cl := f.accessClaims()
		edit(cl)
		return mustJSON(t, cl)
	}
	header := func(edit func(map[string]any)) map[string]any {
		h := map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": key.kid}
		if edit != nil {
			edit(h)
		}
		return h
	}
	good := with(func(map[string]any) {})
	goodToken := opSignHeader(t, key, header(nil), good, nil)
	parts := strings.Split(goodToken, ".")

	// The public key as an HMAC secret: the classic algorithm confusion.
	pubPoint, _ := key.priv.PublicKey.Bytes()
	hs := func(secret []byte) string {
		h := mustJSON(t, header(func(h map[string]any) { h["alg"] = "HS256" }))
		input := base64.RawURLEncoding.EncodeToString(h) + "." + parts[1]
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte(input))
		return input + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	}

	for _, tt := range []struct {
		name  string
		token string
		why   string // a part of the refusal's reason; "" when the token is good
	}{
		{"good", goodToken, ""},
		{"typ in capitals", opSignHeader(t, key, header(func(h map[string]any) { h["typ"] = "AT+JWT" }), good, nil), ""},
		{"typ application/at+jwt", opSignHeader(t, key, header(func(h map[string]any) { h["typ"] = "application/at+jwt" }), good, nil), ""},
		{"aud a string", opSignHeader(t, key, header(nil), with(func(m map[string]any) { m["aud"] = "https://api.example" }), nil), ""},
		{"exp within the skew", opSignHeader(t, key, header(nil), with(func(m map[string]any) { m["exp"] = now.Add(-skew + time.Second).Unix() }), nil), ""},
		{"nbf at the skew", opSignHeader(t, key, header(nil), with(func(m map[string]any) { m["nbf"] = now.Add(skew).Unix() }), nil), ""},
		{"iat at the skew", opSignHeader(t, key, header(nil), with(func(m map[string]any) { m["iat"] = now.Add(skew).Unix() }), nil), ""},
		{"signed by go-jose", f.sign("at+jwt", f.accessClaims()), ""},

		{"empty", "", "empty"},
		{"garbage", "not a token", "outside base64url"},
		{"two parts", parts[0] + "." + parts[1], "three parts"},
		{"four parts", goodToken + ".x", "more than three parts"},
		{"padding", parts[0] + "=." + parts[1] + "." + parts[2], "outside base64url"},
		{"JSON serialization", `{"payload":"` + parts[1] + `","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`, "outside base64url"},
		{"too long", opSignHeader(t, key, header(nil), with(func(m map[string]any) { m["pad"] = strings.Repeat("x", maxTokenSize) }), nil), "longer than"},
		{"header not JSON", base64.RawURLEncoding.EncodeToString([]byte("hello")) + "." + parts[1] + "." + parts[2], "header is not a JSON object"},
		{"header null", base64.RawURLEncoding.EncodeToString([]byte("null")) + "." + parts[1] + "." + parts[2], "header is not a JSON object"},
		{"crit", opSignHeader(t, key, header(func(h map[string]any) { h["crit"] = []string{"b64"}; h["b64"] = false }), good, nil), "critical"},
		{"no typ", opSignHeader(t, key, header(func(h map[string]any) { delete(h, "typ") }), good, nil), "typ"},
		{"typ JWT (an ID token)", opSignHeader(t, key, header(func(h map[string]any) { h["typ"] = "JWT" }), good, nil), "typ"},
		{"alg none, no signature", opSignHeader(t, key, header(func(h map[string]any) { h["alg"] = "none" }), good, []byte{}), "alg none"},
		{"alg none, a signature", opSignHeader(t, key, header(func(h map[string]any) { h["alg"] = "none" }), good, []byte("x")), "alg none"},
		{"HS256 keyed with the public point", hs(pubPoint), "not ES256"},
		{"HS256 keyed with the JWK", hs(key.jwk(t)), "not ES256"},
		{"ES384", opSignHeader(t, key, header(func(h map[string]any) { h["alg"] = "ES384" }), good, nil), "not ES256"},
		{"no kid", opSignHeader(t, key, header(func(h map[string]any) { delete(h, "kid") }), good, nil), "kid"},
		{"unknown kid", opSignHeader(t, stranger, header(func(h map[string]any) { h["kid"] = stranger.kid }), good, nil), "does not publish"},
		{"another key under our kid", opSignHeader(t, stranger, header(nil), good, nil), "signature"},
		{"payload tampered", parts[0] + "." + base64.RawURLEncoding.EncodeToString(with(func(m map[string]any) { m["pid"] = "10987654321" })) + "." + parts[2], "signature"},
		{"signature of 65 bytes", parts[0] + "." + parts[1] + "." + parts[2] + "AA", "signature"},
		{"another issuer", opSignHeader(t, key, header(nil), with(func(m map[string]any) { m["iss"] = "https://evil.example" }), nil), "issuer"},
		{"issuer with a slash", opSignHeader(t, key, header(nil), with(func(m map[string]any) { m["iss"] = f.issuer() + "/" }), nil), "issuer"},
		{"another audience", opSignHeader(t, key, header(nil), with(func(m map[string]any) { m["aud"] = []string{"https://other.example"} }), nil), "aud"},
		{"no audience", opSignHeader(t, key, header(nil), with(func(m map[string]any) { delete(m, "aud") }), nil), "aud"},
		{"expired at the skew", opSignHeader(t, key, header(nil), with(func(m map[string]any) { m["exp"] = now.Add(-skew).Unix() }), nil), "expired"},
		{"no exp", opSignHeader(t, key, header(nil), with(func(m map[string]any) { delete(m, "exp") }), nil), "exp"},
		{"exp a string", opSignHeader(t, key, header(nil), with(func(m map[string]any) { m["exp"] = "tomorrow" }), nil), "expected shape"},
		{"exp huge", opSignHeader(t, key, header(nil), with(func(m map[string]any) { m["exp"] = 1e300 }), nil), "expected shape"},
		{"nbf beyond the skew", opSignHeader(t, key, header(nil), with(func(m map[string]any) { m["nbf"] = now.Add(skew + time.Second).Unix() }), nil), "nbf"},
		{"iat beyond the skew", opSignHeader(t, key, header(nil), with(func(m map[string]any) { m["iat"] = now.Add(skew + time.Second).Unix() }), nil), "iat"},
		{"no sub", opSignHeader(t, key, header(nil), with(func(m map[string]any) { delete(m, "sub") }), nil), "sub"},
		{"claims an array", opSignHeader(t, key, header(nil), []byte(`[1]`), nil), "JSON object"},
		{"claims null", opSignHeader(t, key, header(nil), []byte(`null`), nil), "JSON object"},
		{"act without sub", opSignHeader(t, key, header(nil), with(func(m map[string]any) { m["act"] = map[string]any{"pid": "1"} }), nil), "act has no sub"},
		{"act of clients only", opSignHeader(t, key, header(nil), with(func(m map[string]any) {
			m["act"] = map[string]any{"sub": "a", "client_id": "a"}
		}), nil), "names no person"},
		{"act too deep", opSignHeader(t, key, header(nil), with(func(m map[string]any) {
			act := map[string]any{"sub": "person"}
			for range maxActDepth {
				act = map[string]any{"sub": "c", "client_id": "c", "act": act}
			}
			m["act"] = act
		}), nil), "deeper"},
		{"details not an array", opSignHeader(t, key, header(nil), with(func(m map[string]any) { m["authorization_details"] = map[string]any{"type": "x"} }), nil), "not an array"},
		{"detail without type", opSignHeader(t, key, header(nil), with(func(m map[string]any) { m["authorization_details"] = []any{map[string]any{}} }), nil), "no type"},
		{"detail party of unknown type", opSignHeader(t, key, header(nil), with(func(m map[string]any) {
			m["authorization_details"] = []any{map[string]any{"type": "representation", "party": map[string]any{"type": "team", "id": "1"}}}
		}), nil), "known type"},
		{"on behalf of nobody named", opSignHeader(t, key, header(nil), with(func(m map[string]any) {
			delete(m, "pid")
			m["act"] = map[string]any{"sub": "subject-per"}
		}), nil), "does not name"},
		{"pid and detail disagree", opSignHeader(t, key, header(nil), with(func(m map[string]any) {
			m["act"] = map[string]any{"sub": "subject-per"}
			m["authorization_details"] = []any{map[string]any{"type": "representation", "party": map[string]any{"type": "person", "id": "10987654321"}}}
		}), nil), "different parties"},
		{"self token, detail names another", opSignHeader(t, key, header(nil), with(func(m map[string]any) {
			m["authorization_details"] = []any{map[string]any{"type": "representation", "party": map[string]any{"type": "organization", "id": "960885406"}}}
		}), nil), "another party than the subject"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := c.VerifyAccessToken(context.Background(), tt.token)
			if tt.why == "" {
				if err != nil {
					t.Fatalf("VerifyAccessToken = %v, want a token", err)
				}
				if tok.Raw != tt.token {
					t.Errorf("Raw is not the token")
				}
				return
			}
			var te *TokenError
			if !errors.As(err, &te) || !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("VerifyAccessToken = %v, %v; want a *TokenError", tok, err)
			}
			if !strings.Contains(te.Reason, tt.why) {
				t.Errorf("VerifyAccessToken = %v, want a reason about %q", err, tt.why)
			}
			if tt.token != "" && strings.Contains(err.Error(), tt.token) {
				t.Errorf("the error quotes the token")
			}
		})
	}
}

func TestVerifyAccessTokenNeedsAudience(t *testing.T) {
	f := newFakeOP(t)
	c := f.client(func(cfg *Config) { cfg.Audience = "" })
	_, err := c.VerifyAccessToken(context.Background(), f.sign("at+jwt", f.accessClaims()))
	if !errors.Is(err, ErrConfig) {
		t.Errorf("VerifyAccessToken without Audience = %v, want ErrConfig", err)
	}
}

func TestVerifyAccessTokenClaims(t *testing.T) {
	f := newFakeOP(t)
	c := f.client()
	now := f.clock.Now()
	authTime := now.Add(-time.Minute)
	high := "http://eidas.europa.eu/LoA/high"
	kari := Actor{Party: Person("12345678901"), ACR: high, AuthTime: authTime}
	representation := map[string]any{"type": "representation", "party": map[string]any{"type": "organization", "id": "960885406"}, "services": []string{"a.b"}, "actions": []string{"read"}}
	consent := map[string]any{"type": "consent", "provider": "974761076", "data_set": "skatteetaten.inntekt", "purpose": "Loans", "valid_to": "2027-06-30"}
	other := map[string]any{"type": "x-other", "anything": []int{1, 2}}

	for _, tt := range []struct {
		name string
		edit func(map[string]any)
		want Token
	}{
		{"for herself", func(map[string]any) {}, Token{
			Subject: "subject-kari", ActorSubject: "subject-kari", Actor: kari, Party: Person("12345678901"),
		}},
		{"for herself, no pid", func(m map[string]any) { delete(m, "pid") }, Token{
			Subject: "subject-kari", ActorSubject: "subject-kari",
			Actor: Actor{Party: Person(""), ACR: high, AuthTime: authTime}, Party: Person(""),
		}},
		{"for her son", func(m map[string]any) {
			m["sub"], m["pid"] = "subject-ola", "01010112345"
			m["act"] = map[string]any{"sub": "subject-kari", "pid": "12345678901"}
			m["relation"] = map[string]any{"kind": "parent"}
		}, Token{
			Subject: "subject-ola", ActorSubject: "subject-kari", Actor: kari, Party: Person("01010112345"),
			Relation: &Relation{Kind: "parent"},
		}},
		{"for an organisation", func(m map[string]any) {
			m["sub"] = "subject-org"
			delete(m, "pid")
			m["act"] = map[string]any{"sub": "subject-kari", "pid": "12345678901"}
			m["relation"] = map[string]any{"kind": "role", "id": "r-1"}
			m["authorization_details"] = []any{representation}
		}, Token{
			Subject: "subject-org", ActorSubject: "subject-kari", Actor: kari, Party: Organization("960885406"),
			Relation: &Relation{Kind: "role", ID: "r-1"},
			AuthorizationDetails: []AuthorizationDetail{{
				Type: "representation", Party: Organization("960885406"), Services: []string{"a.b"}, Actions: []string{"read"},
			}},
		}},
		{"exchanged by an agency", func(m map[string]any) {
			m["sub"], m["pid"] = "subject-maja", "21212112345"
			m["act"] = map[string]any{"sub": "example-agency", "client_id": "example-agency", "act": map[string]any{"sub": "subject-kari", "pid": "12345678901"}}
		}, Token{
			Subject: "subject-maja", ActorSubject: "subject-kari", Actor: kari, Party: Person("21212112345"), Via: []string{"example-agency"},
		}},
		{"exchanged twice", func(m map[string]any) {
			m["sub"], m["pid"] = "subject-maja", "21212112345"
			m["act"] = map[string]any{"sub": "b", "client_id": "b", "act": map[string]any{"sub": "a", "client_id": "a",
				"act": map[string]any{"sub": "subject-kari", "pid": "12345678901"}}}
		}, Token{
			Subject: "subject-maja", ActorSubject: "subject-kari", Actor: kari, Party: Person("21212112345"), Via: []string{"b", "a"},
		}},
		{"the outermost person acts", func(m map[string]any) {
			m["sub"], m["pid"] = "subject-maja", "21212112345"
			m["act"] = map[string]any{"sub": "subject-kari", "pid": "12345678901", "act": map[string]any{"sub": "subject-per", "pid": "02020212345"}}
		}, Token{
			Subject: "subject-maja", ActorSubject: "subject-kari", Actor: kari, Party: Person("21212112345"),
		}},
		{"a client's own token", func(m map[string]any) {
			m["sub"], m["client_id"] = "example-agency", "example-agency"
			for _, k := range []string{"pid", "acr", "auth_time"} {
				delete(m, k)
			}
		}, Token{Subject: "example-agency", ActorSubject: "example-agency", ClientID: "example-agency"}},
		{"details of every kind", func(m map[string]any) {
			m["authorization_details"] = []any{consent, other}
		}, Token{
			Subject: "subject-kari", ActorSubject: "subject-kari", Actor: kari, Party: Person("12345678901"),
			AuthorizationDetails: []AuthorizationDetail{
				{Type: "consent", Provider: "974761076", DataSet: "skatteetaten.inntekt", Purpose: "Loans", ValidTo: "2027-06-30"},
				{Type: "x-other"},
			},
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cl := f.accessClaims()
			tt.edit(cl)
			raw := f.sign("at+jwt", cl)
			got, err := c.VerifyAccessToken(context.Background(), raw)
			if err != nil {
				t.Fatalf("VerifyAccessToken = %v", err)
			}
			// The fields every case shares.
			want := tt.want
			want.Raw = raw
			want.IssuedAt, want.Expiry = now, now.Add(10*time.Minute)
			want.ID, want.Audience, want.Scopes = "jti-1", []string{"https://api.example"}, []string{"openid", "profile"}
			if want.ClientID == "" {
				want.ClientID = "example-agency"
			}
			for i := range got.AuthorizationDetails {
				if len(got.AuthorizationDetails[i].Raw) == 0 {
					t.Errorf("detail %d has no Raw", i)
				}
				got.AuthorizationDetails[i].Raw = nil
			}
			if diff := cmp.Diff(want, *got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("VerifyAccessToken: -want +got\n%s", diff)
			}
			if on := got.OnBehalf(); on != (want.ActorSubject != want.Subject) {
				t.Errorf("OnBehalf() = %v", on)
			}
		})
	}
}

// offlineClient is a client that knows key and never fetches keys: for fuzzing
// and benchmarks.
func offlineClient(tb testing.TB, key *opKey, now func() time.Time) *Client {
	tb.Helper()
	pub, err := parsePublicJWK(key.jwk(tb))
	if err != nil {
		tb.Fatal(err)
	}
	c := &Client{cfg: Config{
		Issuer: "https://fullmakt.example", ClientID: "c", ClientSecret: "s", Audience: "https://api.example",
		JWKSMinRefresh: 1 << 62, Now: now,
	}.withDefaults()}
	c.cfg.Log = slogDiscard()
	c.meta = metadata{Issuer: c.cfg.Issuer}
	c.tokens.keys.set.Store(&keySet{byID: map[string]*publicKey{key.kid: pub}, fetched: now()})
	c.tokens.keys.last = now()
	return c
}

// fuzzClaims are the claims of a good token for offlineClient at time.Unix(1.8e9).
func fuzzClaims() map[string]any {
	return map[string]any{
		"iss": "https://fullmakt.example", "sub": "subject-ola", "aud": "https://api.example",
		"exp": 1800000600, "iat": 1800000000, "jti": "j", "client_id": "example-agency", "scope": "openid",
		"acr": "http://eidas.europa.eu/LoA/high", "auth_time": 1799999990, "pid": "01010112345",
		"act":                   map[string]any{"sub": "c", "client_id": "c", "act": map[string]any{"sub": "subject-kari", "pid": "12345678901"}},
		"relation":              map[string]any{"kind": "parent"},
		"authorization_details": []any{map[string]any{"type": "representation", "party": map[string]any{"type": "person", "id": "01010112345"}, "services": []string{"s"}}},
	}
}

// FuzzVerifyAccessToken feeds VerifyAccessToken arbitrary strings; it must
// answer, never panic, and accept only what the fixed key signed.
func FuzzVerifyAccessToken(f *testing.F) {
	key := newOPKey(f)
	now := func() time.Time { return time.Unix(1800000000, 0) }
	c := offlineClient(f, key, now)
	good := opSign(f, key, "at+jwt", fuzzClaims())
	f.Add(good)
	f.Add(opSign(f, key, "JWT", fuzzClaims()))
	f.Add("")
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	parts := strings.Split(good, ".")
	f.Add(parts[0] + "." + parts[1] + ".")
	f.Fuzz(func(t *testing.T, raw string) {
		tok, err := c.VerifyAccessToken(context.Background(), raw)
		if err == nil && (tok == nil || raw != good && !strings.HasPrefix(raw, parts[0]+"."+parts[1]+".")) {
			t.Fatalf("VerifyAccessToken accepted a token the key did not sign")
		}
		if err != nil && tok != nil {
			t.Fatalf("VerifyAccessToken returned a token and an error")
		}
	})
}

// FuzzAccessTokenClaims signs arbitrary claims with the fixed key, so that the
// claims parser is reached: it must never panic.
func FuzzAccessTokenClaims(f *testing.F) {
	key := newOPKey(f)
	now := func() time.Time { return time.Unix(1800000000, 0) }
	c := offlineClient(f, key, now)
	f.Add(mustJSON(f, fuzzClaims()))
	cl := fuzzClaims()
	delete(cl, "act")
	f.Add(mustJSON(f, cl))
	cl = maps.Clone(cl)
	cl["authorization_details"] = []any{map[string]any{"type": "consent", "provider": 1}}
	f.Add(mustJSON(f, cl))
	f.Add([]byte(`{"act":{"act":{"act":null}}}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		raw := opSignHeader(t, key, map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": key.kid}, payload, nil)
		tok, err := c.VerifyAccessToken(context.Background(), raw)
		if err == nil {
			if tok.Subject == "" || tok.Expiry.IsZero() {
				t.Fatalf("accepted a token without sub or exp")
			}
			if tok.OnBehalf() && tok.Party.IsZero() {
				t.Fatalf("accepted an on-behalf token without a party")
			}
		} else if !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("VerifyAccessToken = %v, want ErrInvalidToken", err)
		}
	})
}

// BenchmarkVerifyAccessToken verifies a typical on-behalf access token with the
// key already cached: the ES256 check and the claims.
func BenchmarkVerifyAccessToken(b *testing.B) {
	key := newOPKey(b)
	now := func() time.Time { return time.Unix(1800000000, 0) }
	c := offlineClient(b, key, now)
	raw := opSign(b, key, "at+jwt", fuzzClaims())
	ctx := context.Background()
	if _, err := c.VerifyAccessToken(ctx, raw); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.VerifyAccessToken(ctx, raw); err != nil {
			b.Fatal(err)
		}
	}
}
