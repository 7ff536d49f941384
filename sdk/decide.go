package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ErrInvalidRequest: a Request the SDK will not send, such as one without a
// service. It is the caller's mistake, not a deny.
var ErrInvalidRequest = errors.New("sdk: invalid request")

// ConsentACR is the level CheckConsent asks at: the recipient of a consent
// authenticates as an organisation, with its client credentials, which Fullmakt
// counts as level substantial.
const ConsentACR = "http://eidas.europa.eu/LoA/substantial"

// MaxParties is the most parties Parties returns; a longer list is cut.
const MaxParties = 1000

// Sizes of the calls to the decision API.
const (
	// batchSize is the most evaluations sent in one call; the server takes 1000
	// by default, and smaller calls keep each answer quick.
	batchSize = 100
	// partiesPage is the page size asked of the party search.
	partiesPage = 250
	// maxAnswer bounds the body of an answer read into memory.
	maxAnswer = 4 << 20
)

// decisionState is the client's decision cache and change feed; both are off
// until startDecisions.
type decisionState struct {
	cache *cache // nil when the cache is off
	feed  feed
}

// startDecisions makes the cache and starts the change feed; New calls it last.
func (c *Client) startDecisions() error {
	if c.cfg.CacheSize < 0 {
		return nil
	}
	c.decisions.cache = newCache(c.cfg.CacheSize, c.cfg.MaxStaleness)
	if !c.cfg.NoChangeFeed && c.meta.Changes != "" {
		c.startFeed()
	}
	return nil
}

// stopDecisions stops the change feed and waits for it; Close calls it.
func (c *Client) stopDecisions() { c.stopFeed() }

// Check asks Fullmakt whether req is allowed, from the cache when it can. An
// error means no decision could be made (Fullmakt unreachable, an answer it
// cannot read: errors.Is(err, ErrUnavailable); a request Fullmakt refused to
// answer: *APIError; a request with an empty field: ErrInvalidRequest), and the
// caller must fail closed. A deny is not an error. The decision is never Allowed
// when err is not nil.
//
// The actor's type defaults to person, and so does the party's. A Party that is
// zero or equal to the actor asks about the actor acting for themself.
//
// A decision's Reasons, Relation and StepUp may be shared with the cache (a hit
// returns them without copying, so that it allocates nothing): read them, never
// modify them. Decisions are cached for at most
// Config.MaxStaleness, and at most the valid_for Fullmakt gives; the change feed
// drops them sooner, as relations change. Decisions with a receipt are never
// cached.
func (c *Client) Check(ctx context.Context, req Request) (Decision, error) {
	req, err := normalize(req)
	if err != nil {
		return Decision{}, err
	}
	ca := c.decisions.cache
	if ca == nil {
		a, err := c.evaluate(ctx, req, false)
		return a.d, err
	}
	key := keyOf(req)
	if d, ok := ca.get(key); ok {
		return d, nil
	}
	s := ca.stamp(req) // before sending: see cache.go
	sent := ca.now()
	a, err := c.evaluate(ctx, req, false)
	if err != nil {
		return Decision{}, err
	}
	if a.cacheable() {
		ca.put(key, s, a.d, sent, a.validFor)
	}
	return a.d, nil
}

// CheckWithReceipt asks Fullmakt, never the cache, for a decision with a signed
// receipt (Decision.Receipt), to archive with the case; verify it with
// VerifyReceipt. It fails when the answer has no receipt. The decision is not
// cached.
func (c *Client) CheckWithReceipt(ctx context.Context, req Request) (Decision, error) {
	req, err := normalize(req)
	if err != nil {
		return Decision{}, err
	}
	a, err := c.evaluate(ctx, req, true)
	if err != nil {
		return Decision{}, err
	}
	if a.d.Receipt == "" {
		return Decision{}, &unavailableError{what: "decision API: the answer has no receipt (does this Fullmakt sign receipts?)"}
	}
	return a.d, nil
}

// BatchError reports the items of a CheckBatch that could not be decided: an
// item Fullmakt refused to answer (a malformed identity number, a service not
// in its catalogue; an *APIError) or one CheckBatch would not send
// (ErrInvalidRequest). errors.Is and errors.As look into the items' errors.
type BatchError struct {
	// Errs has an entry for every request of the batch, in order: the item's
	// error, or nil for an item that was decided.
	Errs []error
}

func (e *BatchError) Error() string {
	n, first := 0, -1
	for i, err := range e.Errs {
		if err != nil {
			n++
			if first < 0 {
				first = i
			}
		}
	}
	if first < 0 {
		return "sdk: batch: every item was decided"
	}
	return fmt.Sprintf("sdk: batch: %d of %d items could not be decided; item %d: %v", n, len(e.Errs), first, e.Errs[first])
}

// Unwrap returns the errors of the items that failed.
func (e *BatchError) Unwrap() []error {
	var out []error
	for _, err := range e.Errs {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

// CheckBatch asks several questions at once and returns their decisions in the
// order of reqs. Answers in the cache are served from it; the others go to
// Fullmakt's batch endpoint (every item evaluated, none short-circuited) in as
// few calls as it takes, and are cached as Check caches.
//
// The errors:
//   - the call as a whole failed (Fullmakt unreachable, an answer it cannot
//     read, a refused call): the decisions are nil and err is what Check would
//     return;
//   - some items could not be decided: err is a *BatchError naming them, and
//     the decisions are still all there, those items' being denials. Use
//     errors.As to tell the two apart.
func (c *Client) CheckBatch(ctx context.Context, reqs []Request) ([]Decision, error) {
	out := make([]Decision, len(reqs))
	var errs []error
	fail := func(i int, err error) {
		if errs == nil {
			errs = make([]error, len(reqs))
		}
		errs[i] = err
	}
	ca := c.decisions.cache
	var misses []miss
	for i, r := range reqs {
		req, err := normalize(r)
		if err != nil {
			fail(i, err)
			continue
		}
		m := miss{i: i, req: req}
		if ca != nil {
			m.key = keyOf(req)
			if d, ok := ca.get(m.key); ok {
				out[i] = d
				continue
			}
			m.stamp = ca.stamp(req)
		}
		misses = append(misses, m)
	}
	for len(misses) > 0 {
		n := min(len(misses), batchSize)
		chunk := misses[:n]
		misses = misses[n:]
		var sent time.Duration
		if ca != nil {
			sent = ca.now()
		}
		answers, err := c.evaluateBatch(ctx, chunk)
		if err != nil {
			return nil, err
		}
		for j, a := range answers {
			m := chunk[j]
			if a.err != nil {
				fail(m.i, a.err)
				continue
			}
			out[m.i] = a.d
			if ca != nil && a.cacheable() {
				ca.put(m.key, m.stamp, a.d, sent, a.validFor)
			}
		}
	}
	if errs != nil {
		return out, &BatchError{Errs: errs}
	}
	return out, nil
}

// miss is an item of a batch that goes to Fullmakt.
type miss struct {
	i     int
	req   Request
	key   cacheKey
	stamp stamp
}

// Parties lists the parties actor may act for in service and action, the actor
// first, including those for whom a step-up is needed (Choice.StepUp). It follows
// the search's pages up to MaxParties parties.
func (c *Client) Parties(ctx context.Context, actor Actor, service, action string) ([]Choice, error) {
	req, err := normalize(Request{Actor: actor, Service: service, Action: action})
	if err != nil {
		return nil, err
	}
	if c.meta.SearchParty == "" {
		return nil, fmt.Errorf("%w: this Fullmakt offers no party search", ErrConfig)
	}
	body := searchPartyJSON{Subject: subject(req.Actor), Action: actionJSON{req.Action}, Resource: resourceJSON{"service", req.Service}}
	body.Page.Limit = partiesPage
	var out []Choice
	// A bound on the pages, should a server hand out tokens forever.
	for pages := 0; pages <= MaxParties/partiesPage; pages++ {
		var page searchPartyAnswer
		if err := c.post(ctx, c.meta.SearchParty, body, &page); err != nil {
			return nil, err
		}
		for _, r := range page.Results {
			if len(out) == MaxParties {
				return out, nil
			}
			ch, err := r.choice()
			if err != nil {
				return nil, err
			}
			out = append(out, ch)
		}
		if page.Page.NextToken == "" || len(page.Results) == 0 {
			break
		}
		body.Page.Token = page.Page.NextToken
	}
	return out, nil
}

// CheckConsent asks whether the organisation recipient (an organisation number)
// may obtain dataSet (a service of the catalogue, such as
// "skatteetaten.inntekt") about the person (an identity number): the question a
// data provider asks before it hands over data under a consent. The recipient is
// the actor and the person the party; it asks for the action "read" at
// ConsentACR, since a recipient authenticates as an organisation with its client
// credentials, not as a person at a level of assurance. It is a Check, and
// cached as one.
func (c *Client) CheckConsent(ctx context.Context, recipient, person, dataSet string) (Decision, error) {
	return c.Check(ctx, Request{
		Actor:   Actor{Party: Organization(recipient), ACR: ConsentACR},
		Party:   Person(person),
		Service: dataSet,
		Action:  "read",
	})
}

// normalize fills the defaults of req (person for the types; a party equal to the
// actor made zero) and checks that nothing required is empty.
func normalize(req Request) (Request, error) {
	if req.Actor.Type == "" {
		req.Actor.Type = TypePerson
	}
	if req.Party.Type == "" {
		req.Party.Type = TypePerson
	}
	if req.Party.ID == "" || req.Party == req.Actor.Party {
		req.Party = Party{}
	}
	var bad []string
	if req.Actor.ID == "" {
		bad = append(bad, "Actor.ID is empty")
	}
	if !knownType(req.Actor.Type) {
		bad = append(bad, fmt.Sprintf("Actor.Type %q is neither person nor organization", req.Actor.Type))
	}
	if req.Party.ID != "" && !knownType(req.Party.Type) {
		bad = append(bad, fmt.Sprintf("Party.Type %q is neither person nor organization", req.Party.Type))
	}
	if req.Actor.ACR == "" {
		bad = append(bad, "Actor.ACR is empty")
	}
	if req.Service == "" {
		bad = append(bad, "Service is empty")
	}
	if req.Action == "" {
		bad = append(bad, "Action is empty")
	}
	if bad != nil {
		msg := bad[0]
		for _, b := range bad[1:] {
			msg += ", " + b
		}
		return req, fmt.Errorf("%w: %s", ErrInvalidRequest, msg)
	}
	return req, nil
}

func knownType(t PartyType) bool { return t == TypePerson || t == TypeOrganization }

// forParty is whom req acts for: its party, or the actor themself.
func forParty(req Request) Party {
	if req.Party.IsZero() {
		return req.Actor.Party
	}
	return req.Party
}

// answer is one decision as Fullmakt gave it.
type answer struct {
	d        Decision
	validFor time.Duration // > 0: the decision holds this long at most
	noCache  bool          // valid_for 0, or a receipt
	err      error         // a batch item that could not be answered
}

// cacheable reports whether a may be cached.
func (a answer) cacheable() bool { return a.err == nil && !a.noCache }

// evaluate asks the Access Evaluation API about req (normalized).
func (c *Client) evaluate(ctx context.Context, req Request, receipt bool) (answer, error) {
	if c.meta.Evaluation == "" {
		return answer{}, fmt.Errorf("%w: this Fullmakt offers no evaluation endpoint", ErrConfig)
	}
	var out decisionAnswer
	if err := c.post(ctx, c.meta.Evaluation, evaluation(req, receipt), &out); err != nil {
		return answer{}, err
	}
	a, err := out.answer()
	if err != nil {
		return answer{}, err
	}
	if a.err != nil { // an item error where no batch was asked
		return answer{}, &unavailableError{what: "decision API: unreadable answer", err: a.err}
	}
	return a, nil
}

// evaluateBatch asks the Access Evaluations API about the requests of ms, every
// one evaluated, and returns an answer for each, in order.
func (c *Client) evaluateBatch(ctx context.Context, ms []miss) ([]answer, error) {
	if c.meta.Evaluations == "" { // one by one, then
		out := make([]answer, len(ms))
		for i, m := range ms {
			a, err := c.evaluate(ctx, m.req, false)
			var ae *APIError
			if errors.As(err, &ae) && ae.Status < 500 {
				a.err = err
			} else if err != nil {
				return nil, err
			}
			out[i] = a
		}
		return out, nil
	}
	body := batchJSON{Options: batchOptions{Semantic: "execute_all"}, Evaluations: make([]evaluationJSON, len(ms))}
	for i, m := range ms {
		body.Evaluations[i] = evaluation(m.req, false)
	}
	var res struct {
		Evaluations []decisionAnswer `json:"evaluations"`
	}
	if err := c.post(ctx, c.meta.Evaluations, body, &res); err != nil {
		return nil, err
	}
	if len(res.Evaluations) != len(ms) {
		return nil, &unavailableError{what: fmt.Sprintf("decision API: %d answers to %d evaluations", len(res.Evaluations), len(ms))}
	}
	out := make([]answer, len(ms))
	for i, d := range res.Evaluations {
		a, err := d.answer()
		if err != nil {
			return nil, err
		}
		out[i] = a
	}
	return out, nil
}

// post sends body as JSON to endpoint, authenticated as the client, and reads a
// 200 answer into out. Every failure is an *APIError (a 4xx or 5xx answer) or
// matches ErrUnavailable. A 401 to the client's own token (not an API key) makes
// it fetch a new token and try once more: the token may have been revoked.
func (c *Client) post(ctx context.Context, endpoint string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("sdk: decision API: encode the request: %w", err)
	}
	status, data, err := c.send(ctx, endpoint, b)
	if status == http.StatusUnauthorized && c.cfg.APIKey == "" {
		status, data, err = c.send(ctx, endpoint, b)
	}
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return statusError(status, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return &unavailableError{what: "decision API: unreadable answer", err: err}
	}
	return nil
}

// send posts b and returns the answer's status and body. On a 401 it forgets
// the client's own token it sent.
func (c *Client) send(ctx context.Context, endpoint string, b []byte) (int, []byte, error) {
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(b))
	if err != nil {
		return 0, nil, fmt.Errorf("%w: the decision API's endpoint: %v", ErrConfig, err)
	}
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Accept", "application/json")
	if err := c.authorize(ctx, r); err != nil {
		return 0, nil, fmt.Errorf("sdk: decision API: authenticate: %w", err)
	}
	res, err := c.cfg.HTTPClient.Do(r)
	if err != nil {
		return 0, nil, &unavailableError{what: "decision API unreachable", err: err}
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusUnauthorized && c.cfg.APIKey == "" {
		c.dropOwnToken(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, maxAnswer+1))
	switch {
	case res.StatusCode != http.StatusOK:
		return res.StatusCode, data, nil // the problem details, as much as could be read
	case err != nil:
		return 0, nil, &unavailableError{what: "decision API: read the answer", err: err}
	case len(data) > maxAnswer:
		return 0, nil, &unavailableError{what: "decision API: the answer is larger than " + strconv.Itoa(maxAnswer) + " bytes"}
	}
	return res.StatusCode, data, nil
}

// statusError is the error of an answer other than 200: an *APIError for 4xx and
// 5xx, with the problem details Fullmakt sent.
func statusError(status int, body []byte) error {
	if status < 400 {
		return &unavailableError{what: "decision API: unexpected HTTP status " + strconv.Itoa(status)}
	}
	e := &APIError{Status: status}
	var p struct {
		Title  string `json:"title"`
		Detail string `json:"detail"`
		Field  string `json:"field"`
	}
	if json.Unmarshal(body, &p) == nil {
		e.Title, e.Detail, e.Field = p.Title, p.Detail, p.Field
	}
	if e.Title == "" {
		e.Title = http.StatusText(status)
	}
	return e
}

// unavailableError is a failure to get a decision from Fullmakt; it matches
// ErrUnavailable and wraps its cause.
type unavailableError struct {
	what string
	err  error
}

func (e *unavailableError) Error() string {
	if e.err == nil {
		return "sdk: " + e.what
	}
	return "sdk: " + e.what + ": " + e.err.Error()
}

func (e *unavailableError) Is(target error) bool { return target == ErrUnavailable }
func (e *unavailableError) Unwrap() error        { return e.err }

// The requests of the decision API (AuthZEN 1.0 §5, §6.1, §7.1; Fullmakt's party
// search).
type (
	evaluationJSON struct {
		Subject  subjectJSON  `json:"subject"`
		Action   actionJSON   `json:"action"`
		Resource resourceJSON `json:"resource"`
		Context  *contextJSON `json:"context,omitempty"`
	}
	subjectJSON struct {
		Type       PartyType         `json:"type"`
		ID         string            `json:"id"`
		Properties subjectProperties `json:"properties"`
	}
	subjectProperties struct {
		ACR      string `json:"acr"`
		AuthTime int64  `json:"auth_time,omitempty"`
	}
	actionJSON struct {
		Name string `json:"name"`
	}
	resourceJSON struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	}
	contextJSON struct {
		Party   *Party `json:"party,omitempty"`
		Receipt bool   `json:"receipt,omitempty"`
	}
	batchJSON struct {
		Options     batchOptions     `json:"options"`
		Evaluations []evaluationJSON `json:"evaluations"`
	}
	batchOptions struct {
		Semantic string `json:"evaluations_semantic"`
	}
	searchPartyJSON struct {
		Subject  subjectJSON  `json:"subject"`
		Action   actionJSON   `json:"action"`
		Resource resourceJSON `json:"resource"`
		Page     pageReqJSON  `json:"page"`
	}
	pageReqJSON struct {
		Limit int    `json:"limit,omitempty"`
		Token string `json:"token,omitempty"`
	}
)

func subject(a Actor) subjectJSON {
	return subjectJSON{Type: a.Type, ID: a.ID, Properties: subjectProperties{ACR: a.ACR, AuthTime: authTimeOf(a)}}
}

// evaluation is the body asking about req (normalized).
func evaluation(req Request, receipt bool) evaluationJSON {
	e := evaluationJSON{Subject: subject(req.Actor), Action: actionJSON{req.Action}, Resource: resourceJSON{"service", req.Service}}
	if !req.Party.IsZero() || receipt {
		e.Context = &contextJSON{Receipt: receipt}
		if !req.Party.IsZero() {
			p := req.Party
			e.Context.Party = &p
		}
	}
	return e
}

// The answers of the decision API.
type (
	decisionAnswer struct {
		Decision *bool `json:"decision"`
		Context  *struct {
			Reasons       []Reason    `json:"reasons"`
			Relation      *Relation   `json:"relation"`
			StepUp        *stepUpJSON `json:"step_up"`
			PolicyVersion string      `json:"policy_version"`
			ValidFor      *float64    `json:"valid_for"`
			Receipt       string      `json:"receipt"`
			Error         *struct {
				Status  int    `json:"status"`
				Message string `json:"message"`
			} `json:"error"`
		} `json:"context"`
	}
	stepUpJSON struct {
		ACRValues string  `json:"acr_values"`
		MaxAge    float64 `json:"max_age"`
	}
	searchPartyAnswer struct {
		Page struct {
			NextToken string `json:"next_token"`
		} `json:"page"`
		Results []partyAnswer `json:"results"`
	}
	partyAnswer struct {
		Type       PartyType `json:"type"`
		ID         string    `json:"id"`
		Properties struct {
			Name     string      `json:"name"`
			Relation *Relation   `json:"relation"`
			StepUp   *stepUpJSON `json:"step_up"`
		} `json:"properties"`
	}
)

// answer reads one decision; an item error of a batch is an answer with err set.
func (d decisionAnswer) answer() (answer, error) {
	if d.Decision == nil {
		return answer{}, &unavailableError{what: "decision API: an answer without a decision"}
	}
	var a answer
	if d.Context != nil && d.Context.Error != nil {
		e := d.Context.Error
		a.err = &APIError{Status: e.Status, Title: http.StatusText(e.Status), Detail: e.Message}
		return a, nil
	}
	a.d.Allowed = *d.Decision
	ctx := d.Context
	if ctx == nil {
		return a, nil
	}
	a.d.Reasons, a.d.PolicyVersion, a.d.Receipt = ctx.Reasons, ctx.PolicyVersion, ctx.Receipt
	if a.d.Allowed {
		a.d.Relation = ctx.Relation
	} else {
		a.d.StepUp = ctx.StepUp.stepUp()
	}
	if ctx.ValidFor != nil {
		v := *ctx.ValidFor
		switch {
		case v <= 0 || math.IsNaN(v):
			a.noCache = true
		case v < math.MaxInt64/float64(time.Second):
			a.validFor = time.Duration(v * float64(time.Second))
		}
	}
	if a.d.Receipt != "" {
		a.noCache = true
	}
	return a, nil
}

// stepUp returns the step-up s asks for, nil when it asks for nothing.
func (s *stepUpJSON) stepUp() *StepUp {
	if s == nil || (s.ACRValues == "" && s.MaxAge <= 0) {
		return nil
	}
	out := &StepUp{ACRValues: s.ACRValues}
	if s.MaxAge > 0 && s.MaxAge < math.MaxInt64/float64(time.Second) {
		out.MaxAge = time.Duration(s.MaxAge) * time.Second
	}
	return out
}

func (p partyAnswer) choice() (Choice, error) {
	if p.ID == "" || !knownType(p.Type) {
		return Choice{}, &unavailableError{what: "decision API: a party search result without a valid type and id"}
	}
	return Choice{
		Party:    Party{Type: p.Type, ID: p.ID},
		Name:     p.Properties.Name,
		Relation: p.Properties.Relation,
		StepUp:   p.Properties.StepUp.stepUp(),
	}, nil
}
