// Package pdp is the policy decision point: it gathers the facts a decision needs
// from the store, asks the current policy pack (authz), records every decision
// where actor and party differ in the decision log, and logs policies that fail.
// The pack can be swapped at any time (hot reload); a decision uses the pack that
// was current when it began.
package pdp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/delegation"
)

// Store is what the decision point reads. delegation.Store satisfies it.
type Store interface {
	Person(ctx context.Context, id delegation.PartyID) (delegation.Person, error)
	Organization(ctx context.Context, id delegation.PartyID) (delegation.Organization, error)
	Relations(ctx context.Context, actor, party delegation.PartyID) (delegation.Relations, error)
	Represented(ctx context.Context, actor delegation.PartyID) ([]delegation.PartyRelations, error)
	Fullmakt(ctx context.Context, id string) (delegation.Fullmakt, error)
}

// Options configures a PDP. The zero value is usable: no decision log, the
// default logger, the system clock.
type Options struct {
	Log    *slog.Logger
	Access AccessLog // nil: decisions are not recorded
	Now    func() time.Time
	// QueueSize bounds the decision-log events waiting to be written (default
	// 8192); when it is full, decisions wait for the writer.
	QueueSize int
	// Observe, when set, is called after every decision with the time it took
	// (metrics).
	Observe func(d authz.Decision, elapsed time.Duration)
}

// PDP is the policy decision point. It is safe for concurrent use.
type PDP struct {
	store   Store
	pack    atomic.Pointer[authz.Pack]
	log     *slog.Logger
	now     func() time.Time
	access  *accessWriter
	observe func(authz.Decision, time.Duration)
}

// New returns a decision point over store, deciding with pack. Call Close to
// flush the decision log.
func New(store Store, pack *authz.Pack, o Options) *PDP {
	p := &PDP{store: store, log: o.Log, now: o.Now, observe: o.Observe}
	if p.log == nil {
		p.log = slog.Default()
	}
	if p.now == nil {
		p.now = time.Now
	}
	if o.Access != nil {
		p.access = newAccessWriter(o.Access, o.QueueSize, p.log)
	}
	p.pack.Store(pack)
	return p
}

// Pack returns the pack in use.
func (p *PDP) Pack() *authz.Pack { return p.pack.Load() }

// SetPack swaps the pack in; decisions already under way finish with the old one.
func (p *PDP) SetPack(pack *authz.Pack) { p.pack.Store(pack) }

// Close writes the decision-log events still queued and stops the writer.
func (p *PDP) Close(ctx context.Context) error {
	if p.access == nil {
		return nil
	}
	return p.access.close(ctx)
}

// Decide answers req for the calling client. A zero req.Now is the PDP's clock.
// The error is an *authz.RequestError for a request that cannot be answered, or a
// store failure; the caller then fails closed.
func (p *PDP) Decide(ctx context.Context, req authz.Request, client string) (authz.Decision, error) {
	return p.decide(ctx, req, client, true)
}

// DecideUnrecorded is Decide without the decision log, for questions that act for
// nobody: which services or actions a grant unlocks, what a policy change flips.
func (p *PDP) DecideUnrecorded(ctx context.Context, req authz.Request) (authz.Decision, error) {
	return p.decide(ctx, req, "", false)
}

func (p *PDP) decide(ctx context.Context, req authz.Request, client string, record bool) (authz.Decision, error) {
	start := time.Now()
	if req.Now.IsZero() {
		req.Now = p.now()
	}
	pack := p.Pack()
	facts, err := p.facts(ctx, req.Actor, req.For(), nil)
	if err != nil {
		return authz.Decision{PackVersion: pack.Version}, err
	}
	d, err := pack.Decide(req, facts)
	if err != nil {
		return d, err
	}
	p.logErrors(ctx, d)
	if record && req.For() != req.Actor {
		p.record(ctx, req, d, client)
	}
	if p.observe != nil {
		p.observe(d, time.Since(start))
	}
	return d, nil
}

// Queued returns the number of decision-log events waiting to be written.
func (p *PDP) Queued() int {
	if p.access == nil {
		return 0
	}
	return len(p.access.queue)
}

// facts gathers the party and the relations between actor and party; rel, when
// not nil, are those relations already read.
func (p *PDP) facts(ctx context.Context, actor, party delegation.PartyID, rel *delegation.Relations) (authz.Facts, error) {
	var f authz.Facts
	switch party.Kind() {
	case delegation.KindOrganization:
		o, err := p.store.Organization(ctx, party)
		if err == nil {
			f.Organization = &o
		} else if !errors.Is(err, delegation.ErrNotFound) {
			return f, fmt.Errorf("pdp: organisation: %w", err)
		}
	case delegation.KindPerson:
		per, err := p.store.Person(ctx, party)
		if err == nil {
			f.Person = &per
		} else if !errors.Is(err, delegation.ErrNotFound) {
			return f, fmt.Errorf("pdp: person: %w", err)
		}
	}
	switch {
	case rel != nil:
		f.Relations = *rel
	case actor != party:
		r, err := p.store.Relations(ctx, actor, party)
		if err != nil {
			return f, fmt.Errorf("pdp: relations: %w", err)
		}
		f.Relations = r
	}
	for _, fm := range f.Relations.Fullmakter {
		for id, n := fm.Parent, 0; id != "" && n < 32; n++ {
			if _, seen := f.Chain[id]; seen {
				break
			}
			parent, err := p.store.Fullmakt(ctx, id)
			if errors.Is(err, delegation.ErrNotFound) {
				break // authz reports the broken chain
			}
			if err != nil {
				return f, fmt.Errorf("pdp: fullmakt chain: %w", err)
			}
			if f.Chain == nil {
				f.Chain = map[string]delegation.Fullmakt{}
			}
			f.Chain[id] = parent
			id = parent.Parent
		}
	}
	return f, nil
}

// logErrors logs every policy that failed; the decision was denied.
func (p *PDP) logErrors(ctx context.Context, d authz.Decision) {
	for _, e := range d.Errors {
		p.log.LogAttrs(ctx, slog.LevelError, "policy failed to evaluate; decision denied",
			slog.String("policy", e.Policy), slog.String("file", e.File), slog.Int("line", e.Line),
			slog.String("error", e.Message), slog.String("pack", d.PackVersion))
	}
}

func (p *PDP) record(ctx context.Context, req authz.Request, d authz.Decision, client string) {
	if p.access == nil {
		return
	}
	ev := delegation.AccessEvent{
		At: req.Now, Actor: req.Actor, Party: req.For(), Service: req.Service, Action: req.Action,
		Allowed: d.Allow, PolicyVersion: d.PackVersion, Client: client,
	}
	if d.Relation != nil {
		ev.Relation, ev.RelationID = d.Relation.Kind, d.Relation.ID
	}
	p.access.add(ctx, ev)
}

// Party is a party the actor may act for, with the decision for it.
type Party struct {
	ID           delegation.PartyID
	Person       *delegation.Person
	Organization *delegation.Organization
	Decision     authz.Decision
}

// Parties answers "for which parties may the actor do req.Action in
// req.Service?": the actor themself and every party the actor has a relation to,
// keeping those permitted now or after a step-up, ordered by party id with the
// actor first. req.Party is ignored. Searches are not recorded in the decision
// log: they act for nobody.
func (p *PDP) Parties(ctx context.Context, req authz.Request) ([]Party, error) {
	if req.Now.IsZero() {
		req.Now = p.now()
	}
	pack := p.Pack()
	represented, err := p.store.Represented(ctx, req.Actor)
	if err != nil {
		return nil, fmt.Errorf("pdp: represented: %w", err)
	}
	self := delegation.PartyRelations{Party: req.Actor}
	var out []Party
	for _, pr := range append([]delegation.PartyRelations{self}, represented...) {
		if pr.Party == req.Actor && len(out) > 0 {
			continue
		}
		facts, err := p.facts(ctx, req.Actor, pr.Party, &pr.Relations)
		if err != nil {
			return nil, err
		}
		r := req
		r.Party = pr.Party
		d, err := pack.Decide(r, facts)
		if err != nil {
			return nil, err
		}
		p.logErrors(ctx, d)
		if d.Allow || d.StepUp != nil {
			out = append(out, Party{ID: pr.Party, Person: facts.Person, Organization: facts.Organization, Decision: d})
		}
	}
	return out, nil
}
