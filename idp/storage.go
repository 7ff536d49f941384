package idp

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/handler/pkce"
	fstorage "github.com/ory/fosite/storage"

	"github.com/fullmakt/fullmakt/idp/grants"
)

// storage adapts the grants port to fosite's storage interfaces. It turns requests
// into records and back, maps the port's errors to the ones fosite's handlers act on
// (ErrInactiveToken for a reused refresh token, ErrInvalidatedAuthorizeCode for a
// reused code, both returned with the request so the grant can be revoked), and
// buffers the writes of a fosite transaction so that they commit as one.
type storage struct {
	grants  grants.Store
	clients clientGetter
	now     func() time.Time
	// behind writes clients' own access tokens behind the response; nil writes
	// every record before answering.
	behind *writeBehind
}

// clientGetter finds clients by id; ErrNotFound (fosite's) for unknown ones.
type clientGetter interface {
	GetClient(ctx context.Context, id string) (fosite.Client, error)
}

// What fosite needs of the store, checked at compile time rather than by the
// unchecked type assertions in compose.
var (
	_ fosite.Storage                       = (*storage)(nil)
	_ oauth2.CoreStorage                   = (*storage)(nil)
	_ oauth2.TokenRevocationStorage        = (*storage)(nil)
	_ openid.OpenIDConnectRequestStorage   = (*storage)(nil)
	_ pkce.PKCERequestStorage              = (*storage)(nil)
	_ fosite.PARStorage                    = (*storage)(nil)
	_ fstorage.Transactional               = (*storage)(nil)
	_ fosite.ClientManager                 = (*storage)(nil)
	_ oauth2.ClientCredentialsGrantStorage = (*storage)(nil)
)

// storedRequest is a fosite request as the store keeps it: plain data, the client
// by id (found again on load, so a removed client's tokens stop working), the
// session as our own type.
type storedRequest struct {
	ID                string     `json:"id"`
	RequestedAt       time.Time  `json:"requested_at"`
	ClientID          string     `json:"client_id"`
	RequestedScope    []string   `json:"scope,omitempty"`
	GrantedScope      []string   `json:"granted_scope,omitempty"`
	RequestedAudience []string   `json:"audience,omitempty"`
	GrantedAudience   []string   `json:"granted_audience,omitempty"`
	Form              url.Values `json:"form,omitempty"`
	Session           *Session   `json:"session,omitempty"`

	// Authorization requests only (PAR and pending logins).
	ResponseTypes []string `json:"response_types,omitempty"`
	RedirectURI   string   `json:"redirect_uri,omitempty"`
	State         string   `json:"state,omitempty"`
	ResponseMode  string   `json:"response_mode,omitempty"`
	DefaultMode   string   `json:"default_response_mode,omitempty"`
}

func encodeRequest(r fosite.Requester) ([]byte, error) {
	sr := storedRequest{
		ID:                r.GetID(),
		RequestedAt:       r.GetRequestedAt(),
		RequestedScope:    r.GetRequestedScopes(),
		GrantedScope:      r.GetGrantedScopes(),
		RequestedAudience: r.GetRequestedAudience(),
		GrantedAudience:   r.GetGrantedAudience(),
		Form:              r.GetRequestForm(),
	}
	if c := r.GetClient(); c != nil {
		sr.ClientID = c.GetID()
	}
	if s := r.GetSession(); s != nil {
		sess, ok := s.(*Session)
		if !ok {
			return nil, fmt.Errorf("idp: store a request: session of type %T, want *idp.Session", s)
		}
		sr.Session = sess
	}
	if ar, ok := r.(fosite.AuthorizeRequester); ok {
		sr.ResponseTypes = ar.GetResponseTypes()
		if u := ar.GetRedirectURI(); u != nil {
			sr.RedirectURI = u.String()
		}
		sr.State = ar.GetState()
		sr.ResponseMode = string(ar.GetResponseMode())
		sr.DefaultMode = string(ar.GetDefaultResponseMode())
	}
	return json.Marshal(sr)
}

// decodeRequest rebuilds a request. The client must still exist.
func (s *storage) decodeRequest(ctx context.Context, data []byte) (*fosite.AuthorizeRequest, error) {
	var sr storedRequest
	if err := json.Unmarshal(data, &sr); err != nil {
		return nil, fmt.Errorf("idp: decode a stored request: %w", err)
	}
	client, err := s.clients.GetClient(ctx, sr.ClientID)
	if err != nil {
		return nil, err
	}
	ar := fosite.NewAuthorizeRequest()
	ar.ID = sr.ID
	ar.RequestedAt = sr.RequestedAt
	ar.Client = client
	ar.RequestedScope = sr.RequestedScope
	ar.GrantedScope = sr.GrantedScope
	ar.RequestedAudience = sr.RequestedAudience
	ar.GrantedAudience = sr.GrantedAudience
	if sr.Form != nil {
		ar.Form = sr.Form
	}
	if sr.Session == nil {
		sr.Session = NewSession()
	}
	ar.Session = sr.Session
	ar.ResponseTypes = sr.ResponseTypes
	if sr.RedirectURI != "" {
		if ar.RedirectURI, err = url.Parse(sr.RedirectURI); err != nil {
			return nil, fmt.Errorf("idp: decode a stored request: %w", err)
		}
	}
	ar.State = sr.State
	ar.ResponseMode = fosite.ResponseModeType(sr.ResponseMode)
	ar.DefaultResponseMode = fosite.ResponseModeType(sr.DefaultMode)
	return ar, nil
}

// record builds the record of r under key, expiring with the token kind k of r's
// session (or after fallback when the session has no such expiry).
func record(kind grants.Kind, key string, r fosite.Requester, exp time.Time) (grants.Record, error) {
	data, err := encodeRequest(r)
	if err != nil {
		return grants.Record{}, err
	}
	return grants.Record{Kind: kind, Key: key, RequestID: r.GetID(), ExpiresAt: exp, Active: true, Data: data}, nil
}

// expiry returns when r's token of type tt expires, or now+fallback when unset.
func (s *storage) expiry(r fosite.Requester, tt fosite.TokenType, fallback time.Duration) time.Time {
	if sess := r.GetSession(); sess != nil {
		if t := sess.GetExpiresAt(tt); !t.IsZero() {
			return t
		}
	}
	return s.now().Add(fallback)
}

// txKey carries the writes of an open fosite transaction in its context.
type txKey struct{}

type tx struct{ ops []grants.Op }

// BeginTX starts buffering writes; Commit applies them in one store transaction.
func (s *storage) BeginTX(ctx context.Context) (context.Context, error) {
	return context.WithValue(ctx, txKey{}, &tx{}), nil
}

// Commit applies the buffered writes atomically. When a code or refresh token was
// used concurrently by another request (the compare-and-set failed), nothing is
// written. A code redeemed twice also revokes the tokens of its first redemption
// (RFC 6749 §4.1.2). Of two parallel refreshes the loser just fails: the winner's
// new tokens stay good, and a later replay of the old token is caught as reuse.
func (s *storage) Commit(ctx context.Context) error {
	t, ok := ctx.Value(txKey{}).(*tx)
	if !ok {
		return errors.New("idp: commit without a transaction")
	}
	ops := t.ops
	t.ops = nil
	err := s.grants.ApplyGrants(ctx, ops...)
	if err == nil {
		return nil
	}
	if errors.Is(err, grants.ErrInactive) || errors.Is(err, grants.ErrNotFound) {
		for _, op := range ops {
			if op.Verb != grants.VerbUse || op.Kind != grants.Code {
				continue
			}
			if rec, gerr := s.grants.Grant(ctx, op.Kind, op.Key); rec.RequestID != "" && (gerr == nil || errors.Is(gerr, grants.ErrInactive)) {
				_ = s.revokeGrant(ctx, rec.RequestID)
			}
		}
		return fmt.Errorf("%w: %w", fosite.ErrInactiveToken, err)
	}
	return err
}

// Rollback drops the buffered writes.
func (s *storage) Rollback(ctx context.Context) error {
	if t, ok := ctx.Value(txKey{}).(*tx); ok {
		t.ops = nil
	}
	return nil
}

// apply writes ops now, or buffers them when ctx carries a transaction.
func (s *storage) apply(ctx context.Context, ops ...grants.Op) error {
	if t, ok := ctx.Value(txKey{}).(*tx); ok {
		t.ops = append(t.ops, ops...)
		return nil
	}
	return s.grants.ApplyGrants(ctx, ops...)
}

func (s *storage) put(ctx context.Context, kind grants.Kind, key string, r fosite.Requester, exp time.Time) error {
	rec, err := record(kind, key, r, exp)
	if err != nil {
		return err
	}
	return s.apply(ctx, grants.Put(rec))
}

// get loads a record and its request. An inactive record comes back with its
// request and grants.ErrInactive; the caller maps that to fosite's error.
func (s *storage) get(ctx context.Context, kind grants.Kind, key string) (*fosite.AuthorizeRequest, error) {
	rec, err := s.grants.Grant(ctx, kind, key)
	if errors.Is(err, grants.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s", fosite.ErrNotFound, kind)
	}
	if err != nil && !errors.Is(err, grants.ErrInactive) {
		return nil, err
	}
	r, derr := s.decodeRequest(ctx, rec.Data)
	if derr != nil {
		return nil, derr
	}
	return r, err
}

// revokeGrant deletes the grant's access tokens and deactivates its refresh tokens.
func (s *storage) revokeGrant(ctx context.Context, requestID string) error {
	return s.grants.ApplyGrants(ctx,
		grants.DeleteGrant(grants.Access, requestID),
		grants.DeactivateGrant(grants.Refresh, requestID))
}

// GetClient implements fosite.ClientManager.
func (s *storage) GetClient(ctx context.Context, id string) (fosite.Client, error) {
	return s.clients.GetClient(ctx, id)
}

// ClientAssertionJWTValid implements fosite.ClientManager. The check that counts is
// the atomic one in SetClientAssertionJWT; this one only answers early.
func (s *storage) ClientAssertionJWTValid(ctx context.Context, jti string) error {
	return nil
}

// SetClientAssertionJWT records a client assertion's jti until it expires, refusing
// one seen before (RFC 7523 §3 item 7), in one atomic step, so two parallel uses of
// one assertion cannot both pass.
func (s *storage) SetClientAssertionJWT(ctx context.Context, jti string, exp time.Time) error {
	err := s.grants.UseJTI(ctx, hashKey(jti), exp, s.now())
	if errors.Is(err, grants.ErrReplay) {
		return fosite.ErrJTIKnown.WithHint("The client assertion's jti has been used before.")
	}
	return err
}

// CreateAuthorizeCodeSession implements oauth2.AuthorizeCodeStorage.
func (s *storage) CreateAuthorizeCodeSession(ctx context.Context, sig string, r fosite.Requester) error {
	return s.put(ctx, grants.Code, sig, r, s.expiry(r, fosite.AuthorizeCode, 10*time.Minute))
}

// GetAuthorizeCodeSession implements oauth2.AuthorizeCodeStorage: a used code comes
// back with its request and ErrInvalidatedAuthorizeCode, and fosite revokes the
// tokens issued from it.
//
// The code's expiry is also copied into the session passed in: fosite checks it
// against the session of the token request, not the one returned; without this
// it noticed an expired code only later, and answered invalid_request instead of
// invalid_grant (RFC 6749 §5.2). Only the expiry: fosite calls this again with
// the session it is issuing tokens from, whose access token expiry must stay.
func (s *storage) GetAuthorizeCodeSession(ctx context.Context, sig string, into fosite.Session) (fosite.Requester, error) {
	r, err := s.get(ctx, grants.Code, sig)
	if errors.Is(err, grants.ErrInactive) {
		return r, fosite.ErrInvalidatedAuthorizeCode
	}
	if err != nil {
		return nil, err
	}
	if sess, ok := into.(*Session); ok && sess != nil && sess.DefaultSession != nil {
		sess.SetExpiresAt(fosite.AuthorizeCode, r.GetSession().GetExpiresAt(fosite.AuthorizeCode))
	}
	return r, nil
}

// InvalidateAuthorizeCodeSession implements oauth2.AuthorizeCodeStorage: a
// compare-and-set, so of two parallel redemptions one fails.
func (s *storage) InvalidateAuthorizeCodeSession(ctx context.Context, sig string) error {
	return s.apply(ctx, grants.Use(grants.Code, sig))
}

// CreateAccessTokenSession implements oauth2.AccessTokenStorage.
// A client's own token (no person in the session) is written behind the response.
func (s *storage) CreateAccessTokenSession(ctx context.Context, sig string, r fosite.Requester) error {
	exp := s.expiry(r, fosite.AccessToken, time.Hour)
	if sess, ok := r.GetSession().(*Session); ok && sess.Actor == "" && s.behind != nil && ctx.Value(txKey{}) == nil {
		rec, err := record(grants.Access, sig, r, exp)
		if err != nil {
			return err
		}
		if s.behind.put(rec) {
			return nil
		}
		return s.grants.ApplyGrants(ctx, grants.Put(rec))
	}
	return s.put(ctx, grants.Access, sig, r, exp)
}

// GetAccessTokenSession implements oauth2.AccessTokenStorage.
func (s *storage) GetAccessTokenSession(ctx context.Context, sig string, _ fosite.Session) (fosite.Requester, error) {
	if s.behind != nil {
		if rec, ok := s.behind.get(sig); ok {
			return s.decodeRequest(ctx, rec.Data)
		}
	}
	r, err := s.get(ctx, grants.Access, sig)
	if err != nil {
		return nil, fosite.ErrNotFound.WithWrap(err)
	}
	return r, nil
}

// DeleteAccessTokenSession implements oauth2.AccessTokenStorage.
func (s *storage) DeleteAccessTokenSession(ctx context.Context, sig string) error {
	if s.behind != nil {
		s.behind.drop(sig, "")
	}
	return s.apply(ctx, grants.Delete(grants.Access, sig))
}

// CreateRefreshTokenSession implements oauth2.RefreshTokenStorage.
func (s *storage) CreateRefreshTokenSession(ctx context.Context, sig, _ string, r fosite.Requester) error {
	return s.put(ctx, grants.Refresh, sig, r, s.expiry(r, fosite.RefreshToken, 30*24*time.Hour))
}

// GetRefreshTokenSession implements oauth2.RefreshTokenStorage: a rotated or revoked
// token comes back with its request and ErrInactiveToken, which makes fosite revoke
// the whole grant (reuse detection).
func (s *storage) GetRefreshTokenSession(ctx context.Context, sig string, _ fosite.Session) (fosite.Requester, error) {
	r, err := s.get(ctx, grants.Refresh, sig)
	if errors.Is(err, grants.ErrInactive) {
		return r, fosite.ErrInactiveToken
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}

// DeleteRefreshTokenSession implements oauth2.RefreshTokenStorage.
func (s *storage) DeleteRefreshTokenSession(ctx context.Context, sig string) error {
	return s.apply(ctx, grants.Delete(grants.Refresh, sig))
}

// RotateRefreshToken implements oauth2.RefreshTokenStorage: the old refresh token is
// used (compare-and-set: of two parallel refreshes one fails) and the grant's access
// tokens are revoked.
func (s *storage) RotateRefreshToken(ctx context.Context, requestID, sig string) error {
	return s.apply(ctx, grants.Use(grants.Refresh, sig), grants.DeleteGrant(grants.Access, requestID))
}

// RevokeRefreshToken implements oauth2.TokenRevocationStorage: every refresh token
// of the grant becomes inactive.
func (s *storage) RevokeRefreshToken(ctx context.Context, requestID string) error {
	return s.apply(ctx, grants.DeactivateGrant(grants.Refresh, requestID))
}

// RevokeAccessToken implements oauth2.TokenRevocationStorage: every access token of
// the grant is deleted.
func (s *storage) RevokeAccessToken(ctx context.Context, requestID string) error {
	if s.behind != nil {
		s.behind.drop("", requestID)
	}
	return s.apply(ctx, grants.DeleteGrant(grants.Access, requestID))
}

// CreatePKCERequestSession implements pkce.PKCERequestStorage.
func (s *storage) CreatePKCERequestSession(ctx context.Context, sig string, r fosite.Requester) error {
	return s.put(ctx, grants.PKCE, sig, r, s.expiry(r, fosite.AuthorizeCode, 10*time.Minute))
}

// GetPKCERequestSession implements pkce.PKCERequestStorage.
func (s *storage) GetPKCERequestSession(ctx context.Context, sig string, _ fosite.Session) (fosite.Requester, error) {
	r, err := s.get(ctx, grants.PKCE, sig)
	if err != nil {
		return nil, fosite.ErrNotFound.WithWrap(err)
	}
	return r, nil
}

// DeletePKCERequestSession implements pkce.PKCERequestStorage.
func (s *storage) DeletePKCERequestSession(ctx context.Context, sig string) error {
	return s.apply(ctx, grants.Delete(grants.PKCE, sig))
}

// CreateOpenIDConnectSession implements openid.OpenIDConnectRequestStorage. fosite
// hands the raw code; the key is its hash, so the store holds no usable code.
func (s *storage) CreateOpenIDConnectSession(ctx context.Context, code string, r fosite.Requester) error {
	return s.put(ctx, grants.OIDC, hashKey(code), r, s.expiry(r, fosite.AuthorizeCode, 10*time.Minute))
}

// GetOpenIDConnectSession implements openid.OpenIDConnectRequestStorage.
func (s *storage) GetOpenIDConnectSession(ctx context.Context, code string, _ fosite.Requester) (fosite.Requester, error) {
	r, err := s.get(ctx, grants.OIDC, hashKey(code))
	if err != nil {
		return nil, openid.ErrNoSessionFound
	}
	return r, nil
}

// DeleteOpenIDConnectSession implements openid.OpenIDConnectRequestStorage.
func (s *storage) DeleteOpenIDConnectSession(ctx context.Context, code string) error {
	return s.apply(ctx, grants.Delete(grants.OIDC, hashKey(code)))
}

// CreatePARSession implements fosite.PARStorage.
func (s *storage) CreatePARSession(ctx context.Context, uri string, r fosite.AuthorizeRequester) error {
	rec, err := record(grants.PAR, hashKey(uri), r, s.now().Add(parLifetime))
	if err != nil {
		return err
	}
	rec.RequestID = ""
	return s.grants.ApplyGrants(ctx, grants.Put(rec))
}

// GetPARSession implements fosite.PARStorage. A request URI is good once: it is used
// here, so two parallel authorization requests cannot both start from it.
func (s *storage) GetPARSession(ctx context.Context, uri string) (fosite.AuthorizeRequester, error) {
	key := hashKey(uri)
	rec, err := s.grants.Grant(ctx, grants.PAR, key)
	if err != nil {
		return nil, fosite.ErrNotFound.WithWrap(err)
	}
	if s.now().After(rec.ExpiresAt) {
		return nil, fosite.ErrNotFound.WithHint("The request_uri has expired.")
	}
	if err := s.grants.ApplyGrants(ctx, grants.Use(grants.PAR, key)); err != nil {
		return nil, fosite.ErrNotFound.WithWrap(err)
	}
	return s.decodeRequest(ctx, rec.Data)
}

// DeletePARSession implements fosite.PARStorage.
func (s *storage) DeletePARSession(ctx context.Context, uri string) error {
	return s.grants.ApplyGrants(ctx, grants.Delete(grants.PAR, hashKey(uri)))
}

// hashKey is the store key of a secret value (a raw code, a request URI, a jti):
// SHA-256, base64url.
func hashKey(v string) string {
	h := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(h[:])
}
