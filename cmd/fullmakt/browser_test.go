package main

// The browser-test harness: a real headless Chromium driven with chromedp, a
// virtual WebAuthn authenticator, axe-core accessibility checks, a 320 px reflow
// check and screenshots. docs/BROWSER-TESTS.md says how to run the tests.
//
// A test starts one browser with newBrowser and keeps it for its subtests. Any
// uncaught exception, console.error or browser log error (a CSP violation among
// them) fails the test that owns the browser.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/fetch"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"golang.org/x/oauth2"
)

const (
	// browserWidth and browserHeight are the desktop window of the tests.
	browserWidth, browserHeight = 1280, 900
	// reflowWidth is the narrowest viewport a page must fit without horizontal
	// scrolling (WCAG 2.1 SC 1.4.10 Reflow).
	reflowWidth = 320
	// browserTimeout bounds everything one browser does, and actionTimeout one
	// step, so a test that waits for something that never happens fails instead
	// of hanging.
	browserTimeout = 2 * time.Minute
	actionTimeout  = 15 * time.Second
	// axeDir holds package.json for axe-core; `npm ci` there fills node_modules.
	axeDir = "testdata/browser"
)

// inCI reports whether the tests run in CI, where a missing browser or axe-core is
// a failure rather than a reason to skip.
func inCI() bool { return os.Getenv("CI") == "true" }

// missing fails the test in CI and skips it elsewhere, with the hint how to get
// what is missing.
func missing(t *testing.T, format string, args ...any) {
	t.Helper()
	if inCI() {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// findChromium returns the browser to run: $FULLMAKT_CHROMIUM, else
// /usr/bin/chromium, else chromium or chromium-browser on PATH.
func findChromium() (string, bool) {
	if p := os.Getenv("FULLMAKT_CHROMIUM"); p != "" {
		if path, err := exec.LookPath(p); err == nil {
			return path, true
		}
		return p, false
	}
	for _, p := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if path, err := exec.LookPath(p); err == nil {
			return path, true
		}
	}
	return "/usr/bin/chromium", false
}

// pageLog collects what the pages of one browser reported as errors.
type pageLog struct {
	mu     sync.Mutex
	errors []string
}

func (l *pageLog) add(msg string) {
	l.mu.Lock()
	l.errors = append(l.errors, msg)
	l.mu.Unlock()
}

// take returns the errors collected since the last call and forgets them.
func (l *pageLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	errs := l.errors
	l.errors = nil
	return errs
}

// record is the listener of the tab: it runs in chromedp's read loop, so it only
// formats and stores.
func (l *pageLog) record(ev any) {
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			text += " " + strings.SplitN(d.Exception.Description, "\n", 2)[0]
		}
		l.add(fmt.Sprintf("uncaught exception at %s:%d: %s", d.URL, d.LineNumber+1, text))
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError && ev.Type != runtime.ConsoleAPICalledTypeAssert {
			return
		}
		var parts []string
		for _, a := range ev.Args {
			switch {
			case a.Description != "":
				parts = append(parts, a.Description)
			case len(a.Value) > 0:
				parts = append(parts, strings.Trim(string(a.Value), `"`))
			default:
				parts = append(parts, string(a.Type))
			}
		}
		l.add("console." + string(ev.Type) + ": " + strings.Join(parts, " "))
	case *cdplog.EventEntryAdded:
		e := ev.Entry
		// The browser asks for /favicon.ico of its own accord, not the page.
		if e.Source == cdplog.EntrySourceNetwork && strings.HasSuffix(e.URL, "/favicon.ico") {
			return
		}
		if e.Level == cdplog.EntryLevelError {
			l.add(fmt.Sprintf("browser log (%s): %s %s", e.Source, e.Text, e.URL))
		}
	}
}

// browserKey is the context key of the tab's pageLog.
type browserKey struct{}

// newBrowser starts a headless Chromium for t with a new profile and a 1280x900
// window, and returns the context of its one tab for chromedp calls. The browser
// stops when the test ends. Without Chromium the test is skipped (CI=true: fails)
// with a hint to run `make deps`.
//
// Every uncaught exception, console.error or console.assert failure and browser
// log error of the tab's pages (CSP violations, failed loads) fails t: at the
// latest when the test ends, earlier at noPageErrors, checkAccessibility and
// screenshot.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path, ok := findChromium()
	if !ok {
		missing(t, "no Chromium at %s: run `make deps` (installs Debian's chromium) or set FULLMAKT_CHROMIUM", path)
	}
	output := &syncBuffer{}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // root in a container: the sandbox cannot start
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		// The machine's network is closed: keep Chromium from calling home.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(browserWidth, browserHeight),
		chromedp.CombinedOutput(output),
	)
	parent, cancelTimeout := context.WithTimeout(context.Background(), browserTimeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(parent, opts...)
	log := &pageLog{}
	ctx, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithListener(log.record))
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc() // waits for the browser process to exit
		cancelTimeout()
	})
	t.Cleanup(func() {
		if errs := log.take(); len(errs) > 0 {
			t.Errorf("the pages reported errors:\n  %s", strings.Join(errs, "\n  "))
		}
		if t.Failed() {
			out := output.String()
			if len(out) > 4000 {
				out = "…" + out[len(out)-4000:]
			}
			t.Logf("Chromium's output:\n%s", out)
		}
	})
	start := time.Now()
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium (%s): %v\n%s", path, err, output.String())
	}
	t.Logf("Chromium started in %s", time.Since(start).Round(time.Millisecond))
	return context.WithValue(ctx, browserKey{}, log)
}

// noPageErrors fails t with the errors the pages reported since the last check.
func noPageErrors(t *testing.T, ctx context.Context) {
	t.Helper()
	if errs := takePageErrors(ctx); len(errs) > 0 {
		t.Errorf("the pages reported errors:\n  %s", strings.Join(errs, "\n  "))
	}
}

// takePageErrors returns the errors the pages reported since the last check and
// forgets them, for a test that expects some.
func takePageErrors(ctx context.Context) []string {
	if l, ok := ctx.Value(browserKey{}).(*pageLog); ok {
		return l.take()
	}
	return nil
}

// steps returns the runner of a browser journey's steps, each a subtest. The
// steps build on each other: after one that stopped (t.Fatal), the rest would
// only fail for that reason, so they do not run.
func steps(t *testing.T) func(name string, f func(t *testing.T)) {
	stopped := false
	return func(name string, f func(t *testing.T)) {
		if stopped {
			return
		}
		finished := false
		t.Run(name, func(t *testing.T) {
			f(t)
			finished = true
		})
		stopped = !finished
	}
}

// do runs chromedp actions on the tab and fails t on an error, or when they take
// longer than actionTimeout (a query waits for its element to appear).
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, actionTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression in the page and decodes its value; a
// promise is awaited.
func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, actionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %.80q: %v", js, err)
	}
	return v
}

// serveForBrowser starts `fullmakt serve` with args on a free port and returns its
// URL as the browser must use it, http://localhost:PORT (serve's public URL on a
// loopback address): WebAuthn needs a secure context, which plain http is only on
// localhost, and the RP ID "localhost". Start it before the browser, so that the
// browser closes its connections before the server stops: otherwise the shutdown
// waits for connections Chromium opened in advance and never used.
func serveForBrowser(t *testing.T, args ...string) string {
	t.Helper()
	base, _, _ := startServe(t, args...)
	if !strings.HasPrefix(base, "http://localhost:") {
		t.Fatalf("serve's public URL is %s, want http://localhost:PORT", base)
	}
	return base
}

// interceptOrigin answers, in the browser, every request to origin (such as a
// client's redirect URI, which nobody serves in the tests) with a small blank
// page, and sends the URL of each page request on the channel returned. It lasts
// until t ends; one interception at a time per browser.
func interceptOrigin(t *testing.T, ctx context.Context, origin string) <-chan string {
	t.Helper()
	ictx, cancel := context.WithCancel(ctx)
	paused := chromedp.Events(ictx, fetch.RequestPaused)
	if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{
		Patterns: []*fetch.RequestPattern{{URLPattern: origin + "/*"}},
	}); err != nil {
		cancel()
		t.Fatalf("intercept %s: %v", origin, err)
	}
	t.Cleanup(func() {
		cancel()
		chromedp.Call(ctx, fetch.Disable, cdp.Empty{}) // the tab may be gone: nothing to undo then
	})
	urls := make(chan string, 16)
	body := []byte("<!doctype html><html lang=\"en\"><title>Intercepted</title><h1>Intercepted by the test</h1></html>")
	go func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			if ev.ResourceType == network.ResourceTypeDocument {
				select {
				case urls <- ev.Request.URL:
				default:
				}
			}
			chromedp.Call(ictx, fetch.FulfillRequest, fetch.FulfillRequestParams{
				RequestID: ev.RequestID, ResponseCode: http.StatusOK, Body: body,
				ResponseHeaders: []*fetch.HeaderEntry{{Name: "Content-Type", Value: "text/html; charset=utf-8"}},
			})
		}
	}()
	return urls
}

// location returns the URL of the page once it starts with prefix, or fails t
// after a few seconds.
func location(t *testing.T, ctx context.Context, prefix string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		lctx, cancel := context.WithTimeout(ctx, actionTimeout)
		loc, err := chromedp.Run(lctx, chromedp.Location())
		cancel()
		if err == nil && strings.HasPrefix(loc, prefix) {
			return loc
		}
		if time.Now().After(deadline) {
			t.Fatalf("the browser is at %q (%v), want a page under %s", loc, err, prefix)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// press sends keys to the focused element, one key at a time (kb.Tab,
// kb.ArrowDown, " ", kb.Enter…).
func press(t *testing.T, ctx context.Context, keys ...string) {
	t.Helper()
	for _, k := range keys {
		do(t, ctx, fmt.Sprintf("press %q", k), chromedp.KeyEvent(k))
	}
}

// tabTo presses Tab until the focused element's description (see focused) starts
// with want, and fails t after limit presses.
func tabTo(t *testing.T, ctx context.Context, want string, limit int) {
	t.Helper()
	var path []string
	for range limit {
		press(t, ctx, kb.Tab)
		got := focused(t, ctx)
		if strings.HasPrefix(got, want) {
			return
		}
		path = append(path, got)
	}
	t.Fatalf("Tab does not reach %s; it goes to %s", want, strings.Join(path, ", "))
}

// radioIndex returns the position of the radio button of the group name whose
// label starts with label, for choosing it with the arrow keys.
func radioIndex(t *testing.T, ctx context.Context, name, label string) int {
	t.Helper()
	i := eval[int](t, ctx, fmt.Sprintf(`[...document.querySelectorAll('input[type=radio][name=%q]')]
		.findIndex(r => (document.querySelector('label[for="' + r.id + '"]') || {textContent: ''}).textContent.trim().startsWith(%q))`, name, label))
	if i < 0 {
		t.Fatalf("no radio button %s labelled %q", name, label)
	}
	return i
}

// chooseRadio chooses, with the keyboard, the radio button of the group name
// labelled label: it focuses the group's first button, selects it with Space and
// moves with the down arrow.
func chooseRadio(t *testing.T, ctx context.Context, name, label string) {
	t.Helper()
	i := radioIndex(t, ctx, name, label)
	do(t, ctx, "focus the radio buttons "+name, chromedp.Focus(chromedp.CSS(fmt.Sprintf(`input[type=radio][name=%q]`, name))))
	press(t, ctx, " ")
	for range i {
		press(t, ctx, kb.ArrowDown)
	}
	if got := eval[string](t, ctx, fmt.Sprintf(`(() => {
		const r = document.querySelector('input[type=radio][name=%q]:checked');
		return r && r === document.activeElement ? document.querySelector('label[for="' + r.id + '"]').textContent.trim() : '';
	})()`, name)); !strings.HasPrefix(got, label) {
		t.Fatalf("the keyboard chose %q in %s, want %q", got, name, label)
	}
}

// focused describes the focused element as tag#id[name=value], for checks of the
// keyboard's path through a page.
func focused(t *testing.T, ctx context.Context) string {
	t.Helper()
	return eval[string](t, ctx, `(() => {
		const e = document.activeElement;
		if (!e || e === document.body) return "body";
		let s = e.tagName.toLowerCase();
		if (e.id) s += "#" + e.id;
		if (e.name) s += "[" + e.name + "=" + (e.value || "") + "]";
		return s;
	})()`)
}

// addAuthenticator adds a virtual platform authenticator (CTAP2, internal
// transport, resident keys, user verification) to the tab, which then answers the
// pages' WebAuthn calls; uv says whether user verification succeeds. Presence is
// simulated: no touch is needed.
func addAuthenticator(t *testing.T, ctx context.Context, uv bool) webauthn.AuthenticatorID {
	t.Helper()
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{EnableUI: new(false)}); err != nil {
		t.Fatalf("enable WebAuthn: %v", err)
	}
	res, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol:                    webauthn.AuthenticatorProtocolCtap2,
			Ctap2version:                webauthn.Ctap2versionCtap21,
			Transport:                   webauthn.AuthenticatorTransportInternal,
			HasResidentKey:              true,
			HasUserVerification:         true,
			IsUserVerified:              uv,
			AutomaticPresenceSimulation: true,
		},
	})
	if err != nil {
		t.Fatalf("add a virtual authenticator: %v", err)
	}
	id := res.AuthenticatorID
	t.Cleanup(func() {
		// The tab may be gone already; then so is the authenticator.
		chromedp.Call(ctx, webauthn.RemoveVirtualAuthenticator, webauthn.RemoveVirtualAuthenticatorParams{AuthenticatorID: id})
	})
	return id
}

// setUserVerified sets whether the authenticator's user verification (its PIN or
// fingerprint) succeeds from now on.
func setUserVerified(t *testing.T, ctx context.Context, id webauthn.AuthenticatorID, uv bool) {
	t.Helper()
	if _, err := chromedp.Call(ctx, webauthn.SetUserVerified, webauthn.SetUserVerifiedParams{AuthenticatorID: id, IsUserVerified: uv}); err != nil {
		t.Fatalf("set user verified to %v: %v", uv, err)
	}
}

// credentials returns the passkeys the authenticator holds.
func credentials(t *testing.T, ctx context.Context, id webauthn.AuthenticatorID) []*webauthn.Credential {
	t.Helper()
	res, err := chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: id})
	if err != nil {
		t.Fatalf("get the authenticator's credentials: %v", err)
	}
	return res.Credentials
}

// axeViolation is one failed axe-core rule, with the first elements it failed on.
type axeViolation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	Targets []string `json:"targets"`
	Count   int      `json:"count"`
}

// axeResult is what axeRun returns: how many rules passed, and the violations.
type axeResult struct {
	Passes     int            `json:"passes"`
	Violations []axeViolation `json:"violations"`
}

// axeRun runs axe-core's rules of WCAG 2.0 and 2.1, levels A and AA.
const axeRun = `axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}, resultTypes: ['violations']})
	.then(r => ({
		passes: r.passes.length,
		violations: r.violations.map(v => ({
			id: v.id, impact: v.impact || '', help: v.help, count: v.nodes.length,
			targets: v.nodes.slice(0, 3).map(n => n.target.join(' ')),
		})),
	}))`

// checkAccessibility runs axe-core's WCAG 2.1 A and AA rules on the current page
// and fails t with each violation. name says which page it is in the messages.
// axe-core comes from `npm ci --prefix cmd/fullmakt/testdata/browser`; without it
// the test is skipped (CI=true: fails).
func checkAccessibility(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	noPageErrors(t, ctx)
	for _, v := range axeViolations(t, ctx, name) {
		t.Errorf("%s: accessibility: %s (%s): %s; %d elements, first: %s", name, v.ID, v.Impact, v.Help, v.Count, strings.Join(v.Targets, ", "))
	}
	noPageErrors(t, ctx)
}

// axeViolations runs axe-core on the current page and returns what failed.
func axeViolations(t *testing.T, ctx context.Context, name string) []axeViolation {
	t.Helper()
	if !eval[bool](t, ctx, `typeof window.axe === 'object'`) {
		src, err := os.ReadFile(filepath.Join(axeDir, "node_modules", "axe-core", "axe.min.js"))
		if err != nil {
			missing(t, "axe-core is not installed (%v): run `npm ci --prefix cmd/fullmakt/testdata/browser`, or `make test`", err)
		}
		// Evaluated through the DevTools protocol, which the page's CSP does not
		// govern: no <script> element, no CSP exception.
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](string(src))); err != nil {
			t.Fatalf("%s: inject axe-core: %v", name, err)
		}
	}
	res := eval[axeResult](t, ctx, axeRun)
	if res.Passes == 0 {
		t.Errorf("%s: axe-core checked nothing (no rule passed)", name)
	}
	return res.Violations
}

// screenshot checks that the current page reflows at 320 CSS pixels with no
// horizontal scrolling (WCAG 2.1 SC 1.4.10), and when FULLMAKT_SCREENSHOTS names
// a directory, saves full-page PNGs there: name-desktop.png at 1280 wide and
// name-320.png at 320 wide (as a phone). The viewport is the desktop one again
// afterwards.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	noPageErrors(t, ctx)
	dir := os.Getenv("FULLMAKT_SCREENSHOTS")
	defer resetViewport(t, ctx)
	if dir != "" {
		setViewport(t, ctx, browserWidth, browserHeight, false)
		savePNG(t, ctx, filepath.Join(dir, name+"-desktop.png"))
	}
	if w, wide := reflow(t, ctx); w > reflowWidth {
		t.Errorf("%s: at %d px wide the page is %d px wide: it scrolls sideways (WCAG 1.4.10 Reflow); too wide: %s", name, reflowWidth, w, strings.Join(wide, ", "))
	}
	if dir != "" {
		savePNG(t, ctx, filepath.Join(dir, name+"-320.png"))
	}
	noPageErrors(t, ctx)
}

// reflow emulates a phone 320 CSS pixels wide and returns the page's width then,
// and the outermost elements that stick out (those whose parent does not). The
// viewport stays narrow: resetViewport restores it.
func reflow(t *testing.T, ctx context.Context) (width int, wide []string) {
	t.Helper()
	setViewport(t, ctx, reflowWidth, 640, true)
	if width = eval[int](t, ctx, `document.documentElement.scrollWidth`); width <= reflowWidth {
		return width, nil
	}
	return width, eval[[]string](t, ctx, `(() => {
		const w = document.documentElement.clientWidth + 0.5;
		const out = e => e && e.getBoundingClientRect().right > w;
		return [...document.querySelectorAll('body *')].filter(e => out(e) && !out(e.parentElement))
			.slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
				(typeof e.className === 'string' && e.className ? '.' + e.className.trim().split(/\s+/).join('.') : '') +
				' (' + Math.round(e.getBoundingClientRect().right) + ' px)');
	})()`)
}

// resetViewport ends the emulation of setViewport: the window's 1280x900 again.
func resetViewport(t *testing.T, ctx context.Context) {
	t.Helper()
	if _, err := chromedp.Call(ctx, emulation.ClearDeviceMetricsOverride, cdp.Empty{}); err != nil {
		t.Errorf("restore the viewport: %v", err)
	}
}

// setViewport emulates a viewport of width x height CSS pixels.
func setViewport(t *testing.T, ctx context.Context, width, height int64, mobile bool) {
	t.Helper()
	if _, err := chromedp.Call(ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
		Width: width, Height: height, DeviceScaleFactor: 1, Mobile: mobile,
	}); err != nil {
		t.Fatalf("emulate a %dx%d viewport: %v", width, height, err)
	}
	// Wait for the layout at the new size.
	eval[int](t, ctx, `new Promise(r => requestAnimationFrame(() => r(document.documentElement.scrollWidth)))`)
}

// savePNG saves the whole page, beyond the viewport, as a PNG file.
func savePNG(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	m, err := chromedp.Call(ctx, page.GetLayoutMetrics, cdp.Empty{})
	if err != nil {
		t.Fatalf("screenshot %s: %v", path, err)
	}
	size := m.CSSContentSize
	shot, err := chromedp.Call(ctx, page.CaptureScreenshot, page.CaptureScreenshotParams{
		Format: page.CaptureScreenshotFormatPng, CaptureBeyondViewport: new(true), FromSurface: new(true),
		Clip: &page.Viewport{X: 0, Y: 0, Width: float64(m.CSSLayoutViewport.ClientWidth), Height: size.Height, Scale: 1},
	})
	if err != nil {
		t.Fatalf("screenshot %s: %v", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, shot.Data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("saved %s", path)
}

// setLanguage chooses the pages' language lang through the language switch, GET
// /lang?to=lang&return=/ (it sets the "lang" cookie). It reports false, and
// changes nothing, when the server has no language switch.
func setLanguage(t *testing.T, ctx context.Context, base, lang string) bool {
	t.Helper()
	u := base + "/lang?" + url.Values{"to": {lang}, "return": {"/"}}.Encode()
	// Ask without the browser first: a 404 page would be a console error.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed {
		return false
	}
	do(t, ctx, "choose the language "+lang, chromedp.Navigate(u))
	location(t, ctx, base+"/")
	cookies, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{base + "/"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cookies.Cookies {
		if c.Name == "lang" {
			return true
		}
	}
	t.Fatalf("GET /lang?to=%s set no lang cookie", lang)
	return false
}

// TestBrowserHomeAndDemoLogin opens the home page and logs in through the demo
// login with the keyboard alone, in a real Chromium, checking accessibility, CSP
// and reflow on the way.
func TestBrowserHomeAndDemoLogin(t *testing.T) {
	// The server first: cleanups run last-first, so the browser closes its
	// connections before the server shuts down and need not wait for them.
	base := serveForBrowser(t, "--data", t.TempDir(), "--demo")
	ctx := newBrowser(t)

	// English pages, when the server has the language switch.
	english := setLanguage(t, ctx, base, "en")

	t.Run("home page", func(t *testing.T) {
		resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(base+"/"))
		if err != nil {
			t.Fatalf("open %s/: %v", base, err)
		}
		if resp.Status != http.StatusOK {
			t.Fatalf("GET / = %d, want 200", resp.Status)
		}
		// The server listens on 127.0.0.1 only; Chromium may try ::1 first.
		t.Logf("localhost reached at %s", resp.RemoteIPAddress)
		if title := eval[string](t, ctx, `document.title`); title != "Fullmakt" {
			t.Errorf("title = %q, want Fullmakt", title)
		}
		if h1 := eval[string](t, ctx, `[...document.querySelectorAll('h1')].map(h => h.textContent.trim()).join('|')`); h1 == "" || strings.Contains(h1, "|") {
			t.Errorf("h1 = %q, want exactly one, not empty", h1)
		}
		// The stylesheet loaded, under the CSP: the body's font is not the default.
		if font := eval[string](t, ctx, `getComputedStyle(document.body).fontFamily`); strings.HasPrefix(font, "Times") || font == "" {
			t.Errorf("the body's font is %q: the stylesheet did not load", font)
		}
		checkAccessibility(t, ctx, "home")
		screenshot(t, ctx, "home")
	})

	t.Run("the harness catches problems", func(t *testing.T) {
		// The harness itself: a CSP violation, an uncaught exception and a
		// console.error must each be caught.
		do(t, ctx, "open the home page", chromedp.Navigate(base+"/"))
		eval[chromedp.Void](t, ctx, `(() => {
			const s = document.createElement('script');
			s.textContent = 'window.inlineRan = true';
			document.head.append(s);
			console.error('a console error');
			setTimeout(() => { throw new Error('an uncaught error') }, 0);
		})()`)
		if eval[bool](t, ctx, `window.inlineRan === true`) {
			t.Error("an inline script ran: the home page's CSP allows inline script")
		}
		wants := []string{"Content Security Policy", "a console error", "an uncaught error"}
		var errs string
		for deadline := time.Now().Add(5 * time.Second); ; {
			errs += strings.Join(takePageErrors(ctx), "\n") + "\n"
			n := 0
			for _, want := range wants {
				if strings.Contains(errs, want) {
					n++
				}
			}
			if n == len(wants) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the page errors lack one of %q:\n%s", wants, errs)
			}
			time.Sleep(20 * time.Millisecond)
		}

		// The reflow check finds a box wider than a phone, and axe-core a button
		// without a name, on a page that is fine otherwise.
		do(t, ctx, "open a blank page", chromedp.Navigate("about:blank"))
		eval[chromedp.Void](t, ctx, `(() => {
			document.documentElement.lang = 'en';
			document.title = 'Harness check';
			const m = document.createElement('meta');
			m.name = 'viewport';
			m.content = 'width=device-width, initial-scale=1';
			document.head.append(m);
			document.body.innerHTML = '<main><h1>Harness check</h1><p>Some text.</p><button id="nameless"></button></main>';
		})()`)
		if w, wide := reflow(t, ctx); w != reflowWidth || wide != nil {
			t.Errorf("a page that fits is %d px wide at %d px (too wide: %v)", w, reflowWidth, wide)
		}
		eval[chromedp.Void](t, ctx, `document.querySelector('main').insertAdjacentHTML('beforeend', '<div id="wide">x</div>'); document.getElementById('wide').style.width = '600px'`)
		if w, wide := reflow(t, ctx); w < 600 || len(wide) != 1 || !strings.HasPrefix(wide[0], "div#wide (") {
			t.Errorf("a page with a 600 px box is %d px wide at %d px, too wide: %v; want 600+ and div#wide", w, reflowWidth, wide)
		}
		resetViewport(t, ctx)
		if w := eval[int](t, ctx, `window.innerWidth`); w != browserWidth {
			t.Errorf("after resetViewport the window is %d px wide, want %d", w, browserWidth)
		}
		// Last: without axe-core the rest is skipped.
		var ids []string
		for _, v := range axeViolations(t, ctx, "harness check") {
			ids = append(ids, v.ID+" "+strings.Join(v.Targets, " "))
		}
		if got := strings.Join(ids, "; "); got != "button-name #nameless" {
			t.Errorf("axe-core on a page with a nameless button found %q, want button-name #nameless", got)
		}
		noPageErrors(t, ctx)
	})

	t.Run("virtual authenticator", func(t *testing.T) {
		do(t, ctx, "open the home page", chromedp.Navigate(base+"/"))
		if !eval[bool](t, ctx, `window.isSecureContext && typeof PublicKeyCredential === 'function'`) {
			t.Fatalf("%s is not a secure context with WebAuthn", base)
		}
		id := addAuthenticator(t, ctx, true)
		if creds := credentials(t, ctx, id); len(creds) != 0 {
			t.Fatalf("a new authenticator holds %d credentials, want 0", len(creds))
		}
		// One registration on the RP ID localhost shows the authenticator answers.
		create := `navigator.credentials.create({publicKey: {
			rp: {id: 'localhost', name: 'Fullmakt test'},
			user: {id: new Uint8Array([1, 2, 3, 4]), name: 'test', displayName: 'Test'},
			challenge: new Uint8Array(32), pubKeyCredParams: [{type: 'public-key', alg: -7}],
			authenticatorSelection: {residentKey: 'required', userVerification: 'required'},
			timeout: 5000}}).then(c => c.authenticatorAttachment + ' ' + c.type)`
		if got := eval[string](t, ctx, create); got != "platform public-key" {
			t.Errorf("navigator.credentials.create() = %q, want a platform public-key credential", got)
		}
		creds := credentials(t, ctx, id)
		if len(creds) != 1 || creds[0].RpID != "localhost" || !creds[0].IsResidentCredential {
			t.Errorf("after one registration the authenticator holds %+v, want one resident credential for localhost", creds)
		}
		// Without user verification a registration that requires it fails.
		setUserVerified(t, ctx, id, false)
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[string](create, chromedp.EvalAwaitPromise)); err == nil || !strings.Contains(err.Error(), "NotAllowedError") {
			t.Errorf("create() with user verification failing = %v, want NotAllowedError", err)
		}
		if n := len(credentials(t, ctx, id)); n != 1 {
			t.Errorf("after a failed registration the authenticator holds %d credentials, want 1", n)
		}
		noPageErrors(t, ctx)
	})

	t.Run("demo login with the keyboard", func(t *testing.T) {
		const redirect = "http://localhost:8080"
		callbacks := interceptOrigin(t, ctx, redirect)
		state := "browser-state-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		do(t, ctx, "open /authorize", chromedp.Navigate(authorizeURL(base, "openid represent", state)))
		location(t, ctx, base+"/login/choose?")
		if lang := eval[string](t, ctx, `document.documentElement.lang`); english && lang != "en" {
			t.Errorf("after choosing English the login page has lang %q", lang)
		}
		checkAccessibility(t, ctx, "login chooser")
		screenshot(t, ctx, "login-choose")

		do(t, ctx, "focus the demo eID's link", chromedp.Focus(chromedp.CSS(`a[href^="/login/method/demo"]`)))
		press(t, ctx, kb.Enter)
		location(t, ctx, base+"/login/method/demo?")
		checkAccessibility(t, ctx, "demo eID")
		screenshot(t, ctx, "login-demo")

		chooseRadio(t, ctx, "person", "Kari")
		tabTo(t, ctx, "input#level-", 5)
		press(t, ctx, kb.ArrowDown)
		if got := focused(t, ctx); got != "input#level-1[level=high]" {
			t.Fatalf("the down arrow in the levels goes to %s, want input#level-1[level=high]", got)
		}
		tabTo(t, ctx, "button", 5)
		press(t, ctx, kb.Enter)

		location(t, ctx, base+"/login/party?")
		checkAccessibility(t, ctx, "party picker")
		screenshot(t, ctx, "login-party")
		chooseRadio(t, ctx, "party", "Emma")
		tabTo(t, ctx, "button", 5)
		press(t, ctx, kb.Enter)

		var callback string
		select {
		case callback = <-callbacks:
		case <-time.After(10 * time.Second):
			t.Fatalf("no redirect to %s within 10s; the browser is at %s", redirect, eval[string](t, ctx, `location.href`))
		}
		at := location(t, ctx, redirect+"/callback?")
		if at != callback {
			t.Errorf("the browser is at %s, want the callback it requested, %s", at, callback)
		}
		u, err := url.Parse(callback)
		if err != nil || u.Query().Get("code") == "" || u.Query().Get("state") != state {
			t.Fatalf("the callback %s has no code or not the state %s", callback, state)
		}
		// The code is good: it gives Kari's token, acting for Emma, at high.
		cfg := oauth2.Config{ClientID: demoClientID, ClientSecret: demoClientSecret, RedirectURL: redirect + "/callback",
			Endpoint: oauth2.Endpoint{TokenURL: base + "/token", AuthStyle: oauth2.AuthStyleInHeader}}
		tok, err := cfg.Exchange(t.Context(), u.Query().Get("code"), oauth2.VerifierOption(pkceVerifier))
		if err != nil {
			var re *oauth2.RetrieveError
			if errors.As(err, &re) {
				t.Fatalf("exchange the code: %s", re.Body)
			}
			t.Fatalf("exchange the code: %v", err)
		}
		_, kari := castIndex(t, "Kari")
		_, emma := castIndex(t, "Emma")
		c := claims(t, tok.AccessToken)
		act, _ := c["act"].(map[string]any)
		if c["pid"] != string(emma.ID) || act == nil || act["pid"] != string(kari.ID) || c["acr"] != "http://eidas.europa.eu/LoA/high" {
			t.Errorf("the token from the browser's code: pid %v, act %v, acr %v; want Emma, Kari, high", c["pid"], act, c["acr"])
		}
		noPageErrors(t, ctx)
	})
}
