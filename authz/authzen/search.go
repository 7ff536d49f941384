package authzen

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"net/http"
	"slices"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/authz/pdp"
	"github.com/fullmakt/fullmakt/delegation"
)

// The searches (§8) ask the decision point without recording: they act for nobody.

// Page sizes of the searches (§8.2).
const (
	defaultLimit = 50
	maxLimit     = 1000
)

// The response of the searches (§8.3), page first so that a client reads the
// count early.
type (
	searchJSON[T any] struct {
		Page    pageJSON `json:"page"`
		Results []T      `json:"results"`
	}
	pageJSON struct {
		NextToken string `json:"next_token"`
		Count     int    `json:"count"`
		Total     int    `json:"total"`
	}
	serviceJSON struct {
		Type       string `json:"type"`
		ID         string `json:"id"`
		Properties struct {
			Name authz.Text `json:"name"`
		} `json:"properties"`
	}
	actionJSON struct {
		Name string `json:"name"`
	}
	partyJSON struct {
		Type       string          `json:"type"`
		ID         string          `json:"id"`
		Properties partyProperties `json:"properties"`
	}
	partyProperties struct {
		Name     string        `json:"name,omitempty"`
		Relation *relationJSON `json:"relation,omitempty"`
		StepUp   *stepUpJSON   `json:"step_up,omitempty"`
	}
)

// search is one search request: which members the kind of search reads (and
// binds its page tokens to), and, once read, the question and the page.
type search struct {
	kind       string // resource, action, party
	action     bool   // the action is read
	resourceID bool   // the resource's id is read (§8: the searched entity's is ignored)
	context    bool   // context.party is read

	top  object
	pack *authz.Pack
	req  authz.Request // Service or Action empty when searched
	page pager
}

// read reads and checks a search body: the subject, the action and the resource
// as the kind of search asks, the party acted for, and the page. On failure it
// has written the error response and returns false.
func (s *search) read(a *API, w http.ResponseWriter, r *http.Request) bool {
	body, ok := a.body(w, r)
	if !ok {
		return false
	}
	if fe := s.parse(a, body); fe != nil {
		badRequest(w, fe)
		return false
	}
	return true
}

func (s *search) parse(a *API, body []byte) *fieldError {
	top, fe := parseBody(body)
	if fe != nil {
		return fe
	}
	s.top, s.pack = top, a.d.Pack()
	v, ok := top.member("subject")
	if !ok {
		return badField("subject", "is required")
	}
	sub, fe := parseSubject(v, "subject")
	if fe != nil {
		return fe
	}
	if s.req.Actor, fe = a.partyID(sub.typ, sub.id, "subject"); fe != nil {
		return fe
	}
	if fe = checkACR(s.pack, sub.acr, "subject"); fe != nil {
		return fe
	}
	s.req.ACR, s.req.AuthTime = sub.acr, sub.authTime
	if s.action {
		v, ok := top.member("action")
		if !ok {
			return badField("action", "is required")
		}
		ac, fe := parseAction(v, "action")
		if fe != nil {
			return fe
		}
		s.req.Action = ac.name
	}
	if v, ok = top.member("resource"); !ok {
		return badField("resource", "is required")
	}
	res, fe := parseResource(v, "resource", s.resourceID)
	if fe != nil {
		return fe
	}
	s.req.Service = res.id
	if v, ok := top.member("context"); ok && s.context {
		c, fe := parseContext(v, "context")
		if fe != nil {
			return fe
		}
		if c.party != nil {
			if s.req.Party, fe = a.partyID(c.party.typ, c.party.id, "context.party"); fe != nil {
				return fe
			}
		}
	}
	switch cat := s.pack.Catalogue; {
	case s.resourceID && s.action:
		fe = checkServiceAction(s.pack, s.req.Service, "resource", s.req.Action, "action")
	case s.resourceID:
		if _, ok := cat.Service(s.req.Service); !ok {
			fe = badField("resource.id", "names no service in the catalogue")
		}
	case !slices.ContainsFunc(cat.Actions, func(ac authz.Action) bool { return ac.ID == s.req.Action }):
		fe = badField("action.name", "names no action in the catalogue")
	}
	if fe != nil {
		return fe
	}
	s.page, fe = readPage(top, s.binding())
	return fe
}

// binding is a hash of what a page token is bound to (§8.2: every entity must
// match the request that returned the token): the search's kind, and the members
// it reads, in a canonical form.
func (s *search) binding() [sha256.Size]byte {
	h := sha256.New()
	h.Write([]byte(s.kind))
	write := func(key, drop string) {
		h.Write([]byte{0})
		if raw, ok := s.top.member(key); ok {
			h.Write(canonical(raw, drop))
		}
	}
	write("subject", "")
	if s.action {
		write("action", "")
	}
	if s.resourceID {
		write("resource", "")
	} else {
		write("resource", "id") // ignored (§8), so not bound
	}
	if s.context {
		write("context", "")
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// canonical encodes a JSON value with its object members in order (as
// json.Marshal writes maps), without the top-level member drop.
func canonical(v any, drop string) []byte {
	if o, ok := v.(object); ok && drop != "" {
		c := make(object, len(o))
		for k, x := range o {
			if k != drop {
				c[k] = x
			}
		}
		v = c
	}
	b, _ := json.Marshal(v) // decoded JSON always encodes
	return b
}

// pager is one page of a search: where it starts, how long it is, and what its
// tokens are bound to.
type pager struct {
	offset, limit int
	binding       [sha256.Size]byte
}

// A page token is base64url(version, uvarint offset, uvarint limit, the first 16
// bytes of SHA-256(binding, offset, limit)). It needs no secret: it is bound to
// the request, not to the client, and a forged one shows nothing a request
// without one would not.
const (
	tokenVersion = 1
	tokenSumLen  = 16
)

func tokenSum(binding [sha256.Size]byte, offset, limit int) []byte {
	b := binary.AppendUvarint(binding[:], uint64(offset))
	b = binary.AppendUvarint(b, uint64(limit))
	sum := sha256.Sum256(b)
	return sum[:tokenSumLen]
}

func (p pager) token(offset int) string {
	b := []byte{tokenVersion}
	b = binary.AppendUvarint(b, uint64(offset))
	b = binary.AppendUvarint(b, uint64(p.limit))
	b = append(b, tokenSum(p.binding, offset, p.limit)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// parseToken returns the offset and limit of a token bound to binding.
func parseToken(s string, binding [sha256.Size]byte) (offset, limit int, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 1+2+tokenSumLen || b[0] != tokenVersion {
		return 0, 0, false
	}
	rest := b[1:]
	off, n := binary.Uvarint(rest)
	if n <= 0 || off > 1<<31 {
		return 0, 0, false
	}
	rest = rest[n:]
	lim, n := binary.Uvarint(rest)
	if n <= 0 || lim < 1 || lim > maxLimit {
		return 0, 0, false
	}
	rest = rest[n:]
	if !bytes.Equal(rest, tokenSum(binding, int(off), int(lim))) {
		return 0, 0, false
	}
	return int(off), int(lim), true
}

// readPage reads the request's page (§8.2): a limit (0 or absent: 50; above 1000:
// 1000) and a token of an earlier response, which must be bound to this request
// and have its limit.
func readPage(top object, binding [sha256.Size]byte) (pager, *fieldError) {
	p := pager{limit: defaultLimit, binding: binding}
	raw, ok := top.member("page")
	if !ok {
		return p, nil
	}
	o, fe := asObject(raw, "page")
	if fe != nil {
		return p, fe
	}
	limit := 0
	if raw, ok := o.member("limit"); ok {
		n, _ := raw.(json.Number)
		f, err := n.Float64()
		if err != nil || f < 0 || f != math.Trunc(f) {
			return p, badField("page.limit", "must be a non-negative integer")
		}
		limit = int(min(f, maxLimit))
		if limit > 0 {
			p.limit = limit
		}
	}
	token, fe := o.str("token", "page", false)
	if fe != nil || token == "" {
		return p, fe
	}
	off, lim, ok := parseToken(token, binding)
	switch {
	case !ok:
		return p, badField("page.token", "is not a token this search returned for this request")
	case limit > 0 && limit != lim:
		return p, badField("page.limit", "must be the limit of the request that returned page.token")
	}
	p.offset, p.limit = off, lim
	return p, nil
}

// paginate returns the page of all that p asks for.
func paginate[T any](p pager, all []T) searchJSON[T] {
	start := min(p.offset, len(all))
	end := min(start+p.limit, len(all))
	out := searchJSON[T]{Page: pageJSON{Count: end - start, Total: len(all)}, Results: all[start:end:end]}
	if out.Results == nil {
		out.Results = []T{}
	}
	if end < len(all) {
		out.Page.NextToken = p.token(end)
	}
	return out
}

// decideEach asks the decision point about each candidate, unrecorded, keeping
// those permitted. A request error (the pack changed meanwhile) is a deny.
func decideEach[T any](ctx context.Context, d Decider, base authz.Request, cands []T, set func(*authz.Request, T)) ([]T, error) {
	var out []T
	for _, c := range cands {
		req := base
		set(&req, c)
		dec, err := d.DecideUnrecorded(ctx, req)
		if _, bad := authz.IsRequestError(err); bad {
			continue
		}
		if err != nil {
			return nil, err
		}
		if dec.Allow {
			out = append(out, c)
		}
	}
	return out, nil
}

// handleSearchResource is the Resource Search API (§8.5): the services of the
// catalogue in which the subject may do the action, for context.party or
// themself.
func (a *API) handleSearchResource() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := search{kind: "resource", action: true, context: true}
		if !s.read(a, w, r) {
			return
		}
		var cands []authz.Service
		for _, svc := range s.pack.Catalogue.Services {
			if svc.Offers(s.req.Action) {
				cands = append(cands, svc)
			}
		}
		permitted, err := decideEach(r.Context(), a.d, s.req, cands, func(req *authz.Request, svc authz.Service) { req.Service = svc.ID })
		if err != nil {
			a.internalError(w, r, err)
			return
		}
		all := make([]serviceJSON, len(permitted))
		for i, svc := range permitted {
			all[i].Type, all[i].ID = typeService, svc.ID
			all[i].Properties.Name = svc.Name
		}
		writeJSON(w, paginate(s.page, all))
	})
}

// handleSearchAction is the Action Search API (§8.6): the actions of the service
// the subject may take, for context.party or themself.
func (a *API) handleSearchAction() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := search{kind: "action", resourceID: true, context: true}
		if !s.read(a, w, r) {
			return
		}
		svc, _ := s.pack.Catalogue.Service(s.req.Service)
		permitted, err := decideEach(r.Context(), a.d, s.req, svc.Actions, func(req *authz.Request, action string) { req.Action = action })
		if err != nil {
			a.internalError(w, r, err)
			return
		}
		all := make([]actionJSON, len(permitted))
		for i, action := range permitted {
			all[i].Name = action
		}
		writeJSON(w, paginate(s.page, all))
	})
}

// handleSearchParty is Fullmakt's Party Search: the parties for whom the
// subject may do the action in the service, now or after the step-up each
// result names. The context is not read.
func (a *API) handleSearchParty() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := search{kind: "party", action: true, resourceID: true}
		if !s.read(a, w, r) {
			return
		}
		parties, err := a.d.Parties(r.Context(), s.req)
		if err != nil {
			if _, bad := authz.IsRequestError(err); !bad {
				a.internalError(w, r, err)
				return
			}
			parties = nil // the pack changed meanwhile: nothing is permitted
		}
		detailed := clientOf(r.Context()).DetailedReasons
		all := make([]partyJSON, len(parties))
		for i, p := range parties {
			all[i] = party(p, detailed)
		}
		writeJSON(w, paginate(s.page, all))
	})
}

func party(p pdp.Party, detailed bool) partyJSON {
	out := partyJSON{Type: typePerson, ID: p.ID.String()}
	if p.ID.Kind() == delegation.KindOrganization {
		out.Type = typeOrganization
	}
	switch {
	case p.Person != nil:
		out.Properties.Name = p.Person.Name
	case p.Organization != nil:
		out.Properties.Name = p.Organization.Name
	}
	d := p.Decision
	switch {
	case d.Relation != nil:
		out.Properties.Relation = relation(*d.Relation, detailed)
	case d.StepUp != nil:
		out.Properties.Relation = relation(d.StepUp.Relation, detailed)
	}
	if !d.Allow && d.StepUp != nil {
		out.Properties.StepUp = stepUp(d.StepUp)
	}
	return out
}
