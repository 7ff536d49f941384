package idp

import (
	"context"

	"github.com/ory/fosite"
)

// ScopeDecide is the scope of a client's own access token (client credentials) for
// the decision API: a resource server of this same process that asks the decision
// engine on the client's behalf.
const ScopeDecide = "decide"

// ClientOfToken returns the client an access token was issued to for itself (a
// client credentials token), when the token is one of this server's, active (its
// signature and expiry verify, and it was not revoked), granted scope, and its
// client is still declared. It returns false for anything else, including a token
// issued to a person or on someone's behalf: those speak for the person, not for
// the client.
//
// Every call reads the token's record from the store (so a revocation counts at
// once); the signature is verified the first time a token is seen (Keys remembers
// it until the token expires). It is safe for concurrent use.
func (s *Server) ClientOfToken(ctx context.Context, token, scope string) (*Client, bool) {
	if token == "" || scope == "" {
		return nil, false
	}
	use, ar, err := s.provider.IntrospectToken(ctx, token, fosite.AccessToken, NewSession())
	if err != nil || use != fosite.AccessToken || ar == nil {
		return nil, false
	}
	sess, ok := ar.GetSession().(*Session)
	if !ok || sess.Actor != "" || sess.Party != "" || sess.Act != nil {
		return nil, false
	}
	client, ok := ar.GetClient().(*Client)
	if !ok || sess.Subject != client.ID || !ar.GetGrantedScopes().Has(scope) {
		return nil, false
	}
	return client, true
}
