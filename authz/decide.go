package authz

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	cedar "github.com/cedar-policy/cedar-go"

	"github.com/fullmakt/fullmakt/delegation"
)

// Request is the question: may Actor do Action in Service for Party, at the level
// of assurance ACR, at Now?
type Request struct {
	Actor delegation.PartyID
	// Party is whom the actor acts for; empty means the actor themself.
	Party   delegation.PartyID
	Service string
	Action  string
	// ACR is the acr value of the actor's authentication (an eIDAS URI or an alias).
	ACR string
	// AuthTime is when the actor last authenticated; zero when unknown, which
	// counts as long ago.
	AuthTime time.Time
	Now      time.Time
}

// For returns the party acted for: Party, or the actor when Party is empty.
func (r Request) For() delegation.PartyID {
	if r.Party == "" {
		return r.Actor
	}
	return r.Party
}

// Facts are what the registers and the store know about the party and the
// relations between actor and party. The caller gathers them (Relations(actor,
// party) and, for a sub-delegated fullmakt, its ancestors); Decide does no I/O.
type Facts struct {
	// Person or Organization is the party; both nil when the party is unknown.
	Person       *delegation.Person
	Organization *delegation.Organization
	Relations    delegation.Relations
	// Chain holds the ancestors of sub-delegated fullmakter in Relations, by id.
	Chain map[string]delegation.Fullmakt
}

// RequestError reports a request Decide cannot answer: an unknown service, an
// action the service does not offer, an unknown acr value. Field names the part of
// the request: actor, party, service, action or acr.
type RequestError struct {
	Field string
	Msg   string
}

func (e *RequestError) Error() string { return "authz: " + e.Field + ": " + e.Msg }

// Is makes a RequestError match delegation.ErrInvalid.
func (e *RequestError) Is(target error) bool { return target == delegation.ErrInvalid }

// Relation names the relation a decision used.
type Relation struct {
	Kind delegation.RelationKind `json:"kind"`
	// ID is the fullmakt's or consent's id; empty for register relations.
	ID string `json:"id,omitempty"`
	// Role is the role in the organisation, for kind role.
	Role string `json:"role,omitempty"`
	// Depth is how many sub-delegations a fullmakt is from its grantor.
	Depth int `json:"depth,omitempty"`
}

// Reason is a machine-readable cause of a decision.
type Reason struct {
	// Code is the @reason of the deciding policy, or one of the codes below.
	Code string `json:"code"`
	// Relation is the kind of relation the reason concerns; empty when it
	// concerns the request as a whole.
	Relation delegation.RelationKind `json:"relation,omitempty"`
	// Policy is the id of the policy that gave the reason, when one did.
	Policy string `json:"policy,omitempty"`
	// Disclose marks a reason any client may see (@disclose("true")); others
	// are for the citizen and for clients allowed detailed reasons.
	Disclose bool `json:"-"`
}

// Reason codes that do not come from a policy.
const (
	ReasonPermitted    = "permitted"     // allow: a permit policy matched
	ReasonNoRelation   = "no_relation"   // deny: nothing links actor and party
	ReasonNotPermitted = "not_permitted" // deny: no permit policy matched for a relation
	ReasonPolicyError  = "policy_error"  // deny: a policy failed to evaluate
	ReasonUnknownParty = "unknown_party" // deny: the party is not in the registers
	ReasonStepUp       = "step_up"       // deny: a higher level of assurance would permit
)

// StepUp is what a higher authentication would permit: RFC 9470's acr_values and
// max_age.
type StepUp struct {
	// Relation is the relation that would permit after the step-up.
	Relation Relation
	Level    Level
	// ACR is the eIDAS acr value of Level.
	ACR string
	// MaxAge, when not zero, is the longest time since authentication a policy
	// accepts.
	MaxAge time.Duration
}

// PolicyError is a policy that failed to evaluate; the decision was denied.
type PolicyError struct {
	Policy  string
	File    string
	Line    int
	Message string
}

// Decision is the answer. A deny is a Decision, not an error.
type Decision struct {
	Allow bool
	// Relation is the relation that permitted; nil on deny.
	Relation *Relation
	// Policies are the ids of the policies that decided: the permits that matched
	// on allow, the forbids that matched on deny.
	Policies []string
	Reasons  []Reason
	// StepUp is set on deny when a higher level, or a fresher authentication,
	// would permit.
	StepUp *StepUp
	// Errors lists policies that failed to evaluate (the caller logs them).
	Errors []PolicyError
	// PackVersion is the version of the pack that decided.
	PackVersion string
}

// unknownAuthAge stands for "we do not know when the actor authenticated".
const unknownAuthAge = math.MaxInt32

// Decide answers req from facts. It returns an error only for a request it cannot
// answer (a *RequestError); the caller then fails closed.
func (p *Pack) Decide(req Request, facts Facts) (Decision, error) {
	d := Decision{PackVersion: p.Version}
	policies, err := p.policiesFor(req)
	if err != nil {
		return d, err
	}
	if req.Actor == "" {
		return d, &RequestError{"actor", "is empty"}
	}
	level, ok := p.acrs.Level(req.ACR)
	if !ok {
		return d, &RequestError{"acr", fmt.Sprintf("unknown acr value %q", req.ACR)}
	}
	age := int64(unknownAuthAge)
	if !req.AuthTime.IsZero() {
		age = int64(max(req.Now.Sub(req.AuthTime), 0) / time.Second)
	}
	ev := evaluation{pack: p, policies: policies, req: req, level: level, authAge: age}
	ev.base = p.baseContext(req, facts)
	cands := p.candidates(req, facts)
	if len(cands) == 0 {
		reason := ReasonNoRelation
		if facts.Person == nil && facts.Organization == nil {
			reason = ReasonUnknownParty
		}
		d.Reasons = []Reason{{Code: reason}}
		return d, nil
	}
	for i := range cands {
		c := &cands[i]
		dec, diag := ev.authorize(c, level, age)
		for _, e := range diag.Errors {
			pol, _ := p.Policy(string(e.PolicyID))
			d.Errors = append(d.Errors, PolicyError{Policy: pol.ID, File: pol.File, Line: pol.Line, Message: e.Message})
		}
		if len(diag.Errors) > 0 {
			continue
		}
		if dec == cedar.Allow {
			if len(d.Errors) > 0 {
				break // a policy failed for an earlier relation: fail closed
			}
			d.Allow = true
			d.Relation = &c.ref
			d.Policies = policyIDs(diag.Reasons)
			d.Reasons = []Reason{{Code: ReasonPermitted, Relation: c.ref.Kind, Policy: d.Policies[0], Disclose: true}}
			return d, nil
		}
		c.denied = diag.Reasons
		if len(diag.Reasons) == 0 {
			d.Reasons = append(d.Reasons, Reason{Code: ReasonNotPermitted, Relation: c.ref.Kind})
		}
		for _, r := range diag.Reasons {
			pol, _ := p.Policy(string(r.PolicyID))
			d.Policies = append(d.Policies, pol.ID)
			d.Reasons = append(d.Reasons, Reason{Code: pol.Reason, Relation: c.ref.Kind, Policy: pol.ID, Disclose: pol.Disclose})
		}
	}
	if len(d.Errors) > 0 {
		d.Policies, d.StepUp = nil, nil
		d.Reasons = []Reason{{Code: ReasonPolicyError}}
		return d, nil
	}
	slices.Sort(d.Policies)
	d.Policies = slices.Compact(d.Policies)
	if d.StepUp = ev.stepUp(cands, level, age); d.StepUp != nil {
		d.Reasons = append(d.Reasons, Reason{Code: ReasonStepUp, Disclose: true})
	}
	return d, nil
}

// policiesFor returns the indexed policies for the request's service and action.
func (p *Pack) policiesFor(req Request) (kindIndex, error) {
	byAction, ok := p.index[req.Service]
	if !ok {
		return nil, &RequestError{"service", fmt.Sprintf("unknown service %q", req.Service)}
	}
	list, ok := byAction[req.Action]
	if !ok {
		return nil, &RequestError{"action", fmt.Sprintf("service %q does not offer action %q", req.Service, req.Action)}
	}
	return list, nil
}

// stepUp finds the lowest level (and, if a policy demands it, the max_age) at
// which some denied relation would be permitted. It asks the policies themselves:
// a stepped-up authentication is fresh, so each higher level is tried with an
// authentication age of zero, and the actor's own level is tried fresh too.
func (ev *evaluation) stepUp(cands []candidate, current Level, age int64) *StepUp {
	var best *StepUp
	for i := range cands {
		c := &cands[i]
		for _, l := range levels {
			if l < current || best != nil && l >= best.Level {
				continue
			}
			if !ev.allows(c, l, 0) {
				continue
			}
			s := &StepUp{Relation: c.ref, Level: l, ACR: l.ACR()}
			switch {
			case l == current: // denied now, permitted fresh: only freshness is missing
				s.MaxAge = time.Duration(ev.maxAge(c, l, age)) * time.Second
			case !ev.allows(c, l, unknownAuthAge):
				s.MaxAge = time.Duration(ev.maxAge(c, l, unknownAuthAge)) * time.Second
			}
			best = s
			break
		}
	}
	return best
}

// maxAge returns the largest authentication age in [0, hi) the policies accept for
// the relation at level l (the caller knows age 0 is accepted). A decision can
// only change at the numbers policies compare auth_age with, so the largest
// accepted age is hi-1 or just below or at one of them; when a policy compares
// auth_age with something else, it is found by bisection instead, assuming that
// policies that demand recent authentication accept every age up to a limit.
func (ev *evaluation) maxAge(c *candidate, l Level, hi int64) int64 {
	if !ev.pack.ageOpaque {
		tries := []int64{hi - 1}
		for _, k := range slices.Backward(ev.pack.ageThresholds) {
			tries = append(tries, k, k-1)
		}
		for _, age := range tries {
			if age >= 0 && age < hi && ev.allows(c, l, age) {
				return age
			}
		}
		return 0
	}
	lo := int64(0) // allowed
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if ev.allows(c, l, mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

func policyIDs(rs []cedar.DiagnosticReason) []string {
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = string(r.PolicyID)
	}
	slices.Sort(ids)
	return ids
}

// IsRequestError reports whether err is a request Decide could not answer.
func IsRequestError(err error) (*RequestError, bool) {
	var re *RequestError
	ok := errors.As(err, &re)
	return re, ok
}
