package authzen

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/authz/pdp"
	"github.com/fullmakt/fullmakt/delegation"
)

// Decider is what the binding asks; *pdp.PDP satisfies it.
type Decider interface {
	// Decide answers req for the client and records it in the decision log when
	// actor and party differ. An *authz.RequestError means the request cannot be
	// answered; any other error is a failure of the store.
	Decide(ctx context.Context, req authz.Request, client string) (authz.Decision, error)
	// DecideUnrecorded is Decide without the decision log.
	DecideUnrecorded(ctx context.Context, req authz.Request) (authz.Decision, error)
	// Parties lists the parties the actor may act for in req's service and
	// action, now or after a step-up, the actor first.
	Parties(ctx context.Context, req authz.Request) ([]pdp.Party, error)
	// Pack returns the policy pack in use.
	Pack() *authz.Pack
}

var _ Decider = (*pdp.PDP)(nil)

// Client is an authenticated caller.
type Client struct {
	ID string
	// DetailedReasons lets the client see every reason code, the relation's id
	// and the deciding policies; others see only reasons marked disclose, plus
	// "not_permitted".
	DetailedReasons bool
}

// Authenticator finds the client of a request; false means unauthenticated (401).
// It must be safe for concurrent use.
type Authenticator interface {
	Authenticate(r *http.Request) (Client, bool)
}

// Defaults of Config.
const (
	DefaultMaxBodyBytes   = 1 << 20
	DefaultMaxEvaluations = 1000
)

// Config configures the binding. The zero value of every field but PDPURL has a
// working default.
type Config struct {
	// PDPURL is the policy_decision_point identifier published in the metadata,
	// e.g. "http://localhost:8080". Its path, if any, prefixes every endpoint.
	PDPURL string
	// IDRules are the identity numbers accepted (synthetic ones in demo).
	IDRules delegation.IDRules
	// MaxBodyBytes bounds a request body (default 1 MiB); a longer one is a 413.
	MaxBodyBytes int64
	// MaxEvaluations bounds the items of one /evaluations call (default 1000); more
	// is a 400.
	MaxEvaluations int
	// Log receives internal errors (default slog.Default()).
	Log *slog.Logger
	// Now is the clock decisions are made at (default time.Now): it sets every
	// evaluation's time, so give the decision point's clock, if it has its own.
	Now func() time.Time
	// Receipts signs the decisions a client asks a receipt for (context.receipt:
	// true); nil refuses such requests with a 400.
	Receipts ReceiptSigner
	// Feed serves the change feed, GET /access/v1/changes; nil offers none.
	Feed *Feed
}

// Validate reports every problem of the configuration at once.
func (c Config) Validate() error {
	var errs []error
	u, err := url.Parse(c.PDPURL)
	switch {
	case c.PDPURL == "":
		errs = append(errs, errors.New("authzen: the PDP URL is empty"))
	case err != nil:
		errs = append(errs, fmt.Errorf("authzen: the PDP URL: %w", err))
	case u.Scheme != "https" && u.Scheme != "http", u.Host == "":
		errs = append(errs, fmt.Errorf("authzen: the PDP URL %q is not an absolute http(s) URL", c.PDPURL))
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.User != nil:
		errs = append(errs, fmt.Errorf("authzen: the PDP URL %q has a query, fragment or user info", c.PDPURL))
	case strings.ContainsAny(u.Path, "{}"):
		errs = append(errs, fmt.Errorf("authzen: the PDP URL path %q has braces", u.Path))
	}
	if c.MaxBodyBytes < 0 {
		errs = append(errs, fmt.Errorf("authzen: MaxBodyBytes %d is negative", c.MaxBodyBytes))
	}
	if c.MaxEvaluations < 0 {
		errs = append(errs, fmt.Errorf("authzen: MaxEvaluations %d is negative", c.MaxEvaluations))
	}
	return errors.Join(errs...)
}

// API is the AuthZEN binding. It is safe for concurrent use.
type API struct {
	d    Decider
	auth Authenticator
	cfg  Config
	log  *slog.Logger
	now  func() time.Time
	// base is PDPURL without a trailing slash; prefix is its path.
	base, prefix string
}

// New returns the binding over d. Call cfg.Validate first: New applies the
// defaults and does not check the URL.
func New(d Decider, auth Authenticator, cfg Config) *API {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxEvaluations <= 0 {
		cfg.MaxEvaluations = DefaultMaxEvaluations
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	a := &API{d: d, auth: auth, cfg: cfg, log: cfg.Log, now: cfg.Now, base: strings.TrimRight(cfg.PDPURL, "/")}
	if u, err := url.Parse(a.base); err == nil {
		a.prefix = strings.TrimRight(u.EscapedPath(), "/")
	}
	return a
}
