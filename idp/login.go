package idp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ory/fosite"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/delegation"
)

// Login is the step where the person authenticates (and, when asked, picks whom to
// act for). The server calls Start with a validated authorization request; the
// login ends by calling the server's FinishLogin or FailLogin with the same id.
// The login issue builds the real ones (demo eID, upstream OpenID Connect,
// passkeys, the "who are you acting for" picker).
type Login interface {
	Start(w http.ResponseWriter, r *http.Request, req LoginRequest)
}

// LoginRequest says what the login must reach. The server checks the result
// against it again in FinishLogin: a login cannot grant more than was asked.
type LoginRequest struct {
	// ID names the pending authorization request; it is good once.
	ID string
	// ClientID and ClientName say who asks.
	ClientID   string
	ClientName string
	// Level is the lowest level of assurance that satisfies the request (from
	// acr_values, or an essential acr claim); zero when none was asked for.
	Level authz.Level
	// MaxAge is the longest time since the person last authenticated that the
	// client accepts (max_age, OIDC Core §3.1.2.1); negative when not asked.
	MaxAge time.Duration
	// Prompt is the prompt parameter's values (login, consent, select_account).
	Prompt []string
	// Represent is true when the person must say whom they act for (scope
	// represent, or an authorization detail of type representation).
	Represent bool
	// Party is the party named in a representation detail, if one was.
	Party delegation.PartyID
	// Consents are the consent details the person is asked to give.
	Consents []AuthorizationDetail
	// LoginHint is the login_hint parameter, if any.
	LoginHint string
}

// Authentication is what a login established.
type Authentication struct {
	// Person is who authenticated.
	Person delegation.PartyID
	// ACR is the level reached, as an acr value (an eIDAS URI or an alias).
	ACR string
	// AMR are the authentication methods (RFC 8176), e.g. hwk, user, mfa.
	AMR []string
	// AuthTime is when the person authenticated.
	AuthTime time.Time
	// Party is whom the person chose to act for; empty means themself.
	Party delegation.PartyID
	// Consented is true when the person agreed to the request's consent details.
	Consented bool
}

// errUnmet is RFC 9470 §4's error for a login that did not reach what was asked.
func errUnmet(format string, args ...any) *fosite.RFC6749Error {
	return &fosite.RFC6749Error{
		ErrorField:       "unmet_authentication_requirements",
		DescriptionField: "The authentication requirements of the request were not met.",
		HintField:        fmt.Sprintf(format, args...),
		CodeField:        http.StatusBadRequest,
	}
}

// requirements derives what the login must reach from an authorization request.
type requirements struct {
	level     authz.Level
	acrValues []string // as requested, in the client's order
	maxAge    time.Duration
	represent bool
	details   []AuthorizationDetail
}

// requirementsOf reads acr_values, claims, max_age, scope and authorization_details.
// Errors are RFC 6749 errors for the client.
func (s *Server) requirementsOf(ar fosite.AuthorizeRequester, client *Client) (requirements, error) {
	form := ar.GetRequestForm()
	req := requirements{maxAge: -1}
	acrs := s.decider.Pack().ACRs()

	values := strings.Fields(form.Get("acr_values"))
	if raw := form.Get("claims"); raw != "" {
		essential, err := essentialACRs(raw)
		if err != nil {
			return req, err
		}
		values = append(values, essential...)
	}
	for _, v := range values {
		level, ok := acrs.Level(v)
		if !ok {
			continue
		}
		req.acrValues = append(req.acrValues, v)
		if req.level == 0 || level < req.level {
			req.level = level
		}
	}
	if len(values) > 0 && len(req.acrValues) == 0 {
		return req, fosite.ErrInvalidRequest.WithHintf("None of the requested acr values %q is supported; see acr_values_supported in the discovery document.", values)
	}
	if v := form.Get("max_age"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return req, fosite.ErrInvalidRequest.WithHint("max_age must be a non-negative number of seconds.")
		}
		req.maxAge = time.Duration(n) * time.Second
	}
	if raw := form.Get("authorization_details"); raw != "" {
		details, err := ParseAuthorizationDetails(raw, client.AuthorizationDetailsTypes, s.decider.Pack().Catalogue, delegation.Today(s.now()))
		if err != nil {
			return req, err
		}
		req.details = details
	}
	req.represent = ar.GetRequestedScopes().Has("represent") || slices.ContainsFunc(req.details, func(d AuthorizationDetail) bool {
		return d.Type == DetailRepresentation
	})
	return req, nil
}

// essentialACRs returns the acr values of an essential acr claim in the claims
// parameter (OIDC Core §5.5.1.1), for the ID token or userinfo.
func essentialACRs(raw string) ([]string, error) {
	type claim struct {
		Essential bool     `json:"essential"`
		Value     string   `json:"value"`
		Values    []string `json:"values"`
	}
	var c map[string]map[string]*claim
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		return nil, fosite.ErrInvalidRequest.WithHint("The claims parameter is not a JSON object of claim requests.")
	}
	var out []string
	for _, target := range []string{"id_token", "userinfo"} {
		acr := c[target]["acr"]
		if acr == nil || !acr.Essential {
			continue
		}
		if acr.Value != "" {
			out = append(out, acr.Value)
		}
		out = append(out, acr.Values...)
	}
	return out, nil
}

// acrFor returns the acr value to put in tokens for level, in the vocabulary the
// client asked in: a value it named at that level, or else a value of the same
// family (the same prefix up to the last '-' or '/': idporten-loa-high for a
// client that asked for idporten-loa-substantial), or else the eIDAS URI.
func (s *Server) acrFor(level authz.Level, asked []string) string {
	acrs := s.decider.Pack().ACRs()
	for _, v := range asked {
		if l, ok := acrs.Level(v); ok && l == level {
			return v
		}
	}
	var family []string
	for _, v := range asked {
		prefix := v[:strings.LastIndexAny(v, "-/")+1]
		for alias, l := range acrs {
			if l == level && prefix != "" && strings.HasPrefix(alias, prefix) && !strings.ContainsAny(alias[len(prefix):], "-/") {
				family = append(family, alias)
			}
		}
		if len(family) > 0 {
			slices.Sort(family)
			return family[0]
		}
	}
	return level.ACR()
}

// levelOf returns the level of an acr value.
func (s *Server) levelOf(acr string) (authz.Level, bool) {
	return s.decider.Pack().ACRs().Level(acr)
}

// checkParty decides whether the actor may act for party at all, and by which
// relation: the party must be one the decision engine lists for the actor.
func (s *Server) checkParty(ctx context.Context, client *Client, a Authentication, party delegation.PartyID, details []AuthorizationDetail) (*authz.Relation, error) {
	req := authz.Request{Actor: a.Person, ACR: a.ACR, AuthTime: a.AuthTime, Now: s.now()}
	// A representation detail that names services and actions is decided for
	// each of them; otherwise the party must be one the actor may act for in some
	// service.
	var asked []authz.Request
	for _, d := range details {
		if d.Type != DetailRepresentation {
			continue
		}
		for _, svc := range d.Services {
			actions := d.Actions
			if len(actions) == 0 {
				actions = []string{"read"}
			}
			for _, act := range actions {
				r := req
				r.Party, r.Service, r.Action = party, svc, act
				asked = append(asked, r)
			}
		}
	}
	if len(asked) > 0 {
		var rel *authz.Relation
		for _, r := range asked {
			if !client.MayAskAbout(r.Service) {
				return nil, fosite.ErrAccessDenied.WithHintf("The client may not ask about service %q.", r.Service)
			}
			d, err := s.decider.Decide(ctx, r, client.ID)
			if err != nil {
				return nil, fosite.ErrServerError.WithWrap(err)
			}
			if !d.Allow {
				if d.StepUp != nil {
					return nil, errUnmet("Acting for this party in %s needs the level %s.", r.Service, d.StepUp.ACR)
				}
				return nil, fosite.ErrAccessDenied.WithHintf("The person may not act for this party in %s (%s).", r.Service, r.Action)
			}
			if rel == nil {
				rel = d.Relation
			}
		}
		return rel, nil
	}
	// No services named: the party must be one the actor may act for in at least
	// one service the client may ask about. These checks act for nobody yet, so
	// they are not recorded in the party's decision log.
	var stepUp *authz.StepUp
	for _, svc := range s.decider.Pack().Catalogue.Services {
		if !client.MayAskAbout(svc.ID) || len(svc.Actions) == 0 {
			continue
		}
		r := req
		r.Party, r.Service, r.Action = party, svc.ID, svc.Actions[0]
		d, err := s.decider.DecideUnrecorded(ctx, r)
		if err != nil {
			return nil, fosite.ErrServerError.WithWrap(err)
		}
		if d.Allow {
			return d.Relation, nil
		}
		if d.StepUp != nil && stepUp == nil {
			stepUp = d.StepUp
		}
	}
	if stepUp != nil {
		return nil, errUnmet("Acting for this party needs the level %s.", stepUp.ACR)
	}
	return nil, fosite.ErrAccessDenied.WithHint("The person may not act for this party.")
}
