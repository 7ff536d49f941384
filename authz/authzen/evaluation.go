package authzen

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/delegation"
)

// evalIn is one Access Evaluation request (§6.1), read but not yet checked
// against the registers' identifier rules and the catalogue. The paths say where
// each entity came from: for a batch item, the item or the top-level defaults.
type evalIn struct {
	subject                                            subjectIn
	action                                             actionIn
	resource                                           resourceIn
	party                                              *partyIn
	receipt                                            bool // context.receipt: sign the decision
	subjectPath, actionPath, resourcePath, contextPath string
}

// handleEvaluation is the Access Evaluation API (§6): one decision, recorded in
// the decision log when the subject acts for another party.
func (a *API) handleEvaluation() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		top, ok := a.object(w, r)
		if !ok {
			return
		}
		a.evaluateOne(w, r, top)
	})
}

// evaluateOne answers the body top as a single evaluation: every error is a 400.
func (a *API) evaluateOne(w http.ResponseWriter, r *http.Request, top object) {
	res, fe, err := a.answer(r.Context(), top, "", &entities{})
	switch {
	case err != nil:
		a.internalError(w, r, err)
	case fe != nil:
		badRequest(w, fe)
	default:
		writeJSON(w, res)
	}
}

// answer reads the evaluation o (at path) over the defaults and decides it. A
// *fieldError is a request that cannot be answered; an error is a failure of the
// store.
func (a *API) answer(ctx context.Context, o object, path string, defaults *entities) (decisionJSON, *fieldError, error) {
	var e entities
	if fe := e.read(o, path); fe != nil {
		return decisionJSON{}, fe, nil
	}
	in, fe := e.evaluation(defaults)
	if fe != nil {
		return decisionJSON{}, fe, nil
	}
	return a.evaluate(ctx, in)
}

// entities are the subject, action, resource and context of one level of a
// request (the top level or a batch item), each nil when absent.
type entities struct {
	subject  *subjectIn
	action   *actionIn
	resource *resourceIn
	context  *contextIn
	path     string // "" or "evaluations[i]"
}

// read reads the entities present in o, at path.
func (e *entities) read(o object, path string) *fieldError {
	e.path = path
	if v, ok := o.member("subject"); ok {
		s, fe := parseSubject(v, join(path, "subject"))
		if fe != nil {
			return fe
		}
		e.subject = &s
	}
	if v, ok := o.member("action"); ok {
		ac, fe := parseAction(v, join(path, "action"))
		if fe != nil {
			return fe
		}
		e.action = &ac
	}
	if v, ok := o.member("resource"); ok {
		res, fe := parseResource(v, join(path, "resource"), true)
		if fe != nil {
			return fe
		}
		e.resource = &res
	}
	if v, ok := o.member("context"); ok {
		c, fe := parseContext(v, join(path, "context"))
		if fe != nil {
			return fe
		}
		e.context = &c
	}
	return nil
}

// evaluation merges e over defaults (§7.1.1: a key of the item replaces the
// top-level one whole) into one request; subject, action and resource must be in
// one or the other.
func (e *entities) evaluation(defaults *entities) (evalIn, *fieldError) {
	var in evalIn
	var fe *fieldError
	if in.subject, in.subjectPath, fe = take(e.subject, defaults.subject, e.path, "subject"); fe != nil {
		return in, fe
	}
	if in.action, in.actionPath, fe = take(e.action, defaults.action, e.path, "action"); fe != nil {
		return in, fe
	}
	if in.resource, in.resourcePath, fe = take(e.resource, defaults.resource, e.path, "resource"); fe != nil {
		return in, fe
	}
	if e.context != nil || defaults.context != nil {
		var c contextIn
		c, in.contextPath, _ = take(e.context, defaults.context, e.path, "context")
		in.party, in.receipt = c.party, c.receipt
	}
	return in, nil
}

// take returns the entity name of an item (at itemPath) or else of the top
// level, and its path; an error when neither has it.
func take[T any](own, def *T, itemPath, name string) (T, string, *fieldError) {
	var zero T
	switch {
	case own != nil:
		return *own, join(itemPath, name), nil
	case def != nil:
		return *def, name, nil
	case itemPath == "":
		return zero, "", badField(name, "is required")
	}
	return zero, "", badField(join(itemPath, name), "is required, in the item or at the top level")
}

// evaluate decides one request for the calling client, at the API's clock. A
// *fieldError is a request that cannot be answered; an error is a failure of the
// store or of the receipt's signature: the caller fails closed rather than answer
// without the receipt it asked for.
func (a *API) evaluate(ctx context.Context, in evalIn) (decisionJSON, *fieldError, error) {
	client := clientOf(ctx)
	if in.receipt && a.cfg.Receipts == nil {
		return decisionJSON{}, noReceipts(in.contextPath), nil
	}
	pack := a.d.Pack()
	req, fe := a.request(pack, in)
	if fe != nil {
		return decisionJSON{}, fe, nil
	}
	req.Now = a.now()
	d, err := a.d.Decide(ctx, req, client.ID)
	if err != nil {
		if re, ok := authz.IsRequestError(err); ok {
			return decisionJSON{}, requestFieldError(re, in), nil
		}
		return decisionJSON{}, nil, err
	}
	out := decision(d, client.DetailedReasons)
	if !req.AuthTime.IsZero() {
		if holds, ok := pack.HoldsFor(req.Now.Sub(req.AuthTime)); ok {
			// Rounded down, so that a client never keeps the decision past its
			// turn; but at least 1, as the contract says, which overstays a turn
			// less than a second away by that fraction.
			out.Context.ValidFor = max(int64(holds/time.Second), 1)
		}
	}
	if in.receipt {
		if out.Context.Receipt, err = a.receipt(ctx, client.ID, in, req, out); err != nil {
			return decisionJSON{}, nil, err
		}
	}
	return out, nil, nil
}

// request checks in against the identifier rules and the pack's catalogue and
// acr values, and returns the question for the decision point.
func (a *API) request(pack *authz.Pack, in evalIn) (authz.Request, *fieldError) {
	var req authz.Request
	var fe *fieldError
	if req.Actor, fe = a.partyID(in.subject.typ, in.subject.id, in.subjectPath); fe != nil {
		return req, fe
	}
	if in.party != nil {
		if req.Party, fe = a.partyID(in.party.typ, in.party.id, join(in.contextPath, "party")); fe != nil {
			return req, fe
		}
	}
	if fe = checkACR(pack, in.subject.acr, in.subjectPath); fe != nil {
		return req, fe
	}
	if fe = checkServiceAction(pack, in.resource.id, in.resourcePath, in.action.name, in.actionPath); fe != nil {
		return req, fe
	}
	req.Service, req.Action = in.resource.id, in.action.name
	req.ACR, req.AuthTime = in.subject.acr, in.subject.authTime
	return req, nil
}

// partyID parses an identity or organisation number of the given type, at path.
// The number is never echoed.
func (a *API) partyID(typ, s, path string) (delegation.PartyID, *fieldError) {
	id, err := a.cfg.IDRules.Parse(s)
	if err != nil {
		why := strings.TrimPrefix(err.Error(), delegation.ErrInvalidID.Error()+": ")
		return "", badField(join(path, "id"), "is not a valid identity number: "+why)
	}
	switch kind := id.Kind(); {
	case typ == typeOrganization && kind != delegation.KindOrganization:
		return "", badField(join(path, "type"), `is "organization" but the id is not an organisation number`)
	case typ == typePerson && kind != delegation.KindPerson:
		return "", badField(join(path, "type"), `is "person" but the id is an organisation number`)
	}
	return id, nil
}

func checkACR(pack *authz.Pack, acr, subjectPath string) *fieldError {
	if _, ok := pack.ACRs().Level(acr); !ok {
		return badField(join(subjectPath, "properties.acr"), "is not a known acr value")
	}
	return nil
}

// checkServiceAction checks that the service is in the catalogue and offers the
// action. Neither is echoed.
func checkServiceAction(pack *authz.Pack, service, resourcePath, action, actionPath string) *fieldError {
	s, ok := pack.Catalogue.Service(service)
	if !ok {
		return badField(join(resourcePath, "id"), "names no service in the catalogue")
	}
	if !s.Offers(action) {
		return badField(join(actionPath, "name"), "is not an action the service offers")
	}
	return nil
}

// requestFieldError maps a request error of the decision point (the pack may
// have changed since request checked it) to the member at fault.
func requestFieldError(re *authz.RequestError, in evalIn) *fieldError {
	switch re.Field {
	case "service":
		return badField(join(in.resourcePath, "id"), "names no service in the catalogue")
	case "action":
		return badField(join(in.actionPath, "name"), "is not an action the service offers")
	case "acr":
		return badField(join(in.subjectPath, "properties.acr"), "is not a known acr value")
	case "party":
		return badField(join(in.contextPath, "party.id"), "is not accepted")
	}
	return badField(join(in.subjectPath, "id"), "is not accepted")
}

// The response of the Access Evaluation API (§6.2, §5.5).
type (
	decisionJSON struct {
		Decision bool             `json:"decision"`
		Context  *decisionContext `json:"context,omitempty"`
	}
	decisionContext struct {
		Reasons       []reasonJSON  `json:"reasons,omitempty"`
		Relation      *relationJSON `json:"relation,omitempty"`
		StepUp        *stepUpJSON   `json:"step_up,omitempty"`
		PolicyVersion string        `json:"policy_version,omitempty"`
		// ValidFor is how many seconds the decision holds as the actor's
		// authentication ages; 0 (absent) when its age can no longer change it.
		ValidFor int64 `json:"valid_for,omitempty"`
		// Receipt is the signed receipt (a compact JWS), when one was asked for.
		Receipt string         `json:"receipt,omitempty"`
		Error   *itemErrorJSON `json:"error,omitempty"`
	}
	reasonJSON struct {
		Code     string `json:"code"`
		Relation string `json:"relation,omitempty"`
		Policy   string `json:"policy,omitempty"`
	}
	relationJSON struct {
		Kind string `json:"kind"`
		ID   string `json:"id,omitempty"`
	}
	// stepUpJSON is what the enforcement point asks for in RFC 9470's
	// insufficient_user_authentication challenge.
	stepUpJSON struct {
		ACRValues string `json:"acr_values"`
		MaxAge    int64  `json:"max_age,omitempty"`
	}
	itemErrorJSON struct {
		Status  int    `json:"status"`
		Message string `json:"message"`
	}
)

// decision renders d for a client: detailed clients see every reason with its
// relation and policy, and the relation's id; others see the reasons the pack
// discloses and "not_permitted" for the rest.
func decision(d authz.Decision, detailed bool) decisionJSON {
	c := &decisionContext{Reasons: reasons(d.Reasons, detailed), PolicyVersion: d.PackVersion}
	if d.Allow && d.Relation != nil {
		c.Relation = relation(*d.Relation, detailed)
	}
	if !d.Allow && d.StepUp != nil {
		c.StepUp = stepUp(d.StepUp)
	}
	return decisionJSON{Decision: d.Allow, Context: c}
}

func reasons(rs []authz.Reason, detailed bool) []reasonJSON {
	out := make([]reasonJSON, 0, len(rs))
	for _, r := range rs {
		if detailed {
			out = append(out, reasonJSON{Code: r.Code, Relation: string(r.Relation), Policy: r.Policy})
			continue
		}
		code := r.Code
		if !r.Disclose {
			code = authz.ReasonNotPermitted
		}
		if !containsCode(out, code) {
			out = append(out, reasonJSON{Code: code})
		}
	}
	if len(out) == 0 {
		out = append(out, reasonJSON{Code: authz.ReasonNotPermitted})
	}
	return out
}

func containsCode(rs []reasonJSON, code string) bool {
	for _, r := range rs {
		if r.Code == code {
			return true
		}
	}
	return false
}

func relation(r authz.Relation, detailed bool) *relationJSON {
	out := &relationJSON{Kind: string(r.Kind)}
	if detailed {
		out.ID = r.ID
	}
	return out
}

func stepUp(s *authz.StepUp) *stepUpJSON {
	return &stepUpJSON{ACRValues: s.ACR, MaxAge: int64(s.MaxAge.Seconds())}
}

// itemError is the answer for a batch item that cannot be answered (§7.2.1):
// a deny, with the error in its context.
func itemError(fe *fieldError) decisionJSON {
	return decisionJSON{Context: &decisionContext{Error: &itemErrorJSON{Status: http.StatusBadRequest, Message: fe.msg}}}
}

// The evaluation semantics of a batch (§7.1.2.1).
const (
	executeAll          = "execute_all"
	denyOnFirstDeny     = "deny_on_first_deny"
	permitOnFirstPermit = "permit_on_first_permit"
)

// handleEvaluations is the Access Evaluations API (§7): many decisions in one
// call, each recorded as a single one would be.
func (a *API) handleEvaluations() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		top, ok := a.object(w, r)
		if !ok {
			return
		}
		semantic, fe := parseOptions(top)
		if fe != nil {
			badRequest(w, fe)
			return
		}
		items, fe := parseItems(top, a.cfg.MaxEvaluations)
		if fe != nil {
			badRequest(w, fe)
			return
		}
		if len(items) == 0 { // §7.1: a single Access Evaluation, answered as one
			a.evaluateOne(w, r, top)
			return
		}
		var defaults entities
		if fe := defaults.read(top, ""); fe != nil {
			badRequest(w, fe)
			return
		}
		if defaults.context != nil && defaults.context.receipt && a.cfg.Receipts == nil {
			badRequest(w, noReceipts("context"))
			return
		}
		out := make([]decisionJSON, 0, len(items))
		for i, item := range items {
			res, fe, err := a.answer(r.Context(), item, "evaluations["+strconv.Itoa(i)+"]", &defaults)
			if err != nil {
				a.internalError(w, r, err)
				return
			}
			if fe != nil {
				res = itemError(fe)
			}
			out = append(out, res)
			if semantic == denyOnFirstDeny && !res.Decision || semantic == permitOnFirstPermit && res.Decision {
				break
			}
		}
		writeJSON(w, struct {
			Evaluations []decisionJSON `json:"evaluations"`
		}{out})
	})
}

// parseOptions returns options.evaluations_semantic, execute_all by default.
// Other options are ignored.
func parseOptions(top object) (string, *fieldError) {
	raw, ok := top.member("options")
	if !ok {
		return executeAll, nil
	}
	o, fe := asObject(raw, "options")
	if fe != nil {
		return "", fe
	}
	if _, ok := o.member("evaluations_semantic"); !ok {
		return executeAll, nil
	}
	return o.oneOf("evaluations_semantic", "options", executeAll, denyOnFirstDeny, permitOnFirstPermit)
}

// parseItems returns the evaluations of a batch, each an object; none when the
// member is absent, null or empty.
func parseItems(top object, limit int) ([]object, *fieldError) {
	raw, ok := top.member("evaluations")
	if !ok {
		return nil, nil
	}
	items, ok := raw.([]any)
	if !ok {
		return nil, badField("evaluations", "must be an array")
	}
	if len(items) > limit {
		return nil, badField("evaluations", "has more than "+strconv.Itoa(limit)+" items")
	}
	out := make([]object, len(items))
	for i, raw := range items {
		o, fe := asObject(raw, "evaluations["+strconv.Itoa(i)+"]")
		if fe != nil {
			return nil, fe
		}
		out[i] = o
	}
	return out, nil
}
