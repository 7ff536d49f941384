package idp_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/idp"
)

// attempt runs an authorization request of the web client with the scopes and
// the extra parameters, and redeems the code. It returns the tokens, or the error
// redirected to the client.
func (f *fixture) attempt(t *testing.T, scope string, extra url.Values) (*oauth2.Token, string) {
	t.Helper()
	q, verifier := authParams("web", webRedirect, scope)
	for k, v := range extra {
		q[k] = v
	}
	res := f.authorizeWith(t, q)
	if res.location == nil {
		t.Fatalf("authorize = %v, want a redirect to the client", res)
	}
	if e := res.param("error"); e != "" {
		if res.param("state") != q.Get("state") {
			t.Errorf("error %s: state %q, want %q", e, res.param("state"), q.Get("state"))
		}
		return nil, e
	}
	tok, err := f.webConfig().Exchange(t.Context(), res.param("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange the code: %v", err)
	}
	return tok, ""
}

// TestStepUp checks levels of assurance and freshness (OIDC Core §3.1.2.1,
// RFC 9470): what the client asks for, what the login reaches, and what the
// tokens say was reached.
func TestStepUp(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const (
		aliasSubstantial = "idporten-loa-substantial"
		aliasHigh        = "idporten-loa-high"
	)
	claims := func(target string, acr map[string]any) string {
		b, _ := json.Marshal(map[string]any{target: map[string]any{"acr": acr}})
		return string(b)
	}
	tests := []struct {
		name    string
		params  url.Values
		acr     string        // the login reaches
		age     time.Duration // since the person authenticated
		fail    bool          // the login fails: the person has no means of the level
		level   authz.Level   // the login is asked for
		wantErr string
		wantACR string // in the tokens
	}{
		{name: "nothing asked", acr: acrSubstantial, wantACR: acrSubstantial},
		{name: "acr_values high, reached substantial", params: url.Values{"acr_values": {acrHigh}}, acr: acrSubstantial,
			level: authz.LevelHigh, wantErr: "unmet_authentication_requirements"},
		{name: "acr_values high, reached high", params: url.Values{"acr_values": {acrHigh}}, acr: acrHigh,
			level: authz.LevelHigh, wantACR: acrHigh},
		{name: "lowest of several acr_values", params: url.Values{"acr_values": {acrHigh + " " + acrSubstantial}}, acr: acrSubstantial,
			level: authz.LevelSubstantial, wantACR: acrSubstantial},
		{name: "essential acr claim high, reached substantial", acr: acrSubstantial, level: authz.LevelHigh,
			params:  url.Values{"claims": {claims("id_token", map[string]any{"essential": true, "values": []string{acrHigh}})}},
			wantErr: "unmet_authentication_requirements"},
		{name: "essential acr claim as a value, for userinfo", acr: acrSubstantial, level: authz.LevelHigh,
			params:  url.Values{"claims": {claims("userinfo", map[string]any{"essential": true, "value": aliasHigh})}},
			wantErr: "unmet_authentication_requirements"},
		{name: "voluntary acr claim is no requirement", acr: acrSubstantial, wantACR: acrSubstantial,
			params: url.Values{"claims": {claims("id_token", map[string]any{"values": []string{acrHigh}})}}},
		// acrFor: the client's own word when it asked in it at the level reached,
		// its vocabulary when it asked for a lower level, the eIDAS URI otherwise.
		{name: "alias asked, reached higher", params: url.Values{"acr_values": {aliasSubstantial}}, acr: acrHigh,
			level: authz.LevelSubstantial, wantACR: aliasHigh},
		{name: "eIDAS asked, reached higher", params: url.Values{"acr_values": {acrSubstantial}}, acr: aliasHigh,
			level: authz.LevelSubstantial, wantACR: acrHigh},
		{name: "alias asked at the level reached", params: url.Values{"acr_values": {aliasSubstantial + " " + aliasHigh}}, acr: acrHigh,
			level: authz.LevelSubstantial, wantACR: aliasHigh},
		{name: "login reports an alias", acr: aliasHigh, wantACR: acrHigh},
		{name: "max_age exceeded", params: url.Values{"max_age": {"60"}}, acr: acrHigh, age: 2 * time.Minute,
			wantErr: "unmet_authentication_requirements"},
		{name: "max_age met", params: url.Values{"max_age": {"600"}}, acr: acrHigh, age: 2 * time.Minute, wantACR: acrHigh},
		{name: "login cannot reach the level", params: url.Values{"acr_values": {acrHigh}}, fail: true,
			level: authz.LevelHigh, wantErr: "unmet_authentication_requirements"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			authTime := time.Now().Add(-tt.age).Truncate(time.Second)
			f.login.as(f.parent.ID, tt.acr, "")
			f.login.change(func(a *idp.Authentication) { a.AuthTime = authTime })
			if tt.fail {
				f.login.failNext(true)
			}
			tok, errCode := f.attempt(t, "openid", tt.params)
			if req, _ := f.login.request(); req.Level != tt.level {
				t.Errorf("LoginRequest.Level = %v, want %v", req.Level, tt.level)
			}
			if errCode != tt.wantErr {
				t.Fatalf("authorize: error %q, want %q", errCode, tt.wantErr)
			}
			if tt.wantErr != "" {
				return
			}
			// The ID token, the access token and introspection record the level
			// reached and when.
			intro := f.introspect(t, tok.AccessToken)
			for where, c := range map[string]map[string]any{
				"id_token":      unverifiedClaims(t, tok.Extra("id_token").(string)),
				"access token":  f.verifyJWT(t, tok.AccessToken).claims,
				"introspection": intro,
			} {
				if c["acr"] != tt.wantACR || c["auth_time"] != float64(authTime.Unix()) {
					t.Errorf("%s acr %v auth_time %v, want %s %d", where, c["acr"], c["auth_time"], tt.wantACR, authTime.Unix())
				}
			}
		})
	}
	// The person cancelling is access_denied.
	f.login.as(f.parent.ID, acrHigh, "")
	f.login.failNext(false)
	if _, errCode := f.attempt(t, "openid", nil); errCode != "access_denied" {
		t.Errorf("cancelled login: error %q, want access_denied", errCode)
	}
}

// representation is an authorization detail of type representation.
func representation(party delegation.PartyID, services ...string) string {
	d := map[string]any{"type": "representation"}
	if party != "" {
		d["party"] = map[string]any{"type": "person", "id": string(party)}
	}
	if len(services) > 0 {
		d["services"] = services
		d["actions"] = []string{"read"}
	}
	b, _ := json.Marshal([]any{d})
	return string(b)
}

// TestRepresent logs people in to act for others: the tokens name the party as
// sub and the person in act (RFC 8693 §4.1), and the server checks that the person
// may act for the party.
func TestRepresent(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tests := []struct {
		name          string
		person        delegation.Person
		chooses       delegation.Person // at login; zero: nobody
		acr           string
		scope         string
		details       string
		wantParty     delegation.PartyID // in the LoginRequest
		wantErr       string
		wantSub       delegation.Person
		wantRelation  map[string]any
		wantDecisions []decided
	}{
		{name: "parent for child", person: f.parent, chooses: f.child, acr: acrSubstantial, scope: "openid represent",
			wantSub: f.child, wantRelation: map[string]any{"kind": "parent"}},
		{name: "proxy for grantor", person: f.proxy, chooses: f.grantor, acr: acrSubstantial, scope: "openid represent",
			wantSub: f.grantor, wantRelation: map[string]any{"kind": "fullmakt", "id": "fm-tax"}},
		{name: "parent for a stranger", person: f.parent, chooses: f.stranger, acr: acrHigh, scope: "openid represent",
			wantErr: "access_denied"},
		{name: "another party without represent", person: f.parent, chooses: f.child, acr: acrSubstantial, scope: "openid",
			wantErr: "invalid_request"},
		{name: "themself with represent", person: f.parent, acr: acrSubstantial, scope: "openid represent", wantSub: f.parent},
		{name: "detail names the party", person: f.parent, acr: acrSubstantial, scope: "openid",
			details: representation(f.child.ID), wantParty: f.child.ID, wantSub: f.child, wantRelation: map[string]any{"kind": "parent"}},
		{name: "detail names one party, person chooses another", person: f.parent, chooses: f.stranger, acr: acrSubstantial,
			scope: "openid", details: representation(f.child.ID), wantParty: f.child.ID, wantErr: "access_denied"},
		{name: "detail with services", person: f.parent, acr: acrSubstantial, scope: "openid",
			details: representation(f.child.ID, "skatteetaten.skattemelding", "lanekassen.studiestotte"), wantParty: f.child.ID,
			wantSub: f.child, wantRelation: map[string]any{"kind": "parent"},
			wantDecisions: []decided{
				{Actor: f.parent.ID, Party: f.child.ID, Service: "skatteetaten.skattemelding", Action: "read", Client: "web"},
				{Actor: f.parent.ID, Party: f.child.ID, Service: "lanekassen.studiestotte", Action: "read", Client: "web"},
			}},
		{name: "detail with a service that needs high", person: f.parent, acr: acrSubstantial, scope: "openid",
			details: representation(f.child.ID, "helsenorge.journal"), wantParty: f.child.ID, wantErr: "unmet_authentication_requirements",
			wantDecisions: []decided{{Actor: f.parent.ID, Party: f.child.ID, Service: "helsenorge.journal", Action: "read", Client: "web"}}},
		{name: "detail with a service the proxy may not", person: f.proxy, acr: acrHigh, scope: "openid",
			details: representation(f.grantor.ID, "lanekassen.studiestotte"), wantParty: f.grantor.ID, wantErr: "access_denied",
			wantDecisions: []decided{{Actor: f.proxy.ID, Party: f.grantor.ID, Service: "lanekassen.studiestotte", Action: "read", Client: "web"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.login.as(tt.person.ID, tt.acr, tt.chooses.ID)
			f.decider.take()
			extra := url.Values{}
			if tt.details != "" {
				extra.Set("authorization_details", tt.details)
			}
			tok, errCode := f.attempt(t, tt.scope, extra)
			req, _ := f.login.request()
			wantRepresent := strings.Contains(tt.scope, "represent") || tt.details != ""
			if req.Party != tt.wantParty || req.Represent != wantRepresent {
				t.Errorf("LoginRequest party %q represent %v, want %q %v", req.Party, req.Represent, tt.wantParty, wantRepresent)
			}
			if diff := cmp.Diff(tt.wantDecisions, f.decider.take()); diff != "" {
				t.Errorf("decisions asked (-want +got):\n%s", diff)
			}
			if errCode != tt.wantErr {
				t.Fatalf("authorize: error %q, want %q", errCode, tt.wantErr)
			}
			if tt.wantErr != "" {
				return
			}
			at := f.verifyJWT(t, tok.AccessToken).claims
			idt := unverifiedClaims(t, tok.Extra("id_token").(string))
			for where, c := range map[string]map[string]any{"access token": at, "id_token": idt} {
				if c["sub"] != f.sub(tt.wantSub) {
					t.Errorf("%s sub = %v, want the party's %s", where, c["sub"], f.sub(tt.wantSub))
				}
			}
			if tt.wantSub.ID == tt.person.ID {
				if at["act"] != nil || at["relation"] != nil {
					t.Errorf("a token for oneself has act %v relation %v", at["act"], at["relation"])
				}
				return
			}
			wantAct := map[string]any{"sub": f.sub(tt.person), "pid": string(tt.person.ID)}
			if diff := cmp.Diff(wantAct, at["act"]); diff != "" {
				t.Errorf("access token act (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(wantAct, idt["act"]); diff != "" {
				t.Errorf("id_token act (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantRelation, at["relation"]); diff != "" {
				t.Errorf("access token relation (-want +got):\n%s", diff)
			}
			if at["pid"] != string(tt.wantSub.ID) {
				t.Errorf("access token pid = %v, want the party's", at["pid"])
			}
		})
	}
}

// TestConsent asks a person for a consent in an RFC 9396 authorization detail:
// the consent is stored for the client's organisation, and the tokens carry the
// detail.
func TestConsent(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	validTo := delegation.Today(time.Now()).AddDays(90)
	consent := func(edit func(d map[string]any)) string {
		d := map[string]any{"type": "consent", "provider": "974761076", "data_set": "skatteetaten.inntekt",
			"purpose": "Vurdere søknaden om studielån", "valid_to": validTo.String()}
		if edit != nil {
			edit(d)
		}
		b, _ := json.Marshal([]any{d})
		return string(b)
	}
	t.Run("given", func(t *testing.T) {
		f.login.as(f.parent.ID, acrSubstantial, "")
		tok, errCode := f.attempt(t, "openid", url.Values{"authorization_details": {consent(nil)}})
		if errCode != "" {
			t.Fatalf("authorize: error %q", errCode)
		}
		if req, _ := f.login.request(); len(req.Consents) != 1 || req.Consents[0].DataSet != "skatteetaten.inntekt" {
			t.Errorf("LoginRequest.Consents = %+v, want the consent detail", req.Consents)
		}
		stored, err := f.store.ConsentsByParty(t.Context(), f.parent.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(stored) != 1 {
			t.Fatalf("ConsentsByParty = %d consents, want 1", len(stored))
		}
		c := stored[0]
		got := delegation.Consent{Party: c.Party, Recipient: c.Recipient, Provider: c.Provider, DataSet: c.DataSet,
			Purpose: c.Purpose, ValidTo: c.ValidTo, Status: c.Status}
		want := delegation.Consent{Party: f.parent.ID, Recipient: "960885406", Provider: "974761076", DataSet: "skatteetaten.inntekt",
			Purpose: "Vurdere søknaden om studielån", ValidTo: validTo, Status: delegation.ConsentActive}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("stored consent (-want +got):\n%s", diff)
		}
		// The granted detail names the consent it created.
		var wantDetails []any
		if err := json.Unmarshal([]byte(consent(func(d map[string]any) { d["consent_id"] = c.ID })), &wantDetails); err != nil {
			t.Fatal(err)
		}
		for where, c := range map[string]map[string]any{
			"access token":  f.verifyJWT(t, tok.AccessToken).claims,
			"introspection": f.introspect(t, tok.AccessToken),
		} {
			if diff := cmp.Diff(wantDetails, c["authorization_details"]); diff != "" {
				t.Errorf("%s authorization_details (-want +got):\n%s", where, diff)
			}
		}
	})
	tests := []struct {
		name      string
		person    delegation.PartyID // default stranger
		consented bool
		chooses   delegation.PartyID
		scope     string
		details   string
		wantErr   string
	}{
		{name: "person does not consent", details: consent(nil), wantErr: "access_denied"},
		{name: "for another party", person: f.parent.ID, consented: true, chooses: f.child.ID, scope: "openid represent",
			details: consent(nil), wantErr: "access_denied"},
		{name: "valid_to more than a year ahead", consented: true, wantErr: "invalid_authorization_details",
			details: consent(func(d map[string]any) { d["valid_to"] = validTo.AddYears(1).String() })},
		{name: "valid_to passed", consented: true, wantErr: "invalid_authorization_details",
			details: consent(func(d map[string]any) { d["valid_to"] = "2020-01-01" })},
		{name: "data set of another provider", consented: true, wantErr: "invalid_authorization_details",
			details: consent(func(d map[string]any) { d["provider"] = "889640782" })},
		{name: "service that is not a data set", consented: true, wantErr: "invalid_authorization_details",
			details: consent(func(d map[string]any) { d["data_set"] = "skatteetaten.skattemelding" })},
		{name: "no purpose", consented: true, wantErr: "invalid_authorization_details",
			details: consent(func(d map[string]any) { delete(d, "purpose") })},
		{name: "unknown field", consented: true, wantErr: "invalid_authorization_details",
			details: consent(func(d map[string]any) { d["share_with"] = "everyone" })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			person, scope := tt.person, tt.scope
			if person == "" {
				person = f.stranger.ID
			}
			if scope == "" {
				scope = "openid"
			}
			before, err := f.store.ConsentsByParty(t.Context(), person)
			if err != nil {
				t.Fatal(err)
			}
			f.login.as(person, acrSubstantial, tt.chooses)
			f.login.change(func(a *idp.Authentication) { a.Consented = tt.consented })
			if _, errCode := f.attempt(t, scope, url.Values{"authorization_details": {tt.details}}); errCode != tt.wantErr {
				t.Errorf("authorize: error %q, want %q", errCode, tt.wantErr)
			}
			if after, err := f.store.ConsentsByParty(t.Context(), person); err != nil || len(after) != len(before) {
				t.Errorf("ConsentsByParty = %d consents (%v), want %d: a failed request stored a consent", len(after), err, len(before))
			}
		})
	}
	// A client that may not ask for consents.
	f.login.as(f.stranger.ID, acrSubstantial, "")
	q, _ := authParams("nopid", nopidRedirect, "openid")
	q.Set("authorization_details", consent(nil))
	if res := f.authorizeWith(t, q); res.param("error") != "invalid_authorization_details" {
		t.Errorf("consent detail from nopid: %v, want invalid_authorization_details", res)
	}
}
