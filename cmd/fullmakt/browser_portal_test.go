package main

// The citizen portal in a real Chromium with a virtual authenticator: a grantor
// gives a fullmakt and confirms it with a passkey, the proxy sees it; the proxy
// asks for another, which is approved through the same confirmation, and a third,
// which is declined; the grantor revokes the first, and it is gone for the proxy;
// a consent is withdrawn; the access log shows a decision made through the
// AuthZEN API a moment earlier; the webhook receives the events in order. Every
// page on the way is checked for accessibility and reflow, in English and in
// Bokmål, and screenshotted.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/fullmakt/fullmakt/delegation/notify"
	"github.com/fullmakt/fullmakt/delegation/portal"
	idpweb "github.com/fullmakt/fullmakt/idp/web"
)

func TestBrowserPortal(t *testing.T) {
	if _, err := os.Stat(filepath.Join(axeDir, "node_modules", "axe-core", "axe.min.js")); err != nil {
		missing(t, "axe-core is not installed (%v): run `npm ci --prefix cmd/fullmakt/testdata/browser`, or `make test`", err)
	}
	hook := newWebhookReceiver(t)
	base := serveForBrowser(t, "--data", t.TempDir(), "--demo",
		"--webhook-url", hook.srv.URL, "--webhook-secret-file", hook.secretFile)
	ctx := newBrowser(t)
	setLanguage(t, ctx, base, "en")
	cat, err := idpweb.LoadCatalogue(idpweb.Messages(), portal.Messages())
	if err != nil {
		t.Fatal(err)
	}
	text := func(key string, args ...any) string { return cat.Text(idpweb.EN, key, args...) }
	authenticator := addAuthenticator(t, ctx, true)
	_, astrid := castIndex(t, "Astrid")
	_, ingrid := castIndex(t, "Ingrid")

	step := steps(t)
	// main is the text of the page's <main>.
	main := func(t *testing.T) string { t.Helper(); return pageText(t, ctx, "main") }
	wants := func(t *testing.T, where string, wants ...string) {
		t.Helper()
		got := main(t)
		for _, w := range wants {
			if !strings.Contains(got, w) {
				t.Errorf("%s lacks %q:\n%s", where, w, got)
			}
		}
	}
	// testID logs in with the demo eID; the authenticator's user verification
	// fails meanwhile, so that the demo page's passkey autofill does not log in
	// Astrid instead.
	testID := func(t *testing.T, person, level string) {
		t.Helper()
		setUserVerified(t, ctx, authenticator, false)
		do(t, ctx, "open /login", chromedp.Navigate(base+"/login?return=/"))
		arrive(t, ctx, base+"/login/choose?")
		demoEID(t, ctx, base, person, level, false)
		at(t, ctx, base+"/")
		setUserVerified(t, ctx, authenticator, true)
	}
	// confirm answers the step-up page with the passkey.
	confirm := func(t *testing.T) {
		t.Helper()
		arrive(t, ctx, base+"/login/step-up?")
		do(t, ctx, "wait for the passkey button", chromedp.WaitVisible(`button[data-passkey="step-up"]`))
		do(t, ctx, "confirm with the passkey", chromedp.Click(`button[data-passkey="step-up"]`))
	}
	// wizard answers the give (or ask) wizard from its first page: to whom, an
	// area, all actions, the default period (message for a request), review.
	// It returns the draft's id.
	wizard := func(t *testing.T, kind string, to, surname, area, message string, check bool) string {
		t.Helper()
		do(t, ctx, "open /"+kind, chromedp.Navigate(base+"/"+kind))
		at(t, ctx, base+"/"+kind)
		if check {
			bothLanguages(t, ctx, base, "portal-"+kind+"-who")
		}
		do(t, ctx, "type the identity number", chromedp.SendKeys(`#id`, to))
		do(t, ctx, "type the surname", chromedp.SendKeys(`#surname`, surname))
		do(t, ctx, "continue", chromedp.Click(`main form button[type="submit"]`))
		draft := idFrom(t, arrive(t, ctx, base+"/draft/"), "/draft/")
		next := func(step string) {
			t.Helper()
			at(t, ctx, base+"/draft/"+draft+"/"+step)
			if check {
				bothLanguages(t, ctx, base, "portal-"+kind+"-"+step)
			}
		}
		next("scope")
		do(t, ctx, "choose the area "+area, chromedp.Click(fmt.Sprintf(`input[name="area"][value=%q]`, area)))
		do(t, ctx, "continue", chromedp.Click(`main form button[type="submit"]`))
		next("options")
		do(t, ctx, "continue", chromedp.Click(`main form button[type="submit"]`))
		next("period")
		if message != "" {
			do(t, ctx, "write a message", chromedp.SendKeys(`#message`, message))
		}
		do(t, ctx, "continue", chromedp.Click(`main form button[type="submit"]`))
		next("review")
		return draft
	}
	var given, approved, requested, declined string // ids from the URLs

	step("astrid adds a passkey", func(t *testing.T) {
		do(t, ctx, "open the passkeys page", chromedp.Navigate(base+"/login?return=/account/passkeys"))
		arrive(t, ctx, base+"/login/choose?")
		demoEID(t, ctx, base, "Astrid", "high", false)
		arrive(t, ctx, base+"/account/passkeys")
		do(t, ctx, "name the passkey", chromedp.SendKeys(`#passkey-name`, "Astrid's phone"))
		do(t, ctx, "add it", chromedp.Click(`button[data-passkey="register"]`))
		arrive(t, ctx, base+"/account/passkeys?done=added")
		if n := len(credentials(t, ctx, authenticator)); n != 1 {
			t.Fatalf("the authenticator holds %d credentials, want 1", n)
		}
	})

	step("astrid's overview", func(t *testing.T) {
		do(t, ctx, "open the overview", chromedp.Navigate(base+"/"))
		at(t, ctx, base+"/")
		wants(t, "astrid's overview", text("portal.overview.given"), text("portal.overview.received"), ingrid.Name)
		bothLanguages(t, ctx, base, "portal-overview")
	})

	step("astrid gives ingrid a fullmakt and confirms it with her passkey", func(t *testing.T) {
		// First a surname that does not match: the page says so next to the
		// field, without saying whose the number is. (In each language by
		// itself: opening the page again would not send the form again.)
		for _, lang := range []string{"nb", "en"} {
			setLanguage(t, ctx, base, lang)
			do(t, ctx, "open /give", chromedp.Navigate(base+"/give"))
			at(t, ctx, base+"/give")
			do(t, ctx, "type the identity number", chromedp.SendKeys(`#id`, string(ingrid.ID)))
			do(t, ctx, "type a wrong surname", chromedp.SendKeys(`#surname`, "Olsen"))
			do(t, ctx, "continue", chromedp.Click(`main form button[type="submit"]`))
			do(t, ctx, "wait for the error", chromedp.WaitVisible(`.error-summary`))
			// The form's answer is 422, which the browser logs as a failed load.
			if errs := takePageErrors(ctx); len(errs) != 1 || !strings.Contains(errs[0], "422") {
				t.Errorf("the wrong surname's page logged %q, want one 422", errs)
			}
			if n := eval[int](t, ctx, `document.querySelectorAll('.error-summary a[href="#id"], #id-error').length`); n < 2 {
				t.Errorf("a wrong surname shows %d error links and messages, want the summary's link and the message by the number", n)
			}
			if strings.Contains(main(t), ingrid.Name) {
				t.Errorf("the page for a wrong surname names the person the number belongs to")
			}
			checkAccessibility(t, ctx, "portal-give-who-error-"+lang)
			screenshot(t, ctx, "portal-give-who-error-"+lang)
		}

		wizard(t, "give", string(ingrid.ID), "Hansen", "housing", "", true)
		wants(t, "the review page", ingrid.Name, "Housing allowance")
		do(t, ctx, "confirm", chromedp.Click(`form[action$="/send"] button[type="submit"]`))
		confirm(t)
		given = idFrom(t, arrive(t, ctx, base+"/fullmakter/"), "/fullmakter/")
		wants(t, "the fullmakt page after giving", text("portal.fullmakt.given_title"), text("portal.status.active"), text("portal.fullmakt.origin_portal"))
		bothLanguages(t, ctx, base, "portal-fullmakt-given")
	})

	step("ingrid sees it, and asks for two more", func(t *testing.T) {
		logOut(t, ctx, base)
		testID(t, "Ingrid", "substantial")
		do(t, ctx, "open the overview", chromedp.Navigate(base+"/"))
		at(t, ctx, base+"/")
		if n := eval[int](t, ctx, fmt.Sprintf(`document.querySelectorAll('a[href="/fullmakter/%s"]').length`, given)); n == 0 {
			t.Errorf("ingrid's overview has no link to the fullmakt astrid gave her:\n%s", main(t))
		}
		wants(t, "ingrid's overview", text("portal.overview.received"), astrid.Name)
		bothLanguages(t, ctx, base, "portal-overview-proxy")

		wizard(t, "ask", string(astrid.ID), "Hansen", "transport", "To help with the car.", false)
		do(t, ctx, "send the request", chromedp.Click(`form[action$="/send"] button[type="submit"]`))
		requested = idFrom(t, arrive(t, ctx, base+"/requests/"), "/requests/")
		wants(t, "the request page after sending", text("portal.request.sent_title"), text("portal.request_status.pending"))
		bothLanguages(t, ctx, base, "portal-request-sent")

		// The second request with the keyboard alone.
		do(t, ctx, "open /ask", chromedp.Navigate(base+"/ask"))
		at(t, ctx, base+"/ask")
		intoMain(t, ctx)
		tabTo(t, ctx, "input#id", 5)
		press(t, ctx, string(astrid.ID))
		tabTo(t, ctx, "input#surname", 3)
		press(t, ctx, "Hansen")
		tabTo(t, ctx, "button", 3)
		press(t, ctx, kb.Enter)
		draft := idFrom(t, arrive(t, ctx, base+"/draft/"), "/draft/")
		at(t, ctx, base+"/draft/"+draft+"/scope")
		intoMain(t, ctx)
		tabTo(t, ctx, "input#"+eval[string](t, ctx, `document.querySelector('input[name=area][value=education]').id`), 40)
		press(t, ctx, " ")
		for _, step := range []string{"options", "period", "review"} {
			tabTo(t, ctx, "button", 80)
			press(t, ctx, kb.Enter)
			at(t, ctx, base+"/draft/"+draft+"/"+step)
			intoMain(t, ctx)
		}
		tabTo(t, ctx, "button", 40)
		press(t, ctx, kb.Enter)
		declined = idFrom(t, arrive(t, ctx, base+"/requests/"), "/requests/")
		wants(t, "the request sent with the keyboard", text("portal.request.sent_title"), "Education")
	})

	step("a decision through the AuthZEN API", func(t *testing.T) {
		body := map[string]any{
			"subject":  map[string]any{"type": "person", "id": ingrid.ID, "properties": map[string]any{"acr": "idporten-loa-substantial"}},
			"action":   map[string]any{"name": "read"},
			"resource": map[string]any{"type": "service", "id": "husbanken.bostotte"},
			"context":  map[string]any{"party": map[string]any{"type": "person", "id": astrid.ID}},
		}
		if code, e := evaluate(t, base, demoAPIKey, body); code != http.StatusOK || !e.Decision {
			t.Fatalf("ingrid reads astrid's housing allowance = %d %+v, want 200 and allowed", code, e)
		}
	})

	step("astrid approves one request with her passkey and declines the other", func(t *testing.T) {
		logOut(t, ctx, base)
		do(t, ctx, "open /login", chromedp.Navigate(base+"/login?return=/"))
		arrive(t, ctx, base+"/login/choose?")
		do(t, ctx, "choose the passkey", chromedp.Click(`a[href^="/login/passkey?"]`))
		arrive(t, ctx, base+"/login/passkey?")
		do(t, ctx, "log in with the passkey", chromedp.Click(`button[data-passkey="login"]`))
		at(t, ctx, base+"/")
		wants(t, "astrid's overview with requests", text("portal.overview.waiting"), ingrid.Name)

		do(t, ctx, "open the request", chromedp.Click(fmt.Sprintf(`a[href="/requests/%s"]`, requested)))
		arrive(t, ctx, base+"/requests/"+requested)
		wants(t, "the request", "To help with the car.", text("portal.request_status.pending"))
		bothLanguages(t, ctx, base, "portal-request-received")
		do(t, ctx, "approve", chromedp.Click(`form[action$="/approve"] button[type="submit"]`))
		confirm(t)
		approved = idFrom(t, arrive(t, ctx, base+"/fullmakter/"), "/fullmakter/")
		wants(t, "the fullmakt made by approving", text("portal.fullmakt.given_title"), text("portal.fullmakt.origin_request"))

		do(t, ctx, "open the other request", chromedp.Navigate(base+"/requests/"+declined+"/decline"))
		arrive(t, ctx, base+"/requests/"+declined+"/decline")
		bothLanguages(t, ctx, base, "portal-request-decline")
		do(t, ctx, "give a reason", chromedp.SendKeys(`#reason`, "Not now, thank you."))
		do(t, ctx, "decline", chromedp.Click(`form[action$="/decline"] button[type="submit"]`))
		arrive(t, ctx, base+"/requests/"+declined+"?")
		wants(t, "the declined request", text("portal.request_status.declined"), "Not now, thank you.")
	})

	step("astrid revokes the first fullmakt", func(t *testing.T) {
		do(t, ctx, "open the fullmakt", chromedp.Navigate(base+"/fullmakter/"+given))
		arrive(t, ctx, base+"/fullmakter/"+given)
		do(t, ctx, "revoke", chromedp.Click(fmt.Sprintf(`a[href="/fullmakter/%s/end"]`, given)))
		arrive(t, ctx, base+"/fullmakter/"+given+"/end")
		bothLanguages(t, ctx, base, "portal-fullmakt-end")
		do(t, ctx, "yes, revoke it", chromedp.Click(`form[action$="/end"] button[type="submit"]`))
		arrive(t, ctx, base+"/fullmakter/"+given+"?")
		wants(t, "the revoked fullmakt", text("portal.status.revoked"))
		// At once: the decision API no longer lets Ingrid act through it.
		body := map[string]any{
			"subject":  map[string]any{"type": "person", "id": ingrid.ID, "properties": map[string]any{"acr": "idporten-loa-substantial"}},
			"action":   map[string]any{"name": "read"},
			"resource": map[string]any{"type": "service", "id": "husbanken.bostotte"},
			"context":  map[string]any{"party": map[string]any{"type": "person", "id": astrid.ID}},
		}
		if code, e := evaluate(t, base, demoAPIKey, body); code != http.StatusOK || e.Decision {
			t.Errorf("after the revocation ingrid reads astrid's housing allowance = %d %+v, want 200 and denied", code, e)
		}
	})

	step("astrid sees who acted for her", func(t *testing.T) {
		// The decision log is written a moment after the decision: look again
		// until it is there.
		deadline := time.Now().Add(10 * time.Second)
		for {
			do(t, ctx, "open the activity page", chromedp.Navigate(base+"/activity"))
			arrive(t, ctx, base+"/activity")
			if strings.Contains(main(t), "Housing allowance") || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		wants(t, "the activity page", ingrid.Name, "Housing allowance", text("portal.activity.relation.fullmakt"))
		bothLanguages(t, ctx, base, "portal-activity")
	})

	step("astrid withdraws a consent", func(t *testing.T) {
		state := "consent-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		details := `[{"type":"consent","provider":"974761076","data_set":"skatteetaten.inntekt","purpose":"Søknad om bostøtte","valid_to":"` +
			time.Now().AddDate(0, 1, 0).Format("2006-01-02") + `"}]`
		callbacks := interceptOrigin(t, ctx, "http://localhost:8080")
		do(t, ctx, "open /authorize with a consent", chromedp.Navigate(authorizeURL(base, "openid", state)+"&authorization_details="+url.QueryEscape(details)))
		arrive(t, ctx, base+"/login/consent?")
		do(t, ctx, "tick the consent", chromedp.Click(`#consent-0`))
		do(t, ctx, "consent", chromedp.Click(`form[action="/login/consent"] button:not([formaction])`))
		callback(t, ctx, callbacks, "http://localhost:8080")

		do(t, ctx, "open the consents", chromedp.Navigate(base+"/consents"))
		arrive(t, ctx, base+"/consents")
		wants(t, "the consents page", "Søknad om bostøtte", text("portal.consent_status.active"))
		bothLanguages(t, ctx, base, "portal-consents")
		consent := idFrom(t, eval[string](t, ctx, `document.querySelector('main a[href^="/consents/cs_"]').getAttribute('href')`), "/consents/")
		do(t, ctx, "open the consent", chromedp.Click(`main a[href^="/consents/cs_"]`))
		at(t, ctx, base+"/consents/"+consent)
		bothLanguages(t, ctx, base, "portal-consent")
		do(t, ctx, "withdraw", chromedp.Click(`main a[href$="/withdraw"]`))
		at(t, ctx, base+"/consents/"+consent+"/withdraw")
		bothLanguages(t, ctx, base, "portal-consent-withdraw")
		do(t, ctx, "yes, withdraw it", chromedp.Click(`form[action$="/withdraw"] button[type="submit"]`))
		arrive(t, ctx, base+"/consents/"+consent+"?")
		wants(t, "the withdrawn consent", text("portal.consents.detail.withdrawn_title"), text("portal.consent_status.withdrawn"))
	})

	step("astrid's notifications", func(t *testing.T) {
		do(t, ctx, "open the notifications", chromedp.Navigate(base+"/notifications"))
		arrive(t, ctx, base+"/notifications")
		wants(t, "the notifications page", text("portal.notifications.fullmakt.given", ingrid.Name))
		bothLanguages(t, ctx, base, "portal-notifications")
	})

	step("the proxy sees what happened", func(t *testing.T) {
		logOut(t, ctx, base)
		testID(t, "Ingrid", "substantial")
		do(t, ctx, "open the revoked fullmakt", chromedp.Navigate(base+"/fullmakter/"+given))
		arrive(t, ctx, base+"/fullmakter/"+given)
		wants(t, "the revoked fullmakt, to the proxy", text("portal.status.revoked"))
		do(t, ctx, "open the approved one", chromedp.Navigate(base+"/fullmakter/"+approved))
		arrive(t, ctx, base+"/fullmakter/"+approved)
		wants(t, "the approved fullmakt, to the proxy", text("portal.status.active"), "Transport")
		do(t, ctx, "open the declined request", chromedp.Navigate(base+"/requests/"+declined))
		arrive(t, ctx, base+"/requests/"+declined)
		wants(t, "the declined request, to the requester", text("portal.request_status.declined"), "Not now, thank you.")
	})

	step("a parent sees a child", func(t *testing.T) {
		logOut(t, ctx, base)
		testID(t, "Kari", "substantial")
		do(t, ctx, "open a child's page", chromedp.Click(`main a[href^="/people/"]`))
		arrive(t, ctx, base+"/people/")
		wants(t, "a child's page", "Nordmann")
		bothLanguages(t, ctx, base, "portal-person")
	})

	step("the webhook received the events in order", func(t *testing.T) {
		// Approving stores the fullmakt, then answers the request: given and
		// received come before answered.
		want := []string{"fullmakt.given", "fullmakt.received", "request.received", "request.received",
			"fullmakt.given", "fullmakt.received", "request.answered", "request.answered", "fullmakt.revoked", "fullmakt.revoked"}
		got := hook.wait(t, len(want), 30*time.Second)
		var kinds []string
		for i, n := range got {
			kinds = append(kinds, n.Type)
			if i > 0 && n.Seq <= got[i-1].Seq {
				t.Errorf("webhook delivery %d has seq %d after %d: out of order", i, n.Seq, got[i-1].Seq)
			}
		}
		// The first use of the fullmakt comes too, at a place that depends on
		// when the decision log was written: compare the rest in order.
		kinds = slices.DeleteFunc(kinds, func(k string) bool { return k == "fullmakt.first_used" })
		if !slices.Equal(kinds[:min(len(kinds), len(want))], want) {
			t.Errorf("the webhook received %v, want %v first", kinds, want)
		}
	})
	noPageErrors(t, ctx)
}

// intoMain follows the skip link, as a keyboard user would first: focus moves
// to <main>, and the next Tab to its first control.
func intoMain(t *testing.T, ctx context.Context) {
	t.Helper()
	do(t, ctx, "focus the page", chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur()`))
	tabTo(t, ctx, "a", 1)
	press(t, ctx, kb.Enter)
	if got := focused(t, ctx); got != "main#main" {
		t.Fatalf("the skip link moves the focus to %s, want main#main", got)
	}
}

// at waits until the browser is at exactly want and has loaded it: for a page
// whose URL starts like the one before it.
func at(t *testing.T, ctx context.Context, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		lctx, cancel := context.WithTimeout(ctx, actionTimeout)
		loc, err := chromedp.Run(lctx, chromedp.Location())
		cancel()
		if err == nil && loc == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the browser is at %q (%v), want %s", loc, err, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	arrive(t, ctx, want)
}

// idFrom returns the id in a URL after prefix: /fullmakter/fm_x?given=1 → fm_x.
func idFrom(t *testing.T, u, prefix string) string {
	t.Helper()
	m := regexp.MustCompile(regexp.QuoteMeta(prefix) + `([A-Za-z0-9_-]+)`).FindStringSubmatch(u)
	if m == nil {
		t.Fatalf("no id after %s in %s", prefix, u)
	}
	return m[1]
}

// webhookReceiver is a webhook endpoint on 127.0.0.1 that checks every
// signature and keeps what it received, in order.
type webhookReceiver struct {
	srv        *httptest.Server
	secretFile string

	mu   sync.Mutex
	got  []webhookNote
	more chan struct{}
}

// webhookNote is as much of a delivered notification as the tests read.
type webhookNote struct {
	ID     string `json:"id"`
	Seq    uint64 `json:"seq"`
	Type   string `json:"type"`
	Person string `json:"person"`
	Ref    string `json:"ref"`
}

func newWebhookReceiver(t *testing.T) *webhookReceiver {
	t.Helper()
	secret := "whsec-test-" + strings.Repeat("k", 32)
	r := &webhookReceiver{secretFile: filepath.Join(t.TempDir(), "webhook-secret"), more: make(chan struct{}, 1)}
	if err := os.WriteFile(r.secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		h := req.Header
		if err := notify.Verify([]byte(secret), h.Get("webhook-id"), h.Get("webhook-timestamp"), body, h.Get("webhook-signature"), time.Now(), 5*time.Minute); err != nil {
			t.Errorf("webhook: %v", err)
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var n webhookNote
		if err := json.Unmarshal(body, &n); err != nil || n.ID != h.Get("webhook-id") {
			t.Errorf("webhook body %s: %v (webhook-id %q)", body, err, h.Get("webhook-id"))
		}
		r.mu.Lock()
		r.got = append(r.got, n)
		r.mu.Unlock()
		select {
		case r.more <- struct{}{}:
		default:
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// wait returns what the receiver got once it holds at least n notifications,
// failing t if that takes longer than timeout.
func (r *webhookReceiver) wait(t *testing.T, n int, timeout time.Duration) []webhookNote {
	t.Helper()
	deadline := time.After(timeout)
	for {
		r.mu.Lock()
		got := slices.Clone(r.got)
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-r.more:
		case <-deadline:
			t.Fatalf("the webhook received %d notifications within %s, want %d: %+v", len(got), timeout, n, got)
		}
	}
}
