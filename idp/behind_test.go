package idp_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/fullmakt/fullmakt/idp/grants"
)

// TestClientTokensWrittenBehind: a client's own access token is answered before
// its record reaches the disk, and nothing about it may show: it introspects as
// active at once, a revocation right after issuance sticks (the write that comes
// later does not bring it back), and Close writes what is still waiting.
func TestClientTokensWrittenBehind(t *testing.T) {
	f := newFixture(t)
	issue := func() string {
		t.Helper()
		resp := f.post(t, "/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"decide"}}, basic("machine", machineSecret))
		tok, _ := resp.body["access_token"].(string)
		if resp.status != 200 || tok == "" {
			t.Fatalf("client credentials: %d %v", resp.status, resp.body)
		}
		return tok
	}
	signature := func(tok string) string { return tok[strings.LastIndexByte(tok, '.')+1:] }

	revoked := issue()
	if !f.active(t, revoked) {
		t.Fatal("a token just issued introspects as inactive")
	}
	if resp := f.post(t, "/revoke", url.Values{"token": {revoked}}, basic("machine", machineSecret)); resp.status != 200 {
		t.Fatalf("revoke: %d %v", resp.status, resp.body)
	}
	kept := issue()
	f.server.Close() // every pending record is written now
	if _, err := f.store.Grant(t.Context(), grants.Access, signature(kept)); err != nil {
		t.Errorf("after Close, the record of a token issued before: %v", err)
	}
	if _, err := f.store.Grant(t.Context(), grants.Access, signature(revoked)); !errors.Is(err, grants.ErrNotFound) {
		t.Errorf("after Close, the record of a revoked token: err = %v, want ErrNotFound", err)
	}
}
