package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// receiptType is the typ of a decision receipt's header.
const receiptType = "fullmakt-receipt+jwt"

// receiptClaims are a decision receipt's claims (the server's wire contract).
type receiptClaims struct {
	Issuer        string       `json:"iss"`
	IssuedAt      *numericDate `json:"iat"`
	ID            string       `json:"jti"`
	ClientID      string       `json:"client_id"`
	Decision      *bool        `json:"decision"`
	Actor         *Party       `json:"actor"`
	Party         *Party       `json:"party"`
	Service       string       `json:"service"`
	Action        string       `json:"action"`
	ACR           string       `json:"acr"`
	AuthTime      *numericDate `json:"auth_time"`
	Relation      *Relation    `json:"relation"`
	Reasons       []string     `json:"reasons"`
	PolicyVersion string       `json:"policy_version"`
}

// VerifyReceipt verifies a decision receipt (a compact JWS Fullmakt signed
// when asked, see CheckWithReceipt) against Fullmakt's published keys: typ
// fullmakt-receipt+jwt, ES256, a kid of the JWK Set (fetched again, within
// Config.JWKSMinRefresh, when unknown), iss the issuer, iat not in the future.
// A receipt records a decision at iat and never expires. The Receipt carries the
// key that verified it (Key): archive it with the receipt, so that
// VerifyReceiptWithKey can verify it after Fullmakt has retired the key.
//
// A receipt that does not verify is a *TokenError; when the key set cannot be
// fetched the error matches ErrUnavailable.
func (c *Client) VerifyReceipt(ctx context.Context, raw string) (*Receipt, error) {
	j, terr := parseCompactJWS(raw)
	if terr != nil {
		return nil, refuse("receipt: %s", terr.Reason)
	}
	if !typeIs(j.header.Typ, receiptType) {
		return nil, refuse("receipt: typ is not %s", receiptType)
	}
	key, err := c.verifySignature(ctx, j)
	if err != nil {
		var te *TokenError
		if errors.As(err, &te) {
			return nil, refuse("receipt: %s", te.Reason)
		}
		return nil, err
	}
	return receiptFrom(raw, j, key, c.cfg.Issuer, c.cfg.Now().Add(c.cfg.ClockSkew))
}

// VerifyReceiptWithKey verifies a receipt offline with an archived key (a public
// JWK, as Receipt.Key holds it) for the issuer: the same checks as VerifyReceipt,
// without fetching anything. The key must be an ES256 key on P-256; when it has a
// kid, the receipt's must be the same. iat must not lie ahead of this machine's
// clock by more than DefaultClockSkew.
func VerifyReceiptWithKey(raw string, key json.RawMessage, issuer string) (*Receipt, error) {
	pub, err := parsePublicJWK(key)
	if err != nil {
		return nil, refuse("receipt: the key is not usable: %v", err)
	}
	j, terr := parseCompactJWS(raw)
	if terr != nil {
		return nil, refuse("receipt: %s", terr.Reason)
	}
	if terr := checkAlg(j.header); terr != nil {
		return nil, refuse("receipt: %s", terr.Reason)
	}
	switch {
	case !typeIs(j.header.Typ, receiptType):
		return nil, refuse("receipt: typ is not %s", receiptType)
	case pub.kid != "" && j.header.Kid != pub.kid:
		return nil, refuse("receipt: signed with another key (kid)")
	case !verifyES256(pub.key, j):
		return nil, refuse("receipt: the signature does not verify")
	}
	return receiptFrom(raw, j, pub, issuer, time.Now().Add(DefaultClockSkew))
}

// receiptFrom checks a receipt's claims, signed by key, and returns the Receipt;
// latest is the latest acceptable iat.
func receiptFrom(raw string, j *compactJWS, key *publicKey, issuer string, latest time.Time) (*Receipt, error) {
	var cl receiptClaims
	if !jsonObject(j.payload) || json.Unmarshal(j.payload, &cl) != nil {
		return nil, refuse("receipt: the claims are not of the expected shape")
	}
	validParty := func(p *Party) bool {
		return p != nil && (p.Type == TypePerson || p.Type == TypeOrganization) && p.ID != ""
	}
	switch {
	case cl.Issuer != issuer:
		return nil, refuse("receipt: issued by another issuer")
	case cl.IssuedAt == nil:
		return nil, refuse("receipt: no iat")
	case cl.IssuedAt.After(latest):
		return nil, refuse("receipt: issued in the future (iat)")
	case cl.Decision == nil:
		return nil, refuse("receipt: no decision")
	case !validParty(cl.Actor) || !validParty(cl.Party):
		return nil, refuse("receipt: the actor or the party is missing or has no known type")
	case cl.Service == "" || cl.Action == "":
		return nil, refuse("receipt: no service or action")
	case cl.Relation != nil && cl.Relation.Kind == "":
		return nil, refuse("receipt: the relation has no kind")
	}
	r := &Receipt{
		Issuer:        cl.Issuer,
		IssuedAt:      cl.IssuedAt.Time,
		ID:            cl.ID,
		ClientID:      cl.ClientID,
		Allowed:       *cl.Decision,
		Actor:         *cl.Actor,
		Party:         *cl.Party,
		Service:       cl.Service,
		Action:        cl.Action,
		ACR:           cl.ACR,
		Relation:      cl.Relation,
		Reasons:       cl.Reasons,
		PolicyVersion: cl.PolicyVersion,
		KeyID:         j.header.Kid,
		Key:           append(json.RawMessage(nil), key.jwk...),
		Raw:           raw,
	}
	if cl.AuthTime != nil {
		r.AuthTime = cl.AuthTime.Time
	}
	return r, nil
}
