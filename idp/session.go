package idp

import (
	"encoding/json"
	"maps"
	"slices"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/token/jwt"

	"github.com/fullmakt/fullmakt/delegation"
)

// Session is what the server knows of one grant: who authenticated, how, whom the
// tokens are for, and what they carry. It is fosite's session for every flow (the
// OpenID Connect ID token, JWT access tokens, introspection) and is stored with every
// code and token.
//
// Identity numbers live in the private fields Actor and Party and leave the server
// only as a pid claim, and only to clients allowed to receive them.
type Session struct {
	*openid.DefaultSession

	// Actor is the person who authenticated; empty for a client's own token.
	Actor delegation.PartyID `json:"actor,omitempty"`
	// Party is whom the tokens are for: the actor, or the party acted for.
	Party delegation.PartyID `json:"party,omitempty"`
	// Relation is why the actor may act for the party (absent when they are the same).
	Relation *Relation `json:"relation,omitempty"`
	// Act is the RFC 8693 §4.1 actor claim: the current actor, and prior ones nested.
	Act *Act `json:"act,omitempty"`
	// Details are the granted RFC 9396 authorization details.
	Details json.RawMessage `json:"authorization_details,omitempty"`
	// Claims the tokens carry besides the standard ones: client_id, pid, ….
	Extra map[string]any `json:"extra,omitempty"`
}

// Relation names the relation an on-behalf token rests on.
type Relation struct {
	Kind delegation.RelationKind `json:"kind"`
	ID   string                  `json:"id,omitempty"`
}

// Act is the RFC 8693 §4.1 "act" claim. Only the outermost actor is the one acting
// now; nested ones acted before and are informational (§4.1: they must not drive
// access decisions).
type Act struct {
	Subject string `json:"sub"`
	// PID is the actor's national identity number, for clients allowed to see it.
	PID string `json:"pid,omitempty"`
	// ClientID is set when the actor is a client rather than a person.
	ClientID string `json:"client_id,omitempty"`
	Act      *Act   `json:"act,omitempty"`
}

// claims returns the act claim as a JSON object.
func (a *Act) claims() map[string]any {
	if a == nil {
		return nil
	}
	m := map[string]any{"sub": a.Subject}
	if a.PID != "" {
		m["pid"] = a.PID
	}
	if a.ClientID != "" {
		m["client_id"] = a.ClientID
	}
	if a.Act != nil {
		m["act"] = a.Act.claims()
	}
	return m
}

// NewSession returns an empty session.
func NewSession() *Session {
	return &Session{DefaultSession: &openid.DefaultSession{
		Claims:  &jwt.IDTokenClaims{},
		Headers: &jwt.Headers{},
	}}
}

var (
	_ fosite.Session                      = (*Session)(nil)
	_ openid.Session                      = (*Session)(nil)
	_ oauth2.JWTSessionContainer          = (*Session)(nil)
	_ fosite.ExtraClaimsSession           = (*Session)(nil)
	_ interface{ Clone() fosite.Session } = (*Session)(nil)
)

// Clone returns a deep copy. It must be overridden: the embedded session's Clone
// would return an *openid.DefaultSession and lose our fields on refresh.
func (s *Session) Clone() fosite.Session {
	if s == nil {
		return nil
	}
	c := *s
	if s.DefaultSession != nil {
		c.DefaultSession = s.DefaultSession.Clone().(*openid.DefaultSession)
	}
	if s.Relation != nil {
		r := *s.Relation
		c.Relation = &r
	}
	c.Act = s.Act.clone()
	c.Details = slices.Clone(s.Details)
	c.Extra = maps.Clone(s.Extra)
	return &c
}

func (a *Act) clone() *Act {
	if a == nil {
		return nil
	}
	c := *a
	c.Act = a.Act.clone()
	return &c
}

// accessClaims are the claims an access token and its introspection carry besides
// iss, sub, aud, exp, iat, jti and scope: RFC 9068 §2.2 client_id, the RFC 9470
// acr and auth_time, amr, the RFC 8693 act, RFC 9396 authorization_details, and ours.
func (s *Session) accessClaims() map[string]any {
	m := make(map[string]any, len(s.Extra)+6)
	maps.Copy(m, s.Extra)
	if c := s.Claims; c != nil {
		if c.AuthenticationContextClassReference != "" {
			m["acr"] = c.AuthenticationContextClassReference
		}
		if len(c.AuthenticationMethodsReferences) > 0 {
			m["amr"] = c.AuthenticationMethodsReferences
		}
		if !c.AuthTime.IsZero() {
			m["auth_time"] = c.AuthTime.Unix()
		}
	}
	if s.Act != nil {
		m["act"] = s.Act.claims()
	}
	if s.Relation != nil {
		rel := map[string]any{"kind": string(s.Relation.Kind)}
		if s.Relation.ID != "" {
			rel["id"] = s.Relation.ID
		}
		m["relation"] = rel
	}
	if len(s.Details) > 0 {
		m["authorization_details"] = s.Details
	}
	return m
}

// GetJWTClaims implements oauth2.JWTSessionContainer: the claims of a JWT access
// token. fosite adds iss, aud, exp, iat, jti and scope.
func (s *Session) GetJWTClaims() jwt.JWTClaimsContainer {
	return &jwt.JWTClaims{Subject: s.Subject, Extra: s.accessClaims()}
}

// GetJWTHeader implements oauth2.JWTSessionContainer: RFC 9068 §2.1 "at+jwt", so a
// resource server can tell an access token from an ID token signed by the same key.
func (s *Session) GetJWTHeader() *jwt.Headers {
	return &jwt.Headers{Extra: map[string]any{"typ": "at+jwt"}}
}

// GetExtraClaims implements fosite.ExtraClaimsSession: what introspection adds.
func (s *Session) GetExtraClaims() map[string]any { return s.accessClaims() }

// authTime returns when the person authenticated, or the zero time.
func (s *Session) authTime() time.Time {
	if s.Claims == nil {
		return time.Time{}
	}
	return s.Claims.AuthTime
}
