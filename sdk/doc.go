// Package sdk is what an agency compiles into its service to use Fullmakt: it
// verifies Fullmakt's access tokens, asks the decision API whether an actor may act
// for a party (and caches the answers, dropping them the moment Fullmakt's change
// feed says a relation changed), lists the parties an actor may act for, exchanges
// tokens (RFC 8693), logs people in (OpenID Connect with PKCE), verifies signed
// decision receipts offline, and protects HTTP handlers with Require, which answers
// an RFC 9470 step-up challenge when a higher level of assurance would permit.
//
// The SDK fails closed: when Fullmakt cannot be reached, or answers something it
// cannot read, a check returns an error and Require answers 503; nothing is ever
// allowed by default.
//
// It imports only the standard library and github.com/hashicorp/golang-lru/v2
// (JWS verification is the standard library's ECDSA behind a strict compact
// parser; go-jose/v4 checks it in the tests), never another package of this
// repository (conformance/layout_test.go guards it), so that agencies compile in
// little and the wire contracts, not shared Go types, bind the SDK to the server.
// sdk/README.md shows how to protect a service in fifteen minutes.
package sdk
