package sdk

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Test identities: synthetic, never real people.
const (
	kari    = "01017012345"
	sara    = "01010512345"
	org     = "910000004"
	subst   = "http://eidas.europa.eu/LoA/substantial"
	high    = "http://eidas.europa.eu/LoA/high"
	studies = "lanekassen.studiestotte"
)

func kariReq() Request {
	return Request{Actor: Actor{Party: Person(kari), ACR: subst}, Party: Person(sara), Service: studies, Action: "read"}
}

func TestCheckSendsTheRequest(t *testing.T) {
	authTime := time.Unix(1795445177, 500_000_000)
	tests := []struct {
		name string
		req  Request
		want map[string]any
	}{
		{
			name: "for another person",
			req:  Request{Actor: Actor{Party: Person(kari), ACR: subst, AuthTime: authTime}, Party: Person(sara), Service: studies, Action: "read"},
			want: map[string]any{
				"subject":  map[string]any{"type": "person", "id": kari, "properties": map[string]any{"acr": subst, "auth_time": float64(1795445177)}},
				"action":   map[string]any{"name": "read"},
				"resource": map[string]any{"type": "service", "id": studies},
				"context":  map[string]any{"party": map[string]any{"type": "person", "id": sara}},
			},
		},
		{
			name: "for themself: no context, no auth_time when unknown",
			req:  Request{Actor: Actor{Party: Person(kari), ACR: subst}, Service: studies, Action: "submit"},
			want: map[string]any{
				"subject":  map[string]any{"type": "person", "id": kari, "properties": map[string]any{"acr": subst}},
				"action":   map[string]any{"name": "submit"},
				"resource": map[string]any{"type": "service", "id": studies},
			},
		},
		{
			name: "a party equal to the actor is the actor themself",
			req:  Request{Actor: Actor{Party: Person(kari), ACR: subst}, Party: Person(kari), Service: studies, Action: "read"},
			want: map[string]any{
				"subject":  map[string]any{"type": "person", "id": kari, "properties": map[string]any{"acr": subst}},
				"action":   map[string]any{"name": "read"},
				"resource": map[string]any{"type": "service", "id": studies},
			},
		},
		{
			name: "types default to person",
			req:  Request{Actor: Actor{Party: Party{ID: kari}, ACR: subst}, Party: Party{ID: sara}, Service: studies, Action: "read"},
			want: map[string]any{
				"subject":  map[string]any{"type": "person", "id": kari, "properties": map[string]any{"acr": subst}},
				"action":   map[string]any{"name": "read"},
				"resource": map[string]any{"type": "service", "id": studies},
				"context":  map[string]any{"party": map[string]any{"type": "person", "id": sara}},
			},
		},
		{
			name: "for an organisation",
			req:  Request{Actor: Actor{Party: Person(kari), ACR: high}, Party: Organization(org), Service: studies, Action: "read"},
			want: map[string]any{
				"subject":  map[string]any{"type": "person", "id": kari, "properties": map[string]any{"acr": high}},
				"action":   map[string]any{"name": "read"},
				"resource": map[string]any{"type": "service", "id": studies},
				"context":  map[string]any{"party": map[string]any{"type": "organization", "id": org}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakePDP(t)
			c, _ := f.client(t, false)
			if _, err := c.Check(context.Background(), tt.req); err != nil {
				t.Fatalf("Check(%v) = %v", tt.req, err)
			}
			if got := f.lastBody(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Check(%v) sent %v, want %v", tt.req, got, tt.want)
			}
			h := f.lastHeader()
			if got := h.Get("Authorization"); got != "Bearer "+pdpAPIKey {
				t.Errorf("Authorization = %q, want the API key", got)
			}
			if got := h.Get("Accept"); got != "application/json" {
				t.Errorf("Accept = %q, want application/json", got)
			}
		})
	}
}

func TestCheckReadsTheAnswer(t *testing.T) {
	tests := []struct {
		name  string
		reply pdpReply
		want  Decision
	}{
		{
			name:  "allow",
			reply: pdpReply{Decision: true, Reasons: []string{"permitted"}, Relation: "parent", Policy: "v7"},
			want:  Decision{Allowed: true, Relation: &Relation{Kind: "parent"}, Reasons: []Reason{{Code: "permitted"}}, PolicyVersion: "v7"},
		},
		{
			name:  "deny with a step-up",
			reply: pdpReply{Reasons: []string{"level_too_low"}, StepUp: &StepUp{ACRValues: high, MaxAge: 300 * time.Second}, Policy: "v7"},
			want:  Decision{Reasons: []Reason{{Code: "level_too_low"}}, StepUp: &StepUp{ACRValues: high, MaxAge: 300 * time.Second}, PolicyVersion: "v7"},
		},
		{
			name:  "a deny names no relation",
			reply: pdpReply{Reasons: []string{"not_permitted"}, Relation: "parent"},
			want:  Decision{Reasons: []Reason{{Code: "not_permitted"}}},
		},
		{
			name:  "an allow asks for no step-up",
			reply: pdpReply{Decision: true, StepUp: &StepUp{ACRValues: high}},
			want:  Decision{Allowed: true},
		},
		{
			name:  "no context",
			reply: pdpReply{Raw: `{"decision":true}`},
			want:  Decision{Allowed: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakePDP(t)
			f.setDecide(func(pdpQuestion) pdpReply { return tt.reply })
			c, _ := f.client(t, false)
			got, err := c.Check(context.Background(), kariReq())
			if err != nil {
				t.Fatalf("Check = %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Check = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCheckRefusesIncompleteRequests(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Request)
	}{
		{"no actor id", func(r *Request) { r.Actor.ID = "" }},
		{"no acr", func(r *Request) { r.Actor.ACR = "" }},
		{"no service", func(r *Request) { r.Service = "" }},
		{"no action", func(r *Request) { r.Action = "" }},
		{"unknown actor type", func(r *Request) { r.Actor.Type = "robot" }},
		{"unknown party type", func(r *Request) { r.Party.Type = "robot" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakePDP(t)
			c, _ := f.client(t, false)
			req := kariReq()
			tt.mod(&req)
			for name, check := range map[string]func(context.Context, Request) (Decision, error){"Check": c.Check, "CheckWithReceipt": c.CheckWithReceipt} {
				d, err := check(context.Background(), req)
				if !errors.Is(err, ErrInvalidRequest) || d.Allowed {
					t.Errorf("%s(%v) = %+v, %v; want ErrInvalidRequest", name, req, d, err)
				}
			}
			if n := f.evaluations.Load(); n != 0 {
				t.Errorf("the decision point was asked %d times, want 0", n)
			}
		})
	}
}

func TestCheckFailsClosed(t *testing.T) {
	tests := []struct {
		name        string
		reply       pdpReply
		unavailable bool
		status      int // of an *APIError; 0: none
		field       string
	}{
		{name: "server error", reply: pdpReply{Status: 500, Raw: `{"type":"about:blank","title":"Internal Server Error","status":500,"detail":"the decision could not be made"}`}, unavailable: true, status: 500},
		{name: "bad gateway without a body", reply: pdpReply{Status: 502}, unavailable: true, status: 502},
		{name: "bad request", reply: pdpReply{Status: 400, Raw: `{"type":"about:blank","title":"Bad Request","status":400,"detail":"resource.id names no service in the catalogue","field":"resource.id"}`}, status: 400, field: "resource.id"},
		{name: "garbage", reply: pdpReply{Raw: `<html>oops</html>`}, unavailable: true},
		{name: "no decision", reply: pdpReply{Raw: `{"context":{"reasons":[{"code":"permitted"}]}}`}, unavailable: true},
		{name: "decision of the wrong type", reply: pdpReply{Raw: `{"decision":"yes"}`}, unavailable: true},
		{name: "a redirect", reply: pdpReply{Status: 304}, unavailable: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakePDP(t)
			f.setDecide(func(pdpQuestion) pdpReply { return tt.reply })
			c, _ := f.client(t, false)
			for i := range 2 { // and nothing is cached
				d, err := c.Check(context.Background(), kariReq())
				if err == nil || d.Allowed {
					t.Fatalf("Check = %+v, %v; want an error", d, err)
				}
				if got := errors.Is(err, ErrUnavailable); got != tt.unavailable {
					t.Errorf("errors.Is(%v, ErrUnavailable) = %v, want %v", err, got, tt.unavailable)
				}
				var ae *APIError
				if got := errors.As(err, &ae); got != (tt.status != 0) || got && (ae.Status != tt.status || ae.Field != tt.field) {
					t.Errorf("Check error %#v, want an *APIError with status %d and field %q", err, tt.status, tt.field)
				}
				if n := f.evaluations.Load(); n != int64(i+1) {
					t.Errorf("the decision point was asked %d times, want %d", n, i+1)
				}
			}
		})
	}
}

func TestCheckFailsClosedWhenUnreachable(t *testing.T) {
	f := newFakePDP(t)
	c, _ := f.client(t, false)

	t.Run("timeout", func(t *testing.T) {
		release := make(chan struct{})
		f.setGate(func() { <-release })
		defer func() { close(release); f.setGate(nil) }()
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		d, err := c.Check(ctx, kariReq())
		if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) || d.Allowed {
			t.Errorf("Check = %+v, %v; want ErrUnavailable and the deadline", d, err)
		}
	})
	t.Run("wrong API key", func(t *testing.T) {
		c, _ := f.client(t, false, func(cfg *Config) { cfg.APIKey = "wrong" })
		d, err := c.Check(context.Background(), kariReq())
		var ae *APIError
		if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized || d.Allowed {
			t.Errorf("Check = %+v, %v; want a 401 *APIError", d, err)
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		g := newFakePDP(t)
		c, _ := g.client(t, false)
		g.srv.Close()
		d, err := c.Check(context.Background(), kariReq())
		if !errors.Is(err, ErrUnavailable) || d.Allowed {
			t.Errorf("Check = %+v, %v; want ErrUnavailable", d, err)
		}
	})
}

func TestCheckCachesDecisions(t *testing.T) {
	f := newFakePDP(t)
	c, _ := f.client(t, false)
	ctx := context.Background()
	first, err := c.Check(ctx, kariReq())
	if err != nil || !first.Allowed || first.Cached {
		t.Fatalf("Check = %+v, %v; want an allow, not cached", first, err)
	}
	second, err := c.Check(ctx, kariReq())
	if err != nil || !second.Allowed || !second.Cached {
		t.Fatalf("Check again = %+v, %v; want the cached allow", second, err)
	}
	if n := f.evaluations.Load(); n != 1 {
		t.Errorf("the decision point was asked %d times for two identical checks, want 1", n)
	}
	second.Cached = false
	if !reflect.DeepEqual(first, second) {
		t.Errorf("the cached decision %+v differs from the first %+v", second, first)
	}

	// Denials are cached too, and asking about the actor with a party equal to
	// the actor is the same question as without one.
	f.setDecide(func(pdpQuestion) pdpReply { return pdpReply{Reasons: []string{"not_permitted"}} })
	self := Request{Actor: Actor{Party: Person(kari), ACR: subst}, Service: studies, Action: "read"}
	if d, err := c.Check(ctx, self); err != nil || d.Allowed || d.Cached {
		t.Fatalf("Check(self) = %+v, %v; want a fresh deny", d, err)
	}
	self.Party = Person(kari)
	if d, err := c.Check(ctx, self); err != nil || d.Allowed || !d.Cached {
		t.Fatalf("Check(self, party = actor) = %+v, %v; want the cached deny", d, err)
	}
	if n := f.evaluations.Load(); n != 2 {
		t.Errorf("the decision point was asked %d times, want 2", n)
	}
}

func TestCacheKeyHasEveryField(t *testing.T) {
	base := Request{Actor: Actor{Party: Person(kari), ACR: subst, AuthTime: time.Unix(1795445177, 0)}, Party: Person(sara), Service: studies, Action: "read"}
	tests := []struct {
		name string
		mod  func(*Request)
	}{
		{"actor", func(r *Request) { r.Actor.ID = "02027012345" }},
		{"actor type", func(r *Request) { r.Actor.Type = TypeOrganization }},
		{"acr", func(r *Request) { r.Actor.ACR = high }},
		{"auth_time", func(r *Request) { r.Actor.AuthTime = r.Actor.AuthTime.Add(time.Second) }},
		{"no auth_time", func(r *Request) { r.Actor.AuthTime = time.Time{} }},
		{"party", func(r *Request) { r.Party.ID = "02020512345" }},
		{"party type", func(r *Request) { r.Party.Type = TypeOrganization }},
		{"no party", func(r *Request) { r.Party = Party{} }},
		{"service", func(r *Request) { r.Service = "udir.vitnemal" }},
		{"action", func(r *Request) { r.Action = "submit" }},
	}
	f := newFakePDP(t)
	c, _ := f.client(t, false)
	ctx := context.Background()
	if _, err := c.Check(ctx, base); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := base
			tt.mod(&req)
			before := f.evaluations.Load()
			if d, err := c.Check(ctx, req); err != nil || d.Cached {
				t.Errorf("Check(%v) = %+v, %v; want a fresh decision (the key must hold the %s)", req, d, err, tt.name)
			}
			if d, err := c.Check(ctx, req); err != nil || !d.Cached {
				t.Errorf("Check(%v) again = %+v, %v; want the cached decision", req, d, err)
			}
			if n := f.evaluations.Load() - before; n != 1 {
				t.Errorf("the decision point was asked %d times, want 1", n)
			}
		})
	}
	if d, err := c.Check(ctx, base); err != nil || !d.Cached {
		t.Errorf("Check(base) = %+v, %v; want it still cached", d, err)
	}
}

func TestCacheOff(t *testing.T) {
	f := newFakePDP(t)
	c, _ := f.client(t, true, func(cfg *Config) { cfg.CacheSize = -1 })
	for range 3 {
		if d, err := c.Check(context.Background(), kariReq()); err != nil || d.Cached || !d.Allowed {
			t.Fatalf("Check = %+v, %v; want an uncached allow", d, err)
		}
	}
	if n := f.evaluations.Load(); n != 3 {
		t.Errorf("the decision point was asked %d times, want 3", n)
	}
	select {
	case <-f.conns:
		t.Error("the client follows the change feed without a cache")
	default:
	}
}

func TestCacheLifetime(t *testing.T) {
	seconds := func(n int) *int { return &n }
	tests := []struct {
		name      string
		validFor  *int
		staleness time.Duration
		hitAt     []time.Duration // after the first check: still cached
		missAt    time.Duration   // asked again
	}{
		{name: "MaxStaleness bounds it", staleness: 30 * time.Second, hitAt: []time.Duration{0, 29 * time.Second}, missAt: 30 * time.Second},
		{name: "valid_for bounds it", validFor: seconds(10), staleness: 30 * time.Second, hitAt: []time.Duration{9 * time.Second}, missAt: 10 * time.Second},
		{name: "MaxStaleness bounds a long valid_for", validFor: seconds(600), staleness: 5 * time.Second, hitAt: []time.Duration{4 * time.Second}, missAt: 5 * time.Second},
		{name: "valid_for 0 is not cached", validFor: seconds(0), staleness: 30 * time.Second, missAt: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakePDP(t)
			f.setDecide(func(q pdpQuestion) pdpReply {
				r := allowReply(q)
				r.ValidFor = tt.validFor
				return r
			})
			c, _ := f.client(t, false, func(cfg *Config) { cfg.MaxStaleness = tt.staleness })
			start := time.Hour
			now := start
			c.decisions.cache.now = func() time.Duration { return now }
			ctx := context.Background()
			if _, err := c.Check(ctx, kariReq()); err != nil {
				t.Fatal(err)
			}
			for _, at := range tt.hitAt {
				now = start + at
				if d, err := c.Check(ctx, kariReq()); err != nil || !d.Cached {
					t.Errorf("Check after %v = %+v, %v; want the cached decision", at, d, err)
				}
			}
			now = start + tt.missAt
			if d, err := c.Check(ctx, kariReq()); err != nil || d.Cached {
				t.Errorf("Check after %v = %+v, %v; want a fresh decision", tt.missAt, d, err)
			}
			if n := f.evaluations.Load(); n != 2 {
				t.Errorf("the decision point was asked %d times, want 2", n)
			}
		})
	}
}

func TestCheckWithReceipt(t *testing.T) {
	f := newFakePDP(t)
	f.setDecide(func(q pdpQuestion) pdpReply {
		r := allowReply(q)
		if q.Receipt {
			r.Receipt = "eyJhbGciOiJFUzI1NiJ9.e30.c2ln"
		}
		return r
	})
	c, _ := f.client(t, false)
	ctx := context.Background()
	for i := range 2 {
		d, err := c.CheckWithReceipt(ctx, kariReq())
		if err != nil || !d.Allowed || d.Cached || d.Receipt != "eyJhbGciOiJFUzI1NiJ9.e30.c2ln" {
			t.Fatalf("CheckWithReceipt = %+v, %v; want a fresh allow with the receipt", d, err)
		}
		want := map[string]any{"party": map[string]any{"type": "person", "id": sara}, "receipt": true}
		if got := f.lastBody()["context"]; !reflect.DeepEqual(got, want) {
			t.Errorf("CheckWithReceipt sent the context %v, want %v", got, want)
		}
		if n := f.evaluations.Load(); n != int64(i+1) {
			t.Errorf("the decision point was asked %d times, want %d", n, i+1)
		}
	}
	// A receipt's decision is not stored for Check either.
	if d, err := c.Check(ctx, kariReq()); err != nil || d.Cached || d.Receipt != "" {
		t.Errorf("Check = %+v, %v; want a fresh decision without a receipt", d, err)
	}
	if got := f.lastBody()["context"]; !reflect.DeepEqual(got, map[string]any{"party": map[string]any{"type": "person", "id": sara}}) {
		t.Errorf("Check sent the context %v, want no receipt asked", got)
	}

	// Self, with a receipt: the context carries only the receipt.
	self := Request{Actor: Actor{Party: Person(kari), ACR: high}, Service: studies, Action: "submit"}
	if _, err := c.CheckWithReceipt(ctx, self); err != nil {
		t.Fatal(err)
	}
	if got := f.lastBody()["context"]; !reflect.DeepEqual(got, map[string]any{"receipt": true}) {
		t.Errorf("CheckWithReceipt(self) sent the context %v, want only the receipt", got)
	}

	// A server that signs no receipts.
	f.setDecide(allowReply)
	if d, err := c.CheckWithReceipt(ctx, kariReq()); err == nil || d.Allowed {
		t.Errorf("CheckWithReceipt without a receipt in the answer = %+v, %v; want an error", d, err)
	}
}

func TestCheckBatch(t *testing.T) {
	f := newFakePDP(t)
	f.setDecide(func(q pdpQuestion) pdpReply {
		switch q.Service {
		case "bad.service":
			return pdpReply{ItemError: "resource.id names no service in the catalogue"}
		case "deny.service":
			return pdpReply{Reasons: []string{"not_permitted"}}
		}
		return allowReply(q)
	})
	c, _ := f.client(t, false)
	ctx := context.Background()
	cached := kariReq()
	if _, err := c.Check(ctx, cached); err != nil {
		t.Fatal(err)
	}
	miss := kariReq()
	miss.Action = "submit"
	deny := kariReq()
	deny.Service = "deny.service"
	bad := kariReq()
	bad.Service = "bad.service"
	invalid := kariReq()
	invalid.Service = ""

	reqs := []Request{cached, miss, invalid, bad, deny}
	ds, err := c.CheckBatch(ctx, reqs)
	var be *BatchError
	if !errors.As(err, &be) {
		t.Fatalf("CheckBatch = %v, want a *BatchError", err)
	}
	if len(ds) != len(reqs) || len(be.Errs) != len(reqs) {
		t.Fatalf("CheckBatch returned %d decisions and %d errors, want %d", len(ds), len(be.Errs), len(reqs))
	}
	wantAllowed := []bool{true, true, false, false, false}
	wantCached := []bool{true, false, false, false, false}
	for i := range reqs {
		if ds[i].Allowed != wantAllowed[i] || ds[i].Cached != wantCached[i] {
			t.Errorf("decision %d = %+v, want allowed %v, cached %v", i, ds[i], wantAllowed[i], wantCached[i])
		}
	}
	for i, err := range be.Errs {
		switch i {
		case 2:
			if !errors.Is(err, ErrInvalidRequest) {
				t.Errorf("error %d = %v, want ErrInvalidRequest", i, err)
			}
		case 3:
			var ae *APIError
			if !errors.As(err, &ae) || ae.Status != 400 || !strings.Contains(ae.Detail, "no service") {
				t.Errorf("error %d = %v, want the item's 400", i, err)
			}
		default:
			if err != nil {
				t.Errorf("error %d = %v, want none", i, err)
			}
		}
	}
	if !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("errors.Is(%v, ErrInvalidRequest) = false, want true", err)
	}
	if n := f.batches.Load(); n != 1 {
		t.Errorf("the batch endpoint was called %d times, want 1", n)
	}
	body := f.lastBody()
	if got := body["options"]; !reflect.DeepEqual(got, map[string]any{"evaluations_semantic": "execute_all"}) {
		t.Errorf("options = %v, want execute_all", got)
	}
	items, _ := body["evaluations"].([]any)
	var sent []string
	for _, it := range items {
		q := question(it.(map[string]any))
		sent = append(sent, q.Service+"/"+q.Action)
	}
	if want := []string{studies + "/submit", "bad.service/read", "deny.service/read"}; !reflect.DeepEqual(sent, want) {
		t.Errorf("the batch sent %v, want only the misses %v", sent, want)
	}

	// The answers are cached: the same batch without its failures asks nothing.
	ds, err = c.CheckBatch(ctx, []Request{cached, miss, deny})
	if err != nil || len(ds) != 3 || !ds[0].Cached || !ds[1].Cached || !ds[2].Cached || ds[2].Allowed {
		t.Errorf("CheckBatch again = %+v, %v; want three cached decisions", ds, err)
	}
	if n := f.batches.Load(); n != 1 {
		t.Errorf("the batch endpoint was called %d times, want still 1", n)
	}
}

func TestCheckBatchSplitsAndFailsWhole(t *testing.T) {
	f := newFakePDP(t)
	c, _ := f.client(t, false)
	ctx := context.Background()
	reqs := make([]Request, 250)
	for i := range reqs {
		reqs[i] = kariReq()
		reqs[i].Service = fmt.Sprintf("svc.%d", i)
	}
	ds, err := c.CheckBatch(ctx, reqs)
	if err != nil || len(ds) != len(reqs) {
		t.Fatalf("CheckBatch(250) = %d decisions, %v", len(ds), err)
	}
	if n := f.batches.Load(); n != 3 {
		t.Errorf("the batch endpoint was called %d times for 250 items, want 3", n)
	}
	for i, q := range f.questions() {
		if want := fmt.Sprintf("svc.%d", i); q.Service != want {
			t.Fatalf("item %d asked about %s, want %s", i, q.Service, want)
		}
	}

	f.setDecide(func(pdpQuestion) pdpReply { return pdpReply{Status: 500} })
	reqs[0].Action = "submit"
	ds, err = c.CheckBatch(ctx, reqs[:1])
	if !errors.Is(err, ErrUnavailable) || ds != nil {
		t.Errorf("CheckBatch against a failing server = %v, %v; want nil, ErrUnavailable", ds, err)
	}
	var be *BatchError
	if errors.As(err, &be) {
		t.Errorf("a failed call is a *BatchError: %v", err)
	}

	if ds, err := c.CheckBatch(ctx, nil); err != nil || len(ds) != 0 {
		t.Errorf("CheckBatch(nil) = %v, %v; want nothing", ds, err)
	}
}

func TestParties(t *testing.T) {
	f := newFakePDP(t)
	f.parties = []partyAnswerJSON{
		{Type: "person", ID: kari, Properties: map[string]any{"name": "Kari Nordmann", "relation": map[string]any{"kind": "self"}}},
		{Type: "person", ID: sara, Properties: map[string]any{"name": "Sara Nordmann", "relation": map[string]any{"kind": "parent"}}},
		{Type: "organization", ID: org, Properties: map[string]any{"name": "Nordmann AS", "relation": map[string]any{"kind": "role"},
			"step_up": map[string]any{"acr_values": high, "max_age": 300}}},
	}
	for i := range 600 { // more than two pages
		f.parties = append(f.parties, partyAnswerJSON{Type: "person", ID: fmt.Sprintf("0101%07d", i), Properties: map[string]any{"name": "Someone"}})
	}
	c, _ := f.client(t, false)
	actor := Actor{Party: Person(kari), ACR: subst}
	got, err := c.Parties(context.Background(), actor, studies, "read")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(f.parties) {
		t.Fatalf("Parties returned %d parties, want %d", len(got), len(f.parties))
	}
	want := []Choice{
		{Party: Person(kari), Name: "Kari Nordmann", Relation: &Relation{Kind: "self"}},
		{Party: Person(sara), Name: "Sara Nordmann", Relation: &Relation{Kind: "parent"}},
		{Party: Organization(org), Name: "Nordmann AS", Relation: &Relation{Kind: "role"}, StepUp: &StepUp{ACRValues: high, MaxAge: 300 * time.Second}},
	}
	if !reflect.DeepEqual(got[:3], want) {
		t.Errorf("Parties = %+v, want %+v first", got[:3], want)
	}
	if n := f.searches.Load(); n != 3 {
		t.Errorf("the party search was called %d times, want 3 (pages of %d)", n, partiesPage)
	}
	body := f.lastBody()
	delete(body, "page")
	wantBody := map[string]any{
		"subject":  map[string]any{"type": "person", "id": kari, "properties": map[string]any{"acr": subst}},
		"action":   map[string]any{"name": "read"},
		"resource": map[string]any{"type": "service", "id": studies},
	}
	if !reflect.DeepEqual(body, wantBody) {
		t.Errorf("Parties sent %v, want %v", body, wantBody)
	}

	// A list longer than MaxParties is cut.
	for i := range MaxParties {
		f.parties = append(f.parties, partyAnswerJSON{Type: "person", ID: fmt.Sprintf("0202%07d", i)})
	}
	if got, err := c.Parties(context.Background(), actor, studies, "read"); err != nil || len(got) != MaxParties {
		t.Errorf("Parties of %d = %d parties, %v; want %d", len(f.parties), len(got), err, MaxParties)
	}

	if _, err := c.Parties(context.Background(), Actor{Party: Person(kari)}, studies, "read"); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("Parties without an acr = %v, want ErrInvalidRequest", err)
	}
}

func TestCheckConsent(t *testing.T) {
	f := newFakePDP(t)
	c, _ := f.client(t, false)
	if _, err := c.CheckConsent(context.Background(), org, kari, "skatteetaten.inntekt"); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"subject":  map[string]any{"type": "organization", "id": org, "properties": map[string]any{"acr": "http://eidas.europa.eu/LoA/substantial"}},
		"action":   map[string]any{"name": "read"},
		"resource": map[string]any{"type": "service", "id": "skatteetaten.inntekt"},
		"context":  map[string]any{"party": map[string]any{"type": "person", "id": kari}},
	}
	if got := f.lastBody(); !reflect.DeepEqual(got, want) {
		t.Errorf("CheckConsent sent %v, want %v", got, want)
	}
}
