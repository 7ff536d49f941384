package main

// The citizen login's passkeys in a real Chromium with a virtual authenticator:
// add one, log in with it alone, and step up with it for a client that asks for
// a higher level. Every page on the way is checked for accessibility and reflow,
// in English and in Bokmål, and screenshotted.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"

	"github.com/fullmakt/fullmakt/idp/login"
	idpweb "github.com/fullmakt/fullmakt/idp/web"
)

// TestBrowserPasskeyStepUp: Kari logs in with TestID at level high and adds a
// passkey; logs out and in again with the passkey alone (level high), from the
// passkey page and from the demo page's autofill. Then, logged in at
// substantial, she confirms with the passkey when the demo client asks for high:
// first her user verification fails (the page says so, the client gets nothing),
// then it works, and the client's tokens say idporten-loa-high, hwk, user and
// mfa. A prompt=login she cancels, the party picker, the consent page and an
// error page follow, for their checks.
//
// The login's rate limits (10 attempts a minute per person, 20 per address) are
// shared by all the steps: Kari's passkey and TestID requests here number 9, the
// address's 15. A step that adds some must keep under them.
func TestBrowserPasskeyStepUp(t *testing.T) {
	if _, err := os.Stat(filepath.Join(axeDir, "node_modules", "axe-core", "axe.min.js")); err != nil {
		missing(t, "axe-core is not installed (%v): run `npm ci --prefix cmd/fullmakt/testdata/browser`, or `make test`", err)
	}
	base := serveForBrowser(t, "--data", t.TempDir(), "--demo")
	ctx := newBrowser(t)
	if !setLanguage(t, ctx, base, "en") {
		t.Fatal("serve --demo has no language switch (GET /lang)")
	}
	cat, err := idpweb.LoadCatalogue(idpweb.Messages(), login.Messages())
	if err != nil {
		t.Fatal(err)
	}
	text := func(lang, key string, args ...any) string { return cat.Text(idpweb.Lang(lang), key, args...) }
	const redirect = "http://localhost:8080"
	callbacks := interceptOrigin(t, ctx, redirect)
	authenticator := addAuthenticator(t, ctx, true)
	_, kari := castIndex(t, "Kari")

	step := steps(t)

	step("add a passkey", func(t *testing.T) {
		do(t, ctx, "open /login for the passkeys page", chromedp.Navigate(base+"/login?return=/account/passkeys"))
		arrive(t, ctx, base+"/login/choose?")
		bothLanguages(t, ctx, base, "login-choose")
		demoEID(t, ctx, base, "Kari", "high", true)

		arrive(t, ctx, base+"/account/passkeys")
		if got := pageText(t, ctx, "main"); !strings.Contains(got, text("en", "passkeys.none")) {
			t.Errorf("the passkeys page of someone without passkeys does not say %q:\n%s", text("en", "passkeys.none"), got)
		}
		bothLanguages(t, ctx, base, "passkeys-empty")

		do(t, ctx, "name the passkey", chromedp.SendKeys(`#passkey-name`, "Test laptop"))
		do(t, ctx, "click "+text("en", "passkeys.add"), chromedp.Click(`button[data-passkey="register"]`))
		arrive(t, ctx, base+"/account/passkeys?done=added")
		do(t, ctx, "wait for the list of passkeys", chromedp.WaitVisible(`ul.choice-list h3`))
		if got := eval[[]string](t, ctx, `[...document.querySelectorAll('ul.choice-list h3')].map(h => h.textContent.trim())`); !slices.Equal(got, []string{"Test laptop"}) {
			t.Errorf("the passkeys page lists %q, want [Test laptop]", got)
		}
		main := pageText(t, ctx, "main")
		for _, want := range []string{text("en", "passkeys.done.added"), text("en", "level.high"), text("en", "passkeys.device")} {
			if !strings.Contains(main, want) {
				t.Errorf("the passkeys page after adding one lacks %q:\n%s", want, main)
			}
		}
		creds := credentials(t, ctx, authenticator)
		if len(creds) != 1 || !creds[0].IsResidentCredential || creds[0].RpID != "localhost" || len(creds[0].UserHandle) == 0 {
			t.Fatalf("the authenticator holds %+v, want one resident credential for localhost with a user handle", creds)
		}
		if creds[0].BackupEligibility {
			t.Errorf("the virtual authenticator's passkey is backup eligible; the amr checks below expect a device-bound one")
		}
		bothLanguages(t, ctx, base, "passkeys")
	})

	step("log out", func(t *testing.T) {
		logOut(t, ctx, base)
		if h1 := pageText(t, ctx, "h1"); h1 != text("en", "logged_out.title") {
			t.Errorf("after logging out the page says %q, want %q", h1, text("en", "logged_out.title"))
		}
		if n := eval[int](t, ctx, `document.querySelectorAll('form.logout').length`); n != 0 {
			t.Errorf("the logged-out page still has a logout button")
		}
		bothLanguages(t, ctx, base, "logged-out")
	})

	step("log in with the passkey alone", func(t *testing.T) {
		do(t, ctx, "open /login", chromedp.Navigate(base+"/login"))
		arrive(t, ctx, base+"/login/choose?")
		do(t, ctx, "click "+text("en", "choose.passkey"), chromedp.Click(`a[href^="/login/passkey?"]`))
		arrive(t, ctx, base+"/login/passkey?")
		do(t, ctx, "wait for the passkey button", chromedp.WaitVisible(`button[data-passkey="login"]`))
		if got := pageText(t, ctx, `button[data-passkey="login"]`); got != text("en", "passkey.button") {
			t.Errorf("the passkey page's button says %q, want %q", got, text("en", "passkey.button"))
		}
		bothLanguages(t, ctx, base, "login-passkey")

		do(t, ctx, "click "+text("en", "passkey.button"), chromedp.Click(`button[data-passkey="login"]`))
		arrive(t, ctx, base+"/account")
		if loc := location(t, ctx, base); loc != base+"/account" {
			t.Errorf("the passkey login ends at %s, want %s/account", loc, base)
		}
		got := summary(t, ctx)
		if got[text("en", "account.level")] != text("en", "level.high") || got[text("en", "account.method")] != text("en", "account.method.passkey") {
			t.Errorf("the account page after a passkey login says %v; want level %q and method %q", got, text("en", "level.high"), text("en", "account.method.passkey"))
		}
		if !strings.Contains(pageText(t, ctx, "header"), kari.Name) {
			t.Errorf("the header does not name %s after the passkey login", kari.Name)
		}
		bothLanguages(t, ctx, base, "account")
	})

	step("log in with the passkey from the autofill", func(t *testing.T) {
		// The demo eID's identity number field offers passkeys in the browser's
		// autofill (conditional mediation). The virtual authenticator answers
		// such a request at once, as if the person picked the passkey.
		logOut(t, ctx, base)
		do(t, ctx, "open /login", chromedp.Navigate(base+"/login"))
		arrive(t, ctx, base+"/login/choose?")
		do(t, ctx, "click TestID", chromedp.Click(`a[href^="/login/method/demo?"]`))
		arrive(t, ctx, base+"/account")
		got := summary(t, ctx)
		if got[text("en", "account.level")] != text("en", "level.high") || got[text("en", "account.method")] != text("en", "account.method.passkey") {
			t.Errorf("the account page after the autofill's passkey login says %v; want level %q and method %q", got, text("en", "level.high"), text("en", "account.method.passkey"))
		}
	})

	// exchange gets the tokens for the code of a callback to the demo client.
	exchange := func(t *testing.T, code string) *oauth2.Token {
		t.Helper()
		cfg := oauth2.Config{ClientID: demoClientID, ClientSecret: demoClientSecret, RedirectURL: redirect + "/callback",
			Endpoint: oauth2.Endpoint{TokenURL: base + "/token", AuthStyle: oauth2.AuthStyleInHeader}}
		tok, err := cfg.Exchange(t.Context(), code, oauth2.VerifierOption(pkceVerifier))
		if err != nil {
			var re *oauth2.RetrieveError
			if errors.As(err, &re) {
				t.Fatalf("exchange the code: %s", re.Body)
			}
			t.Fatalf("exchange the code: %v", err)
		}
		return tok
	}

	step("step up with the passkey", func(t *testing.T) {
		// Kari logs in again with TestID, at substantial. The authenticator's
		// user verification fails meanwhile: otherwise it would answer the demo
		// page's passkey autofill, and log her in with her passkey at high.
		logOut(t, ctx, base)
		setUserVerified(t, ctx, authenticator, false)
		do(t, ctx, "open /login", chromedp.Navigate(base+"/login?return=/account"))
		arrive(t, ctx, base+"/login/choose?")
		demoEID(t, ctx, base, "Kari", "substantial", false)
		arrive(t, ctx, base+"/account")
		if got := summary(t, ctx)[text("en", "account.level")]; got != text("en", "level.substantial") {
			t.Fatalf("after a TestID login at substantial the account page says level %q", got)
		}

		drain(callbacks)
		// auth_time is in whole seconds.
		started := time.Now().Truncate(time.Second)
		state := "stepup-state-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		do(t, ctx, "open /authorize asking for high", chromedp.Navigate(authorizeURL(base, "openid", state)+"&acr_values=idporten-loa-high"))
		stepUp := arrive(t, ctx, base+"/login/step-up?")
		do(t, ctx, "wait for the step-up button", chromedp.WaitVisible(`button[data-passkey="step-up"]`))
		if got := pageText(t, ctx, `button[data-passkey="step-up"]`); got != text("en", "stepup.passkey") {
			t.Errorf("the step-up page's button says %q, want %q", got, text("en", "stepup.passkey"))
		}
		if h1 := pageText(t, ctx, "h1"); h1 != text("en", "stepup.title") {
			t.Errorf("the step-up page's heading is %q, want %q", h1, text("en", "stepup.title"))
		}
		want := text("en", "stepup.level_client", demoOAuthClient().Name, text("en", "level.high"), text("en", "level.substantial"))
		if got := pageText(t, ctx, "main h1 + p"); got != want {
			t.Errorf("the step-up page says %q, want %q", got, want)
		}
		bothLanguages(t, ctx, base, "stepup")

		// First the fingerprint (user verification) fails: the page says so and
		// stays; the client gets nothing.
		do(t, ctx, "click "+text("en", "stepup.passkey"), chromedp.Click(`button[data-passkey="step-up"]`))
		do(t, ctx, "wait for the failure", chromedp.WaitVisible(`[data-passkey-status][data-state="error"]`))
		if got, want := pageText(t, ctx, `[data-passkey-status]`), text("en", "passkey.js.cancelled"); got != want {
			t.Errorf("after user verification failed the status says %q, want %q", got, want)
		}
		if eval[bool](t, ctx, `getComputedStyle(document.querySelector('[data-passkey-status]')).color === getComputedStyle(document.body).color`) {
			t.Errorf("the failure message has the colour of any other text: it does not read as an error")
		}
		if !eval[bool](t, ctx, `document.activeElement.matches('[data-passkey-status][role=status][aria-live=polite]')`) {
			t.Errorf("after the failure the focus is on %s, want the status message (aria-live)", focused(t, ctx))
		}
		if loc := location(t, ctx, base); loc != stepUp {
			t.Errorf("after the failure the browser is at %s, want the step-up page %s", loc, stepUp)
		}
		checkAccessibility(t, ctx, "stepup-failed-en")
		screenshot(t, ctx, "stepup-failed-en")
		select {
		case u := <-callbacks:
			t.Fatalf("the client got %s after a step-up whose user verification failed", u)
		default:
		}

		// Then it succeeds, on the same page.
		setUserVerified(t, ctx, authenticator, true)
		do(t, ctx, "click "+text("en", "stepup.passkey")+" again", chromedp.Click(`button[data-passkey="step-up"]`))
		u := callback(t, ctx, callbacks, redirect)
		if u.Query().Get("state") != state || u.Query().Get("code") == "" {
			t.Fatalf("the callback %s has no code or not the state %s", u, state)
		}
		tok := exchange(t, u.Query().Get("code"))
		idToken, _ := tok.Extra("id_token").(string)
		if idToken == "" {
			t.Fatal("the token response has no ID token")
		}
		for name, jwt := range map[string]string{"access token": tok.AccessToken, "ID token": idToken} {
			c := claims(t, jwt)
			if c["acr"] != "idporten-loa-high" {
				t.Errorf("the %s's acr is %v, want idporten-loa-high (as the client asked)", name, c["acr"])
			}
			var amr []string
			if list, ok := c["amr"].([]any); ok {
				for _, v := range list {
					s, _ := v.(string)
					amr = append(amr, s)
				}
			}
			if !slices.Equal(amr, []string{"hwk", "user", "mfa"}) {
				t.Errorf("the %s's amr is %v, want [hwk user mfa] (a device-bound passkey, user verified)", name, c["amr"])
			}
			at, ok := c["auth_time"].(float64)
			if !ok || time.Unix(int64(at), 0).Before(started) || time.Unix(int64(at), 0).After(time.Now()) {
				t.Errorf("the %s's auth_time is %v, want the step-up's time, between %d and now", name, c["auth_time"], started.Unix())
			}
			if c["pid"] != string(kari.ID) {
				t.Errorf("the %s is not Kari's", name)
			}
		}
		// The portal's session is at high now too.
		do(t, ctx, "open the account page", chromedp.Navigate(base+"/account"))
		arrive(t, ctx, base+"/account")
		if got := summary(t, ctx); got[text("en", "account.level")] != text("en", "level.high") || got[text("en", "account.method")] != text("en", "account.method.passkey") {
			t.Errorf("after the step-up the account page says %v, want level high by passkey", got)
		}
	})

	step("a fresh authentication, cancelled", func(t *testing.T) {
		// prompt=login: the session is at high, but the client wants Kari to
		// confirm again. She cancels, and the client hears access_denied.
		drain(callbacks)
		state := "fresh-state-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		do(t, ctx, "open /authorize with prompt=login", chromedp.Navigate(authorizeURL(base, "openid", state)+"&prompt=login"))
		arrive(t, ctx, base+"/login/step-up?")
		if got, want := pageText(t, ctx, "main h1 + p"), text("en", "stepup.fresh_client", demoOAuthClient().Name); got != want {
			t.Errorf("the step-up page for prompt=login says %q, want %q", got, want)
		}
		bothLanguages(t, ctx, base, "stepup-fresh")
		do(t, ctx, "click "+text("en", "choose.cancel"), chromedp.Click(`form[action="/login/cancel"] button`))
		u := callback(t, ctx, callbacks, redirect)
		if q := u.Query(); q.Get("error") != "access_denied" || q.Get("state") != state || q.Has("code") {
			t.Errorf("after cancelling the step-up the client got %s, want error=access_denied and the state", u)
		}
	})

	step("party picker", func(t *testing.T) {
		drain(callbacks)
		state := "party-state-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		do(t, ctx, "open /authorize with represent", chromedp.Navigate(authorizeURL(base, "openid represent", state)))
		arrive(t, ctx, base+"/login/party?")
		bothLanguages(t, ctx, base, "party")
		chooseRadio(t, ctx, "party", "Emma")
		do(t, ctx, "click "+text("en", "party.submit"), chromedp.Click(`form[action="/login/party"] button:not([formaction])`))
		u := callback(t, ctx, callbacks, redirect)
		if u.Query().Get("state") != state || u.Query().Get("code") == "" {
			t.Fatalf("the callback %s has no code or not the state %s", u, state)
		}
		_, emma := castIndex(t, "Emma")
		c := claims(t, exchange(t, u.Query().Get("code")).AccessToken)
		if act, _ := c["act"].(map[string]any); c["pid"] != string(emma.ID) || act == nil || act["pid"] != string(kari.ID) {
			t.Errorf("the token after the party picker: pid %v, act %v; want Emma, acted for by Kari", c["pid"], c["act"])
		}
	})

	step("consent", func(t *testing.T) {
		drain(callbacks)
		state := "consent-state-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		details := `[{"type":"consent","provider":"974761076","data_set":"skatteetaten.inntekt","purpose":"Søknad om studielån","valid_to":"` +
			time.Now().AddDate(0, 1, 0).Format(time.DateOnly) + `"}]`
		do(t, ctx, "open /authorize with a consent", chromedp.Navigate(authorizeURL(base, "openid", state)+"&authorization_details="+url.QueryEscape(details)))
		arrive(t, ctx, base+"/login/consent?")
		if main := pageText(t, ctx, "main"); !strings.Contains(main, "Søknad om studielån") {
			t.Errorf("the consent page does not name the purpose:\n%s", main)
		}
		bothLanguages(t, ctx, base, "consent")
		do(t, ctx, "tick the consent", chromedp.Click(`#consent-0`))
		do(t, ctx, "click "+text("en", "consent.submit"), chromedp.Click(`form[action="/login/consent"] button:not([formaction])`))
		u := callback(t, ctx, callbacks, redirect)
		if u.Query().Get("state") != state || u.Query().Get("code") == "" {
			t.Fatalf("the callback %s has no code or not the state %s", u, state)
		}
	})

	step("error page", func(t *testing.T) {
		for _, lang := range []string{"en", "nb"} {
			setLanguage(t, ctx, base, lang)
			resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(base+"/login/choose?flow=nonsense"))
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status != http.StatusBadRequest {
				t.Errorf("GET /login/choose?flow=nonsense = %d, want 400", resp.Status)
			}
			// The browser logs the 400 of the page as an error; nothing else may be.
			for _, e := range takePageErrors(ctx) {
				if !strings.Contains(e, "status of 400") {
					t.Errorf("the error page reported: %s", e)
				}
			}
			if h1 := pageText(t, ctx, "h1"); h1 != text(lang, "error.title") {
				t.Errorf("%s: the error page's heading is %q, want %q", lang, h1, text(lang, "error.title"))
			}
			if got := pageText(t, ctx, "main p"); got != text(lang, "error.expired") {
				t.Errorf("%s: the error page says %q, want %q", lang, got, text(lang, "error.expired"))
			}
			checkAccessibility(t, ctx, "error-"+lang)
			screenshot(t, ctx, "error-"+lang)
		}
		setLanguage(t, ctx, base, "en")
	})
	noPageErrors(t, ctx)
}

// arrive waits until the browser is at a page under prefix and has loaded it,
// and returns its URL.
func arrive(t *testing.T, ctx context.Context, prefix string) string {
	t.Helper()
	loc := location(t, ctx, prefix)
	for deadline := time.Now().Add(actionTimeout); ; {
		// Evaluated in whatever document is there now: the one that was there
		// when the URL matched may have been replaced by the time this runs.
		rctx, cancel := context.WithTimeout(ctx, actionTimeout)
		state, err := chromedp.Run(rctx, chromedp.Evaluate[string](`document.readyState`))
		cancel()
		if err == nil && state == "complete" {
			return loc
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not finish loading: readyState %q (%v)", loc, state, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// bothLanguages checks the current page's accessibility and reflow and takes its
// screenshots (name-en, name-nb) in English, then in Bokmål, opening it again
// after each change of language, and leaves it open in English.
func bothLanguages(t *testing.T, ctx context.Context, base, name string) {
	t.Helper()
	here := eval[string](t, ctx, `location.href`)
	for _, lang := range []string{"en", "nb"} {
		if lang != "en" {
			setLanguage(t, ctx, base, lang)
			do(t, ctx, "open "+here+" again", chromedp.Navigate(here))
		}
		if got := eval[string](t, ctx, `document.documentElement.lang`); got != lang {
			t.Errorf("%s: the page's language is %q, want %q", name, got, lang)
		}
		checkAccessibility(t, ctx, name+"-"+lang)
		screenshot(t, ctx, name+"-"+lang)
	}
	setLanguage(t, ctx, base, "en")
	do(t, ctx, "open "+here+" again", chromedp.Navigate(here))
}

// demoEID logs in on the demo eID's page, reached from the method chooser the
// browser is at: person (a first name of the cast) at level. With check, it
// checks the demo page on the way (bothLanguages).
func demoEID(t *testing.T, ctx context.Context, base, person, level string, check bool) {
	t.Helper()
	do(t, ctx, "click TestID", chromedp.Click(`a[href^="/login/method/demo?"]`))
	arrive(t, ctx, base+"/login/method/demo?")
	if check {
		bothLanguages(t, ctx, base, "login-demo")
	}
	chooseRadio(t, ctx, "person", person)
	do(t, ctx, "choose the level "+level, chromedp.Click(fmt.Sprintf(`input[name="level"][value=%q]`, level)))
	do(t, ctx, "log in", chromedp.Click(`form[action="/login/demo"] button[type="submit"]`))
}

// logOut logs out with the header's button and waits for the logged-out page.
func logOut(t *testing.T, ctx context.Context, base string) {
	t.Helper()
	do(t, ctx, "open the account page", chromedp.Navigate(base+"/account"))
	do(t, ctx, "click the header's logout button", chromedp.Click(`header form.logout button`))
	arrive(t, ctx, base+"/logged-out")
}

// pageText is the text of the first element sel matches, trimmed.
func pageText(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return eval[string](t, ctx, fmt.Sprintf(`(document.querySelector(%q) || {textContent: ''}).textContent.trim()`, sel))
}

// summary reads the account page's summary list: each <dt>'s text to its <dd>'s.
func summary(t *testing.T, ctx context.Context) map[string]string {
	t.Helper()
	return eval[map[string]string](t, ctx, `Object.fromEntries([...document.querySelectorAll('dl.summary dt')]
		.map(dt => [dt.textContent.trim(), dt.nextElementSibling ? dt.nextElementSibling.textContent.trim() : '']))`)
}

// callback waits for the browser's request to the client's redirect URI, and
// for the (blank) page there, and returns its URL.
func callback(t *testing.T, ctx context.Context, callbacks <-chan string, redirect string) *url.URL {
	t.Helper()
	var got string
	select {
	case got = <-callbacks:
	case <-time.After(10 * time.Second):
		t.Fatalf("no redirect to %s within 10s; the browser is at %s", redirect, eval[string](t, ctx, `location.href`))
	}
	u, err := url.Parse(got)
	if err != nil || !strings.HasPrefix(got, redirect+"/callback?") {
		t.Fatalf("the browser went to %s, want %s/callback", got, redirect)
	}
	// The request is reported before it is answered: wait for the page, so
	// that the test's next navigation does not race with this one.
	if at := arrive(t, ctx, redirect+"/callback?"); at != got {
		t.Errorf("the browser is at %s, want the callback it requested, %s", at, got)
	}
	return u
}

// drain forgets the callbacks not yet read.
func drain(callbacks <-chan string) {
	for {
		select {
		case <-callbacks:
		default:
			return
		}
	}
}
