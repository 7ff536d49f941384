package authzen

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"

	"github.com/fullmakt/fullmakt/authz"
)

// ReceiptSigner signs decision receipts; the OAuth server (idp.Server) is one,
// with the keys it publishes at its jwks_uri.
type ReceiptSigner interface {
	// SignReceipt signs claims as a compact JWS, adding the issuer (iss). It must
	// be safe for concurrent use. An error means no receipt, and the decision is
	// not given either.
	SignReceipt(ctx context.Context, claims map[string]any) (string, error)
}

// ReceiptAlg is the JWS algorithm receipts are signed with, as the metadata
// publishes it.
const ReceiptAlg = "ES256"

// noReceipts is the error of a request for a receipt on a server that signs none.
func noReceipts(contextPath string) *fieldError {
	return badField(join(contextPath, "receipt"), "asks for a signed receipt, but this server signs none")
}

// receipt signs the decision out of req, as the client sees it: who asked
// (client_id), who acted (actor) for whom (party), what (service, action), at
// which level and when they authenticated (acr, auth_time), the answer
// (decision, relation, reasons) and the policy pack that gave it. It is evidence
// of a decision at iat and has no expiry.
func (a *API) receipt(ctx context.Context, clientID string, in evalIn, req authz.Request, out decisionJSON) (string, error) {
	c := out.Context
	reasons := make([]string, len(c.Reasons))
	for i, r := range c.Reasons {
		reasons[i] = r.Code
	}
	actor := map[string]any{"type": in.subject.typ, "id": req.Actor.String()}
	party := actor
	if in.party != nil {
		party = map[string]any{"type": in.party.typ, "id": req.Party.String()}
	}
	jti := make([]byte, 16)
	rand.Read(jti) // never fails (crypto/rand)
	claims := map[string]any{
		"iat":            req.Now.Unix(),
		"jti":            base64.RawURLEncoding.EncodeToString(jti),
		"client_id":      clientID,
		"decision":       out.Decision,
		"actor":          actor,
		"party":          party,
		"service":        req.Service,
		"action":         req.Action,
		"acr":            req.ACR,
		"reasons":        reasons,
		"policy_version": c.PolicyVersion,
	}
	if !req.AuthTime.IsZero() {
		claims["auth_time"] = req.AuthTime.Unix()
	}
	if c.Relation != nil {
		rel := map[string]any{"kind": c.Relation.Kind}
		if c.Relation.ID != "" {
			rel["id"] = c.Relation.ID
		}
		claims["relation"] = rel
	}
	jws, err := a.cfg.Receipts.SignReceipt(ctx, claims)
	if err != nil {
		return "", fmt.Errorf("authzen: sign a receipt: %w", err)
	}
	return jws, nil
}
