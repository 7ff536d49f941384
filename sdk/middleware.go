package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
)

// The problem types (RFC 9457) of Require's refusals, so that a caller can tell
// them apart without reading the titles.
const (
	// ProblemUnauthorized: no access token, or one that does not verify (401).
	ProblemUnauthorized = "urn:fullmakt:problem:unauthorized"
	// ProblemInsufficientScope: the token's authorization details do not cover
	// the service or action, or the token acts for no person (403).
	ProblemInsufficientScope = "urn:fullmakt:problem:insufficient-scope"
	// ProblemStepUp: a higher level of assurance, or a fresher authentication,
	// would permit; the WWW-Authenticate header says which (401, RFC 9470).
	ProblemStepUp = "urn:fullmakt:problem:step-up"
	// ProblemDenied: Fullmakt refused (403); reasons has its codes.
	ProblemDenied = "urn:fullmakt:problem:denied"
	// ProblemUnavailable: no decision could be made, so none is assumed (503).
	ProblemUnavailable = "urn:fullmakt:problem:unavailable"
)

// RequireOption changes what Require does.
type RequireOption func(*requireOptions)

type requireOptions struct{ receipt bool }

// WithReceipt makes Require ask Fullmakt, bypassing the cache, for a signed
// receipt of every decision it lets through (CheckWithReceipt); the handler finds
// it in DecisionFrom(r.Context()).Receipt. Use it for actions worth a receipt in
// the case file, such as submitting an application.
func WithReceipt() RequireOption { return func(o *requireOptions) { o.receipt = true } }

// Require returns middleware that lets a request through to the handler only if
// its bearer token (RFC 6750 §2.1) is a valid access token of Fullmakt for this
// service (Config.Audience) and Fullmakt allows the token's actor to do action in
// service for the token's party. The handler finds the token and the decision
// with TokenFrom and DecisionFrom. Otherwise it answers, with an
// application/problem+json body (the Problem* types):
//
//   - 401 with WWW-Authenticate: Bearer realm="<Audience>" when there is no
//     bearer token, and with error="invalid_token" when the token does not
//     verify;
//   - 403 with error="insufficient_scope" when the token's representation
//     authorization details do not name the service (and, when they list
//     actions, the action), or when it acts for no person (a client's own
//     token);
//   - 401 with RFC 9470's challenge, error="insufficient_user_authentication",
//     acr_values and max_age, when Fullmakt denies but a higher or fresher
//     authentication would permit: send the person to the login with those
//     (ParseChallenge reads them) and retry with the new token;
//   - 403 when Fullmakt denies, with the reason codes in "reasons";
//   - 503 when no decision could be made: Fullmakt is unreachable or answers
//     what the SDK cannot read, the key set cannot be fetched, or the token lacks
//     the actor's identity number (register the client with "pid": true). It
//     fails closed: the handler is never called without an allow.
//
// Require panics if service or action is empty.
func (c *Client) Require(service, action string, opts ...RequireOption) func(http.Handler) http.Handler {
	if service == "" || action == "" {
		panic("sdk: Require needs a service and an action")
	}
	var o requireOptions
	for _, opt := range opts {
		opt(&o)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c.require(w, r, next, service, action, o)
		})
	}
}

func (c *Client) require(w http.ResponseWriter, r *http.Request, next http.Handler, service, action string, o requireOptions) {
	ctx := r.Context()
	realm := c.cfg.Audience
	raw, state := bearerToken(r.Header)
	switch state {
	case tokenMissing:
		w.Header().Set("WWW-Authenticate", bearerChallenge("realm", realm))
		writeProblem(w, problem{Type: ProblemUnauthorized, Status: http.StatusUnauthorized,
			Title: "Authentication required", Detail: "Send an access token from Fullmakt: Authorization: Bearer <token>."})
		return
	case tokenMalformed:
		c.invalidToken(w, realm, "the Authorization header does not hold a bearer token")
		return
	}
	tok, err := c.VerifyAccessToken(ctx, raw)
	if err != nil {
		if errors.Is(err, ErrInvalidToken) {
			c.invalidToken(w, realm, "the access token is not valid")
			return
		}
		c.unavailable(w, r, service, action, "", err)
		return
	}
	if tok.Actor.ID == "" && tok.Actor.ACR == "" && tok.ActorSubject == tok.ClientID {
		c.insufficientScope(w, realm, "The token is a client's own; this service needs a token of a person.")
		return
	}
	if !detailsCover(tok.AuthorizationDetails, service, action) {
		c.insufficientScope(w, realm, "The token's authorization details do not cover this service and action.")
		return
	}
	if tok.Actor.ID == "" || (tok.OnBehalf() && tok.Party.ID == "") {
		c.cfg.Log.LogAttrs(ctx, slog.LevelError, "sdk: Require: the access token carries no identity number; the client must be registered at Fullmakt with \"pid\": true",
			slog.String("service", service), slog.String("action", action), slog.String("client_id", tok.ClientID))
		writeProblem(w, problem{Type: ProblemUnavailable, Status: http.StatusServiceUnavailable,
			Title: "Service unavailable", Detail: "This service cannot check permissions now. Please try again later."})
		return
	}
	req := Request{Actor: tok.Actor, Party: tok.Party, Service: service, Action: action}
	var d Decision
	if o.receipt {
		d, err = c.CheckWithReceipt(ctx, req)
	} else {
		d, err = c.Check(ctx, req)
	}
	switch {
	case err != nil:
		c.unavailable(w, r, service, action, tok.ClientID, err)
	case d.Allowed:
		ctx = context.WithValue(ctx, tokenKey{}, tok)
		ctx = context.WithValue(ctx, decisionKey{}, d)
		next.ServeHTTP(w, r.WithContext(ctx))
	case d.StepUp != nil:
		description := "A higher level of authentication is required"
		if d.StepUp.ACRValues == "" {
			description = "A more recent authentication is required"
		}
		w.Header().Set("WWW-Authenticate", stepUpChallenge(realm, *d.StepUp, description))
		p := problem{Type: ProblemStepUp, Status: http.StatusUnauthorized, Title: "Step-up authentication required",
			Detail:    "Log in again with a higher level of security (such as BankID or a passkey) to do this.",
			Reasons:   codes(d.Reasons),
			ACRValues: d.StepUp.ACRValues, MaxAge: int64(d.StepUp.MaxAge.Seconds())}
		if d.StepUp.ACRValues == "" {
			p.Detail = "Log in again to do this: your last login is too long ago."
		}
		writeProblem(w, p)
	default:
		writeProblem(w, problem{Type: ProblemDenied, Status: http.StatusForbidden, Title: "Not permitted",
			Detail: denyDetail(d.Reasons, tok.OnBehalf()), Reasons: codes(d.Reasons)})
	}
}

func (c *Client) invalidToken(w http.ResponseWriter, realm, description string) {
	w.Header().Set("WWW-Authenticate", bearerChallenge("realm", realm, "error", "invalid_token", "error_description", description))
	writeProblem(w, problem{Type: ProblemUnauthorized, Status: http.StatusUnauthorized, Title: "Invalid access token",
		Detail: "The access token is missing, malformed, expired or not for this service. Log in again."})
}

func (c *Client) insufficientScope(w http.ResponseWriter, realm, detail string) {
	w.Header().Set("WWW-Authenticate", bearerChallenge("realm", realm, "error", "insufficient_scope",
		"error_description", "the token does not cover this service"))
	writeProblem(w, problem{Type: ProblemInsufficientScope, Status: http.StatusForbidden, Title: "Insufficient scope", Detail: detail})
}

// unavailable answers 503 for a decision that could not be made, and logs why
// (errors of the SDK never hold identity numbers or tokens).
func (c *Client) unavailable(w http.ResponseWriter, r *http.Request, service, action, clientID string, err error) {
	level := slog.LevelError
	if errors.Is(err, ErrUnavailable) || errors.Is(err, context.Canceled) {
		level = slog.LevelWarn
	}
	c.cfg.Log.LogAttrs(r.Context(), level, "sdk: Require: no decision; refusing",
		slog.String("service", service), slog.String("action", action), slog.String("client_id", clientID), slog.String("error", err.Error()))
	writeProblem(w, problem{Type: ProblemUnavailable, Status: http.StatusServiceUnavailable, Title: "Service unavailable",
		Detail: "This service cannot check permissions now. Please try again later."})
}

// tokenKey and decisionKey are the context keys of Require's token and decision.
type (
	tokenKey    struct{}
	decisionKey struct{}
)

// TokenFrom returns the verified token Require put in the request's context.
func TokenFrom(ctx context.Context) (*Token, bool) {
	t, ok := ctx.Value(tokenKey{}).(*Token)
	return t, ok && t != nil
}

// DecisionFrom returns the decision (an allow) Require put in the request's
// context. Its slices are shared with the cache: read them, never modify them.
func DecisionFrom(ctx context.Context) (Decision, bool) {
	d, ok := ctx.Value(decisionKey{}).(Decision)
	return d, ok
}

// The ways a request can carry its bearer token.
const (
	tokenPresent = iota
	tokenMissing
	tokenMalformed
)

// bearerToken returns the token of an Authorization: Bearer header (RFC 6750
// §2.1: the b64token syntax). A request without the header, or with another
// scheme, has none; two headers, or a Bearer header without a well-formed token,
// are malformed.
func bearerToken(h http.Header) (string, int) {
	values := h.Values("Authorization")
	switch {
	case len(values) == 0:
		return "", tokenMissing
	case len(values) > 1:
		return "", tokenMalformed
	}
	scheme, rest, _ := strings.Cut(values[0], " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", tokenMissing
	}
	token := strings.TrimLeft(rest, " ")
	if !isB64Token(token) {
		return "", tokenMalformed
	}
	return token, tokenPresent
}

// isB64Token reports whether s is RFC 6750's b64token: 1*( ALPHA / DIGIT / "-" /
// "." / "_" / "~" / "+" / "/" ) *"=".
func isB64Token(s string) bool {
	body := strings.TrimRight(s, "=")
	if body == "" {
		return false
	}
	for i := 0; i < len(body); i++ {
		if !isToken68Char(body[i]) {
			return false
		}
	}
	return true
}

// detailsCover reports whether a token's representation authorization details,
// if it has any, permit action in service: one of them must name the service and,
// if it lists actions, the action. A token without representation details is not
// narrowed by them.
func detailsCover(details []AuthorizationDetail, service, action string) bool {
	seen := false
	for _, d := range details {
		if d.Type != detailRepresentation {
			continue
		}
		seen = true
		if slices.Contains(d.Services, service) && (len(d.Actions) == 0 || slices.Contains(d.Actions, action)) {
			return true
		}
	}
	return !seen
}

// problem is an RFC 9457 problem detail with Fullmakt's members.
type problem struct {
	Type      string   `json:"type"`
	Title     string   `json:"title"`
	Status    int      `json:"status"`
	Detail    string   `json:"detail,omitempty"`
	Reasons   []string `json:"reasons,omitempty"`
	ACRValues string   `json:"acr_values,omitempty"`
	MaxAge    int64    `json:"max_age,omitempty"`
}

func writeProblem(w http.ResponseWriter, p problem) {
	b, _ := json.Marshal(p) // strings and numbers always encode
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	w.Write(append(b, '\n'))
}

// codes returns the codes of reasons.
func codes(rs []Reason) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		if r.Code != "" && !slices.Contains(out, r.Code) {
			out = append(out, r.Code)
		}
	}
	return out
}

// reasonText says in plain language a reason a person can do something about
// or should understand; "" for the others, which get a general sentence.
func reasonText(code string) string {
	switch code {
	case "party_of_age":
		return "The person you act for is now of age, so their parents no longer act for them."
	case "fullmakt_revoked":
		return "The fullmakt (power of attorney) you acted under has been revoked."
	case "fullmakt_expired":
		return "The fullmakt (power of attorney) you acted under has expired."
	case "fullmakt_pending":
		return "The fullmakt (power of attorney) has not been accepted yet."
	case "no_relation":
		return "Fullmakt knows of nothing that lets you act for this person or organisation."
	case "unknown_party":
		return "Fullmakt does not know the person or organisation you act for."
	case "party_deceased":
		return "The person you act for has died."
	case "consent_withdrawn":
		return "The consent has been withdrawn."
	case "consent_expired":
		return "The consent has expired."
	}
	return ""
}

// denyDetail is the plain-language detail of a deny.
func denyDetail(rs []Reason, onBehalf bool) string {
	for _, r := range rs {
		if t := reasonText(r.Code); t != "" {
			return t
		}
	}
	if onBehalf {
		return "You may not do this on behalf of this person or organisation."
	}
	return "You may not do this in this service."
}
