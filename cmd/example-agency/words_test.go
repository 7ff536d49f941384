package main

import (
	"slices"
	"strings"
	"testing"
)

func TestMask(t *testing.T) {
	tests := []struct {
		name, id, want string
	}{
		{name: "identity number keeps the birth date", id: "17051212345", want: "170512*****"},
		{name: "organisation number is public", id: "960885406", want: "960885406"},
		{name: "empty", id: "", want: ""},
		{name: "something else is hidden", id: "abc", want: "*****"},
		{name: "eleven characters, not digits", id: "1705121234x", want: "*****"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mask(tt.id); got != tt.want {
				t.Errorf("mask(%q) = %q, want %q", tt.id, got, tt.want)
			}
		})
	}
}

func TestLevelWord(t *testing.T) {
	for acr, want := range map[string]string{
		"http://eidas.europa.eu/LoA/high":        "high",
		"idporten-loa-high":                      "high",
		"http://eidas.europa.eu/LoA/substantial": "substantial",
		"idporten-loa-substantial":               "substantial",
		"http://eidas.europa.eu/LoA/low":         "low",
		"":                                       "unknown",
	} {
		if got := levelWord(acr); got != want {
			t.Errorf("levelWord(%q) = %q, want %q", acr, got, want)
		}
	}
}

func TestExplain(t *testing.T) {
	tests := []struct {
		name  string
		codes []string
		party string
		want  []string
	}{
		{
			name: "an adult child", codes: []string{"party_of_age"}, party: "Sara Nordmann",
			want: []string{"Parents act for their children only until they turn 18. Sara Nordmann is 18 or older and must apply themself, or give you a fullmakt for education in Fullmakt."},
		},
		{
			name: "the specific reason wins over not_permitted", codes: []string{"not_permitted", "fullmakt_revoked"}, party: "Maja Lie",
			want: []string{"Maja Lie has revoked the fullmakt they gave you."},
		},
		{
			name: "no relation, nobody named", codes: []string{"no_relation"}, party: "",
			want: []string{"Fullmakt knows of nothing that lets you act for this person: you are not their parent or guardian, and they have not given you a fullmakt that covers student support."},
		},
		{
			name: "a sentence that starts with the party is capitalised", codes: []string{"fullmakt_expired", "party_deceased"}, party: "",
			want: []string{"The fullmakt this person gave you has expired.", "The population register says that this person has died."},
		},
		{
			name: "markers only: the general sentence", codes: []string{"step_up"}, party: "Ola Nordmann",
			want: []string{"You may not submit applications for student support for Ola Nordmann."},
		},
		{
			name: "an unknown code: the general sentence, once", codes: []string{"something_new", "another_new"}, party: "Ola Nordmann",
			want: []string{"You may not submit applications for student support for Ola Nordmann."},
		},
		{
			name: "nothing", codes: nil, party: "Ola Nordmann",
			want: []string{"You may not submit applications for student support for Ola Nordmann."},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := explain(tt.codes, tt.party); !slices.Equal(got, tt.want) {
				t.Errorf("explain(%q, %q) = %q, want %q", tt.codes, tt.party, got, tt.want)
			}
		})
	}
}

// Every reason code of the default policy pack has its own sentence.
func TestReasonTextCoversThePolicyPack(t *testing.T) {
	codes := []string{
		"level_too_low", "authentication_too_old", "fullmakt_revoked", "fullmakt_renounced", "fullmakt_expired",
		"fullmakt_pending", "fullmakt_unknown_parent", "subdelegation_exceeds_parent", "fullmakt_out_of_scope",
		"fullmakt_action_out_of_scope", "grantor_minor", "guardianship_not_active", "guardianship_out_of_scope",
		"parental_responsibility_not_active", "party_of_age", "highly_personal", "party_deceased", "party_protected",
		"role_read_only", "role_outside_business", "no_relation", "not_permitted", "policy_error", "unknown_party",
	}
	general, _ := reasonText("not_permitted", "X")
	for _, c := range codes {
		text, ok := reasonText(c, "X")
		if !ok || text == "" {
			t.Errorf("reasonText(%q) = %q, %v; want a sentence", c, text, ok)
		}
		if c != "not_permitted" && text == general {
			t.Errorf("reasonText(%q) is the general sentence", c)
		}
		if strings.Contains(text, "_") {
			t.Errorf("reasonText(%q) = %q shows a code", c, text)
		}
	}
}

func TestProblemReasons(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []string
	}{
		{name: "codes", body: `{"status":403,"reasons":["party_of_age","not_permitted"]}`, want: []string{"party_of_age", "not_permitted"}},
		{name: "objects", body: `{"reasons":[{"code":"fullmakt_revoked","relation":"fullmakt"}]}`, want: []string{"fullmakt_revoked"}},
		{name: "none", body: `{"status":403}`, want: nil},
		{name: "not JSON", body: `<html>`, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := problemReasons([]byte(tt.body)); !slices.Equal(got, tt.want) {
				t.Errorf("problemReasons(%s) = %q, want %q", tt.body, got, tt.want)
			}
		})
	}
}

func TestApplicationProblems(t *testing.T) {
	long := strings.Repeat("å", 101)
	tests := []struct {
		name string
		app  Application
		want []string // fields at fault
	}{
		{name: "complete", app: Application{School: "UiO", Programme: "Informatics", AcademicYear: "2026-2027"}},
		{name: "empty", app: Application{}, want: []string{"school", "programme", "academic_year"}},
		{name: "too long", app: Application{School: long, Programme: "P", AcademicYear: "2026-2027"}, want: []string{"school"}},
		{name: "a control character", app: Application{School: "U\x00iO", Programme: "P", AcademicYear: "2026-2027"}, want: []string{"school"}},
		{name: "years not one apart", app: Application{School: "S", Programme: "P", AcademicYear: "2026-2028"}, want: []string{"academic_year"}},
		{name: "not a year", app: Application{School: "S", Programme: "P", AcademicYear: "next year"}, want: []string{"academic_year"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, e := range applicationProblems(tt.app) {
				got = append(got, e.Field)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("applicationProblems(%+v) names %q, want %q", tt.app, got, tt.want)
			}
		})
	}
}
