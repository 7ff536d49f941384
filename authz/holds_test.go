package authz

import (
	"testing"
	"time"
)

func TestHoldsFor(t *testing.T) {
	pack := testPack(t) // sign-fresh: auth_age > 300
	two := &Pack{ageThresholds: []int64{300, 600}}
	opaque := testPack(t, `
@id("fresh-read") @reason("authentication_too_old")
forbid (principal, action == Action::"read", resource in Area::"tax") when { context.actor.auth_age + 0 > 600 };
`)
	ms := time.Millisecond
	for _, tt := range []struct {
		name  string
		pack  *Pack
		age   time.Duration
		want  time.Duration
		holds bool
	}{
		{"fresh", pack, 0, 300 * time.Second, true},
		{"a minute old", pack, time.Minute, 240 * time.Second, true},
		{"half a second before the threshold", pack, 299*time.Second + 500*ms, 500 * ms, true},
		// auth_age > 300 is still false at 300 s: the decision can turn at 301.
		{"at the threshold", pack, 300 * time.Second, time.Second, true},
		{"within the threshold's second", pack, 300*time.Second + 250*ms, 750 * ms, true},
		{"past every threshold", pack, 301 * time.Second, 0, false},
		{"an hour old", pack, time.Hour, 0, false},
		{"authenticated in the future counts as fresh", pack, -time.Minute, 300 * time.Second, true},
		{"between two thresholds", two, 400 * time.Second, 200 * time.Second, true},
		{"no policy looks at the age", &Pack{}, time.Second, 0, false},
		{"a threshold centuries away", &Pack{ageThresholds: []int64{maxHoldSeconds + 10}}, 0, 0, false},
		{"opaque: until the next second", opaque, 42*time.Second + 300*ms, 700 * ms, true},
		{"opaque, on a whole second", opaque, 42 * time.Second, time.Second, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.pack.HoldsFor(tt.age)
			if got != tt.want || ok != tt.holds {
				t.Errorf("HoldsFor(%s) = %s, %v, want %s, %v", tt.age, got, ok, tt.want, tt.holds)
			}
		})
	}
}

// TestHoldsForAgreesWithDecide: over ages around the threshold, a decision is the
// same halfway through the time HoldsFor says it holds and at its last
// nanosecond; when HoldsFor says it holds for ever, it is the same an hour later.
func TestHoldsForAgreesWithDecide(t *testing.T) {
	p := testPack(t)
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, oslo)
	decide := func(age time.Duration) bool {
		t.Helper()
		d, err := p.Decide(Request{Actor: parent, Service: "skatt.melding", Action: "sign", ACR: "Level4", AuthTime: now.Add(-age), Now: now}, Facts{})
		if err != nil {
			t.Fatal(err)
		}
		return d.Allow
	}
	if !decide(300*time.Second) || decide(301*time.Second) {
		t.Fatal("sign-fresh does not turn between 300 and 301 seconds; the test pack changed")
	}
	for age := time.Duration(0); age <= 310*time.Second; age += 250 * time.Millisecond {
		want := decide(age)
		holds, ok := p.HoldsFor(age)
		if !ok {
			if got := decide(age + time.Hour); got != want {
				t.Fatalf("at age %s HoldsFor says the decision (%v) holds for ever, but an hour later it is %v", age, want, got)
			}
			continue
		}
		for _, d := range []time.Duration{holds / 2, holds - 1} {
			if got := decide(age + d); got != want {
				t.Fatalf("at age %s the decision is %v and HoldsFor says it holds %s, but %s later it is %v", age, want, holds, d, got)
			}
		}
	}
}
