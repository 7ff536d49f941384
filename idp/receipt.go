package idp

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/ory/fosite/token/jwt"
)

// ReceiptType is the JOSE typ of a decision receipt: explicit typing (RFC 8725
// §3.11) so that a receipt is never taken for an access or ID token, which the
// same keys sign.
const ReceiptType = "fullmakt-receipt+jwt"

// SignReceipt signs a decision receipt's claims (authzen builds them) with the
// key that signs tokens now, published in the JWK Set: a compact JWS with typ
// ReceiptType, whose iss is the issuer. It does not change claims. It implements
// authzen.ReceiptSigner.
func (s *Server) SignReceipt(ctx context.Context, claims map[string]any) (string, error) {
	if claims == nil {
		return "", errors.New("idp: sign a receipt: no claims")
	}
	c := maps.Clone(claims)
	c["iss"] = s.cfg.Issuer
	jws, _, err := s.keys.Generate(ctx, jwt.MapClaims(c), &jwt.Headers{Extra: map[string]any{"typ": ReceiptType}})
	if err != nil {
		return "", fmt.Errorf("idp: sign a receipt: %w", err)
	}
	return jws, nil
}
