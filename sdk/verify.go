package sdk

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strings"
	"time"
)

const (
	// maxTokenSize is the largest token, ID token or receipt the SDK parses.
	maxTokenSize = 16 << 10
	// maxActDepth is the deepest chain of act claims the SDK reads.
	maxActDepth = 8
)

// refuse returns a *TokenError with a plain reason. Reasons never quote the token.
func refuse(format string, args ...any) *TokenError {
	return &TokenError{Reason: fmt.Sprintf(format, args...)}
}

// compactJWS is a compact JWS (RFC 7515 §7.1) taken apart, its signature not yet
// checked.
type compactJWS struct {
	header    jwsHeader
	payload   []byte
	signed    string // the signing input: the encoded header, '.', the encoded payload
	signature []byte
}

// jwsHeader is the protected header members the SDK reads.
type jwsHeader struct {
	Alg  string          `json:"alg"`
	Typ  string          `json:"typ"`
	Kid  string          `json:"kid"`
	Crit json.RawMessage `json:"crit"`
}

// parseCompactJWS takes a compact JWS apart: three parts of base64url without
// padding, a header that is a JSON object without critical parameters, and a
// payload. The JSON serialization, unencoded payloads (RFC 7797) and anything
// longer than maxTokenSize are refused.
func parseCompactJWS(raw string) (*compactJWS, *TokenError) {
	switch {
	case raw == "":
		return nil, refuse("empty")
	case len(raw) > maxTokenSize:
		return nil, refuse("longer than %d bytes", maxTokenSize)
	}
	var dots [2]int
	n := 0
	for i := range len(raw) {
		switch ch := raw[i]; {
		case ch == '.':
			if n == 2 {
				return nil, refuse("not a compact JWS (more than three parts)")
			}
			dots[n] = i
			n++
		case 'A' <= ch && ch <= 'Z', 'a' <= ch && ch <= 'z', '0' <= ch && ch <= '9', ch == '-', ch == '_':
		default:
			return nil, refuse("not a compact JWS (a character outside base64url)")
		}
	}
	if n != 2 || dots[0] == 0 || dots[1] == dots[0]+1 {
		return nil, refuse("not a compact JWS (three parts, header and payload not empty)")
	}
	dec := base64.RawURLEncoding.Strict()
	header, err := dec.DecodeString(raw[:dots[0]])
	if err != nil {
		return nil, refuse("the header is not base64url")
	}
	payload, err := dec.DecodeString(raw[dots[0]+1 : dots[1]])
	if err != nil {
		return nil, refuse("the payload is not base64url")
	}
	signature, err := dec.DecodeString(raw[dots[1]+1:])
	if err != nil {
		return nil, refuse("the signature is not base64url")
	}
	j := &compactJWS{payload: payload, signed: raw[:dots[1]], signature: signature}
	if !jsonObject(header) || json.Unmarshal(header, &j.header) != nil {
		return nil, refuse("the header is not a JSON object")
	}
	if j.header.Crit != nil {
		return nil, refuse("the header has critical parameters")
	}
	return j, nil
}

// jsonObject reports whether b, trimmed, starts like a JSON object (json.Unmarshal
// into a struct accepts null).
func jsonObject(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{'
}

// typeIs reports whether the typ header names want, in either of RFC 7515
// §4.1.9's forms, case-insensitively.
func typeIs(typ, want string) bool {
	return strings.EqualFold(typ, want) || strings.EqualFold(typ, "application/"+want)
}

// verifySignature checks that j is ES256-signed by the published key its kid
// names and returns that key. alg must be ES256: never none, never HMAC (whose
// "secret" would be the public key), never anything the key is not for.
func (c *Client) verifySignature(ctx context.Context, j *compactJWS) (*publicKey, error) {
	if terr := checkAlg(j.header); terr != nil {
		return nil, terr
	}
	if j.header.Kid == "" {
		return nil, refuse("the header names no key (kid)")
	}
	key, err := c.verificationKey(ctx, j.header.Kid)
	if err != nil {
		return nil, err
	}
	if !verifyES256(key.key, j) {
		return nil, refuse("the signature does not verify")
	}
	return key, nil
}

// checkAlg allows ES256 alone.
func checkAlg(h jwsHeader) *TokenError {
	switch {
	case strings.EqualFold(h.Alg, "none"):
		return refuse("alg none is refused")
	case h.Alg != "ES256":
		return refuse("the algorithm is not ES256")
	}
	return nil
}

// verifyES256 checks an ES256 signature: r and s, 32 bytes each (RFC 7518 §3.4),
// over SHA-256 of the signing input.
func verifyES256(key *ecdsa.PublicKey, j *compactJWS) bool {
	if len(j.signature) != 64 {
		return false
	}
	digest := sha256.Sum256([]byte(j.signed))
	r := new(big.Int).SetBytes(j.signature[:32])
	s := new(big.Int).SetBytes(j.signature[32:])
	return ecdsa.Verify(key, digest[:], r, s)
}

// numericDate is a JWT NumericDate (RFC 7519 §2): seconds since the epoch.
type numericDate struct{ time.Time }

// maxNumericDate is the latest NumericDate accepted (year 5138): beyond, a date
// is garbage.
const maxNumericDate = 1e11

func (d *numericDate) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return errors.New("sdk: a date is not a number")
	}
	if f < 0 || f > maxNumericDate || math.IsNaN(f) {
		return errors.New("sdk: a date is out of range")
	}
	sec, frac := math.Modf(f)
	d.Time = time.Unix(int64(sec), int64(frac*1e9))
	return nil
}

// audience is the aud claim: one string or an array of them (RFC 7519 §4.1.3).
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("sdk: aud is not a string or an array of strings")
	}
	*a = many
	return nil
}

func (a audience) contains(v string) bool { return slices.Contains(a, v) }

// checkTimes checks exp (required when expRequired), nbf and iat against the
// clock, allowing ClockSkew each way.
func (c *Client) checkTimes(exp, nbf, iat *numericDate, expRequired bool) *TokenError {
	now, skew := c.cfg.Now(), c.cfg.ClockSkew
	switch {
	case exp == nil && expRequired:
		return refuse("no expiry (exp)")
	case exp != nil && !now.Before(exp.Add(skew)):
		return refuse("expired")
	case nbf != nil && nbf.After(now.Add(skew)):
		return refuse("not valid yet (nbf)")
	case iat != nil && iat.After(now.Add(skew)):
		return refuse("issued in the future (iat)")
	}
	return nil
}

// actClaim is RFC 8693 §4.1's act: who acts, and before them (nested) who acted.
// Fullmakt adds pid (the person's identity number, for clients allowed it) and
// client_id (set when the actor is a client exchanging a person's token).
type actClaim struct {
	Subject  string    `json:"sub"`
	PID      string    `json:"pid"`
	ClientID string    `json:"client_id"`
	Act      *actClaim `json:"act"`
}

// accessClaims are the claims of Fullmakt's access tokens (RFC 9068 and its own).
type accessClaims struct {
	Issuer    string       `json:"iss"`
	Subject   string       `json:"sub"`
	Audience  audience     `json:"aud"`
	Expiry    *numericDate `json:"exp"`
	NotBefore *numericDate `json:"nbf"`
	IssuedAt  *numericDate `json:"iat"`
	ID        string       `json:"jti"`
	ClientID  string       `json:"client_id"`
	Scope     string       `json:"scope"`
	ACR       string       `json:"acr"`
	AuthTime  *numericDate `json:"auth_time"`
	// PID is the party's identity number when the party is a person and the
	// client may see identity numbers.
	PID                  string          `json:"pid"`
	Act                  *actClaim       `json:"act"`
	Relation             *Relation       `json:"relation"`
	AuthorizationDetails json.RawMessage `json:"authorization_details"`
}

// VerifyAccessToken verifies an access token of Fullmakt for this service
// (RFC 9068 §4) and returns it in typed form. It checks: a compact JWS of at most
// 16 KiB; typ at+jwt; alg ES256 (never none or HMAC); a kid naming a key of
// Fullmakt's JWK Set (fetched again, within Config.JWKSMinRefresh, when the kid
// is unknown); the signature; iss equal to the issuer; aud containing
// Config.Audience; exp in the future and nbf and iat not in it, within
// Config.ClockSkew; a sub.
//
// The actor is the person in act (the outermost actor that is a person; clients
// outside them are Via), or the subject when the token acts for the person
// themself. The party comes from pid, or else from the representation
// authorization detail; an identity number is empty when the client may not see
// it, and a token acting for a party it does not name is refused. A client's own
// token (client credentials) has a zero Actor and Party.
//
// A refused token is a *TokenError (matching ErrInvalidToken) whose reason
// never quotes the token. When the key set cannot be fetched the error matches
// ErrUnavailable, and without Config.Audience it matches ErrConfig. It is safe
// for concurrent use.
func (c *Client) VerifyAccessToken(ctx context.Context, raw string) (*Token, error) {
	if c.cfg.Audience == "" {
		return nil, fmt.Errorf("%w: VerifyAccessToken needs Config.Audience, this service's identifier", ErrConfig)
	}
	j, terr := parseCompactJWS(raw)
	if terr != nil {
		return nil, terr
	}
	if !typeIs(j.header.Typ, "at+jwt") {
		return nil, refuse("not an access token (typ is not at+jwt)")
	}
	if _, err := c.verifySignature(ctx, j); err != nil {
		return nil, err
	}
	var cl accessClaims
	if !jsonObject(j.payload) {
		return nil, refuse("the claims are not a JSON object")
	}
	if err := json.Unmarshal(j.payload, &cl); err != nil {
		return nil, refuse("the claims are not of the expected shape")
	}
	switch {
	case cl.Issuer != c.cfg.Issuer:
		return nil, refuse("issued by another issuer")
	case !cl.Audience.contains(c.cfg.Audience):
		return nil, refuse("not for this service (aud)")
	case cl.Subject == "":
		return nil, refuse("no subject (sub)")
	}
	if terr := c.checkTimes(cl.Expiry, cl.NotBefore, cl.IssuedAt, true); terr != nil {
		return nil, terr
	}
	return accessToken(raw, &cl)
}

// accessToken turns verified claims into a Token.
func accessToken(raw string, cl *accessClaims) (*Token, error) {
	t := &Token{
		Raw:      raw,
		Subject:  cl.Subject,
		ClientID: cl.ClientID,
		Scopes:   strings.Fields(cl.Scope),
		Audience: []string(cl.Audience),
		ID:       cl.ID,
		Relation: cl.Relation,
	}
	t.Expiry = cl.Expiry.Time
	if cl.NotBefore != nil {
		t.NotBefore = cl.NotBefore.Time
	}
	if cl.IssuedAt != nil {
		t.IssuedAt = cl.IssuedAt.Time
	}
	if t.Relation != nil && t.Relation.Kind == "" {
		return nil, refuse("the relation has no kind")
	}
	var err error
	if t.AuthorizationDetails, err = parseAuthorizationDetails(cl.AuthorizationDetails); err != nil {
		return nil, err
	}
	detailParty, err := representedParty(t.AuthorizationDetails)
	if err != nil {
		return nil, err
	}

	switch {
	case cl.Act != nil:
		actor, via, err := actorOf(cl.Act)
		if err != nil {
			return nil, err
		}
		t.Actor.Party = Person(actor.PID)
		t.ActorSubject = actor.Subject
		t.Via = via
	case cl.PID == "" && cl.ClientID != "" && cl.Subject == cl.ClientID && cl.ACR == "":
		// A client's own token (client credentials): nobody acts, for nobody.
		t.ActorSubject = cl.Subject
		return t, nil
	default:
		t.Actor.Party = Person(cl.PID)
		t.ActorSubject = cl.Subject
	}
	t.Actor.ACR = cl.ACR
	if cl.AuthTime != nil {
		t.Actor.AuthTime = cl.AuthTime.Time
	}

	switch {
	case cl.Act == nil:
		// The person acts for themself; a representation detail can only name them.
		if !detailParty.IsZero() {
			if detailParty.Type != TypePerson || (cl.PID != "" && detailParty.ID != cl.PID) {
				return nil, refuse("the representation detail names another party than the subject")
			}
			t.Actor.Party = detailParty
		}
		t.Party = t.Actor.Party
	case cl.PID != "":
		if !detailParty.IsZero() && detailParty != Person(cl.PID) {
			return nil, refuse("pid and the representation detail name different parties")
		}
		t.Party = Person(cl.PID)
	case !detailParty.IsZero():
		t.Party = detailParty
	default:
		// A zero Party means the actor themself to Check: an on-behalf token that
		// does not say for whom must not pass as one for the actor.
		return nil, refuse("the token acts for a party it does not name (no pid, no representation detail with a party)")
	}
	return t, nil
}

// actorOf walks an act chain from the outside in: clients that exchanged the
// token (client_id set) are collected in via, outermost first, until the first
// actor that is a person, who is the actor.
func actorOf(act *actClaim) (*actClaim, []string, error) {
	var via []string
	for depth := 0; act != nil; depth, act = depth+1, act.Act {
		if depth == maxActDepth {
			return nil, nil, refuse("the act chain is deeper than %d", maxActDepth)
		}
		if act.Subject == "" {
			return nil, nil, refuse("an act has no sub")
		}
		if act.ClientID == "" {
			return act, via, nil
		}
		via = append(via, act.ClientID)
	}
	return nil, nil, refuse("the act chain names no person")
}

// Authorization detail types Fullmakt issues.
const (
	detailRepresentation = "representation"
	detailConsent        = "consent"
)

// parseAuthorizationDetails reads the authorization_details claim (RFC 9396): an
// array of objects with a type. Representation and consent details are read
// into their fields; others are kept as Raw only.
func parseAuthorizationDetails(raw json.RawMessage) ([]AuthorizationDetail, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, refuse("authorization_details is not an array")
	}
	details := make([]AuthorizationDetail, 0, len(items))
	for _, item := range items {
		if !jsonObject(item) {
			return nil, refuse("an authorization detail is not an object")
		}
		var typ struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(item, &typ); err != nil || typ.Type == "" {
			return nil, refuse("an authorization detail has no type")
		}
		d := AuthorizationDetail{Type: typ.Type, Raw: append(json.RawMessage(nil), item...)}
		switch typ.Type {
		case detailRepresentation:
			var v struct {
				Party    *Party   `json:"party"`
				Services []string `json:"services"`
				Actions  []string `json:"actions"`
			}
			if err := json.Unmarshal(item, &v); err != nil {
				return nil, refuse("a representation detail is not of the expected shape")
			}
			if v.Party != nil {
				if (v.Party.Type != TypePerson && v.Party.Type != TypeOrganization) || v.Party.ID == "" {
					return nil, refuse("a representation detail names a party without a known type and an id")
				}
				d.Party = *v.Party
			}
			d.Services, d.Actions = v.Services, v.Actions
		case detailConsent:
			var v struct {
				Provider string `json:"provider"`
				DataSet  string `json:"data_set"`
				Purpose  string `json:"purpose"`
				ValidTo  string `json:"valid_to"`
			}
			if err := json.Unmarshal(item, &v); err != nil {
				return nil, refuse("a consent detail is not of the expected shape")
			}
			d.Provider, d.DataSet, d.Purpose, d.ValidTo = v.Provider, v.DataSet, v.Purpose, v.ValidTo
		}
		details = append(details, d)
	}
	return details, nil
}

// representedParty is the party the representation details name, zero when none
// does; details that name different parties are refused.
func representedParty(details []AuthorizationDetail) (Party, error) {
	var party Party
	for _, d := range details {
		if d.Type != detailRepresentation || d.Party.IsZero() {
			continue
		}
		if !party.IsZero() && party != d.Party {
			return Party{}, refuse("the representation details name different parties")
		}
		party = d.Party
	}
	return party, nil
}
