package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fullmakt/fullmakt/sdk"
)

// Every page renders with the data its handler gives it, in each of its states,
// with no script, no inline style and no identity number in full.
func TestPagesRender(t *testing.T) {
	p, err := newPages(slog.New(slog.NewTextHandler(io.Discard, nil)), "http://localhost:8080")
	if err != nil {
		t.Fatal(err)
	}
	kari := &session{csrf: "token-123", Login: &personLogin{Name: "Kari Nordmann", Actor: sdk.Actor{Party: sdk.Person("17057612345"), ACR: "http://eidas.europa.eu/LoA/high"}}}
	ola := choice{Party: sdk.Person("03110912345"), Name: "Ola Nordmann", Relation: "parent"}
	maja := choice{Party: sdk.Person("08050412345"), Name: "Maja Lie", Relation: "fullmakt", StepUp: "high"}
	self := choice{Party: kari.Login.Actor.Party, Name: "Kari Nordmann", Relation: "self"}
	when := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	full := Case{
		ID: "abcdefghijklmnop", Created: when, Applicant: PartyRecord{"person", "03110912345"}, ApplicantName: "Ola Nordmann",
		Submitter: PartyRecord{"person", "17057612345"}, SubmitterName: "Kari Nordmann", Relation: "parent",
		ACR: "http://eidas.europa.eu/LoA/high", AuthTime: when, Application: Application{"UiO", "Informatics", "2026-2027"},
		Diploma: &Diploma{Title: "Vitnemål", School: "Lia", Subjects: []Subject{{"Norsk", 5}}, Seen: Seen{Actor: "170576*****", Via: []string{"example-agency"}, Relation: "parent"}},
		Receipt: Archived{JWS: "a.b.c"},
	}
	noDiploma := full
	noDiploma.Diploma, noDiploma.DiplomaError = nil, "the diplomas API answered 503"

	tests := []struct {
		name     string
		page     string
		sess     *session
		errs     []fieldError
		data     any
		want     []string
		wantCode int
	}{
		{name: "home, logged out", page: "home", sess: &session{csrf: "t"}, data: struct{ Cases int }{}, want: []string{"Log in with Fullmakt", `name="csrf" value="t"`}},
		{name: "home, logged in", page: "home", sess: kari, data: struct{ Cases int }{2}, want: []string{"Apply for student support", "Your cases</a> (2)", "Level: high", "Log out"}},
		{name: "picker", page: "applyfor", sess: kari, data: applyForData{Choices: []choice{self, ola, maja}}, want: []string{
			"Yourself, Kari Nordmann", "Ola Nordmann", "You are their parent. Born 031109*****.", "They gave you a fullmakt",
			"log in at level high before you submit", "Someone else",
		}},
		{name: "picker with errors", page: "applyfor", sess: kari, errs: []fieldError{{"id", "Enter an identity number of 11 digits"}},
			data: applyForData{Choices: []choice{self}, Selected: "other", ID: "123"}, want: []string{"There is a problem", `<a href="#id">`, `value="other" aria-describedby="party-other-hint" checked`, `value="123"`}},
		{name: "form for a child", page: "apply", sess: kari, data: applyData{For: ola, Years: []string{"2026-2027"}, Values: map[string]string{}},
			want: []string{"You are applying for <strong>Ola Nordmann</strong> as their parent", `<option value="2026-2027">`}},
		{name: "form after a step-up note", page: "apply", sess: kari, data: applyData{For: maja, Years: []string{"2026-2027"}, Values: map[string]string{"academic_year": "2026-2027"}},
			want: []string{"with the fullmakt they gave you", "Fullmakt will ask you to log in at level high", `<option value="2026-2027" selected>`}},
		{name: "form for someone unnamed", page: "apply", sess: kari, data: applyData{For: choice{Party: sdk.Person("03110912345"), Relation: "parent"}, Values: map[string]string{}},
			want: []string{"the person born 031109*****"}},
		{name: "refused", page: "refused", sess: kari, data: refusal{Name: "Sara Nordmann", Reasons: explain([]string{"party_of_age"}, "Sara Nordmann")},
			want: []string{"You cannot apply for Sara Nordmann", "only until they turn 18", "Nothing was submitted."}},
		{name: "problem", page: "problem", data: problemUnavailable, want: []string{"Fullmakt cannot be reached", "Nothing was submitted."}},
		{name: "no cases", page: "cases", sess: kari, data: []Case(nil), want: []string{"You have not submitted any applications yet."}},
		{name: "cases", page: "cases", sess: kari, data: []Case{full}, want: []string{`<a href="/cases/abcdefghijklmnop">`, "Ola Nordmann", "1 March 2026 at 13:00"}},
		{name: "case, verified", page: "case", sess: kari, data: caseData{Case: full, Verified: true, Claims: []claimRow{{"Decision", "decision", "allowed"}}},
			want: []string{"Ola Nordmann, born 031109*****", "Parent, with parental responsibility", "<strong>Verified.</strong>", "<strong>example-agency</strong>", "a.b.c"}},
		{name: "case, not verified, no diploma", page: "case", sess: kari, data: caseData{Case: noDiploma, VerifyError: "sdk: invalid token: signature"},
			want: []string{"<strong>Not verified.</strong>", "sdk: invalid token: signature", "the diplomas API answered 503"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			p.render(w, http.StatusOK, tt.page, tt.sess, "", tt.errs, tt.data)
			body := w.Body.String()
			if w.Code != http.StatusOK {
				t.Fatalf("render(%s) = %d:\n%s", tt.page, w.Code, body)
			}
			for _, want := range tt.want {
				if !strings.Contains(body, want) {
					t.Errorf("render(%s) lacks %q:\n%s", tt.page, want, body)
				}
			}
			for _, not := range []string{"<script", "style=", "17057612345", "03110912345", "08050412345"} {
				if strings.Contains(body, not) {
					t.Errorf("render(%s) contains %q", tt.page, not)
				}
			}
		})
	}
}

func TestSecurityHeaders(t *testing.T) {
	p, err := newPages(slog.New(slog.NewTextHandler(io.Discard, nil)), "https://fullmakt.example:8443")
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	p.securityHeaders(http.NotFoundHandler()).ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	want := map[string]string{
		"Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self' https://fullmakt.example:8443; frame-ancestors 'none'; base-uri 'none'",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"Cache-Control":           "no-store",
	}
	for k, v := range want {
		if got := w.Header().Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}
