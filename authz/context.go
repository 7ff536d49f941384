package authz

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	cedar "github.com/cedar-policy/cedar-go"

	"github.com/fullmakt/fullmakt/delegation"
)

// candidate is one relation between actor and party, ready to evaluate.
type candidate struct {
	ref      Relation
	order    int
	relation cedar.Record
	denied   []cedar.DiagnosticReason
}

// evaluation holds what is the same for every relation of one request.
type evaluation struct {
	pack     *Pack
	policies kindIndex
	req      Request
	level    Level // the actor's own level
	authAge  int64 // and authentication age
	base     baseContext

	actorRecord *cedar.Record // at level and authAge, once built
}

type baseContext struct {
	principal, action, resource cedar.EntityUID
	party                       cedar.Record
	now                         cedar.Datetime
}

func (p *Pack) baseContext(req Request, f Facts) baseContext {
	principalType := cedar.EntityType("Person")
	if req.Actor.Kind() == delegation.KindOrganization {
		principalType = "Organization"
	}
	return baseContext{
		principal: cedar.NewEntityUID(principalType, cedar.String(req.Actor)),
		action:    cedar.NewEntityUID("Action", cedar.String(req.Action)),
		resource:  serviceUID(req.Service),
		party:     p.partyRecord(f, delegation.Today(req.Now)),
		now:       cedar.NewDatetime(req.Now),
	}
}

// partyRecord describes the party. Parties come in few shapes (an age and three
// flags), so their records are cached like register relations'.
func (p *Pack) partyRecord(f Facts, today delegation.Date) cedar.Record {
	kind, age, deceased, confidential := "person", int64(-1), false, false
	switch {
	case f.Person != nil:
		age = int64(delegation.AgeOn(f.Person.BirthDate, today))
		deceased = !f.Person.DeathDate.IsZero() && !today.Before(f.Person.DeathDate)
		confidential = f.Person.ConfidentialAddress
	case f.Organization != nil:
		kind, age = "organization", 0
	}
	key := fmt.Sprintf("party\x00%s\x00%d\x00%t\x00%t", kind, age, deceased, confidential)
	return p.cachedRecord(key, func() cedar.Record {
		return cedar.NewRecord(cedar.RecordMap{
			"kind":                 cedar.String(kind),
			"age":                  cedar.Long(age),
			"deceased":             cedar.Boolean(deceased),
			"confidential_address": cedar.Boolean(confidential),
		})
	})
}

// authorize evaluates the indexed policies for one relation at a level and an
// authentication age.
func (ev *evaluation) authorize(c *candidate, l Level, authAge int64) (cedar.Decision, cedar.Diagnostic) {
	b := ev.base
	ctx := cedar.NewRecord(cedar.RecordMap{
		"relation": c.relation,
		"party":    b.party,
		"actor":    ev.actor(l, authAge),
		"action":   cedar.String(ev.req.Action),
		"service":  cedar.String(ev.req.Service),
		"now":      b.now,
	})
	return cedar.Authorize(ev.policies[c.ref.Kind], ev.pack.entities, cedar.Request{
		Principal: b.principal, Action: b.action, Resource: b.resource, Context: ctx,
	})
}

// actor returns the actor record at a level and age; the one for the actor's own
// level and age, used for every relation, is built once.
func (ev *evaluation) actor(l Level, authAge int64) cedar.Record {
	own := l == ev.level && authAge == ev.authAge
	if own && ev.actorRecord != nil {
		return *ev.actorRecord
	}
	acr := ev.req.ACR
	if l != ev.level {
		acr = l.ACR() // a step-up probe: the acr the actor would present
	}
	rec := cedar.NewRecord(cedar.RecordMap{
		"level":      cedar.Long(l),
		"level_name": cedar.String(l.String()),
		"acr":        cedar.String(acr),
		"auth_age":   cedar.Long(authAge),
	})
	if own {
		ev.actorRecord = &rec
	}
	return rec
}

// allows reports whether the relation is permitted at a level and age, with no
// policy failing.
func (ev *evaluation) allows(c *candidate, l Level, authAge int64) bool {
	dec, diag := ev.authorize(c, l, authAge)
	return dec == cedar.Allow && len(diag.Errors) == 0
}

// relationFields are the Relation record's fields; unused ones stay empty.
type relationFields struct {
	kind, status, custody, origin, role, provider, purpose string
	scope, actions                                         []string
	areas, services                                        []cedar.EntityUID
	depth                                                  int
	withinParent, maySubdelegate                           bool
}

func (r relationFields) record() cedar.Record {
	return cedar.NewRecord(cedar.RecordMap{
		"kind":            cedar.String(r.kind),
		"status":          cedar.String(r.status),
		"custody":         cedar.String(r.custody),
		"scope":           stringSet(r.scope),
		"areas":           cedar.NewSet(uidValues(r.areas)...),
		"services":        cedar.NewSet(uidValues(r.services)...),
		"actions":         stringSet(r.actions),
		"depth":           cedar.Long(r.depth),
		"within_parent":   cedar.Boolean(r.withinParent),
		"may_subdelegate": cedar.Boolean(r.maySubdelegate),
		"origin":          cedar.String(r.origin),
		"role":            cedar.String(r.role),
		"provider":        cedar.String(r.provider),
		"purpose":         cedar.String(r.purpose),
	})
}

func uidValues(uids []cedar.EntityUID) []cedar.Value {
	vs := make([]cedar.Value, len(uids))
	for i, u := range uids {
		vs[i] = u
	}
	return vs
}

// Evaluation order of relation kinds: the first that permits is the one used.
var kindOrder = map[delegation.RelationKind]int{
	delegation.RelSelf: 0, delegation.RelParent: 1, delegation.RelGuardian: 2,
	delegation.RelFullmakt: 3, delegation.RelRole: 4, delegation.RelConsent: 5,
}

// candidates lists every relation between the request's actor and party, in
// evaluation order. Records that do not link exactly these two are ignored.
func (p *Pack) candidates(req Request, f Facts) []candidate {
	actor, party := req.Actor, req.For()
	today := delegation.Today(req.Now)
	cat := p.Catalogue
	var out []candidate
	add := func(ref Relation, r relationFields) {
		r.kind = string(ref.Kind)
		out = append(out, candidate{ref: ref, order: kindOrder[ref.Kind]*1000 + ref.Depth, relation: p.relationRecord(r)})
	}
	if actor == party {
		add(Relation{Kind: delegation.RelSelf}, relationFields{status: "active", withinParent: true})
	}
	for _, pr := range f.Relations.Parental {
		if pr.Parent != actor || pr.Child != party {
			continue
		}
		status := "active"
		switch {
		case !pr.ValidFrom.IsZero() && today.Before(pr.ValidFrom):
			status = "pending"
		case !pr.ActiveOn(today):
			status = "ceased"
		}
		add(Relation{Kind: delegation.RelParent}, relationFields{status: status, custody: string(pr.Kind), withinParent: true})
	}
	for _, g := range f.Relations.Guardianships {
		if g.Guardian != actor || g.Ward != party {
			continue
		}
		add(Relation{Kind: delegation.RelGuardian}, relationFields{status: periodStatus(g.Period, today), scope: g.Scope, withinParent: true})
	}
	for _, fm := range f.Relations.Fullmakter {
		if fm.Proxy != actor || fm.Grantor != party {
			continue
		}
		r, depth := fullmaktFields(fm, f.Chain, today, cat)
		add(Relation{Kind: delegation.RelFullmakt, ID: fm.ID, Depth: depth}, r)
	}
	for _, ro := range f.Relations.Roles {
		if ro.Person != actor || ro.Organization != party {
			continue
		}
		add(Relation{Kind: delegation.RelRole, Role: ro.Role}, relationFields{status: "active", role: ro.Role, withinParent: true})
	}
	for _, c := range f.Relations.Consents {
		if c.Recipient != actor || c.Party != party {
			continue
		}
		status := string(c.Status)
		if c.Status == delegation.ConsentActive && !c.InForceOn(today) {
			status = "expired"
		}
		add(Relation{Kind: delegation.RelConsent, ID: c.ID}, relationFields{
			status: status, services: []cedar.EntityUID{serviceUID(c.DataSet)},
			provider: string(c.Provider), purpose: c.Purpose, withinParent: true,
		})
	}
	slices.SortStableFunc(out, func(a, b candidate) int { return cmp.Compare(a.order, b.order) })
	return out
}

// maxCachedRecords bounds the cache against a register with endless role names.
const maxCachedRecords = 4096

// relationRecord returns the Cedar record of a relation, from the pack's cache
// for register relations (self, parent, guardian, role), which come in few
// shapes; fullmakter and consents carry their own scopes and are built each time.
func (p *Pack) relationRecord(r relationFields) cedar.Record {
	switch delegation.RelationKind(r.kind) {
	case delegation.RelFullmakt, delegation.RelConsent:
		return r.record()
	}
	key := strings.Join([]string{r.kind, r.status, r.custody, r.role, strings.Join(r.scope, ",")}, "\x00")
	return p.cachedRecord(key, r.record)
}

// cachedRecord returns the record cached under key, building it the first time.
func (p *Pack) cachedRecord(key string, build func() cedar.Record) cedar.Record {
	if rec, ok := p.records.Load(key); ok {
		return rec.(cedar.Record)
	}
	rec := build()
	if p.recordCount.Add(1) <= maxCachedRecords {
		p.records.Store(key, rec)
	}
	return rec
}

func periodStatus(p delegation.Period, today delegation.Date) string {
	switch {
	case !p.From.IsZero() && today.Before(p.From):
		return "pending"
	case p.Ended(today):
		return "expired"
	}
	return "active"
}

// maxChain bounds a sub-delegation chain; a longer or cyclic one is not within
// its parent.
const maxChain = 16

// fullmaktFields describes a fullmakt, walking its chain of parents: the status is
// the first link's that is not active, and within_parent holds only when every
// link was allowed by its parent and is no wider in scope or period.
func fullmaktFields(fm delegation.Fullmakt, chain map[string]delegation.Fullmakt, today delegation.Date, cat *Catalogue) (relationFields, int) {
	r := relationFields{
		status: string(fm.StateOn(today)), origin: string(fm.Origin),
		actions: fm.Scope.Actions, maySubdelegate: fm.MaySubdelegate, withinParent: true,
	}
	for _, a := range fm.Scope.Areas {
		r.areas = append(r.areas, areaUID(a))
	}
	for _, s := range fm.Scope.Services {
		r.services = append(r.services, serviceUID(s))
	}
	child, depth := fm, 0
	for child.Parent != "" {
		parent, ok := chain[child.Parent]
		depth++
		if !ok || depth > maxChain {
			r.withinParent = false
			if r.status == string(delegation.StatusActive) {
				r.status = "unknown_parent"
			}
			break
		}
		if !parent.MaySubdelegate || parent.Proxy != child.DelegatedBy || parent.Grantor != child.Grantor ||
			!child.Scope.Within(cat, parent.Scope) || !child.Period.Within(parent.Period) {
			r.withinParent = false
		}
		if st := parent.StateOn(today); r.status == string(delegation.StatusActive) && st != delegation.StatusActive {
			r.status = string(st)
		}
		child = parent
	}
	r.depth = depth
	return r, depth
}
