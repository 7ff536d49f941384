package delegation_test

import (
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/fullmakt/fullmakt/delegation"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const acrHigh = "http://eidas.europa.eu/LoA/high"

var idPattern = regexp.MustCompile(`^fm_[a-z2-7]{26}$`)

// checkErr fails the test unless err matches want, the sentinel a case expects (nil:
// success).
func checkErr(t *testing.T, call string, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("%s error = %v, want nil", call, err)
	case want != nil && !errors.Is(err, want):
		t.Fatalf("%s error = %v, want %v", call, err, want)
	}
}

func TestFullmaktStateOn(t *testing.T) {
	march := delegation.Period{From: date(2025, 3, 1), To: date(2025, 3, 31)}
	tests := []struct {
		name   string
		status delegation.FullmaktStatus
		period delegation.Period
		day    delegation.Date
		want   delegation.FullmaktStatus
	}{
		{"before the period", delegation.StatusActive, march, date(2025, 2, 28), delegation.StatusPending},
		{"the first day", delegation.StatusActive, march, date(2025, 3, 1), delegation.StatusActive},
		{"the last day", delegation.StatusActive, march, date(2025, 3, 31), delegation.StatusActive},
		{"the day after the last", delegation.StatusActive, march, date(2025, 4, 1), delegation.StatusExpired},
		{"open period, long ago", delegation.StatusActive, delegation.Period{}, date(1900, 1, 1), delegation.StatusActive},
		{"open period, far ahead", delegation.StatusActive, delegation.Period{}, date(2999, 1, 1), delegation.StatusActive},
		{"open end", delegation.StatusActive, delegation.Period{From: date(2025, 3, 1)}, date(2999, 1, 1), delegation.StatusActive},
		{"revoked within the period", delegation.StatusRevoked, march, date(2025, 3, 15), delegation.StatusRevoked},
		{"revoked before the period", delegation.StatusRevoked, march, date(2025, 2, 1), delegation.StatusRevoked},
		{"revoked after the period", delegation.StatusRevoked, march, date(2025, 5, 1), delegation.StatusRevoked},
		{"renounced within the period", delegation.StatusRenounced, march, date(2025, 3, 15), delegation.StatusRenounced},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := delegation.Fullmakt{ID: "fm_x", Grantor: idGrantor, Proxy: idProxy, Status: tt.status, Period: tt.period}
			if got := f.StateOn(tt.day); got != tt.want {
				t.Errorf("StateOn(%v) of a %s fullmakt for %+v = %q, want %q", tt.day, tt.status, tt.period, got, tt.want)
			}
			if got := f.InForceOn(tt.day); got != (tt.want == delegation.StatusActive) {
				t.Errorf("InForceOn(%v) of a %s fullmakt for %+v = %v, want %v", tt.day, tt.status, tt.period, got, tt.want == delegation.StatusActive)
			}
		})
	}
}

func TestFullmaktValidate(t *testing.T) {
	valid := delegation.Fullmakt{ID: "fm_x", Grantor: idGrantor, Proxy: idProxy, Scope: delegation.Scope{Areas: []string{"tax"}},
		Status: delegation.StatusActive, Origin: delegation.OriginPortal}
	with := func(f func(*delegation.Fullmakt)) delegation.Fullmakt { v := valid; f(&v); return v }
	tests := []struct {
		name    string
		f       delegation.Fullmakt
		wantErr bool
	}{
		{"valid", valid, false},
		{"sub-delegated", with(func(f *delegation.Fullmakt) { f.Parent, f.DelegatedBy = "fm_parent", idProxy2 }), false},
		{"no id", with(func(f *delegation.Fullmakt) { f.ID = "" }), true},
		{"no grantor", with(func(f *delegation.Fullmakt) { f.Grantor = "" }), true},
		{"no proxy", with(func(f *delegation.Fullmakt) { f.Proxy = "" }), true},
		{"organisation as grantor", with(func(f *delegation.Fullmakt) { f.Grantor = idOrg }), true},
		{"organisation as proxy", with(func(f *delegation.Fullmakt) { f.Proxy = idOrg }), true},
		{"to oneself", with(func(f *delegation.Fullmakt) { f.Proxy = f.Grantor }), true},
		{"parent without delegator", with(func(f *delegation.Fullmakt) { f.Parent = "fm_parent" }), true},
		{"delegator without parent", with(func(f *delegation.Fullmakt) { f.DelegatedBy = idProxy2 }), true},
		{"empty scope", with(func(f *delegation.Fullmakt) { f.Scope = delegation.Scope{} }), true},
		{"period ends before it starts", with(func(f *delegation.Fullmakt) {
			f.Period = delegation.Period{From: date(2025, 2, 1), To: date(2025, 1, 1)}
		}), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.f.Validate()
			if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, delegation.ErrInvalid)) {
				t.Errorf("%+v.Validate() = %v, want error: %v (ErrInvalid)", tt.f, err, tt.wantErr)
			}
		})
	}
}

func TestGive(t *testing.T) {
	base := delegation.NewFullmakt{
		Grantor: grantor, Proxy: proxy,
		Scope:          delegation.Scope{Areas: []string{"tax", "health", "tax"}, Actions: []string{"submit", "read"}},
		Period:         delegation.Period{From: today, To: date(2025, 12, 31)},
		MaySubdelegate: true, ConfirmedACR: acrHigh,
	}
	with := func(f func(*delegation.NewFullmakt)) delegation.NewFullmakt { n := base; f(&n); return n }
	deceased := func(p delegation.Person, on delegation.Date) delegation.Person { p.DeathDate = on; return p }

	tests := []struct {
		name      string
		n         delegation.NewFullmakt
		now       time.Time
		wantErr   error
		wantScope *delegation.Scope // nil: the normalised base scope
	}{
		{name: "valid", n: base, now: now},
		{name: "the period ends today", n: with(func(n *delegation.NewFullmakt) { n.Period = delegation.Period{From: date(2025, 1, 1), To: today} }), now: now},
		{name: "the period begins later", n: with(func(n *delegation.NewFullmakt) { n.Period = delegation.Period{From: date(2026, 1, 1)} }), now: now},
		{name: "no period", n: with(func(n *delegation.NewFullmakt) { n.Period = delegation.Period{} }), now: now},
		{name: "grantor died today", n: with(func(n *delegation.NewFullmakt) { n.Grantor = deceased(grantor, today) }), now: now, wantErr: delegation.ErrForbidden},
		{name: "grantor dies tomorrow", n: with(func(n *delegation.NewFullmakt) { n.Grantor = deceased(grantor, today.AddDays(1)) }), now: now},
		{name: "proxy deceased", n: with(func(n *delegation.NewFullmakt) { n.Proxy = deceased(proxy, date(2024, 1, 1)) }), now: now, wantErr: delegation.ErrInvalid},
		{name: "minor grantor", n: with(func(n *delegation.NewFullmakt) { n.Grantor = child }), now: now, wantErr: delegation.ErrForbidden},
		{name: "grantor a second before turning 18", n: with(func(n *delegation.NewFullmakt) { n.Grantor, n.Period = child, delegation.Period{} }),
			now: oslo(2026, 6, 15, 23, 59, 59), wantErr: delegation.ErrForbidden},
		{name: "grantor at 00:00 on the 18th birthday, Oslo", n: with(func(n *delegation.NewFullmakt) { n.Grantor, n.Period = child, delegation.Period{} }),
			now: time.Date(2026, 6, 15, 22, 0, 0, 0, time.UTC)},
		{name: "minor proxy", n: with(func(n *delegation.NewFullmakt) { n.Proxy = child }), now: now},
		{name: "a youth of 16 gives a health fullmakt", n: with(func(n *delegation.NewFullmakt) {
			n.Grantor, n.Scope, n.Period = child, delegation.Scope{Areas: []string{"health"}}, delegation.Period{}
		}), now: oslo(2024, 6, 16, 0, 0, 0), wantScope: &delegation.Scope{Areas: []string{"health"}}},
		{name: "a youth a second before 16 gives a health fullmakt", n: with(func(n *delegation.NewFullmakt) {
			n.Grantor, n.Scope, n.Period = child, delegation.Scope{Areas: []string{"health"}}, delegation.Period{}
		}), now: oslo(2024, 6, 15, 23, 59, 59), wantErr: delegation.ErrForbidden},
		{name: "a youth of 17 gives health and tax", n: with(func(n *delegation.NewFullmakt) {
			n.Grantor, n.Scope, n.Period = child, delegation.Scope{Areas: []string{"health", "tax"}}, delegation.Period{}
		}), now: oslo(2025, 6, 16, 0, 0, 0), wantErr: delegation.ErrForbidden},
		{name: "a youth of 17 gives a single health service", n: with(func(n *delegation.NewFullmakt) {
			n.Grantor, n.Scope, n.Period = child, delegation.Scope{Services: []string{"helsenorge.journal"}}, delegation.Period{}
		}), now: oslo(2025, 6, 16, 0, 0, 0), wantErr: delegation.ErrForbidden},
		{name: "period ended yesterday", n: with(func(n *delegation.NewFullmakt) {
			n.Period = delegation.Period{From: date(2025, 1, 1), To: today.AddDays(-1)}
		}),
			now: now, wantErr: delegation.ErrInvalid},
		{name: "period ended yesterday, Oslo midnight passed", n: with(func(n *delegation.NewFullmakt) { n.Period = delegation.Period{To: date(2025, 3, 9)} }),
			now: time.Date(2025, 3, 9, 23, 0, 0, 0, time.UTC), wantErr: delegation.ErrInvalid},
		{name: "period ends today, UTC still yesterday", n: with(func(n *delegation.NewFullmakt) { n.Period = delegation.Period{To: date(2025, 3, 10)} }),
			now: time.Date(2025, 3, 9, 23, 0, 0, 0, time.UTC)},
		{name: "period ends before it starts", n: with(func(n *delegation.NewFullmakt) {
			n.Period = delegation.Period{From: date(2026, 1, 1), To: date(2025, 12, 1)}
		}),
			now: now, wantErr: delegation.ErrInvalid},
		{name: "to oneself", n: with(func(n *delegation.NewFullmakt) { n.Proxy = grantor }), now: now, wantErr: delegation.ErrInvalid},
		{name: "to an organisation", n: with(func(n *delegation.NewFullmakt) {
			n.Proxy = delegation.Person{ID: idOrg, Name: "AS", BirthDate: date(1990, 1, 1)}
		}),
			now: now, wantErr: delegation.ErrInvalid},
		{name: "empty scope", n: with(func(n *delegation.NewFullmakt) { n.Scope = delegation.Scope{} }), now: now, wantErr: delegation.ErrInvalid},
		{name: "malformed area", n: with(func(n *delegation.NewFullmakt) { n.Scope = delegation.Scope{Areas: []string{"Tax"}} }), now: now, wantErr: delegation.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := delegation.Give(tt.n, tt.now)
			checkErr(t, "Give", err, tt.wantErr)
			if tt.wantErr != nil {
				return
			}
			want := delegation.Fullmakt{
				Grantor: tt.n.Grantor.ID, Proxy: tt.n.Proxy.ID,
				Scope:  delegation.Scope{Areas: []string{"health", "tax"}, Actions: []string{"read", "submit"}},
				Period: tt.n.Period, MaySubdelegate: true, Status: delegation.StatusActive, ConfirmedACR: acrHigh,
				Origin: delegation.OriginPortal, CreatedBy: tt.n.Grantor.ID, CreatedAt: tt.now.UTC(),
			}
			if tt.wantScope != nil {
				want.Scope = *tt.wantScope
			}
			if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(delegation.Fullmakt{}, "ID")); diff != "" {
				t.Errorf("Give(%+v) (-want +got):\n%s", tt.n, diff)
			}
			if !idPattern.MatchString(got.ID) {
				t.Errorf("Give: ID = %q, want fm_ and 26 base32 letters", got.ID)
			}
			if got.CreatedAt.Location() != time.UTC {
				t.Errorf("Give: CreatedAt = %v, want UTC", got.CreatedAt)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("Give returned a fullmakt that does not validate: %v", err)
			}
		})
	}

	t.Run("origin kept, ids differ", func(t *testing.T) {
		a, err := delegation.Give(with(func(n *delegation.NewFullmakt) { n.Origin = delegation.OriginRequest }), now)
		if err != nil || a.Origin != delegation.OriginRequest {
			t.Fatalf("Give with Origin request = %+v, %v, want origin request", a, err)
		}
		b, err := delegation.Give(base, now)
		if err != nil || a.ID == b.ID {
			t.Errorf("two fullmakter given at once have ids %q and %q (%v), want different", a.ID, b.ID, err)
		}
	})
	t.Run("the caller's scope is not changed", func(t *testing.T) {
		n := with(func(n *delegation.NewFullmakt) { n.Scope = delegation.Scope{Areas: []string{"tax", "health"}} })
		if _, err := delegation.Give(n, now); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"tax", "health"}, n.Scope.Areas); diff != "" {
			t.Errorf("Give sorted the caller's slice (-before +after):\n%s", diff)
		}
	})
}

func TestSubdelegate(t *testing.T) {
	year := delegation.Period{From: date(2025, 1, 1), To: date(2025, 12, 31)}
	parentFm := delegation.Fullmakt{
		ID: "fm_parent", Grantor: idGrantor, Proxy: idProxy,
		Scope:  delegation.Scope{Areas: []string{"health", "tax"}, Services: []string{"lanekassen.studiestotte"}},
		Period: year, MaySubdelegate: true, Status: delegation.StatusActive, ConfirmedACR: acrHigh,
		Origin: delegation.OriginPortal, CreatedBy: idGrantor, CreatedAt: now.Add(-24 * time.Hour).UTC(),
	}
	withParent := func(f func(*delegation.Fullmakt)) delegation.Fullmakt { p := parentFm; f(&p); return p }
	journal := delegation.Scope{Services: []string{"helsenorge.journal"}}
	spring := delegation.Period{From: today, To: date(2025, 6, 30)}
	deceased := func(p delegation.Person) delegation.Person { p.DeathDate = date(2025, 1, 1); return p }
	readOnly := withParent(func(p *delegation.Fullmakt) { p.Scope.Actions = []string{"read"} })

	tests := []struct {
		name    string
		parent  delegation.Fullmakt
		by      delegation.PartyID
		to      delegation.Person
		grantor delegation.Person
		scope   delegation.Scope
		period  delegation.Period
		now     time.Time
		wantErr error
	}{
		{name: "a service of one of its areas", parent: parentFm, by: idProxy, to: proxy2, grantor: grantor, scope: journal, period: spring},
		{name: "the whole scope and period", parent: parentFm, by: idProxy, to: proxy2, grantor: grantor, scope: parentFm.Scope, period: year},
		{name: "open-ended from an open-ended parent", parent: withParent(func(p *delegation.Fullmakt) { p.Period = delegation.Period{} }),
			by: idProxy, to: proxy2, grantor: grantor, scope: journal, period: delegation.Period{From: today}},
		{name: "actions within the parent's", parent: readOnly, by: idProxy, to: proxy2, grantor: grantor,
			scope: delegation.Scope{Services: []string{"helsenorge.journal"}, Actions: []string{"read"}}, period: spring},

		{name: "by the grantor", parent: parentFm, by: idGrantor, to: proxy2, grantor: grantor, scope: journal, period: spring, wantErr: delegation.ErrForbidden},
		{name: "by a stranger", parent: parentFm, by: idStranger, to: proxy2, grantor: grantor, scope: journal, period: spring, wantErr: delegation.ErrForbidden},
		{name: "not allowed to pass on", parent: withParent(func(p *delegation.Fullmakt) { p.MaySubdelegate = false }),
			by: idProxy, to: proxy2, grantor: grantor, scope: journal, period: spring, wantErr: delegation.ErrForbidden},
		{name: "parent revoked", parent: withParent(func(p *delegation.Fullmakt) { p.Status = delegation.StatusRevoked }),
			by: idProxy, to: proxy2, grantor: grantor, scope: journal, period: spring, wantErr: delegation.ErrConflict},
		{name: "parent renounced", parent: withParent(func(p *delegation.Fullmakt) { p.Status = delegation.StatusRenounced }),
			by: idProxy, to: proxy2, grantor: grantor, scope: journal, period: spring, wantErr: delegation.ErrConflict},
		{name: "parent expired", parent: parentFm, by: idProxy, to: proxy2, grantor: grantor, scope: journal, period: delegation.Period{From: date(2026, 1, 1)},
			now: oslo(2026, 1, 1, 0, 0, 0), wantErr: delegation.ErrConflict},
		{name: "parent not yet begun", parent: withParent(func(p *delegation.Fullmakt) { p.Period = delegation.Period{From: date(2025, 4, 1)} }),
			by: idProxy, to: proxy2, grantor: grantor, scope: journal, period: delegation.Period{From: date(2025, 4, 1)}, wantErr: delegation.ErrConflict},
		{name: "another grantor", parent: parentFm, by: idProxy, to: proxy2, grantor: stranger, scope: journal, period: spring, wantErr: delegation.ErrInvalid},
		{name: "grantor deceased", parent: parentFm, by: idProxy, to: proxy2, grantor: deceased(grantor), scope: journal, period: spring, wantErr: delegation.ErrForbidden},
		{name: "new proxy deceased", parent: parentFm, by: idProxy, to: deceased(proxy2), grantor: grantor, scope: journal, period: spring, wantErr: delegation.ErrForbidden},
		{name: "to the grantor", parent: parentFm, by: idProxy, to: grantor, grantor: grantor, scope: journal, period: spring, wantErr: delegation.ErrInvalid},
		{name: "to the holder", parent: parentFm, by: idProxy, to: proxy, grantor: grantor, scope: journal, period: spring, wantErr: delegation.ErrInvalid},
		{name: "an area the parent lacks", parent: parentFm, by: idProxy, to: proxy2, grantor: grantor,
			scope: delegation.Scope{Areas: []string{"work"}}, period: spring, wantErr: delegation.ErrForbidden},
		{name: "a service outside the parent", parent: parentFm, by: idProxy, to: proxy2, grantor: grantor,
			scope: delegation.Scope{Services: []string{"nav.dagpenger"}}, period: spring, wantErr: delegation.ErrForbidden},
		{name: "every action from a read-only parent", parent: readOnly, by: idProxy, to: proxy2, grantor: grantor,
			scope: journal, period: spring, wantErr: delegation.ErrForbidden},
		{name: "an action the parent lacks", parent: readOnly, by: idProxy, to: proxy2, grantor: grantor,
			scope: delegation.Scope{Services: []string{"helsenorge.journal"}, Actions: []string{"read", "submit"}}, period: spring, wantErr: delegation.ErrForbidden},
		{name: "ends after the parent", parent: parentFm, by: idProxy, to: proxy2, grantor: grantor, scope: journal,
			period: delegation.Period{From: today, To: date(2026, 1, 1)}, wantErr: delegation.ErrForbidden},
		{name: "begins before the parent", parent: parentFm, by: idProxy, to: proxy2, grantor: grantor, scope: journal,
			period: delegation.Period{From: date(2024, 12, 31), To: date(2025, 6, 30)}, wantErr: delegation.ErrForbidden},
		{name: "open-ended from a bounded parent", parent: parentFm, by: idProxy, to: proxy2, grantor: grantor, scope: journal,
			period: delegation.Period{From: today}, wantErr: delegation.ErrForbidden},
		{name: "no period from a bounded parent", parent: parentFm, by: idProxy, to: proxy2, grantor: grantor, scope: journal,
			period: delegation.Period{}, wantErr: delegation.ErrForbidden},
		{name: "empty scope", parent: parentFm, by: idProxy, to: proxy2, grantor: grantor, scope: delegation.Scope{}, period: spring, wantErr: delegation.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := tt.now
			if at.IsZero() {
				at = now
			}
			got, err := delegation.Subdelegate(tt.parent, tt.by, tt.to, tt.grantor, tt.scope, tt.period, cat, at)
			checkErr(t, "Subdelegate", err, tt.wantErr)
			if tt.wantErr != nil {
				return
			}
			want := delegation.Fullmakt{
				Grantor: idGrantor, Proxy: tt.to.ID, Scope: tt.scope, Period: tt.period, Status: delegation.StatusActive,
				ConfirmedACR: acrHigh, Origin: delegation.OriginSubdelegation, Parent: tt.parent.ID, DelegatedBy: tt.by,
				CreatedBy: tt.by, CreatedAt: at.UTC(),
			}
			if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(delegation.Fullmakt{}, "ID")); diff != "" {
				t.Errorf("Subdelegate (-want +got):\n%s", diff)
			}
			if !idPattern.MatchString(got.ID) || got.ID == tt.parent.ID {
				t.Errorf("Subdelegate: ID = %q, want a new fm_ id", got.ID)
			}
			if got.MaySubdelegate {
				t.Errorf("Subdelegate: MaySubdelegate = true, want false (a passed-on fullmakt is not passed on again unless given so)")
			}
			if !got.InForceOn(delegation.Today(at)) {
				t.Errorf("Subdelegate: %+v is not in force on %v", got, delegation.Today(at))
			}
		})
	}
}

func TestMayEnd(t *testing.T) {
	fm := delegation.Fullmakt{ID: "fm_1", Grantor: idGrantor, Proxy: idProxy, Status: delegation.StatusActive,
		Scope: delegation.Scope{Areas: []string{"tax"}}, Origin: delegation.OriginPortal}
	sub := delegation.Fullmakt{ID: "fm_2", Grantor: idGrantor, Proxy: idProxy2, Status: delegation.StatusActive,
		Scope: delegation.Scope{Areas: []string{"tax"}}, Origin: delegation.OriginSubdelegation, Parent: "fm_1", DelegatedBy: idProxy}
	// A fullmakt given by a minor (for instance migrated from an older system).
	byChild := delegation.Fullmakt{ID: "fm_3", Grantor: idChild, Proxy: idProxy, Status: delegation.StatusActive,
		Scope: delegation.Scope{Areas: []string{"tax"}}, Origin: delegation.OriginMigration}
	// A health fullmakt given by a youth of 16 or more is the youth's own business.
	healthByChild := byChild
	healthByChild.Scope = delegation.Scope{Areas: []string{"health"}}
	custody := delegation.ParentalResponsibility{Parent: idParent, Child: idChild, Kind: delegation.CustodyJoint}
	ceased := func(on delegation.Date) delegation.ParentalResponsibility { r := custody; r.CeasedAt = on; return r }
	status := func(f delegation.Fullmakt, s delegation.FullmaktStatus) delegation.Fullmakt { f.Status = s; return f }

	tests := []struct {
		name     string
		f        delegation.Fullmakt
		by       delegation.PartyID
		grantor  delegation.Person
		parental []delegation.ParentalResponsibility
		now      time.Time
		want     delegation.FullmaktStatus // "" when an error is wanted
		wantErr  error
	}{
		{name: "the grantor revokes", f: fm, by: idGrantor, grantor: grantor, want: delegation.StatusRevoked},
		{name: "the proxy renounces", f: fm, by: idProxy, grantor: grantor, want: delegation.StatusRenounced},
		{name: "the delegator revokes what they passed on", f: sub, by: idProxy, grantor: grantor, want: delegation.StatusRevoked},
		{name: "the grantor revokes a passed-on fullmakt", f: sub, by: idGrantor, grantor: grantor, want: delegation.StatusRevoked},
		{name: "the new proxy renounces", f: sub, by: idProxy2, grantor: grantor, want: delegation.StatusRenounced},
		{name: "the grantor revokes an expired one", f: func() delegation.Fullmakt {
			f := fm
			f.Period = delegation.Period{To: date(2025, 1, 1)}
			return f
		}(), by: idGrantor, grantor: grantor, want: delegation.StatusRevoked},
		{name: "a minor grantor revokes", f: byChild, by: idChild, grantor: child, want: delegation.StatusRevoked},
		{name: "a parent may not revoke a health fullmakt given from 16", f: healthByChild, by: idParent, grantor: child,
			parental: []delegation.ParentalResponsibility{custody}, wantErr: delegation.ErrForbidden},
		{name: "a parent with responsibility revokes for a minor", f: byChild, by: idParent, grantor: child,
			parental: []delegation.ParentalResponsibility{custody}, want: delegation.StatusRevoked},
		{name: "a parent, among other responsibilities", f: byChild, by: idParent, grantor: child,
			parental: []delegation.ParentalResponsibility{{Parent: idStranger, Child: idChild, Kind: delegation.CustodyJoint}, custody}, want: delegation.StatusRevoked},
		{name: "a parent, the day before the responsibility ceases", f: byChild, by: idParent, grantor: child,
			parental: []delegation.ParentalResponsibility{ceased(today.AddDays(1))}, want: delegation.StatusRevoked},
		{name: "a parent, the second before the child turns 18", f: byChild, by: idParent, grantor: child,
			parental: []delegation.ParentalResponsibility{custody}, now: oslo(2026, 6, 15, 23, 59, 59), want: delegation.StatusRevoked},

		{name: "a parent, at 00:00 on the child's 18th birthday, Oslo", f: byChild, by: idParent, grantor: child,
			parental: []delegation.ParentalResponsibility{custody}, now: time.Date(2026, 6, 15, 22, 0, 0, 0, time.UTC), wantErr: delegation.ErrForbidden},
		{name: "a parent, after the child turned 18", f: byChild, by: idParent, grantor: child,
			parental: []delegation.ParentalResponsibility{custody}, now: oslo(2027, 1, 1, 12, 0, 0), wantErr: delegation.ErrForbidden},
		{name: "a parent whose responsibility ceased today", f: byChild, by: idParent, grantor: child,
			parental: []delegation.ParentalResponsibility{ceased(today)}, wantErr: delegation.ErrForbidden},
		{name: "a parent whose responsibility has not begun", f: byChild, by: idParent, grantor: child,
			parental: []delegation.ParentalResponsibility{{Parent: idParent, Child: idChild, Kind: delegation.CustodySole, ValidFrom: today.AddDays(1)}}, wantErr: delegation.ErrForbidden},
		{name: "a parent without registered responsibility", f: byChild, by: idParent, grantor: child, wantErr: delegation.ErrForbidden},
		{name: "another parent's responsibility", f: byChild, by: idParent, grantor: child,
			parental: []delegation.ParentalResponsibility{{Parent: idStranger, Child: idChild, Kind: delegation.CustodyJoint}}, wantErr: delegation.ErrForbidden},
		{name: "responsibility for another child", f: byChild, by: idParent, grantor: child,
			parental: []delegation.ParentalResponsibility{{Parent: idParent, Child: idStranger, Kind: delegation.CustodyJoint}}, wantErr: delegation.ErrForbidden},
		{name: "a parent of an adult grantor", f: fm, by: idParent, grantor: grantor,
			parental: []delegation.ParentalResponsibility{{Parent: idParent, Child: idGrantor, Kind: delegation.CustodyJoint}}, wantErr: delegation.ErrForbidden},
		{name: "a minor passed in who is not the grantor", f: fm, by: idParent, grantor: child,
			parental: []delegation.ParentalResponsibility{custody}, wantErr: delegation.ErrForbidden},
		{name: "a stranger", f: fm, by: idStranger, grantor: grantor, wantErr: delegation.ErrForbidden},
		{name: "nobody", f: fm, by: "", grantor: grantor, wantErr: delegation.ErrForbidden},
		{name: "a stranger, of a passed-on fullmakt", f: sub, by: idStranger, grantor: grantor, wantErr: delegation.ErrForbidden},
		{name: "already revoked, by the grantor", f: status(fm, delegation.StatusRevoked), by: idGrantor, grantor: grantor, wantErr: delegation.ErrConflict},
		{name: "already renounced, by the proxy", f: status(fm, delegation.StatusRenounced), by: idProxy, grantor: grantor, wantErr: delegation.ErrConflict},
		{name: "already revoked, by a parent", f: status(byChild, delegation.StatusRevoked), by: idParent, grantor: child,
			parental: []delegation.ParentalResponsibility{custody}, wantErr: delegation.ErrConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := tt.now
			if at.IsZero() {
				at = now
			}
			got, err := delegation.MayEnd(tt.f, tt.by, tt.grantor, tt.parental, at)
			checkErr(t, "MayEnd", err, tt.wantErr)
			if tt.wantErr != nil {
				if diff := cmp.Diff(delegation.EndFullmakt{}, got); diff != "" {
					t.Errorf("MayEnd returned an end with its error (-want +got):\n%s", diff)
				}
				return
			}
			want := delegation.EndFullmakt{ID: tt.f.ID, Status: tt.want, By: tt.by, At: at.UTC()}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("MayEnd(%s, %v) (-want +got):\n%s", tt.f.ID, tt.by, diff)
			}
		})
	}
}

func TestGuardianMayEnd(t *testing.T) {
	// Kari (the grantor) is the ward; Ingrid (idParent) her guardian.
	idGuardian := idParent
	economic := delegation.Guardianship{Guardian: idGuardian, Ward: idGrantor, Scope: []string{"economic"}}
	personal := delegation.Guardianship{Guardian: idGuardian, Ward: idGrantor, Scope: []string{"personal"}}
	both := delegation.Guardianship{Guardian: idGuardian, Ward: idGrantor, Scope: []string{"economic", "personal"}}
	during := func(g delegation.Guardianship, p delegation.Period) delegation.Guardianship { g.Period = p; return g }

	fm := delegation.Fullmakt{ID: "fm_1", Grantor: idGrantor, Proxy: idProxy, Status: delegation.StatusActive,
		Scope: delegation.Scope{Areas: []string{"tax"}}, Origin: delegation.OriginPortal}
	notKaris := fm
	notKaris.Grantor = idStranger
	pending := fm
	pending.Period = delegation.Period{From: today.AddDays(1)}
	status := func(f delegation.Fullmakt, s delegation.FullmaktStatus) delegation.Fullmakt { f.Status = s; return f }
	dead := grantor
	dead.DeathDate = today.AddDays(-3)

	// What the fullmakt reaches, as the caller expands it through the catalogue.
	tax := map[string][]string{"skatteetaten.skattemelding": {"economic"}, "skatteetaten.skattekort": {"economic"}}
	health := map[string][]string{"helsenorge.journal": {"personal"}}
	taxAndHealth := map[string][]string{"skatteetaten.skattemelding": {"economic"}, "helsenorge.journal": {"personal"}}
	studies := map[string][]string{"lanekassen.studiestotte": {"economic", "personal"}}
	unknown := map[string][]string{"skatteetaten.skattemelding": {"economic"}, "nowhere.service": nil}

	tests := []struct {
		name          string
		f             delegation.Fullmakt
		by            delegation.PartyID
		grantor       delegation.Person
		guardianships []delegation.Guardianship
		reach         map[string][]string
		wantErr       error
	}{
		{name: "in scope", f: fm, by: idGuardian, grantor: grantor, guardianships: []delegation.Guardianship{economic}, reach: tax},
		{name: "a service of two matters, one of them the guardian's", f: fm, by: idGuardian, grantor: grantor,
			guardianships: []delegation.Guardianship{economic}, reach: studies},
		{name: "a guardianship for both matters", f: fm, by: idGuardian, grantor: grantor,
			guardianships: []delegation.Guardianship{both}, reach: taxAndHealth},
		{name: "the second guardianship covers it", f: fm, by: idGuardian, grantor: grantor,
			guardianships: []delegation.Guardianship{personal, economic}, reach: tax},
		{name: "a fullmakt not yet begun", f: pending, by: idGuardian, grantor: grantor, guardianships: []delegation.Guardianship{economic}, reach: tax},
		{name: "on the last day of the guardianship", f: fm, by: idGuardian, grantor: grantor,
			guardianships: []delegation.Guardianship{during(economic, delegation.Period{From: date(2020, 1, 1), To: today})}, reach: tax},
		{name: "on the first day of the guardianship", f: fm, by: idGuardian, grantor: grantor,
			guardianships: []delegation.Guardianship{during(economic, delegation.Period{From: today})}, reach: tax},

		{name: "out of scope: health for an economic guardian", f: fm, by: idGuardian, grantor: grantor,
			guardianships: []delegation.Guardianship{economic}, reach: health, wantErr: delegation.ErrForbidden},
		{name: "partly out of scope", f: fm, by: idGuardian, grantor: grantor,
			guardianships: []delegation.Guardianship{economic}, reach: taxAndHealth, wantErr: delegation.ErrForbidden},
		// Each guardianship is judged on its own, as registered.
		{name: "two guardianships, each covering a part", f: fm, by: idGuardian, grantor: grantor,
			guardianships: []delegation.Guardianship{economic, personal}, reach: taxAndHealth, wantErr: delegation.ErrForbidden},
		{name: "a service outside the catalogue", f: fm, by: idGuardian, grantor: grantor,
			guardianships: []delegation.Guardianship{both}, reach: unknown, wantErr: delegation.ErrForbidden},
		{name: "a fullmakt that reaches nothing", f: fm, by: idGuardian, grantor: grantor,
			guardianships: []delegation.Guardianship{both}, reach: nil, wantErr: delegation.ErrForbidden},
		{name: "the guardianship ended yesterday", f: fm, by: idGuardian, grantor: grantor,
			guardianships: []delegation.Guardianship{during(economic, delegation.Period{To: today.AddDays(-1)})}, reach: tax, wantErr: delegation.ErrForbidden},
		{name: "the guardianship begins tomorrow", f: fm, by: idGuardian, grantor: grantor,
			guardianships: []delegation.Guardianship{during(economic, delegation.Period{From: today.AddDays(1)})}, reach: tax, wantErr: delegation.ErrForbidden},
		{name: "no guardianship", f: fm, by: idGuardian, grantor: grantor, reach: tax, wantErr: delegation.ErrForbidden},
		{name: "another guardian's guardianship", f: fm, by: idStranger, grantor: grantor,
			guardianships: []delegation.Guardianship{economic}, reach: tax, wantErr: delegation.ErrForbidden},
		{name: "a guardianship of another ward", f: fm, by: idGuardian, grantor: grantor,
			guardianships: []delegation.Guardianship{{Guardian: idGuardian, Ward: idProxy2, Scope: []string{"economic"}}}, reach: tax, wantErr: delegation.ErrForbidden},
		{name: "not the ward's fullmakt", f: notKaris, by: idGuardian, grantor: grantor,
			guardianships: []delegation.Guardianship{economic}, reach: tax, wantErr: delegation.ErrForbidden},
		{name: "the ward's guardianships, for someone else's fullmakt", f: notKaris, by: idGuardian, grantor: stranger,
			guardianships: []delegation.Guardianship{economic}, reach: tax, wantErr: delegation.ErrForbidden},
		{name: "a deceased ward", f: fm, by: idGuardian, grantor: dead,
			guardianships: []delegation.Guardianship{economic}, reach: tax, wantErr: delegation.ErrForbidden},
		{name: "already revoked", f: status(fm, delegation.StatusRevoked), by: idGuardian, grantor: grantor,
			guardianships: []delegation.Guardianship{economic}, reach: tax, wantErr: delegation.ErrConflict},
		{name: "already renounced", f: status(fm, delegation.StatusRenounced), by: idGuardian, grantor: grantor,
			guardianships: []delegation.Guardianship{economic}, reach: tax, wantErr: delegation.ErrConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := delegation.GuardianMayEnd(tt.f, tt.by, tt.grantor, tt.guardianships, tt.reach, now)
			checkErr(t, "GuardianMayEnd", err, tt.wantErr)
			want := delegation.EndFullmakt{ID: tt.f.ID, Status: delegation.StatusRevoked, By: tt.by, At: now.UTC()}
			if tt.wantErr != nil {
				want = delegation.EndFullmakt{}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("GuardianMayEnd(%s, %v) (-want +got):\n%s", tt.f.ID, tt.by, diff)
			}
			// The guardian sees what they could end, and still sees it once it has
			// ended.
			wantSee := !errors.Is(tt.wantErr, delegation.ErrForbidden)
			if see := delegation.GuardianMaySee(tt.f, tt.by, tt.grantor, tt.guardianships, tt.reach, today); see != wantSee {
				t.Errorf("GuardianMaySee(%s, %v) = %v, want %v", tt.f.ID, tt.by, see, wantSee)
			}
		})
	}
}

func TestIDs(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := delegation.NewID("fm")
		if !idPattern.MatchString(id) {
			t.Fatalf("NewID(fm) = %q, want fm_ and 26 base32 letters", id)
		}
		if seen[id] {
			t.Fatalf("NewID(fm) returned %q twice", id)
		}
		seen[id] = true
	}
	if id := delegation.NewID("rq"); !regexp.MustCompile(`^rq_[a-z2-7]{26}$`).MatchString(id) {
		t.Errorf("NewID(rq) = %q", id)
	}

	tests := []struct {
		name string
		a, b []string
		same bool
	}{
		{"same parts", []string{"x", "y"}, []string{"x", "y"}, true},
		{"other parts", []string{"x", "y"}, []string{"x", "z"}, false},
		{"the boundary between parts counts", []string{"ab", "c"}, []string{"a", "bc"}, false},
		{"one part more", []string{"x"}, []string{"x", ""}, false},
		{"order counts", []string{"x", "y"}, []string{"y", "x"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := delegation.StableID("fm", tt.a...), delegation.StableID("fm", tt.b...)
			if (a == b) != tt.same {
				t.Errorf("StableID(fm, %q) = %q, StableID(fm, %q) = %q, want equal: %v", tt.a, a, tt.b, b, tt.same)
			}
			if !idPattern.MatchString(a) {
				t.Errorf("StableID(fm, %q) = %q, want fm_ and 26 base32 letters", tt.a, a)
			}
		})
	}
}
