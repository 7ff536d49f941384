package portal_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/delegation/registers/demo"
)

func TestConsentsList(t *testing.T) {
	f := newFixture(t)
	org := demo.CastOrganization().ID
	income := f.seedConsent("kari", "skatteetaten.inntekt", f.today().AddDays(30), false)
	f.advance(time.Minute)
	benefits := f.seedConsent("kari", "nav.ytelser", f.today().AddDays(5), true)
	others := f.seedConsent("per", "skatteetaten.inntekt", f.today().AddDays(30), false)
	f.seedAccess(
		delegation.AccessEvent{Actor: org, Party: f.id("kari"), Service: "skatteetaten.inntekt", Allowed: true, Relation: delegation.RelConsent, RelationID: income.ID},
		delegation.AccessEvent{Actor: org, Party: f.id("kari"), Service: "skatteetaten.inntekt", Allowed: true, Relation: delegation.RelConsent, RelationID: income.ID},
		delegation.AccessEvent{Actor: org, Party: f.id("kari"), Service: "skatteetaten.inntekt", Allowed: false, Relation: delegation.RelConsent, RelationID: income.ID},
		delegation.AccessEvent{Actor: org, Party: f.id("per"), Service: "skatteetaten.inntekt", Allowed: true, Relation: delegation.RelConsent, RelationID: others.ID},
	)

	kari := f.login("kari", authz.LevelSubstantial)
	body := kari.page("/consents").Body
	txt := text(body)
	for _, want := range []string{
		"Income information", "Benefits paid by NAV", "Fjordtech Demo AS", "974 761 076", "A loan application",
		"Once only", "As often as needed until it ends", "Used 2 times", "Not used yet",
		f.today().AddDays(30).Start().Format("02.01.2006"), "Active",
	} {
		if !strings.Contains(txt, want) {
			t.Errorf("Kari's consents = %q, want %q", txt, want)
		}
	}
	if i, j := strings.Index(body, benefits.ID), strings.Index(body, income.ID); i < 0 || i > j {
		t.Errorf("Kari's consents: want the newest (%s) first", benefits.ID)
	}
	if strings.Contains(body, others.ID) {
		t.Errorf("Kari's consents show Per's")
	}

	// The detail page lists every use, allowed or refused.
	txt = text(kari.page("/consents/" + income.ID).Body)
	for _, want := range []string{"Every time it was used", "Refused", "Allowed", "Income information", "Used 2 times"} {
		if !strings.Contains(txt, want) {
			t.Errorf("the consent's page = %q, want %q", txt, want)
		}
	}
	if got := strings.Count(txt, "Fjordtech Demo AS"); got != 4 { // the recipient, and who used it three times
		t.Errorf("the consent's page names Fjordtech Demo AS %d times, want 4: %q", got, txt)
	}
	if got := text(kari.page("/consents/" + benefits.ID).Body); !strings.Contains(got, "It has not been used.") {
		t.Errorf("an unused consent's page = %q, want it to say it has not been used", got)
	}
}

func TestConsentOfAnother(t *testing.T) {
	f := newFixture(t)
	c := f.seedConsent("per", "skatteetaten.inntekt", f.today().AddDays(30), false)
	kari := f.login("kari", authz.LevelSubstantial)
	for _, path := range []string{"/consents/" + c.ID, "/consents/" + c.ID + "/withdraw", "/consents/nothing-of-that-name"} {
		if r := kari.get(path); r.Status != http.StatusNotFound {
			t.Errorf("Kari: GET %s = %d, want 404", path, r.Status)
		}
	}
	if r := kari.post("/consents/"+c.ID+"/withdraw", nil); r.Status != http.StatusNotFound {
		t.Errorf("Kari: POST withdraw Per's consent = %d, want 404", r.Status)
	}
	if got, err := f.store.Consent(f.ctx, c.ID); err != nil || got.Status != delegation.ConsentActive {
		t.Errorf("Per's consent after Kari's attempt = %v, %v, want it active", got.Status, err)
	}
}

func TestConsentWithdraw(t *testing.T) {
	f := newFixture(t)
	c := f.seedConsent("kari", "skatteetaten.inntekt", f.today().AddDays(30), false)
	kari := f.login("kari", authz.LevelSubstantial)
	path := "/consents/" + c.ID + "/withdraw"

	page := kari.page(path)
	if got := text(page.Body); !strings.Contains(got, "Do you want to withdraw the consent?") ||
		!strings.Contains(got, "Fjordtech Demo AS can no longer obtain Income information about you from 974 761 076") {
		t.Errorf("GET %s = %q, want the question and what withdrawing means", path, got)
	}
	if !strings.Contains(page.Body, `name="csrf" value="token-kari"`) {
		t.Errorf("GET %s: the form carries no form token", path)
	}

	// Without the form token, nothing happens.
	if r := kari.post(path, url.Values{"csrf": {""}}); r.Status != http.StatusForbidden {
		t.Errorf("POST %s without the form token = %d, want 403", path, r.Status)
	}
	if got, _ := f.store.Consent(f.ctx, c.ID); got.Status != delegation.ConsentActive {
		t.Fatalf("the consent after a post without the token = %v, want active", got.Status)
	}

	r := kari.post(path, nil)
	if r.Status != http.StatusSeeOther || r.Location != "/consents/"+c.ID+"?withdrawn=1" {
		t.Fatalf("POST %s = %d to %q, want 303 to the consent with the banner", path, r.Status, r.Location)
	}
	got, err := f.store.Consent(f.ctx, c.ID)
	if err != nil || got.Status != delegation.ConsentWithdrawn || !got.EndedAt.Equal(f.clock()) {
		t.Fatalf("the consent after withdrawing = %+v, %v, want withdrawn now", got, err)
	}
	f.mu.Lock()
	changed := f.changed
	f.mu.Unlock()
	if changed != 1 {
		t.Errorf("Changed was called %d times, want 1", changed)
	}
	if txt := text(kari.follow(r).Body); !strings.Contains(txt, "You have withdrawn the consent") || !strings.Contains(txt, "Withdrawn") {
		t.Errorf("the consent after withdrawing = %q, want the banner and its status", txt)
	}

	// Once withdrawn, there is nothing to withdraw: a plain message.
	r = kari.post(path, nil)
	if r.Status != http.StatusSeeOther || r.Location != path {
		t.Fatalf("POST %s again = %d to %q, want 303 to %s", path, r.Status, r.Location, path)
	}
	if txt := text(kari.follow(r).Body); !strings.Contains(txt, "The consent is no longer active") {
		t.Errorf("GET %s when withdrawn = %q, want it to say the consent is no longer active", path, txt)
	}
	if txt := text(kari.page("/consents/" + c.ID).Body); strings.Contains(txt, "You have withdrawn the consent") {
		t.Errorf("the consent page without ?withdrawn=1 = %q, want no banner", txt)
	}
}

// Ended consents stay on the list for the retention period.
func TestConsentsRetention(t *testing.T) {
	const month = 30 * 24 * time.Hour
	tests := []struct {
		name  string
		after time.Duration
		shown bool
	}{
		{"14 months on", 14 * month, true},
		{"16 months on", 16 * month, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			withdrawn := f.seedConsent("kari", "skatteetaten.inntekt", f.today().AddDays(400), false)
			if _, err := f.store.WithdrawConsent(f.ctx, withdrawn.ID, f.clock()); err != nil {
				t.Fatal(err)
			}
			expired := f.seedConsent("kari", "nav.ytelser", f.today(), false)
			f.advance(tt.after)
			body := f.login("kari", authz.LevelSubstantial).page("/consents").Body
			for _, c := range []delegation.Consent{withdrawn, expired} {
				if got := strings.Contains(body, "/consents/"+c.ID); got != tt.shown {
					t.Errorf("the list shows consent %s: %v, want %v", c.DataSet, got, tt.shown)
				}
			}
			if tt.shown {
				txt := text(body)
				for _, want := range []string{"Withdrawn 23.11.2026", "Ended after 23.11.2026", "stay on the list for 15 months"} {
					if !strings.Contains(txt, want) {
						t.Errorf("the list = %q, want %q", txt, want)
					}
				}
			}
		})
	}
}
