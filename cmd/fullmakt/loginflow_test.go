package main

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// The login's pages, driven as a browser without JavaScript would: follow the
// redirects, read the form's hidden fields, post the form.

var (
	formTag     = regexp.MustCompile(`(?s)<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>`)
	hiddenInput = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)
	radioInput  = regexp.MustCompile(`<input type="radio" id="([a-z0-9-]+)" name="([a-z]+)" value="([^"]*)"`)
)

// form returns the hidden fields of the page's first form that posts to action.
func form(t testing.TB, page, action string) url.Values {
	t.Helper()
	for _, m := range formTag.FindAllStringSubmatch(page, -1) {
		if m[1] != action {
			continue
		}
		v := url.Values{}
		for _, h := range hiddenInput.FindAllStringSubmatch(m[2], -1) {
			v.Add(h[1], html.UnescapeString(h[2]))
		}
		return v
	}
	t.Fatalf("no form posting to %s in the page:\n%s", action, page)
	return nil
}

// radio returns the value of the radio button of name whose label starts with
// label.
func radio(t testing.TB, page, name, label string) string {
	t.Helper()
	for _, m := range radioInput.FindAllStringSubmatch(page, -1) {
		if m[2] != name {
			continue
		}
		if strings.Contains(page, `<label for="`+m[1]+`">`+label) {
			return m[3]
		}
	}
	t.Fatalf("no radio button %s labelled %q in the page:\n%s", name, label, page)
	return ""
}

// landedOn reports whether resp is the page at path (after redirects).
func landedOn(resp *http.Response, path string) bool {
	return resp.StatusCode == http.StatusOK && resp.Request.URL.Path == path
}

// demoLogin starts at start (an /authorize URL, or /login) and logs in with the
// demo eID as person (a name as the demo page shows it, e.g. "Kari") at level
// ("substantial" or "high"). It returns the response after the login: the next
// page of the flow, or a redirect away from the server (to the client).
func demoLogin(t testing.TB, client *http.Client, base, start, person, level string) (*http.Response, string) {
	t.Helper()
	resp, page := get(t, client, start)
	if !landedOn(resp, "/login/choose") {
		t.Fatalf("GET %s ends at %s (%d, Location %q), want the login page:\n%s", start, resp.Request.URL, resp.StatusCode, resp.Header.Get("Location"), page)
	}
	flow := resp.Request.URL.Query().Get("flow")
	resp, page = get(t, client, base+"/login/method/demo?flow="+url.QueryEscape(flow))
	if !landedOn(resp, "/login/method/demo") {
		t.Fatalf("the demo eID page = %d:\n%s", resp.StatusCode, page)
	}
	f := form(t, page, "/login/demo")
	f.Set("person", radio(t, page, "person", person))
	f.Set("level", level)
	return postForm(t, client, base+"/login/demo", f)
}

// chooseParty answers the party picker on page with the party whose label starts
// with name ("" for oneself).
func chooseParty(t *testing.T, client *http.Client, base string, resp *http.Response, page, name string) (*http.Response, string) {
	t.Helper()
	if !landedOn(resp, "/login/party") {
		t.Fatalf("want the party picker, got %s (%d):\n%s", resp.Request.URL, resp.StatusCode, page)
	}
	f := form(t, page, "/login/party")
	if name == "" {
		f.Set("party", "0")
	} else {
		f.Set("party", radio(t, page, "party", name))
	}
	return postForm(t, client, base+"/login/party", f)
}

// codeFrom returns the code of a redirect to the client, failing unless resp is
// one with state.
func codeFrom(t *testing.T, resp *http.Response, page, state string) string {
	t.Helper()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound || err != nil {
		t.Fatalf("want a redirect to the client, got %d at %s, Location %q:\n%s", resp.StatusCode, resp.Request.URL, resp.Header.Get("Location"), page)
	}
	if loc.Query().Get("state") != state || loc.Query().Get("code") == "" {
		t.Fatalf("redirect to %s, want a code and state %s", loc, state)
	}
	return loc.Query().Get("code")
}
