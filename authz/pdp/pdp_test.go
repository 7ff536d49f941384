package pdp_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/authz/pdp"
	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/delegation/bolt"
)

const services = `{
  "areas": [{"id": "tax", "name": {"nb": "Skatt", "en": "Tax"}}],
  "actions": [{"id": "read", "name": {"nb": "Se", "en": "Read"}}],
  "services": [{"id": "skatt.melding", "name": {"nb": "Skattemelding", "en": "Tax return"}, "areas": ["tax"], "actions": ["read"], "provider": "974761076"}]
}`

const testPolicies = `
@id("self") permit (principal, action, resource) when { context.relation.kind == "self" };
@id("parent") permit (principal, action, resource)
when { context.relation.kind == "parent" && context.relation.status == "active" && context.party.age < 18 };
@id("fullmakt") permit (principal, action, resource)
when { context.relation.kind == "fullmakt" && context.relation.status == "active" && context.relation.within_parent &&
       (resource in context.relation.areas || resource in context.relation.services) };
@id("level") @reason("level_too_low") forbid (principal, action, resource) when { context.actor.level < 3 };
`

func loadPack(t *testing.T, extra string) *authz.Pack {
	t.Helper()
	schema, err := os.ReadFile("../../policies/schema.cedarschema")
	if err != nil {
		t.Fatal(err)
	}
	p, err := authz.Load(fstest.MapFS{
		authz.SchemaFile:    {Data: schema},
		authz.CatalogueFile: {Data: []byte(services)},
		"p.cedar":           {Data: []byte(testPolicies + extra)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func person(t *testing.T, birth delegation.Date, ind int) delegation.Person {
	t.Helper()
	for ; ind < 1000; ind++ {
		if id, ok := delegation.NorwegianPersonID(birth, ind, false, true); ok {
			return delegation.Person{ID: id, Name: "Test " + id.Masked(), BirthDate: birth}
		}
	}
	t.Fatal("no identity number")
	return delegation.Person{}
}

type world struct {
	store                                   *bolt.Store
	parent, child, grantor, proxy, subproxy delegation.Person
	root, sub                               delegation.Fullmakt
}

var now = time.Date(2026, 11, 23, 12, 0, 0, 0, delegation.Oslo())

func newWorld(t *testing.T) *world {
	t.Helper()
	store, err := bolt.Open(filepath.Join(t.TempDir(), "f.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	w := &world{
		store:    store,
		parent:   person(t, delegation.NewDate(1980, 1, 2), 100),
		child:    person(t, delegation.NewDate(2016, 5, 6), 500),
		grantor:  person(t, delegation.NewDate(1940, 3, 4), 200),
		proxy:    person(t, delegation.NewDate(1970, 7, 8), 300),
		subproxy: person(t, delegation.NewDate(1990, 9, 10), 400),
	}
	w.root = delegation.Fullmakt{ID: "fm-root", Grantor: w.grantor.ID, Proxy: w.proxy.ID, Status: delegation.StatusActive,
		Scope: delegation.Scope{Areas: []string{"tax"}}, MaySubdelegate: true, Origin: delegation.OriginPortal, CreatedAt: now.Add(-time.Hour)}
	w.sub = delegation.Fullmakt{ID: "fm-sub", Grantor: w.grantor.ID, Proxy: w.subproxy.ID, Status: delegation.StatusActive,
		Scope: delegation.Scope{Services: []string{"skatt.melding"}}, Parent: "fm-root", DelegatedBy: w.proxy.ID,
		Origin: delegation.OriginSubdelegation, CreatedAt: now.Add(-time.Minute)}
	ctx := context.Background()
	err = store.UpdateRegister(ctx, func(tx delegation.RegisterTx) error {
		for _, p := range []delegation.Person{w.parent, w.child, w.grantor, w.proxy, w.subproxy} {
			if err := tx.PutPerson(p); err != nil {
				return err
			}
		}
		return tx.PutParental(delegation.ParentalResponsibility{Parent: w.parent.ID, Child: w.child.ID, Kind: delegation.CustodyJoint})
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []delegation.Fullmakt{w.root, w.sub} {
		if err := store.CreateFullmakt(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

func read(actor, party delegation.PartyID) authz.Request {
	return authz.Request{Actor: actor, Party: party, Service: "skatt.melding", Action: "read", ACR: "idporten-loa-substantial", Now: now}
}

func TestDecideRecordsActingForOthers(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	p := pdp.New(w.store, loadPack(t, ""), pdp.Options{Access: w.store})
	for _, tt := range []struct {
		name string
		req  authz.Request
		want bool
	}{
		{"parent for child", read(w.parent.ID, w.child.ID), true},
		{"self", read(w.parent.ID, ""), true},
		{"stranger", read(w.proxy.ID, w.child.ID), false},
	} {
		d, err := p.Decide(ctx, tt.req, "agency-1")
		if err != nil {
			t.Fatal(err)
		}
		if d.Allow != tt.want {
			t.Errorf("%s: Decide().Allow = %v, want %v (%v)", tt.name, d.Allow, tt.want, d.Reasons)
		}
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	events, err := w.store.AccessTo(ctx, w.child.ID, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 2 {
		t.Fatalf("AccessTo(child) = %d events, want 2 (parent allowed, stranger denied)", len(events))
	}
	stranger, parent := events[0], events[1] // newest first
	if !parent.Allowed || parent.Actor != w.parent.ID || parent.Relation != delegation.RelParent || parent.Client != "agency-1" || parent.PolicyVersion == "" {
		t.Errorf("parent's event = %+v, want allowed by relation parent for client agency-1 with a policy version", parent)
	}
	if stranger.Allowed || stranger.Actor != w.proxy.ID {
		t.Errorf("stranger's event = %+v, want denied", stranger)
	}
	if self, err := w.store.AccessTo(ctx, w.parent.ID, 0, 10); err != nil || len(self) != 0 {
		t.Errorf("AccessTo(parent) = %d events, %v; want none: acting for oneself is not recorded", len(self), err)
	}
}

func TestDecideFollowsSubdelegationChainInStore(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	p := pdp.New(w.store, loadPack(t, ""), pdp.Options{})
	d, err := p.Decide(ctx, read(w.subproxy.ID, w.grantor.ID), "")
	if err != nil {
		t.Fatal(err)
	}
	if !d.Allow || d.Relation.ID != "fm-sub" || d.Relation.Depth != 1 {
		t.Fatalf("Decide(sub-proxy) = %v via %+v, want allowed via fm-sub at depth 1 (%v)", d.Allow, d.Relation, d.Reasons)
	}
	// Revoking the root a moment ago ends the sub-delegation at once: no cache.
	if _, err := w.store.EndFullmakt(ctx, delegation.EndFullmakt{ID: "fm-root", Status: delegation.StatusRevoked, By: w.grantor.ID, At: now.Add(-time.Second)}); err != nil {
		t.Fatal(err)
	}
	d, err = p.Decide(ctx, read(w.subproxy.ID, w.grantor.ID), "")
	if err != nil {
		t.Fatal(err)
	}
	if d.Allow {
		t.Errorf("Decide(sub-proxy) after the root was revoked = allow, want deny")
	}
}

func TestParties(t *testing.T) {
	w := newWorld(t)
	p := pdp.New(w.store, loadPack(t, ""), pdp.Options{})
	for _, tt := range []struct {
		name  string
		actor delegation.PartyID
		want  []delegation.PartyID
	}{
		{"parent: self and child", w.parent.ID, []delegation.PartyID{w.parent.ID, w.child.ID}},
		{"sub-proxy: self and grantor", w.subproxy.ID, []delegation.PartyID{w.subproxy.ID, w.grantor.ID}},
		{"child: only self", w.child.ID, []delegation.PartyID{w.child.ID}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.Parties(context.Background(), read(tt.actor, ""))
			if err != nil {
				t.Fatal(err)
			}
			var ids []delegation.PartyID
			for _, g := range got {
				ids = append(ids, g.ID)
			}
			if len(ids) != len(tt.want) {
				t.Fatalf("Parties() = %v, want %v", ids, tt.want)
			}
			for i := range ids {
				if ids[i] != tt.want[i] {
					t.Errorf("Parties()[%d] = %v, want %v", i, ids[i], tt.want[i])
				}
			}
		})
	}
}

func TestSetPackSwapsAtomically(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	first := loadPack(t, "")
	p := pdp.New(w.store, first, pdp.Options{})
	second := loadPack(t, `@id("closed") @reason("closed") forbid (principal, action, resource);`)
	p.SetPack(second)
	d, err := p.Decide(ctx, read(w.parent.ID, w.child.ID), "")
	if err != nil {
		t.Fatal(err)
	}
	if d.Allow || d.PackVersion != second.Version || d.PackVersion == first.Version {
		t.Errorf("Decide() after SetPack = allow %v with version %s, want deny with %s", d.Allow, d.PackVersion, second.Version)
	}
}

func TestUnknownParty(t *testing.T) {
	w := newWorld(t)
	p := pdp.New(w.store, loadPack(t, ""), pdp.Options{})
	nobody := person(t, delegation.NewDate(2001, 1, 1), 600)
	d, err := p.Decide(context.Background(), read(w.parent.ID, nobody.ID), "")
	if err != nil {
		t.Fatal(err)
	}
	if d.Allow || len(d.Reasons) != 1 || d.Reasons[0].Code != authz.ReasonUnknownParty {
		t.Errorf("Decide(unknown party) = %v %v, want deny with %s", d.Allow, d.Reasons, authz.ReasonUnknownParty)
	}
}

// TestFailingPolicyIsLogged: a policy that fails denies, and the log names it
// (never the parties).
func TestFailingPolicyIsLogged(t *testing.T) {
	w := newWorld(t)
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	p := pdp.New(w.store, loadPack(t, `@id("overflows") forbid (principal, action, resource) when { context.actor.level * 9223372036854775807 == 1 };`), pdp.Options{Log: log})
	d, err := p.Decide(context.Background(), read(w.parent.ID, w.child.ID), "")
	if err != nil {
		t.Fatal(err)
	}
	if d.Allow {
		t.Error("Decide() allowed although a policy failed")
	}
	out := buf.String()
	if !strings.Contains(out, "policy failed to evaluate; decision denied") || !strings.Contains(out, "policy=overflows") || !strings.Contains(out, "line=") {
		t.Errorf("log = %q, want the failing policy named with its line", out)
	}
	if strings.Contains(out, string(w.parent.ID)) || strings.Contains(out, string(w.child.ID)) {
		t.Errorf("log = %q names an identity number", out)
	}
}
