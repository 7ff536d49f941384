package demo_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/delegation/registers/demo"
)

func TestSample(t *testing.T) {
	var feed bytes.Buffer
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, delegation.Oslo())
	if _, err := demo.Generate(&feed, demo.Options{Persons: 3000, Seed: 7, Now: now}); err != nil {
		t.Fatal(err)
	}
	pairs, persons, err := demo.Sample(bytes.NewReader(feed.Bytes()), 40, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(persons) != 40 {
		t.Errorf("Sample() persons = %d, want 40", len(persons))
	}
	for _, k := range []delegation.RelationKind{delegation.RelParent, delegation.RelGuardian, delegation.RelRole, delegation.RelFullmakt} {
		if n := len(pairs[k]); n == 0 || n > 40 {
			t.Errorf("Sample() %s pairs = %d, want 1 to 40", k, n)
		}
		for _, p := range pairs[k] {
			// Every pair must be a relation the feed states.
			if !strings.Contains(feed.String(), string(p.Actor)) || !strings.Contains(feed.String(), string(p.Party)) || p.Kind != k {
				t.Errorf("Sample() pair %+v is not in the feed", p)
			}
		}
	}
	again, _, err := demo.Sample(bytes.NewReader(feed.Bytes()), 40, 1)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(pairs, again); diff != "" {
		t.Errorf("Sample() with the same seed differs (-first +second):\n%s", diff)
	}
	if _, _, err := demo.Sample(strings.NewReader("{\"type\":\"person\"}\nnot json\n"), 1, 1); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("Sample(bad line 2) error = %v, want one naming line 2", err)
	}
}
