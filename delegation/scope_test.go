package delegation_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/fullmakt/fullmakt/delegation"
	"github.com/google/go-cmp/cmp"
)

// catalogue is a tiny service catalogue: service → areas.
type catalogue map[string][]string

func (c catalogue) ServiceAreas(service string) []string { return c[service] }

var cat = catalogue{
	"lanekassen.studiestotte":    {"education"},
	"helsenorge.journal":         {"health"},
	"helsenorge.resept":          {"health"},
	"skatteetaten.skattemelding": {"tax"},
	"nav.dagpenger":              {"work", "benefits"},
	"valg.stemme":                {"voting"},
}

func TestParseScope(t *testing.T) {
	tests := []struct {
		name    string
		entries []string
		actions []string
		want    delegation.Scope
		wantErr bool
	}{
		{name: "areas and services are told apart by the dot",
			entries: []string{"health", "lanekassen.studiestotte"},
			want:    delegation.Scope{Areas: []string{"health"}, Services: []string{"lanekassen.studiestotte"}}},
		{name: "sorted and without repeats",
			entries: []string{"tax", "health", "tax", "nav.dagpenger", "lanekassen.studiestotte", "nav.dagpenger"},
			actions: []string{"submit", "read", "read"},
			want: delegation.Scope{Areas: []string{"health", "tax"}, Services: []string{"lanekassen.studiestotte", "nav.dagpenger"},
				Actions: []string{"read", "submit"}}},
		{name: "services only", entries: []string{"nav.dagpenger"}, want: delegation.Scope{Services: []string{"nav.dagpenger"}}},
		{name: "a service name may have dots and digits", entries: []string{"skatteetaten.skattemelding.v2"},
			want: delegation.Scope{Services: []string{"skatteetaten.skattemelding.v2"}}},
		{name: "no entries", wantErr: true},
		{name: "actions without areas or services", actions: []string{"read"}, wantErr: true},
		{name: "empty entry", entries: []string{"health", ""}, wantErr: true},
		{name: "upper-case area", entries: []string{"Health"}, wantErr: true},
		{name: "area with a space", entries: []string{"health care"}, wantErr: true},
		{name: "area with a hyphen", entries: []string{"health-care"}, wantErr: true},
		{name: "upper-case service owner", entries: []string{"Lanekassen.studiestotte"}, wantErr: true},
		{name: "service without owner", entries: []string{".studiestotte"}, wantErr: true},
		{name: "service without name", entries: []string{"lanekassen."}, wantErr: true},
		{name: "service with an empty part", entries: []string{"lanekassen..studiestotte"}, wantErr: true},
		{name: "upper-case action", entries: []string{"health"}, actions: []string{"Read"}, wantErr: true},
		{name: "empty action", entries: []string{"health"}, actions: []string{""}, wantErr: true},
		{name: "action with a dot", entries: []string{"health"}, actions: []string{"read.all"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := delegation.ParseScope(tt.entries, tt.actions)
			if tt.wantErr {
				if err == nil || !errors.Is(err, delegation.ErrInvalid) {
					t.Errorf("ParseScope(%q, %q) = %+v, %v, want ErrInvalid", tt.entries, tt.actions, got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseScope(%q, %q) error = %v", tt.entries, tt.actions, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseScope(%q, %q) (-want +got):\n%s", tt.entries, tt.actions, diff)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("%+v.Validate() = %v", got, err)
			}
		})
	}
	// ParseScope does not change its arguments.
	entries, actions := []string{"tax", "health"}, []string{"submit", "read"}
	if _, err := delegation.ParseScope(entries, actions); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"tax", "health", "submit", "read"}, append(entries, actions...)); diff != "" {
		t.Errorf("ParseScope changed its arguments (-before +after):\n%s", diff)
	}
}

func TestScopeValidate(t *testing.T) {
	tests := []struct {
		name    string
		s       delegation.Scope
		wantErr bool
	}{
		{"area", delegation.Scope{Areas: []string{"health"}}, false},
		{"service", delegation.Scope{Services: []string{"helsenorge.journal"}, Actions: []string{"read"}}, false},
		{"empty", delegation.Scope{}, true},
		{"actions only", delegation.Scope{Actions: []string{"read"}}, true},
		{"a service among the areas", delegation.Scope{Areas: []string{"helsenorge.journal"}}, true},
		{"an area among the services", delegation.Scope{Services: []string{"health"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.s.Validate()
			if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, delegation.ErrInvalid)) {
				t.Errorf("%+v.Validate() = %v, want error: %v (ErrInvalid)", tt.s, err, tt.wantErr)
			}
		})
	}
}

func TestScopeCovers(t *testing.T) {
	healthAndLoans := delegation.Scope{Areas: []string{"health"}, Services: []string{"lanekassen.studiestotte"}}
	readHealth := delegation.Scope{Areas: []string{"health"}, Actions: []string{"read"}}
	tests := []struct {
		name            string
		s               delegation.Scope
		service, action string
		want            bool
	}{
		{"a service through its area", healthAndLoans, "helsenorge.journal", "read", true},
		{"another service of the area", healthAndLoans, "helsenorge.resept", "submit", true},
		{"a named service", healthAndLoans, "lanekassen.studiestotte", "submit", true},
		{"a service of another area", healthAndLoans, "skatteetaten.skattemelding", "read", false},
		{"a service the catalogue does not know", healthAndLoans, "ukjent.tjeneste", "read", false},
		{"the second area of a service", delegation.Scope{Areas: []string{"benefits"}}, "nav.dagpenger", "read", true},
		{"an allowed action", readHealth, "helsenorge.journal", "read", true},
		{"an action not allowed", readHealth, "helsenorge.journal", "submit", false},
		{"an allowed action in another area", readHealth, "skatteetaten.skattemelding", "read", false},
		{"a named service with actions", delegation.Scope{Services: []string{"nav.dagpenger"}, Actions: []string{"read", "submit"}}, "nav.dagpenger", "submit", true},
		{"an area is not a service", delegation.Scope{Areas: []string{"health"}}, "health", "read", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.s.Covers(cat, tt.service, tt.action); got != tt.want {
				t.Errorf("%+v.Covers(%q, %q) = %v, want %v", tt.s, tt.service, tt.action, got, tt.want)
			}
		})
	}
}

func TestScopeWithin(t *testing.T) {
	outer := delegation.Scope{Areas: []string{"health", "tax"}, Services: []string{"lanekassen.studiestotte"}}
	outerRead := delegation.Scope{Areas: []string{"health"}, Actions: []string{"read", "submit"}}
	tests := []struct {
		name     string
		s, outer delegation.Scope
		want     bool
	}{
		{"itself", outer, outer, true},
		{"one of its areas", delegation.Scope{Areas: []string{"tax"}}, outer, true},
		{"one of its services", delegation.Scope{Services: []string{"lanekassen.studiestotte"}}, outer, true},
		{"a service of one of its areas", delegation.Scope{Services: []string{"helsenorge.journal"}}, outer, true},
		{"an area it does not have", delegation.Scope{Areas: []string{"work"}}, outer, false},
		{"a service of another area", delegation.Scope{Services: []string{"nav.dagpenger"}}, outer, false},
		{"an unknown service", delegation.Scope{Services: []string{"ukjent.tjeneste"}}, outer, false},
		{"an area whose services it names one by one", delegation.Scope{Areas: []string{"health"}},
			delegation.Scope{Services: []string{"helsenorge.journal", "helsenorge.resept"}}, false},
		{"one area too many", delegation.Scope{Areas: []string{"health", "work"}}, outer, false},
		{"actions limited where outer has none", delegation.Scope{Areas: []string{"health"}, Actions: []string{"read"}}, outer, true},
		{"every action where outer limits them", delegation.Scope{Areas: []string{"health"}}, outerRead, false},
		{"the same actions", delegation.Scope{Areas: []string{"health"}, Actions: []string{"read", "submit"}}, outerRead, true},
		{"a subset of the actions", delegation.Scope{Services: []string{"helsenorge.journal"}, Actions: []string{"read"}}, outerRead, true},
		{"an action outer does not allow", delegation.Scope{Areas: []string{"health"}, Actions: []string{"read", "sign"}}, outerRead, false},
		{"allowed actions in another area", delegation.Scope{Areas: []string{"tax"}, Actions: []string{"read"}}, outerRead, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.s.Within(cat, tt.outer); got != tt.want {
				t.Errorf("%+v.Within(%+v) = %v, want %v", tt.s, tt.outer, got, tt.want)
			}
		})
	}
}

func FuzzParseScope(f *testing.F) {
	f.Add("health,lanekassen.studiestotte", "read")
	f.Add("tax,tax,a.b.c", "read,submit,read")
	f.Add(",.", "")
	f.Add("a.", "A")
	f.Fuzz(func(t *testing.T, entries, actions string) {
		e, a := split(entries), split(actions)
		s, err := delegation.ParseScope(e, a)
		if err != nil {
			if !errors.Is(err, delegation.ErrInvalid) {
				t.Fatalf("ParseScope(%q, %q) error %v is not ErrInvalid", e, a, err)
			}
			return
		}
		// What ParseScope accepts is valid, normalised (parsing it again changes
		// nothing), and within itself.
		again, err := delegation.ParseScope(append(append([]string(nil), s.Areas...), s.Services...), s.Actions)
		if err != nil {
			t.Fatalf("ParseScope of the accepted %+v = %v", s, err)
		}
		if diff := cmp.Diff(s, again); diff != "" {
			t.Fatalf("ParseScope is not idempotent (-first +second):\n%s", diff)
		}
		if !s.Within(cat, s) {
			t.Fatalf("%+v is not within itself", s)
		}
	})
}

func split(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
