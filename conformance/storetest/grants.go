package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fullmakt/fullmakt/idp/grants"
)

// newGrantsFunc returns a new, empty grants store; the caller of RunGrants closes it.
type newGrantsFunc = func(t *testing.T) grants.Store

// RunGrants runs the suite of the OAuth server's storage port, grants.Store, against
// the stores newStore returns. newStore must return a new, empty store each time it
// is called and register its closing with t.Cleanup; every subtest gets its own
// store. The atomic operations (Use, UseJTI, Secret) are raced from many goroutines
// at once: run the suite with -race.
//
// It is written only against the port: a backend passes it by behaving as
// idp/grants documents, whatever its buckets or tables look like.
func RunGrants(t *testing.T, newStore func(t *testing.T) grants.Store) {
	for _, tt := range []struct {
		name string
		test func(*testing.T, newGrantsFunc)
	}{
		{"records", testGrantRecords},
		{"use", testGrantUse},
		{"apply", testGrantApply},
		{"whole grants", testWholeGrants},
		{"code redeemed twice", testCodeRedeemedTwice},
		{"concurrency", testGrantConcurrency},
		{"jti", testJTI},
		{"signing keys", testSigningKeys},
		{"secrets", testSecrets},
		{"collect", testCollectGrants},
	} {
		t.Run(tt.name, func(t *testing.T) { tt.test(t, newStore) })
	}
}

// grantFixture holds one grants store. Its methods call t.Fatal, so use them from
// the test's own goroutine only.
type grantFixture struct {
	t   *testing.T
	ctx context.Context
	s   grants.Store
	// now is the suite's clock, in a zone that is not UTC: a backend must keep
	// instants, not wall clocks. The suite's instants differ by a millisecond or
	// more, so a backend may keep microseconds only.
	now  time.Time
	data int // data payloads handed out
}

// sub returns the fixture for the subtest t of f's test: the same store.
func (f *grantFixture) sub(t *testing.T) *grantFixture {
	c := *f
	c.t, c.ctx = t, t.Context()
	return &c
}

func newGrantFixture(t *testing.T, newStore newGrantsFunc) *grantFixture {
	t.Helper()
	cet := time.FixedZone("CET", 60*60)
	return &grantFixture{t: t, ctx: t.Context(), s: newStore(t), now: time.Date(2025, time.March, 14, 0, 30, 15, 250_000_000, cet)}
}

// allKinds are the kinds of record of the port.
var allKinds = []grants.Kind{grants.Code, grants.PKCE, grants.OIDC, grants.Access, grants.Refresh, grants.PAR, grants.Login, grants.Session, grants.Flow, grants.Ceremony, grants.Draft}

// payload returns data no other payload of the fixture equals, about the size of a
// serialized request, with bytes of every value (a backend must not treat it as
// text).
func (f *grantFixture) payload() []byte {
	f.data++
	b := make([]byte, 0, 600)
	b = fmt.Appendf(b, "request %d:", f.data)
	for i := 0; len(b) < 600; i++ {
		b = append(b, byte(i*7+f.data))
	}
	return b
}

// record returns an active record of kind k with key in the grant requestID,
// expiring an hour from now. It is not stored.
func (f *grantFixture) record(k grants.Kind, key, requestID string) grants.Record {
	return grants.Record{Kind: k, Key: key, RequestID: requestID, ExpiresAt: f.now.Add(time.Hour), Active: true, Data: f.payload()}
}

// apply runs ops in one ApplyGrants that must succeed.
func (f *grantFixture) apply(ops ...grants.Op) {
	f.t.Helper()
	if err := f.s.ApplyGrants(f.ctx, ops...); err != nil {
		f.t.Fatalf("ApplyGrants(%s): %v", describeOps(ops), err)
	}
}

// put stores records, each in an ApplyGrants of its own.
func (f *grantFixture) put(records ...grants.Record) {
	f.t.Helper()
	for _, r := range records {
		f.apply(grants.Put(r))
	}
}

// want fails the test unless Grant(r.Kind, r.Key) returns r, and with ErrInactive
// exactly when r is inactive.
func (f *grantFixture) want(r grants.Record) {
	f.t.Helper()
	got, err := f.s.Grant(f.ctx, r.Kind, r.Key)
	switch {
	case r.Active && err != nil:
		f.t.Errorf("Grant(%s, %q): %v, want the active record", r.Kind, r.Key, err)
		return
	case !r.Active && !errors.Is(err, grants.ErrInactive):
		f.t.Errorf("Grant(%s, %q): err = %v, want %v with the record", r.Kind, r.Key, err, grants.ErrInactive)
		return
	}
	if d := diffRecord(r, got); d != "" {
		f.t.Errorf("Grant(%s, %q) mismatch (-want +got):\n%s", r.Kind, r.Key, d)
	}
}

// gone fails the test unless Grant(k, key) fails with ErrNotFound.
func (f *grantFixture) gone(k grants.Kind, key string) {
	f.t.Helper()
	if got, err := f.s.Grant(f.ctx, k, key); !errors.Is(err, grants.ErrNotFound) {
		f.t.Errorf("Grant(%s, %q) = record of grant %q, %v, want %v", k, key, got.RequestID, err, grants.ErrNotFound)
	}
}

// inactive returns r as Use or DeactivateGrant leaves it.
func inactive(r grants.Record) grants.Record {
	r.Active = false
	return r
}

// diffRecord compares records as the port promises them: instants equal (in any
// zone), empty data equal to nil data. The data is compared apart, as bytes: cmp
// would walk it byte by byte, slowly.
func diffRecord(want, got grants.Record) string {
	var d string
	if !bytes.Equal(want.Data, got.Data) {
		d = fmt.Sprintf("  Data: got %d bytes %.40q…, want %d bytes %.40q…\n", len(got.Data), got.Data, len(want.Data), want.Data)
	}
	want.Data, got.Data = nil, nil
	return cmp.Diff(want, got) + d
}

func describeOps(ops []grants.Op) string {
	parts := make([]string, len(ops))
	for i, op := range ops {
		switch op.Verb {
		case grants.VerbPut:
			parts[i] = fmt.Sprintf("Put(%s %q)", op.Kind, op.Record.Key)
		case grants.VerbDelete:
			parts[i] = fmt.Sprintf("Delete(%s %q)", op.Kind, op.Key)
		case grants.VerbUse:
			parts[i] = fmt.Sprintf("Use(%s %q)", op.Kind, op.Key)
		case grants.VerbDeleteGrant:
			parts[i] = fmt.Sprintf("DeleteGrant(%s %q)", op.Kind, op.RequestID)
		case grants.VerbDeactivateGrant:
			parts[i] = fmt.Sprintf("DeactivateGrant(%s %q)", op.Kind, op.RequestID)
		default:
			parts[i] = fmt.Sprintf("Op{Verb: %d, Kind: %s}", op.Verb, op.Kind)
		}
	}
	return strings.Join(parts, ", ")
}

// testGrantRecords: every kind of record is stored and read back whole, each kind
// in its own key space, keys and request ids being opaque strings.
func testGrantRecords(t *testing.T, newStore newGrantsFunc) {
	t.Run("put and get every kind", func(t *testing.T) {
		f := newGrantFixture(t, newStore)
		// One key in every kind: each kind is its own key space.
		var records []grants.Record
		for _, k := range allKinds {
			requestID := "req-1"
			if k == grants.PAR || k == grants.Login {
				requestID = ""
			}
			records = append(records, f.record(k, "same-key", requestID))
		}
		f.put(records...)
		for _, r := range records {
			f.want(r)
		}
	})

	t.Run("missing", func(t *testing.T) {
		f := newGrantFixture(t, newStore)
		f.put(f.record(grants.Access, "there", "req-1"))
		f.gone(grants.Access, "not-there")
		f.gone(grants.Refresh, "there") // another kind
		f.gone(grants.Access, "ther")   // a prefix of a key
		f.gone(grants.Access, "there-") // a key it is a prefix of
	})

	t.Run("without data or expiry", func(t *testing.T) {
		f := newGrantFixture(t, newStore)
		r := grants.Record{Kind: grants.Login, Key: "login-1", Active: true}
		f.put(r)
		f.want(r)
	})

	t.Run("put stores an active record", func(t *testing.T) {
		f := newGrantFixture(t, newStore)
		r := f.record(grants.Code, "code-1", "req-1")
		f.put(inactive(r))
		f.want(r)
	})

	t.Run("put replaces and reactivates", func(t *testing.T) {
		f := newGrantFixture(t, newStore)
		old := f.record(grants.Refresh, "rt-1", "req-old")
		f.put(old)
		f.apply(grants.Use(grants.Refresh, old.Key))
		replaced := f.record(grants.Refresh, old.Key, "req-new")
		replaced.ExpiresAt = f.now.Add(48 * time.Hour)
		f.put(replaced)
		f.want(replaced)
		// The record left the old grant and joined the new one.
		f.apply(grants.DeleteGrant(grants.Refresh, "req-old"))
		f.want(replaced)
		f.apply(grants.DeleteGrant(grants.Refresh, "req-new"))
		f.gone(grants.Refresh, old.Key)
	})

	t.Run("data is copied", func(t *testing.T) {
		f := newGrantFixture(t, newStore)
		r := f.record(grants.Access, "at-1", "req-1")
		data := bytes.Clone(r.Data)
		f.put(r)
		clear(r.Data) // the caller reuses its buffer
		r.Data = data
		got, err := f.s.Grant(f.ctx, grants.Access, r.Key)
		if err != nil {
			t.Fatalf("Grant: %v", err)
		}
		clear(got.Data) // the caller scribbles on what it got
		f.want(r)
	})

	t.Run("opaque keys and request ids", func(t *testing.T) {
		f := newGrantFixture(t, newStore)
		// Keys that share prefixes, hold separators or are long; request ids that
		// are prefixes of one another. (Text: a backend may keep keys in text
		// columns.)
		keys := []string{"a", "a ", "a b", "ab", "a/b", "a|b", "a:b", "æøå", strings.Repeat("k", 2000)}
		requestIDs := []string{"r", "r ", "r1", "r 1", "r|1"}
		var records []grants.Record
		for i, key := range keys {
			records = append(records, f.record(grants.Access, key, requestIDs[i%len(requestIDs)]))
		}
		f.put(records...)
		for _, r := range records {
			f.want(r)
		}
		// Deleting each grant in turn takes exactly its own records.
		for _, requestID := range requestIDs {
			f.apply(grants.DeleteGrant(grants.Access, requestID))
			var remaining []grants.Record
			for _, r := range records {
				if r.RequestID == requestID {
					f.gone(r.Kind, r.Key)
				} else {
					f.want(r)
					remaining = append(remaining, r)
				}
			}
			records = remaining
		}
	})
}

// testGrantUse: Use is a compare-and-set from active to inactive, and a used record
// is still read, with ErrInactive.
func testGrantUse(t *testing.T, newStore newGrantsFunc) {
	t.Run("use then get", func(t *testing.T) {
		f := newGrantFixture(t, newStore)
		for _, k := range allKinds {
			r := f.record(k, "key-"+k.String(), "req-1")
			f.put(r)
			f.apply(grants.Use(k, r.Key))
			f.want(inactive(r))
		}
	})

	t.Run("use twice", func(t *testing.T) {
		f := newGrantFixture(t, newStore)
		r := f.record(grants.Code, "code-1", "req-1")
		f.put(r)
		f.apply(grants.Use(grants.Code, r.Key))
		wantErr(t, "second Use(code)", f.s.ApplyGrants(f.ctx, grants.Use(grants.Code, r.Key)), grants.ErrInactive)
		f.want(inactive(r))
	})

	t.Run("use missing", func(t *testing.T) {
		f := newGrantFixture(t, newStore)
		f.put(f.record(grants.Code, "code-1", "req-1"))
		wantErr(t, "Use(missing code)", f.s.ApplyGrants(f.ctx, grants.Use(grants.Code, "code-2")), grants.ErrNotFound)
		wantErr(t, "Use(code of another kind)", f.s.ApplyGrants(f.ctx, grants.Use(grants.PAR, "code-1")), grants.ErrNotFound)
		f.gone(grants.Code, "code-2")
	})

	t.Run("delete", func(t *testing.T) {
		f := newGrantFixture(t, newStore)
		r := f.record(grants.PAR, "urn:ietf:params:oauth:request_uri:abc", "")
		f.put(r)
		f.apply(grants.Delete(grants.PAR, r.Key))
		f.gone(grants.PAR, r.Key)
		f.apply(grants.Delete(grants.PAR, r.Key)) // missing is fine
		f.apply(grants.Delete(grants.Access, "never-there"))
		wantErr(t, "Use(deleted)", f.s.ApplyGrants(f.ctx, grants.Use(grants.PAR, r.Key)), grants.ErrNotFound)
	})
}

// testGrantApply: ApplyGrants is all or nothing, in order, and refuses invalid ops
// before writing anything.
func testGrantApply(t *testing.T, newStore newGrantsFunc) {
	t.Run("a failing use writes nothing", func(t *testing.T) {
		f := newGrantFixture(t, newStore)
		used := f.record(grants.Code, "used", "req-1")
		kept := f.record(grants.Refresh, "kept", "req-1")
		active := f.record(grants.Code, "active", "req-2")
		f.put(used, kept, active)
		f.apply(grants.Use(grants.Code, used.Key))
		for _, tt := range []struct {
			name string
			fail grants.Op
			want error
		}{
			{"inactive", grants.Use(grants.Code, used.Key), grants.ErrInactive},
			{"missing", grants.Use(grants.Code, "missing"), grants.ErrNotFound},
		} {
			t.Run(tt.name, func(t *testing.T) {
				f := f.sub(t)
				newAccess := f.record(grants.Access, "at-"+tt.name, "req-1")
				ops := []grants.Op{
					grants.Use(grants.Code, active.Key),
					grants.Put(newAccess),
					grants.Delete(grants.Refresh, kept.Key),
					grants.DeactivateGrant(grants.Code, "req-2"),
					tt.fail,
				}
				wantErr(t, "ApplyGrants("+describeOps(ops)+")", f.s.ApplyGrants(f.ctx, ops...), tt.want)
				f.gone(grants.Access, newAccess.Key)
				f.want(kept)
				f.want(active)
				f.want(inactive(used))
			})
		}
	})

	t.Run("ops apply in order", func(t *testing.T) {
		f := newGrantFixture(t, newStore)
		code := f.record(grants.Code, "code-1", "req-1")
		f.apply(grants.Put(code), grants.Use(grants.Code, code.Key))
		f.want(inactive(code))

		at := f.record(grants.Access, "at-1", "req-1")
		f.apply(grants.Put(at), grants.Delete(grants.Access, at.Key))
		f.gone(grants.Access, at.Key)
		f.apply(grants.Delete(grants.Access, at.Key), grants.Put(at))
		f.want(at)
		f.apply(grants.DeleteGrant(grants.Access, "req-1"), grants.Put(at))
		f.want(at)

		// Put, use, put again: the last put wins, active.
		rt := f.record(grants.Refresh, "rt-1", "req-1")
		f.apply(grants.Put(rt), grants.Use(grants.Refresh, rt.Key), grants.Put(rt))
		f.want(rt)
		wantErr(t, "Use twice in one Apply",
			f.s.ApplyGrants(f.ctx, grants.Use(grants.Refresh, rt.Key), grants.Use(grants.Refresh, rt.Key)), grants.ErrInactive)
		f.want(rt)
	})

	t.Run("no ops", func(t *testing.T) {
		f := newGrantFixture(t, newStore)
		if err := f.s.ApplyGrants(f.ctx); err != nil {
			t.Errorf("ApplyGrants() = %v, want nil", err)
		}
	})

	t.Run("invalid ops write nothing", func(t *testing.T) {
		f := newGrantFixture(t, newStore)
		kept := f.record(grants.Code, "kept", "req-1")
		f.put(kept)
		for _, tt := range []struct {
			name string
			op   grants.Op
		}{
			{"put without key", grants.Put(grants.Record{Kind: grants.Access, RequestID: "req-1"})},
			{"put of no kind", grants.Put(grants.Record{Key: "k"})},
			{"put of an unknown kind", grants.Put(grants.Record{Kind: grants.Draft + 1, Key: "k"})},
			{"delete without key", grants.Delete(grants.Access, "")},
			{"use without key", grants.Use(grants.Code, "")},
			{"delete grant without request id", grants.DeleteGrant(grants.Access, "")},
			{"deactivate grant without request id", grants.DeactivateGrant(grants.Refresh, "")},
			{"unknown verb", grants.Op{Verb: grants.VerbDeactivateGrant + 1, Kind: grants.Access, Key: "k", RequestID: "req-1"}},
			{"no verb", grants.Op{Kind: grants.Access, Key: "k"}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				f := f.sub(t)
				at := f.record(grants.Access, "at-"+tt.name, "req-1")
				err := f.s.ApplyGrants(f.ctx, grants.Put(at), grants.Use(grants.Code, kept.Key), tt.op)
				if err == nil {
					t.Fatalf("ApplyGrants(put, use, %s) = nil, want an error", tt.name)
				}
				if errors.Is(err, grants.ErrNotFound) || errors.Is(err, grants.ErrInactive) {
					t.Errorf("ApplyGrants(put, use, %s) = %v, want an error that is neither %v nor %v", tt.name, err, grants.ErrNotFound, grants.ErrInactive)
				}
				f.gone(grants.Access, at.Key)
				f.want(kept)
			})
		}
	})
}

// testWholeGrants: DeleteGrant and DeactivateGrant reach every record of one kind in
// one grant, and nothing else.
func testWholeGrants(t *testing.T, newStore newGrantsFunc) {
	// world stores, for two grants, three access and three refresh tokens each,
	// and a code; and records without a grant.
	world := func(f *grantFixture) (byGrant map[string]map[grants.Kind][]grants.Record, loose []grants.Record) {
		byGrant = map[string]map[grants.Kind][]grants.Record{}
		for _, requestID := range []string{"req-1", "req-2"} {
			byGrant[requestID] = map[grants.Kind][]grants.Record{}
			for _, k := range []grants.Kind{grants.Access, grants.Refresh, grants.Code} {
				n := 3
				if k == grants.Code {
					n = 1
				}
				for i := range n {
					r := f.record(k, fmt.Sprintf("%s-%s-%d", k, requestID, i), requestID)
					f.put(r)
					byGrant[requestID][k] = append(byGrant[requestID][k], r)
				}
			}
		}
		loose = []grants.Record{f.record(grants.PAR, "par-1", ""), f.record(grants.Login, "login-1", "")}
		f.put(loose...)
		return byGrant, loose
	}

	t.Run("delete grant", func(t *testing.T) {
		f := newGrantFixture(t, newStore)
		byGrant, loose := world(f)
		f.apply(grants.DeleteGrant(grants.Access, "req-1"))
		for _, r := range byGrant["req-1"][grants.Access] {
			f.gone(r.Kind, r.Key)
		}
		for _, r := range append(append(byGrant["req-1"][grants.Refresh], byGrant["req-1"][grants.Code]...), loose...) {
			f.want(r)
		}
		for _, rs := range byGrant["req-2"] {
			for _, r := range rs {
				f.want(r)
			}
		}
	})

	t.Run("delete grant of used records", func(t *testing.T) {
		f := newGrantFixture(t, newStore)
		byGrant, _ := world(f)
		rts := byGrant["req-1"][grants.Refresh]
		f.apply(grants.Use(grants.Refresh, rts[0].Key))
		f.apply(grants.DeactivateGrant(grants.Refresh, "req-1"))
		f.apply(grants.DeleteGrant(grants.Refresh, "req-1"))
		for _, r := range rts {
			f.gone(r.Kind, r.Key)
		}
		f.want(byGrant["req-2"][grants.Refresh][0])
	})

	t.Run("deactivate grant", func(t *testing.T) {
		f := newGrantFixture(t, newStore)
		byGrant, loose := world(f)
		rts := byGrant["req-1"][grants.Refresh]
		f.apply(grants.Use(grants.Refresh, rts[1].Key)) // one was rotated already
		f.apply(grants.DeactivateGrant(grants.Refresh, "req-1"))
		for _, r := range rts {
			f.want(inactive(r))
			wantErr(t, "Use(deactivated refresh token)", f.s.ApplyGrants(f.ctx, grants.Use(grants.Refresh, r.Key)), grants.ErrInactive)
		}
		for _, r := range append(append(byGrant["req-1"][grants.Access], byGrant["req-1"][grants.Code]...), loose...) {
			f.want(r)
		}
		for _, rs := range byGrant["req-2"] {
			for _, r := range rs {
				f.want(r)
			}
		}
		// Again: nothing changes, nothing fails.
		f.apply(grants.DeactivateGrant(grants.Refresh, "req-1"))
		f.want(inactive(rts[0]))
	})

	t.Run("unknown grant", func(t *testing.T) {
		f := newGrantFixture(t, newStore)
		byGrant, _ := world(f)
		f.apply(grants.DeleteGrant(grants.Access, "req-3"), grants.DeactivateGrant(grants.Refresh, "req-3"))
		f.apply(grants.DeleteGrant(grants.PAR, "req-1"), grants.DeactivateGrant(grants.Login, "req-1"))
		for _, rs := range byGrant["req-1"] {
			for _, r := range rs {
				f.want(r)
			}
		}
	})

	t.Run("a grant deleted in parts", func(t *testing.T) {
		f := newGrantFixture(t, newStore)
		byGrant, _ := world(f)
		ats := byGrant["req-1"][grants.Access]
		f.apply(grants.Delete(grants.Access, ats[0].Key))
		f.apply(grants.DeleteGrant(grants.Access, "req-1"))
		for _, r := range ats {
			f.gone(r.Kind, r.Key)
		}
		// A new token of the grant after its revocation is a new record.
		again := f.record(grants.Access, ats[1].Key, "req-1")
		f.put(again)
		f.want(again)
		f.apply(grants.DeleteGrant(grants.Access, "req-1"))
		f.gone(grants.Access, again.Key)
	})
}

// testCodeRedeemedTwice: the authorization code flow as the server runs it, and a
// second redemption of the code (RFC 6749 §4.1.2: revoke what the code gave).
func testCodeRedeemedTwice(t *testing.T, newStore newGrantsFunc) {
	f := newGrantFixture(t, newStore)
	const requestID = "req-code"
	code := f.record(grants.Code, "code-sig", requestID)
	pkce := f.record(grants.PKCE, "code-sig", requestID)
	oidc := f.record(grants.OIDC, "code-hash", requestID)
	f.apply(grants.Put(code), grants.Put(pkce), grants.Put(oidc))

	at, rt := f.record(grants.Access, "at-sig", requestID), f.record(grants.Refresh, "rt-sig", requestID)
	f.apply(grants.Use(grants.Code, code.Key), grants.Delete(grants.PKCE, pkce.Key), grants.Delete(grants.OIDC, oidc.Key),
		grants.Put(at), grants.Put(rt))

	err := f.s.ApplyGrants(f.ctx, grants.Use(grants.Code, code.Key), grants.Put(f.record(grants.Access, "at-2", requestID)))
	wantErr(t, "second redemption: Use(code)", err, grants.ErrInactive)
	f.gone(grants.Access, "at-2")
	got, err := f.s.Grant(f.ctx, grants.Code, code.Key)
	wantErr(t, "Grant(used code)", err, grants.ErrInactive)
	if got.RequestID != requestID {
		t.Fatalf("Grant(used code) = record of grant %q, want its request id %q, to revoke the grant", got.RequestID, requestID)
	}
	f.want(inactive(code))

	f.apply(grants.DeleteGrant(grants.Access, got.RequestID), grants.DeactivateGrant(grants.Refresh, got.RequestID))
	f.gone(grants.Access, at.Key)
	f.want(inactive(rt))
	f.gone(grants.PKCE, pkce.Key)
	f.gone(grants.OIDC, oidc.Key)
}

// oneSucceeds fails the test unless exactly one of errs is nil and every other
// matches loser. It returns the index of the winner, or -1.
func oneSucceeds(t *testing.T, op string, errs []error, loser error) int {
	t.Helper()
	winner, wins := -1, 0
	for i, err := range errs {
		switch {
		case err == nil:
			winner, wins = i, wins+1
		case !errors.Is(err, loser):
			t.Errorf("%s #%d: err = %v, want nil or %v", op, i, err, loser)
		}
	}
	if wins != 1 {
		t.Errorf("%d of %d concurrent %s calls succeeded, want exactly 1", wins, len(errs), op)
		return -1
	}
	return winner
}

// testGrantConcurrency: a Use has exactly one winner however many goroutines race
// for it, and concurrent writers all land, even when some of them fail.
func testGrantConcurrency(t *testing.T, newStore newGrantsFunc) {
	const n = 16

	t.Run("parallel refreshes of one token", func(t *testing.T) {
		f := newGrantFixture(t, newStore)
		rt := f.record(grants.Refresh, "rt-1", "req-1")
		f.put(rt)
		errs := race(n, func(int) error { return f.s.ApplyGrants(f.ctx, grants.Use(grants.Refresh, rt.Key)) })
		oneSucceeds(t, "Use(refresh)", errs, grants.ErrInactive)
		f.want(inactive(rt))
	})

	t.Run("parallel rotations of one token", func(t *testing.T) {
		f := newGrantFixture(t, newStore)
		rt := f.record(grants.Refresh, "rt-1", "req-1")
		f.put(rt)
		next := make([][2]grants.Record, n)
		for i := range next {
			next[i] = [2]grants.Record{
				f.record(grants.Access, fmt.Sprintf("at-%d", i), "req-1"),
				f.record(grants.Refresh, fmt.Sprintf("rt-next-%d", i), "req-1"),
			}
		}
		errs := race(n, func(i int) error {
			return f.s.ApplyGrants(f.ctx, grants.Use(grants.Refresh, rt.Key), grants.DeleteGrant(grants.Access, "req-1"),
				grants.Put(next[i][0]), grants.Put(next[i][1]))
		})
		winner := oneSucceeds(t, "rotation", errs, grants.ErrInactive)
		for i, rs := range next {
			for _, r := range rs {
				if i == winner {
					f.want(r)
				} else {
					f.gone(r.Kind, r.Key)
				}
			}
		}
	})

	t.Run("parallel redemptions of one code", func(t *testing.T) {
		f := newGrantFixture(t, newStore)
		code := f.record(grants.Code, "code-1", "req-1")
		f.put(code)
		ats := make([]grants.Record, n)
		for i := range ats {
			ats[i] = f.record(grants.Access, fmt.Sprintf("at-%d", i), "req-1")
		}
		errs := race(n, func(i int) error {
			return f.s.ApplyGrants(f.ctx, grants.Use(grants.Code, code.Key), grants.Put(ats[i]))
		})
		winner := oneSucceeds(t, "redemption", errs, grants.ErrInactive)
		found := 0
		for i, at := range ats {
			_, err := f.s.Grant(f.ctx, grants.Access, at.Key)
			switch {
			case err == nil:
				found++
				if i != winner {
					t.Errorf("access token of losing redemption #%d was stored", i)
				}
			case !errors.Is(err, grants.ErrNotFound):
				t.Errorf("Grant(access #%d): %v", i, err)
			}
		}
		if found != 1 {
			t.Errorf("%d access tokens stored after %d parallel redemptions of one code, want 1", found, n)
		}
	})

	t.Run("failing writers beside succeeding ones", func(t *testing.T) {
		// Half the goroutines replay a used code, half store tokens: the failures
		// must not take the others' writes with them, however a backend groups
		// its commits.
		f := newGrantFixture(t, newStore)
		used := f.record(grants.Code, "used", "req-0")
		f.put(used)
		f.apply(grants.Use(grants.Code, used.Key))
		const goroutines, rounds = 32, 10
		records := make([][]grants.Record, goroutines)
		for g := range records {
			for i := range rounds {
				records[g] = append(records[g], f.record(grants.Access, fmt.Sprintf("at-%d-%d", g, i), fmt.Sprintf("req-%d", g)))
			}
		}
		var fails atomic.Int64
		errs := race(goroutines, func(g int) error {
			for i, r := range records[g] {
				if g%2 == 0 {
					err := f.s.ApplyGrants(f.ctx, grants.Put(r), grants.Use(grants.Code, used.Key))
					if !errors.Is(err, grants.ErrInactive) {
						return fmt.Errorf("replay %d: err = %v, want %v", i, err, grants.ErrInactive)
					}
					fails.Add(1)
					continue
				}
				if err := f.s.ApplyGrants(f.ctx, grants.Put(r)); err != nil {
					return fmt.Errorf("put %d: %w", i, err)
				}
			}
			return nil
		})
		for g, err := range errs {
			if err != nil {
				t.Errorf("goroutine %d: %v", g, err)
			}
		}
		for g, rs := range records {
			for _, r := range rs {
				if g%2 == 0 {
					f.gone(r.Kind, r.Key)
				} else {
					f.want(r)
				}
			}
		}
	})

	t.Run("many writers", func(t *testing.T) {
		f := newGrantFixture(t, newStore)
		const goroutines, rounds = 64, 25
		type family struct{ code, at, rt grants.Record }
		families := make([][]family, goroutines)
		var codes []grants.Op
		for g := range families {
			for i := range rounds {
				requestID := fmt.Sprintf("req-%d-%d", g, i)
				code := f.record(grants.Code, "code-"+requestID, requestID)
				families[g] = append(families[g], family{code, f.record(grants.Access, "at-"+requestID, requestID), f.record(grants.Refresh, "rt-"+requestID, requestID)})
				codes = append(codes, grants.Put(code))
			}
		}
		f.apply(codes...)
		errs := race(goroutines, func(g int) error {
			for i, fam := range families[g] {
				if err := f.s.ApplyGrants(f.ctx, grants.Use(grants.Code, fam.code.Key), grants.Put(fam.at), grants.Put(fam.rt)); err != nil {
					return fmt.Errorf("redeem %d: %w", i, err)
				}
				if i%5 == 4 { // revoke every fifth grant
					if err := f.s.ApplyGrants(f.ctx, grants.DeleteGrant(grants.Access, fam.at.RequestID), grants.DeactivateGrant(grants.Refresh, fam.rt.RequestID)); err != nil {
						return fmt.Errorf("revoke %d: %w", i, err)
					}
				}
			}
			return nil
		})
		for g, err := range errs {
			if err != nil {
				t.Errorf("goroutine %d: %v", g, err)
			}
		}
		for _, fams := range families {
			for i, fam := range fams {
				f.want(inactive(fam.code))
				if i%5 == 4 {
					f.gone(grants.Access, fam.at.Key)
					f.want(inactive(fam.rt))
				} else {
					f.want(fam.at)
					f.want(fam.rt)
				}
			}
		}
	})
}

// testJTI: a client assertion's jti is accepted once until it expires.
func testJTI(t *testing.T, newStore newGrantsFunc) {
	t.Run("once until expiry", func(t *testing.T) {
		f := newGrantFixture(t, newStore)
		exp := f.now.Add(5 * time.Minute)
		if err := f.s.UseJTI(f.ctx, "jti-1", exp, f.now); err != nil {
			t.Fatalf("first UseJTI: %v", err)
		}
		wantErr(t, "second UseJTI", f.s.UseJTI(f.ctx, "jti-1", exp, f.now.Add(time.Minute)), grants.ErrReplay)
		wantErr(t, "UseJTI a millisecond before its expiry", f.s.UseJTI(f.ctx, "jti-1", exp, exp.Add(-time.Millisecond)), grants.ErrReplay)
		if err := f.s.UseJTI(f.ctx, "jti-2", exp, f.now); err != nil {
			t.Errorf("UseJTI(another jti): %v", err)
		}
		// Once expired it may come again, and is then recorded anew.
		later := exp.Add(time.Second)
		if err := f.s.UseJTI(f.ctx, "jti-1", later.Add(5*time.Minute), later); err != nil {
			t.Errorf("UseJTI after expiry: %v", err)
		}
		wantErr(t, "UseJTI after it was recorded anew", f.s.UseJTI(f.ctx, "jti-1", later.Add(5*time.Minute), later.Add(time.Minute)), grants.ErrReplay)
	})

	t.Run("concurrent uses of one jti", func(t *testing.T) {
		f := newGrantFixture(t, newStore)
		errs := race(16, func(int) error { return f.s.UseJTI(f.ctx, "jti-1", f.now.Add(time.Minute), f.now) })
		oneSucceeds(t, "UseJTI", errs, grants.ErrReplay)
	})

	t.Run("concurrent uses of many jtis", func(t *testing.T) {
		// Every jti used twice, by different goroutines: each is accepted once.
		f := newGrantFixture(t, newStore)
		const goroutines, jtis = 16, 50
		var accepted [jtis]atomic.Int64
		errs := race(goroutines, func(g int) error {
			for i := range jtis {
				j := (i + g/2*7) % jtis // goroutines 2k and 2k+1 race for the same jtis
				err := f.s.UseJTI(f.ctx, fmt.Sprintf("jti-%d-%d", g/2, j), f.now.Add(time.Minute), f.now)
				switch {
				case err == nil:
					accepted[j].Add(1)
				case !errors.Is(err, grants.ErrReplay):
					return err
				}
			}
			return nil
		})
		for g, err := range errs {
			if err != nil {
				t.Errorf("goroutine %d: %v", g, err)
			}
		}
		for j := range accepted {
			if got := accepted[j].Load(); got != goroutines/2 {
				t.Errorf("jtis #%d accepted %d times over %d pairs of goroutines, want once a pair", j, got, goroutines/2)
			}
		}
	})
}

// testSigningKeys: signing keys are stored, listed oldest first, replaced by id and
// deleted.
func testSigningKeys(t *testing.T, newStore newGrantsFunc) {
	f := newGrantFixture(t, newStore)
	list := func() []grants.SigningKey {
		t.Helper()
		keys, err := f.s.SigningKeys(f.ctx)
		if err != nil {
			t.Fatalf("SigningKeys: %v", err)
		}
		return keys
	}
	if keys := list(); len(keys) != 0 {
		t.Errorf("SigningKeys of an empty store = %+v, want none", keys)
	}
	key := func(id string, created time.Duration) grants.SigningKey {
		at := f.now.Add(created)
		return grants.SigningKey{ID: id, Algorithm: "ES256", Private: append([]byte{0x30, 0x81, 0x87, 0x00, 0xff}, id...), CreatedAt: at, SignsFrom: at.Add(24 * time.Hour)}
	}
	// Stored newest, oldest, middle; ids sorted against their age.
	middle, oldest, newest := key("a-key", -30*24*time.Hour), key("c-key", -60*24*time.Hour), key("b-key", 0)
	for _, k := range []grants.SigningKey{newest, oldest, middle} {
		if err := f.s.PutSigningKey(f.ctx, k); err != nil {
			t.Fatalf("PutSigningKey(%s): %v", k.ID, err)
		}
	}
	if d := cmp.Diff([]grants.SigningKey{oldest, middle, newest}, list()); d != "" {
		t.Errorf("SigningKeys mismatch, want oldest first (-want +got):\n%s", d)
	}

	replaced := middle
	replaced.Algorithm, replaced.Private = "EdDSA", []byte("another private key")
	if err := f.s.PutSigningKey(f.ctx, replaced); err != nil {
		t.Fatalf("PutSigningKey(replace %s): %v", replaced.ID, err)
	}
	if d := cmp.Diff([]grants.SigningKey{oldest, replaced, newest}, list()); d != "" {
		t.Errorf("SigningKeys after a replacement mismatch (-want +got):\n%s", d)
	}

	if err := f.s.DeleteSigningKey(f.ctx, oldest.ID); err != nil {
		t.Fatalf("DeleteSigningKey(%s): %v", oldest.ID, err)
	}
	if err := f.s.DeleteSigningKey(f.ctx, "no-such-key"); err != nil {
		t.Errorf("DeleteSigningKey(missing) = %v, want nil", err)
	}
	if d := cmp.Diff([]grants.SigningKey{replaced, newest}, list()); d != "" {
		t.Errorf("SigningKeys after a deletion mismatch (-want +got):\n%s", d)
	}
}

// testSecrets: a secret is created once, by the first caller, and every caller gets
// its bytes.
func testSecrets(t *testing.T, newStore newGrantsFunc) {
	// generator returns a newSecret that hands out different bytes each call, and
	// counts its calls.
	generator := func() (func() ([]byte, error), *atomic.Int64) {
		var calls atomic.Int64
		return func() ([]byte, error) {
			n := calls.Add(1)
			return fmt.Appendf(nil, "secret %d \x00\xff", n), nil
		}, &calls
	}

	t.Run("created once", func(t *testing.T) {
		f := newGrantFixture(t, newStore)
		newSecret, calls := generator()
		first, err := f.s.Secret(f.ctx, "hmac", newSecret)
		if err != nil {
			t.Fatalf("first Secret: %v", err)
		}
		if want := []byte("secret 1 \x00\xff"); !bytes.Equal(first, want) {
			t.Errorf("first Secret = %q, want %q, what newSecret made", first, want)
		}
		clear(first) // the caller's copy
		for i := range 3 {
			got, err := f.s.Secret(f.ctx, "hmac", newSecret)
			if err != nil || !bytes.Equal(got, []byte("secret 1 \x00\xff")) {
				t.Errorf("Secret #%d = %q, %v, want the first secret", i+2, got, err)
			}
		}
		if n := calls.Load(); n != 1 {
			t.Errorf("newSecret called %d times, want once", n)
		}
		other, err := f.s.Secret(f.ctx, "cookie", newSecret)
		if err != nil || bytes.Equal(other, []byte("secret 1 \x00\xff")) {
			t.Errorf("Secret(another name) = %q, %v, want a secret of its own", other, err)
		}
	})

	t.Run("concurrent first calls", func(t *testing.T) {
		f := newGrantFixture(t, newStore)
		newSecret, _ := generator()
		got := make([][]byte, 8)
		errs := race(len(got), func(i int) error {
			var err error
			got[i], err = f.s.Secret(f.ctx, "hmac", newSecret)
			return err
		})
		for i, err := range errs {
			if err != nil {
				t.Fatalf("Secret #%d: %v", i, err)
			}
		}
		for i := range got {
			if !bytes.Equal(got[i], got[0]) {
				t.Errorf("concurrent first Secret calls returned %q (#0) and %q (#%d), want the same bytes", got[0], got[i], i)
			}
		}
		if again, err := f.s.Secret(f.ctx, "hmac", newSecret); err != nil || !bytes.Equal(again, got[0]) {
			t.Errorf("Secret after the race = %q, %v, want %q", again, err, got[0])
		}
	})

	t.Run("newSecret fails", func(t *testing.T) {
		f := newGrantFixture(t, newStore)
		errNoEntropy := errors.New("no entropy")
		_, err := f.s.Secret(f.ctx, "hmac", func() ([]byte, error) { return nil, errNoEntropy })
		wantErr(t, "Secret with a failing newSecret", err, errNoEntropy)
		newSecret, calls := generator()
		if got, err := f.s.Secret(f.ctx, "hmac", newSecret); err != nil || calls.Load() != 1 {
			t.Errorf("Secret after a failed creation = %q, %v with %d calls of newSecret, want a new secret", got, err, calls.Load())
		}
	})
}

// testCollectGrants: CollectGrants deletes what expired before now, records and
// jtis, counts them, and leaves no trace of them in the grants they belonged to.
func testCollectGrants(t *testing.T, newStore newGrantsFunc) {
	t.Run("expired records and jtis", func(t *testing.T) {
		f := newGrantFixture(t, newStore)
		now := f.now
		expiring := func(k grants.Kind, key, requestID string, at time.Time) grants.Record {
			r := f.record(k, key, requestID)
			r.ExpiresAt = at
			return r
		}
		expired := []grants.Record{
			expiring(grants.Code, "code-1", "req-1", now.Add(-time.Hour)),
			expiring(grants.Access, "at-1", "req-1", now.Add(-time.Millisecond)),
			expiring(grants.Refresh, "rt-1", "req-1", now.Add(-time.Minute)),
			expiring(grants.PAR, "par-1", "", now.Add(-24*time.Hour)),
			expiring(grants.Login, "login-1", "", time.Unix(-1, 0)), // before 1970
		}
		kept := []grants.Record{
			expiring(grants.Access, "at-2", "req-1", now), // expires at now: not before
			expiring(grants.Refresh, "rt-2", "req-1", now.Add(time.Hour)),
			expiring(grants.Code, "code-2", "req-2", now.Add(time.Minute)),
			{Kind: grants.Login, Key: "login-2", Active: true, Data: f.payload()}, // never expires
		}
		f.put(expired...)
		f.put(kept...)
		f.apply(grants.Use(grants.Code, "code-1"))
		kept[2] = inactive(kept[2])
		f.apply(grants.Use(grants.Code, "code-2"))

		// Replaced by a record that expires later: the old expiry no longer counts.
		renewed := expiring(grants.PAR, "par-2", "", now.Add(-time.Hour))
		f.put(renewed)
		renewed.ExpiresAt = now.Add(time.Hour)
		f.put(renewed)
		kept = append(kept, renewed)

		for _, jti := range []struct {
			id  string
			exp time.Time
		}{
			{"jti-expired", now.Add(-time.Second)},
			{"jti-expired-2", now.Add(-time.Hour)},
			{"jti-kept", now.Add(time.Minute)},
		} {
			if err := f.s.UseJTI(f.ctx, jti.id, jti.exp, now.Add(-2*time.Hour)); err != nil {
				t.Fatalf("UseJTI(%s): %v", jti.id, err)
			}
		}

		n, err := f.s.CollectGrants(f.ctx, now)
		if err != nil {
			t.Fatalf("CollectGrants: %v", err)
		}
		if want := len(expired) + 2; n != want {
			t.Errorf("CollectGrants = %d, want %d (%d records and 2 jtis)", n, want, len(expired))
		}
		for _, r := range expired {
			f.gone(r.Kind, r.Key)
		}
		for _, r := range kept {
			f.want(r)
		}
		// An expired jti is gone for good, a live one is still there, even to a
		// caller whose clock lags.
		before := now.Add(-2 * time.Hour)
		if err := f.s.UseJTI(f.ctx, "jti-expired", now.Add(time.Minute), before); err != nil {
			t.Errorf("UseJTI(collected jti) = %v, want nil", err)
		}
		wantErr(t, "UseJTI(live jti)", f.s.UseJTI(f.ctx, "jti-kept", now.Add(time.Minute), before), grants.ErrReplay)

		if n, err := f.s.CollectGrants(f.ctx, now); n != 0 || err != nil {
			t.Errorf("second CollectGrants = %d, %v, want 0, nil", n, err)
		}

		// The grant has lost its collected records: revoking it deletes or
		// deactivates the rest, fails on nothing, and brings nothing back.
		f.apply(grants.DeleteGrant(grants.Access, "req-1"), grants.DeactivateGrant(grants.Refresh, "req-1"),
			grants.DeleteGrant(grants.Code, "req-1"))
		f.gone(grants.Access, "at-1")
		f.gone(grants.Access, "at-2")
		f.gone(grants.Refresh, "rt-1")
		f.gone(grants.Code, "code-1")
		f.want(inactive(kept[1]))

		// A key collected and stored again is a new record of its new grant only.
		reborn := f.record(grants.Refresh, "rt-1", "req-3")
		f.put(reborn)
		f.apply(grants.DeactivateGrant(grants.Refresh, "req-1"), grants.DeleteGrant(grants.Refresh, "req-1"))
		f.want(reborn)
		if n, err := f.s.CollectGrants(f.ctx, now); n != 0 || err != nil {
			t.Errorf("CollectGrants after the grant was revoked = %d, %v, want 0, nil", n, err)
		}
	})

	t.Run("many", func(t *testing.T) {
		// More than a backend is likely to delete in one transaction.
		f := newGrantFixture(t, newStore)
		const n = 2500
		var ops []grants.Op
		for i := range n {
			r := f.record(grants.Access, fmt.Sprintf("at-%d", i), fmt.Sprintf("req-%d", i%7))
			r.ExpiresAt = f.now.Add(-time.Duration(i+1) * time.Second)
			r.Data = r.Data[:16]
			ops = append(ops, grants.Put(r))
		}
		live := f.record(grants.Access, "live", "req-1")
		ops = append(ops, grants.Put(live))
		f.apply(ops...)
		got, err := f.s.CollectGrants(f.ctx, f.now)
		if err != nil || got != n {
			t.Errorf("CollectGrants = %d, %v, want %d, nil", got, err, n)
		}
		f.gone(grants.Access, "at-0")
		f.gone(grants.Access, fmt.Sprintf("at-%d", n-1))
		f.want(live)
	})

	t.Run("concurrent with writers", func(t *testing.T) {
		// Collection runs on a ticker beside the token endpoint: writers go on, and
		// nothing live is collected.
		f := newGrantFixture(t, newStore)
		var ops []grants.Op
		for i := range 1500 {
			r := f.record(grants.Access, fmt.Sprintf("old-%d", i), "req-old")
			r.ExpiresAt, r.Data = f.now.Add(-time.Minute), nil
			ops = append(ops, grants.Put(r))
		}
		f.apply(ops...)
		const writers, rounds = 8, 20
		records := make([][]grants.Record, writers)
		for g := range records {
			for i := range rounds {
				records[g] = append(records[g], f.record(grants.Access, fmt.Sprintf("new-%d-%d", g, i), fmt.Sprintf("req-%d", g)))
			}
		}
		var wg sync.WaitGroup
		var collected int
		var collectErr error
		wg.Go(func() { collected, collectErr = f.s.CollectGrants(f.ctx, f.now) })
		errs := race(writers, func(g int) error {
			for _, r := range records[g] {
				if err := f.s.ApplyGrants(f.ctx, grants.Put(r)); err != nil {
					return err
				}
			}
			return nil
		})
		wg.Wait()
		if collectErr != nil || collected != 1500 {
			t.Errorf("CollectGrants = %d, %v, want 1500, nil", collected, collectErr)
		}
		for g, err := range errs {
			if err != nil {
				t.Errorf("writer %d: %v", g, err)
			}
		}
		for _, rs := range records {
			for _, r := range rs {
				f.want(r)
			}
		}
	})
}
