package portal

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/idp/grants"
)

// Drafts: what a person is writing in the wizard (a fullmakt to give, a request
// to send), or an approval waiting for its step-up. A draft is a record of kind
// grants.Draft, keyed by a hash of a random id that travels in the URL
// (/draft/{id}/…); it lives DraftLifetime from its last change. A draft is its
// writer's alone: anyone else, like a visitor with an unknown or expired id, gets
// the page that says it has expired.
//
// A confirmation is good once. Using a draft marks it used (grants.Use, a
// compare-and-set) in the same transaction that stores where its result is (the
// fullmakt or request it made), so a replayed confirmation, a double click or
// the back button finds the result and never makes a second one. Every save of
// a draft is a Use and a Put in one transaction, so a page still open in another
// tab cannot bring a used draft back to life.

// draftKind is what a draft is for.
type draftKind string

const (
	draftGive    draftKind = "give"    // giving a fullmakt: confirmed with a step-up to level high
	draftAsk     draftKind = "ask"     // asking someone for a fullmakt: sent as a request
	draftApprove draftKind = "approve" // approving a request: confirmed like giving
)

// draft is what the wizard has gathered so far.
type draft struct {
	// Person is whose draft it is: the visitor who started it.
	Person delegation.PartyID `json:"person"`
	Kind   draftKind          `json:"kind"`
	// Other is the proxy when giving or approving, the grantor when asking.
	Other          delegation.PartyID `json:"other,omitempty"`
	Scope          delegation.Scope   `json:"scope,omitzero"`
	MaySubdelegate bool               `json:"may_subdelegate,omitempty"`
	// Period is set by the period step (From is never zero after it); To is zero
	// when OpenEnded.
	Period    delegation.Period `json:"period,omitzero"`
	OpenEnded bool              `json:"open_ended,omitempty"`
	// Message is the requester's message (asking only).
	Message string `json:"message,omitempty"`
	// Request is the request being approved (approving only).
	Request string `json:"request,omitempty"`
	// Confirming is when the person pressed confirm: the step-up must have
	// happened at or after it.
	Confirming time.Time `json:"confirming,omitzero"`
	Created    time.Time `json:"created"`
}

// grantor is whoever gives the fullmakt the draft is about.
func (d draft) grantor() delegation.PartyID {
	if d.Kind == draftAsk {
		return d.Other
	}
	return d.Person
}

// proxy is whoever receives it.
func (d draft) proxy() delegation.PartyID {
	if d.Kind == draftAsk {
		return d.Person
	}
	return d.Other
}

// scopeDone and periodDone report whether the steps were answered.
func (d draft) scopeDone() bool  { return len(d.Scope.Areas)+len(d.Scope.Services) > 0 }
func (d draft) periodDone() bool { return !d.Period.From.IsZero() }

// openDraft is a draft read from the store, with its id.
type openDraft struct {
	id string
	draft
}

// key is the draft's store key; doneKey the key of the record that says where
// its result is, once it was used.
func (o openDraft) key() string     { return hashKey(o.id) }
func (o openDraft) doneKey() string { return hashKey("portal draft done\x00" + o.id) }

// draftDone is the record of a used draft: the page of what it made.
type draftDone struct {
	Path string `json:"path"`
}

// record is the draft as the store keeps it, living DraftLifetime from now.
func (p *page) record(o openDraft) (grants.Record, error) {
	data, err := json.Marshal(o.draft)
	if err != nil {
		return grants.Record{}, errf("encode a draft: %w", err)
	}
	return grants.Record{Kind: grants.Draft, Key: o.key(), ExpiresAt: p.now.Add(p.s.cfg.DraftLifetime), Data: data}, nil
}

// newDraft stores d as a new draft and returns its id.
func (p *page) newDraft(d draft) (openDraft, error) {
	d.Person, d.Created = p.v.Person, p.now.UTC()
	o := openDraft{id: randomID(), draft: d}
	rec, err := p.record(o)
	if err != nil {
		return openDraft{}, err
	}
	if err := p.s.drafts.ApplyGrants(p.r.Context(), grants.Put(rec)); err != nil {
		return openDraft{}, errf("store a draft: %w", err)
	}
	return o, nil
}

// saveDraft stores the changed draft, as long as it has not been used (see the
// comment at the top). It fails with grants.ErrInactive or grants.ErrNotFound
// when the draft was used or collected meanwhile.
func (p *page) saveDraft(o openDraft) error {
	rec, err := p.record(o)
	if err != nil {
		return err
	}
	if err := p.s.drafts.ApplyGrants(p.r.Context(), grants.Use(grants.Draft, o.key()), grants.Put(rec)); err != nil {
		return errf("save a draft: %w", err)
	}
	return nil
}

// useDraft marks the draft used and records that its result is at path: of
// concurrent calls exactly one succeeds, the others get grants.ErrInactive.
func (p *page) useDraft(o openDraft, path string) error {
	data, err := json.Marshal(draftDone{Path: path})
	if err != nil {
		return errf("encode a draft's result: %w", err)
	}
	done := grants.Record{Kind: grants.Draft, Key: o.doneKey(), ExpiresAt: p.now.Add(p.s.cfg.DraftLifetime), Data: data}
	if err := p.s.drafts.ApplyGrants(p.r.Context(), grants.Use(grants.Draft, o.key()), grants.Put(done)); err != nil {
		return errf("use a draft: %w", err)
	}
	return nil
}

// restoreDraft undoes useDraft when what the draft was for could not be
// stored, so the person can try again.
func (p *page) restoreDraft(o openDraft) {
	rec, err := p.record(o)
	if err == nil {
		err = p.s.drafts.ApplyGrants(p.r.Context(), grants.Put(rec), grants.Delete(grants.Draft, o.doneKey()))
	}
	if err != nil {
		p.logError("restore a draft", err)
	}
}

// draftState is what loadDraft found.
type draftState int

const (
	draftOpen draftState = iota // the visitor's, still being written
	draftUsed                   // the visitor's, already confirmed or sent
	draftGone                   // unknown, expired or someone else's
)

// loadDraft reads the draft with id. A draft that is not the visitor's is
// draftGone, exactly like an unknown one, with no kind.
func (p *page) loadDraft(id string) (openDraft, draftState, error) {
	if id == "" {
		return openDraft{}, draftGone, nil
	}
	o := openDraft{id: id}
	rec, err := p.s.drafts.Grant(p.r.Context(), grants.Draft, o.key())
	used := errors.Is(err, grants.ErrInactive)
	switch {
	case errors.Is(err, grants.ErrNotFound):
		return openDraft{}, draftGone, nil
	case err != nil && !used:
		return openDraft{}, draftGone, errf("read a draft: %w", err)
	}
	if err := json.Unmarshal(rec.Data, &o.draft); err != nil {
		return openDraft{}, draftGone, errf("decode a draft: %w", err)
	}
	switch {
	case o.Person != p.v.Person:
		return openDraft{}, draftGone, nil
	case used:
		return o, draftUsed, nil
	case !rec.ExpiresAt.IsZero() && !p.now.Before(rec.ExpiresAt):
		return openDraft{id: id, draft: draft{Kind: o.Kind}}, draftGone, nil
	}
	return o, draftOpen, nil
}

// openDraft returns the visitor's draft with id, still being written.
// Otherwise it has answered the request and returns false: a used draft goes
// to what it made, and a missing, expired or foreign one is the expired page.
func (p *page) openDraft(id string) (openDraft, bool) {
	o, st, err := p.loadDraft(id)
	switch {
	case err != nil:
		p.fail("open a draft", err)
		return openDraft{}, false
	case st == draftUsed:
		p.toResult(o)
		return openDraft{}, false
	case st == draftGone:
		p.draftGone(o.Kind)
		return openDraft{}, false
	}
	return o, true
}

// toResult sends the browser to what a used draft made; if that is not known
// (the result record was collected), it says the draft was already used.
func (p *page) toResult(o openDraft) {
	rec, err := p.s.drafts.Grant(p.r.Context(), grants.Draft, o.doneKey())
	var done draftDone
	if err == nil {
		err = json.Unmarshal(rec.Data, &done)
	}
	if err != nil || done.Path == "" {
		if err != nil && !errors.Is(err, grants.ErrNotFound) {
			p.logError("read a draft's result", err)
		}
		p.errorPage(http.StatusConflict, "portal.draft.used")
		return
	}
	p.redirect(done.Path)
}

// draftGoneData is the data of draft_gone.html.
type draftGoneData struct {
	// Kind is the kind of the visitor's own expired draft, to offer starting
	// that again; empty when unknown (both are offered).
	Kind draftKind
}

// draftGone shows the page for a draft that has expired or is not found.
func (p *page) draftGone(k draftKind) {
	if k == draftApprove {
		k = "" // an approval is started again from the request, found on the overview
	}
	p.render(http.StatusNotFound, "draft_gone.html", secNone, draftGoneData{Kind: k})
}

// saveOrGone saves a changed draft and reports whether it did; when the draft
// was used or expired meanwhile it has shown the matching page.
func (p *page) saveOrGone(o openDraft) bool {
	err := p.saveDraft(o)
	switch {
	case err == nil:
		return true
	case errors.Is(err, grants.ErrInactive):
		p.toResult(o)
	case errors.Is(err, grants.ErrNotFound):
		p.draftGone(o.Kind)
	default:
		p.fail("save a draft", err)
	}
	return false
}

// draftPath is the path of a step of a draft.
func draftPath(id, step string) string { return "/draft/" + id + "/" + step }
