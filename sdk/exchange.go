package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// RFC 8693's grant type and token type.
const (
	grantTypeTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	tokenTypeAccessToken   = "urn:ietf:params:oauth:token-type:access_token"
)

// Exchange exchanges actorToken, a person's access token this client holds, for
// one that acts for party towards audience in services (RFC 8693 token exchange,
// with an RFC 9396 authorization detail of type representation naming the party
// and the services). Fullmakt asks its decision engine first; the new token keeps
// actorToken's acr and auth_time, and when actorToken already acted for someone,
// it records this client in act, so the next service sees it in Token.Via.
//
// The errors: a *StepUpError when a higher level, or a fresher authentication,
// would permit (send the person to the login with its ACRValues and MaxAge, then
// exchange the new token); an *OAuthError otherwise, access_denied matching
// ErrDenied; Fullmakt out of reach or failing matches ErrUnavailable. Exchange
// needs Config.PrivateKey or Config.ClientSecret.
func (c *Client) Exchange(ctx context.Context, actorToken string, party Party, audience string, services ...string) (*Exchanged, error) {
	switch {
	case actorToken == "":
		return nil, errors.New("sdk: exchange: no token to exchange")
	case (party.Type != TypePerson && party.Type != TypeOrganization) || party.ID == "":
		return nil, errors.New("sdk: exchange: the party needs a type (person or organization) and an id")
	case audience == "":
		return nil, errors.New("sdk: exchange: no audience")
	case len(services) == 0:
		return nil, errors.New("sdk: exchange: name at least one service")
	}
	details, err := json.Marshal([]struct {
		Type     string   `json:"type"`
		Party    Party    `json:"party"`
		Services []string `json:"services"`
	}{{Type: detailRepresentation, Party: party, Services: services}})
	if err != nil {
		return nil, fmt.Errorf("sdk: exchange: %w", err)
	}
	sent := c.cfg.Now()
	tr, err := c.tokenRequest(ctx, "token exchange", url.Values{
		"grant_type":            {grantTypeTokenExchange},
		"subject_token":         {actorToken},
		"subject_token_type":    {tokenTypeAccessToken},
		"audience":              {audience},
		"authorization_details": {string(details)},
	})
	if err != nil {
		return nil, err
	}
	if tr.IssuedTokenType != "" && tr.IssuedTokenType != tokenTypeAccessToken {
		return nil, fmt.Errorf("sdk: token exchange: %w: the answer is not an access token", ErrUnavailable)
	}
	x := &Exchanged{AccessToken: tr.AccessToken, TokenType: tr.TokenType, Scopes: strings.Fields(tr.Scope)}
	if tr.ExpiresIn > 0 {
		x.Expiry = sent.Add(time.Duration(tr.ExpiresIn) * time.Second)
	}
	return x, nil
}
