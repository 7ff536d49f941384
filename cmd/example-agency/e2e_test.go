package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fullmakt/fullmakt/sdk"
)

// The whole chain over HTTP on 127.0.0.1: the real fullmakt binary with the demo
// cast, this office in-process through run(), and a browser without JavaScript
// (a cookie jar that posts forms) logging in with the demo eID.

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitForLine waits until out matches re, and returns the submatches; it fails
// if the process ends first (done) or after limit.
func waitForLine(t *testing.T, out *syncBuffer, re *regexp.Regexp, done <-chan int, limit time.Duration) []string {
	t.Helper()
	deadline := time.After(limit)
	for {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			return m
		}
		select {
		case code := <-done:
			t.Fatalf("the process ended (%d) before printing %v:\n%s", code, re, out.String())
		case <-deadline:
			t.Fatalf("no line matching %v within %v:\n%s", re, limit, out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// chain is a running Fullmakt and office.
type chain struct {
	fullmakt string // Fullmakt's public URL (its issuer)
	agency   string // the office's public URL
	data     string // the office's data directory
	logs     *syncBuffer
	cast     map[string]string // first name → identity number
	// crashFullmakt kills Fullmakt at once.
	crashFullmakt func()
}

var (
	fullmaktListening = regexp.MustCompile(`fullmakt listening on http://127\.0\.0\.1:\d+, public URL (http://\S+)\n`)
	agencyListening   = regexp.MustCompile(`example-agency listening on http://(127\.0\.0\.1:\d+), public URL (http://\S+)\n`)
)

// chainOptions vary how the chain starts.
type chainOptions struct {
	// agencyFirst starts the office before Fullmakt, as `make run` may, and
	// registers the office's key by jwks_uri: the office makes its own key and
	// must keep trying Fullmakt until it is up.
	agencyFirst bool
}

// freeAddr returns a free address on 127.0.0.1, for a process that must be
// named before it starts.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startChain builds and starts fullmakt serve --demo with a clients file that
// declares this office's two clients on a port picked first, and starts the
// office there.
func startChain(t *testing.T, opts chainOptions) *chain {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs fullmakt")
	}
	dir := t.TempDir()

	// The office's port, picked first: the clients file names it.
	addr := freeAddr(t)
	agency := "http://" + addr
	agencyArgs := []string{"example-agency", "--addr", addr, "--public-url", agency, "--data", filepath.Join(dir, "agency-data")}

	// The office's key. Registered inline, it is made here so that the clients
	// file can hold its public half, and the office reads it from --key-file;
	// registered by jwks_uri, the office makes it and serves it.
	agencyClient := map[string]any{
		"id": "example-agency", "name": "Student support office (example)",
		"token_endpoint_auth_method": "private_key_jwt", "token_endpoint_auth_signing_alg": "ES256",
		"grant_types":               []string{"authorization_code", "refresh_token", "client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"},
		"scopes":                    []string{"openid", "profile", "decide"},
		"redirect_uris":             []string{agency + "/callback"},
		"post_logout_redirect_uris": []string{agency + "/"},
		"audiences":                 []string{agency + "/api", agency + "/diplomas"},
		"services":                  []string{serviceStudentSupport, serviceDiplomas},
		"pid":                       true, "detailed_reasons": true,
		"authorization_details_types": []string{"representation"},
	}
	if opts.agencyFirst {
		agencyClient["jwks_uri"] = agency + "/jwks.json"
	} else {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, _ := x509.MarshalPKCS8PrivateKey(key)
		keyFile := filepath.Join(dir, "agency-key.pem")
		if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		jwk, err := jwkOf(key)
		if err != nil {
			t.Fatal(err)
		}
		agencyClient["jwks"] = map[string]any{"keys": []publicJWK{jwk}}
		agencyArgs = append(agencyArgs, "--key-file", keyFile)
	}
	secret := randomToken()
	secretFile := filepath.Join(dir, "diplomas-secret")
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	agencyArgs = append(agencyArgs, "--diplomas-secret-file", secretFile)
	// The secret's hash as Fullmakt's clients file keeps it: "sha256:" and hex.
	sum := sha256.Sum256([]byte(secret))
	clients := map[string]any{"clients": []map[string]any{
		agencyClient,
		{
			"id": "example-diplomas", "name": "Diplomas API (example)",
			"token_endpoint_auth_method": "client_secret_basic", "secret_hash": "sha256:" + hex.EncodeToString(sum[:]),
			"grant_types": []string{"client_credentials"}, "scopes": []string{"decide"},
			"audiences": []string{agency + "/diplomas"}, "services": []string{serviceDiplomas}, "pid": true,
		},
	}}
	clientsFile := filepath.Join(dir, "clients.json")
	b, _ := json.MarshalIndent(clients, "", "  ")
	if err := os.WriteFile(clientsFile, b, 0o600); err != nil {
		t.Fatal(err)
	}

	bin := filepath.Join(dir, "fullmakt")
	build := exec.CommandContext(t.Context(), "go", "build", "-o", bin, "github.com/fullmakt/fullmakt/cmd/fullmakt")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build fullmakt: %v\n%s", err, out)
	}
	// The office stops first: Fullmakt would otherwise wait out its grace
	// period for the office's change feed connections.
	stopAgency, stopFullmakt := func() {}, func() {}
	t.Cleanup(func() {
		stopAgency()
		stopFullmakt()
	})
	c := &chain{agency: agency, data: filepath.Join(dir, "agency-data"), logs: &syncBuffer{}}
	fmAddr := "127.0.0.1:0"
	if opts.agencyFirst {
		fmAddr = freeAddr(t)
	}
	startFullmakt := func() string {
		t.Helper()
		logs := &syncBuffer{}
		cmd := exec.Command(bin, "serve", "--demo", "--addr", fmAddr, "--data", filepath.Join(dir, "fullmakt-data"), "--clients", clientsFile)
		cmd.Env = []string{"HOME=" + dir}
		cmd.Stdout, cmd.Stderr = logs, logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan int, 1)
		go func() {
			cmd.Wait()
			done <- cmd.ProcessState.ExitCode()
		}()
		var once sync.Once
		finish := func(sig os.Signal) {
			once.Do(func() {
				cmd.Process.Signal(sig)
				select {
				case <-done:
				case <-time.After(15 * time.Second):
					cmd.Process.Kill()
					<-done
				}
				if t.Failed() || os.Getenv("EXAMPLE_AGENCY_TEST_LOGS") != "" {
					t.Logf("fullmakt's log:\n%s", logs.String())
				}
			})
		}
		stopFullmakt = func() { finish(os.Interrupt) }
		c.crashFullmakt = func() { finish(os.Kill) }
		return waitForLine(t, logs, fullmaktListening, done, 30*time.Second)[1]
	}

	startAgency := func(fullmakt string) <-chan int {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan int, 1)
		args := append(agencyArgs, "--fullmakt", fullmakt, "--wait-for-fullmakt", "30s")
		go func() {
			done <- run(ctx, args, func(string) string { return "" }, strings.NewReader(""), c.logs, c.logs)
		}()
		stopAgency = func() {
			cancel()
			select {
			case code := <-done:
				if code != exitOK {
					t.Errorf("example-agency stopped with %d, want %d", code, exitOK)
				}
			case <-time.After(15 * time.Second):
				t.Errorf("example-agency did not stop within 15 s")
			}
			if t.Failed() || os.Getenv("EXAMPLE_AGENCY_TEST_LOGS") != "" {
				t.Logf("example-agency's log:\n%s", c.logs.String())
			}
		}
		return done
	}
	if opts.agencyFirst {
		_, port, _ := net.SplitHostPort(fmAddr)
		// Fullmakt's public URL on a loopback address is http://localhost:PORT.
		c.fullmakt = "http://localhost:" + port
		done := startAgency(c.fullmakt)
		waitForLine(t, c.logs, regexp.MustCompile(`Fullmakt cannot be reached yet; trying again`), done, 30*time.Second)
		if got := startFullmakt(); got != c.fullmakt {
			t.Fatalf("Fullmakt's public URL is %s, want %s", got, c.fullmakt)
		}
		waitForLine(t, c.logs, agencyListening, done, 30*time.Second)
	} else {
		c.fullmakt = startFullmakt()
		waitForLine(t, c.logs, agencyListening, startAgency(c.fullmakt), 30*time.Second)
	}

	// The demo cast's identity numbers, from Fullmakt's front page.
	resp, err := http.Get(c.fullmakt + "/")
	if err != nil {
		t.Fatal(err)
	}
	front, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	c.cast = map[string]string{}
	for _, m := range castRow.FindAllStringSubmatch(string(front), -1) {
		c.cast[strings.Fields(m[1])[0]] = m[2]
	}
	for _, who := range []string{"Kari", "Ola", "Sara", "Maja", "Tor"} {
		if c.cast[who] == "" {
			t.Fatalf("the demo cast on Fullmakt's front page has no %s", who)
		}
	}
	return c
}

var castRow = regexp.MustCompile(`<tr><th scope="row">([^<]+)</th><td data-label="Age">\d+</td><td data-label="Identity number">(\d{11})</td>`)

// browser is a person's browser: a cookie jar, redirects followed everywhere,
// every URL visited remembered.
type browser struct {
	t       *testing.T
	client  *http.Client
	mu      sync.Mutex
	visited []*url.URL
}

func newBrowser(t *testing.T, c *chain) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	// Fullmakt's pages in English.
	if u, err := url.Parse(c.fullmakt); err == nil {
		jar.SetCookies(u, []*http.Cookie{{Name: "lang", Value: "en"}})
	}
	b := &browser{t: t}
	b.client = &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		b.mu.Lock()
		b.visited = append(b.visited, req.URL)
		b.mu.Unlock()
		if len(via) > 20 {
			return fmt.Errorf("too many redirects")
		}
		return nil
	}}
	return b
}

func (b *browser) do(req *http.Request) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return resp, string(body)
}

func (b *browser) get(u string) (*http.Response, string) {
	b.t.Helper()
	req, err := http.NewRequestWithContext(b.t.Context(), http.MethodGet, u, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

func (b *browser) post(u string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	req, err := http.NewRequestWithContext(b.t.Context(), http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var (
	formRe   = regexp.MustCompile(`(?s)<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>`)
	hiddenRe = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)
	radioRe  = regexp.MustCompile(`<input type="radio" id="([a-z0-9-]+)" name="([a-z]+)" value="([^"]*)"`)
	optionRe = regexp.MustCompile(`<option value="(\d{4}-\d{4})"`)
	caseURL  = regexp.MustCompile(`^/cases/([a-z2-7]{16})$`)
)

// formFields returns the hidden fields of the page's form posting to action.
func formFields(t *testing.T, page, action string) url.Values {
	t.Helper()
	for _, m := range formRe.FindAllStringSubmatch(page, -1) {
		if html.UnescapeString(m[1]) != action {
			continue
		}
		v := url.Values{}
		for _, h := range hiddenRe.FindAllStringSubmatch(m[2], -1) {
			v.Add(h[1], html.UnescapeString(h[2]))
		}
		return v
	}
	t.Fatalf("no form posting to %s in the page:\n%s", action, page)
	return nil
}

// radioFor returns the value of the radio button name whose label starts with
// label.
func radioFor(t *testing.T, page, name, label string) string {
	t.Helper()
	for _, m := range radioRe.FindAllStringSubmatch(page, -1) {
		if m[2] == name && strings.Contains(page, `<label for="`+m[1]+`">`+label) {
			return html.UnescapeString(m[3])
		}
	}
	t.Fatalf("no radio button %s labelled %q in the page:\n%s", name, label, page)
	return ""
}

// at fails unless resp is a page at path on base.
func at(t *testing.T, resp *http.Response, page, base, path string, status int) {
	t.Helper()
	if resp.StatusCode != status || !strings.HasPrefix(resp.Request.URL.String(), base) || resp.Request.URL.Path != path {
		t.Fatalf("at %s (%d), want %s%s (%d):\n%s", resp.Request.URL, resp.StatusCode, base, path, status, page)
	}
}

// demoLogin answers Fullmakt's login (the page resp is on: the login's choice
// of method, or the step-up page) with the demo eID as person at level, and
// returns where the browser lands after it.
func (b *browser) demoLogin(c *chain, resp *http.Response, page, person, level string) (*http.Response, string) {
	t := b.t
	t.Helper()
	if !strings.HasPrefix(resp.Request.URL.String(), c.fullmakt) {
		t.Fatalf("at %s, want Fullmakt's login:\n%s", resp.Request.URL, page)
	}
	flow := resp.Request.URL.Query().Get("flow")
	if flow == "" {
		t.Fatalf("at %s, want a login flow:\n%s", resp.Request.URL, page)
	}
	resp, page = b.get(c.fullmakt + "/login/method/demo?flow=" + url.QueryEscape(flow))
	at(t, resp, page, c.fullmakt, "/login/method/demo", http.StatusOK)
	f := formFields(t, page, "/login/demo")
	f.Set("person", radioFor(t, page, "person", person))
	f.Set("level", level)
	return b.post(c.fullmakt+"/login/demo", f)
}

// login logs person in at the office at level, landing on the party picker.
func (b *browser) login(c *chain, person, level string) string {
	t := b.t
	t.Helper()
	_, page := b.get(c.agency + "/")
	resp, page := b.post(c.agency+"/login", formFields(t, page, "/login"))
	at(t, resp, page, c.fullmakt, "/login/choose", http.StatusOK)
	resp, page = b.demoLogin(c, resp, page, person, level)
	at(t, resp, page, c.agency, "/apply/for", http.StatusOK)
	return page
}

// apply fills in and posts the application form on page.
func (b *browser) apply(c *chain, page string) (*http.Response, string) {
	t := b.t
	t.Helper()
	years := optionRe.FindAllStringSubmatch(page, -1)
	if len(years) == 0 {
		t.Fatalf("the form offers no academic year:\n%s", page)
	}
	f := formFields(t, page, "/apply")
	f.Set("school", "Universitetet i Fjordby")
	f.Set("programme", "Bachelor i informatikk")
	f.Set("academic_year", years[0][1])
	f.Set("confirm", "yes")
	return b.post(c.agency+"/apply", f)
}

// storedCase reads the case behind a case page's URL.
func storedCase(t *testing.T, c *chain, resp *http.Response, page string) Case {
	t.Helper()
	m := caseURL.FindStringSubmatch(resp.Request.URL.Path)
	if resp.StatusCode != http.StatusOK || m == nil || !strings.HasPrefix(resp.Request.URL.String(), c.agency) {
		t.Fatalf("at %s (%d), want a case page:\n%s", resp.Request.URL, resp.StatusCode, page)
	}
	data, err := os.ReadFile(filepath.Join(c.data, "cases", m[1]+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var cs Case
	if err := json.Unmarshal(data, &cs); err != nil {
		t.Fatal(err)
	}
	return cs
}

// caseCount is the number of case files.
func caseCount(t *testing.T, c *chain) int {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(c.data, "cases"))
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// checkReceipt verifies the case's archived receipt offline and checks what it
// says.
func checkReceipt(t *testing.T, c *chain, cs Case, actor, party, relation, acr string) {
	t.Helper()
	rec, err := sdk.VerifyReceiptWithKey(cs.Receipt.JWS, cs.Receipt.Key, c.fullmakt)
	if err != nil {
		t.Fatalf("VerifyReceiptWithKey(the archived receipt) = %v", err)
	}
	if !rec.Allowed || rec.Actor.ID != actor || rec.Party.ID != party || rec.Service != serviceStudentSupport || rec.Action != "submit" ||
		rec.Relation == nil || rec.Relation.Kind != relation || levelWord(rec.ACR) != acr || rec.ClientID != "example-agency" {
		t.Errorf("the receipt = %+v (relation %+v), want an allow for %s acting for %s as %s at %s", rec, rec.Relation, mask(actor), mask(party), relation, acr)
	}
}

func TestEndToEnd(t *testing.T) {
	c := startChain(t, chainOptions{})

	t.Run("a parent applies for their 17-year-old", func(t *testing.T) {
		b := newBrowser(t, c)
		page := b.login(c, "Kari", "high")
		for _, want := range []string{"Who are you applying for?", "Yourself, Kari Nordmann", "Ola Nordmann", "You are their parent", mask(c.cast["Ola"])} {
			if !strings.Contains(page, want) {
				t.Errorf("the picker lacks %q:\n%s", want, page)
			}
		}
		if strings.Contains(page, c.cast["Ola"]) {
			t.Error("the picker shows Ola's identity number in full")
		}
		f := formFields(t, page, "/apply/for")
		f.Set("party", radioFor(t, page, "party", "Ola Nordmann"))
		resp, page := b.post(c.agency+"/apply/for", f)
		at(t, resp, page, c.agency, "/apply", http.StatusOK)
		if !strings.Contains(page, "You are applying for <strong>Ola Nordmann</strong> as their parent") {
			t.Errorf("the form does not say whom it is for:\n%s", page)
		}
		resp, page = b.apply(c, page)
		cs := storedCase(t, c, resp, page)
		for _, want := range []string{
			"Ola Nordmann, born " + mask(c.cast["Ola"]), "Kari Nordmann, born " + mask(c.cast["Kari"]),
			"Parent, with parental responsibility", "high, logged in", "<strong>Verified.</strong>",
			"<code>decision</code></td><td>allowed", "<strong>example-agency</strong>", cs.Receipt.JWS,
		} {
			if !strings.Contains(page, want) {
				t.Errorf("the case page lacks %q:\n%s", want, page)
			}
		}
		for _, id := range []string{c.cast["Ola"], c.cast["Kari"]} {
			if strings.Contains(page, id) {
				t.Errorf("the case page shows an identity number in full")
			}
		}
		checkReceipt(t, c, cs, c.cast["Kari"], c.cast["Ola"], "parent", "high")
		if cs.Relation != "parent" || cs.Applicant.ID != c.cast["Ola"] || cs.Submitter.ID != c.cast["Kari"] {
			t.Errorf("the case = relation %q, applicant %s, submitter %s; want Kari for Ola as parent", cs.Relation, mask(cs.Applicant.ID), mask(cs.Submitter.ID))
		}
		// The diplomas API saw Kari acting, through the office.
		if cs.Diploma == nil {
			t.Fatalf("the case has no diploma: %s", cs.DiplomaError)
		}
		if d := cs.Diploma; d.Holder.ID != c.cast["Ola"] || d.Seen.Actor != mask(c.cast["Kari"]) || !slices.Equal(d.Seen.Via, []string{"example-agency"}) || d.Seen.Relation != "parent" {
			t.Errorf("the diploma = holder %s, seen %+v; want Ola's, seen Kari via [example-agency] as parent", mask(d.Holder.ID), d.Seen)
		}

		// The case is on Kari's list, and nobody else sees it.
		_, list := b.get(c.agency + "/cases")
		if !strings.Contains(list, "/cases/"+cs.ID) {
			t.Errorf("Your cases lacks %s:\n%s", cs.ID, list)
		}
		other := newBrowser(t, c)
		other.login(c, "Tor", "high")
		if resp, page := other.get(c.agency + "/cases/" + cs.ID); resp.StatusCode != http.StatusNotFound {
			t.Errorf("Tor opens Kari's case: %d, want 404:\n%s", resp.StatusCode, page)
		}
	})

	t.Run("a person applies for themself", func(t *testing.T) {
		b := newBrowser(t, c)
		page := b.login(c, "Sara", "high")
		f := formFields(t, page, "/apply/for")
		f.Set("party", radioFor(t, page, "party", "Yourself, Sara Nordmann"))
		resp, page := b.post(c.agency+"/apply/for", f)
		at(t, resp, page, c.agency, "/apply", http.StatusOK)
		resp, page = b.apply(c, page)
		cs := storedCase(t, c, resp, page)
		if !strings.Contains(page, "Applied for themself") || !strings.Contains(page, "<strong>Verified.</strong>") || !strings.Contains(page, "no one in between") {
			t.Errorf("the case page lacks the relation, the verified receipt or the direct call:\n%s", page)
		}
		checkReceipt(t, c, cs, c.cast["Sara"], c.cast["Sara"], "self", "high")
	})

	t.Run("a parent cannot apply for their 18-year-old", func(t *testing.T) {
		before := caseCount(t, c)
		b := newBrowser(t, c)
		page := b.login(c, "Kari", "high")
		if strings.Contains(page, "Sara Nordmann") {
			t.Errorf("the picker offers Sara, who is 18:\n%s", page)
		}
		f := formFields(t, page, "/apply/for")
		f.Set("party", "other")
		f.Set("id", c.cast["Sara"])
		resp, page := b.post(c.agency+"/apply/for", f)
		at(t, resp, page, c.agency, "/refused", http.StatusOK)
		for _, want := range []string{"You cannot apply for this person", "Parents act for their children only until they turn 18.", "Nothing was submitted."} {
			if !strings.Contains(page, want) {
				t.Errorf("the refusal lacks %q:\n%s", want, page)
			}
		}
		if n := caseCount(t, c); n != before {
			t.Errorf("after the refusal there are %d cases, want %d", n, before)
		}
	})

	t.Run("a fullmakt holder steps up to submit", func(t *testing.T) {
		b := newBrowser(t, c)
		page := b.login(c, "Tor", "substantial")
		if !strings.Contains(page, "Maja Lie") || !strings.Contains(page, "They gave you a fullmakt") || !strings.Contains(page, "log in at level high before you submit") {
			t.Errorf("the picker does not offer Maja with a step-up note:\n%s", page)
		}
		f := formFields(t, page, "/apply/for")
		f.Set("party", radioFor(t, page, "party", "Maja Lie"))
		resp, page := b.post(c.agency+"/apply/for", f)
		at(t, resp, page, c.agency, "/apply", http.StatusOK)
		if !strings.Contains(page, "Fullmakt will ask you to log in at level high") {
			t.Errorf("the form does not warn of the step-up:\n%s", page)
		}
		b.visited = nil
		resp, page = b.apply(c, page)
		// The API answered 401 with an RFC 9470 challenge, and the office sent Tor
		// to Fullmakt asking for level high.
		if !regexp.MustCompile(`path=/api/applications status=401`).MatchString(c.logs.String()) {
			t.Errorf("the applications API did not answer 401 to the substantial token:\n%s", c.logs.String())
		}
		asked := ""
		for _, u := range b.visited {
			if u.Path == "/authorize" {
				asked = u.Query().Get("acr_values")
			}
		}
		if levelWord(asked) != "high" {
			t.Errorf("the office asked Fullmakt for acr_values %q, want level high; visited %v", asked, b.visited)
		}
		if !strings.HasPrefix(resp.Request.URL.String(), c.fullmakt) || resp.Request.URL.Path != "/login/step-up" {
			t.Fatalf("after submitting at substantial the browser is at %s, want Fullmakt's step-up page:\n%s", resp.Request.URL, page)
		}
		resp, page = b.demoLogin(c, resp, page, "Tor", "high")
		cs := storedCase(t, c, resp, page)
		if !strings.Contains(page, "Holder of a fullmakt from the applicant") || !strings.Contains(page, "Maja Lie") || !strings.Contains(page, "high, logged in") {
			t.Errorf("the case page lacks the fullmakt, Maja or the level:\n%s", page)
		}
		checkReceipt(t, c, cs, c.cast["Tor"], c.cast["Maja"], "fullmakt", "high")
		if cs.Diploma == nil || !slices.Equal(cs.Diploma.Seen.Via, []string{"example-agency"}) || cs.Diploma.Seen.Actor != mask(c.cast["Tor"]) {
			t.Errorf("the diploma = %+v (%s), want one seen fetched by Tor via example-agency", cs.Diploma, cs.DiplomaError)
		}
	})

	t.Run("bad input stores nothing", func(t *testing.T) {
		before := caseCount(t, c)
		b := newBrowser(t, c)
		page := b.login(c, "Kari", "high")

		f := formFields(t, page, "/apply/for")
		f.Set("party", "other")
		f.Set("id", "123")
		resp, page := b.post(c.agency+"/apply/for", f)
		at(t, resp, page, c.agency, "/apply/for", http.StatusOK)
		if !strings.Contains(page, "There is a problem") || !strings.Contains(page, `<a href="#id">Enter an identity number of 11 digits`) {
			t.Errorf("a short identity number: the picker shows no error:\n%s", page)
		}
		f = formFields(t, page, "/apply/for")
		resp, page = b.post(c.agency+"/apply/for", f)
		at(t, resp, page, c.agency, "/apply/for", http.StatusOK)
		if !strings.Contains(page, "Choose whom you are applying for") {
			t.Errorf("no choice: the picker shows no error:\n%s", page)
		}

		f = formFields(t, page, "/apply/for")
		f.Set("party", radioFor(t, page, "party", "Yourself"))
		resp, page = b.post(c.agency+"/apply/for", f)
		at(t, resp, page, c.agency, "/apply", http.StatusOK)
		f = formFields(t, page, "/apply")
		f.Set("school", "  ")
		f.Set("programme", strings.Repeat("x", 101))
		f.Set("academic_year", "2000-2001")
		resp, page = b.post(c.agency+"/apply", f)
		at(t, resp, page, c.agency, "/apply", http.StatusOK)
		for _, want := range []string{
			"There is a problem", `<a href="#school">Enter the name of the school, college or university</a>`,
			`<a href="#programme">The name of the programme must be 100 characters or fewer</a>`,
			`<a href="#academic-year">Choose one of the academic years shown</a>`,
			`<a href="#confirm">Confirm that the information is correct</a>`,
		} {
			if !strings.Contains(page, want) {
				t.Errorf("the form's errors lack %q:\n%s", want, page)
			}
		}
		// A form without its token is refused.
		resp, _ = b.post(c.agency+"/apply", url.Values{"school": {"S"}, "programme": {"P"}, "confirm": {"yes"}})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("a form without its token = %d, want 403", resp.StatusCode)
		}
		if n := caseCount(t, c); n != before {
			t.Errorf("after bad input there are %d cases, want %d", n, before)
		}
	})

	t.Run("the applications API refuses what is not a person's JSON", func(t *testing.T) {
		for _, tt := range []struct {
			name, contentType, auth string
			status                  int
		}{
			{name: "a form post", contentType: "application/x-www-form-urlencoded", status: http.StatusUnsupportedMediaType},
			{name: "no token", contentType: "application/json", status: http.StatusUnauthorized},
			{name: "a forged token", contentType: "application/json", auth: "Bearer eyJhbGciOiJub25lIn0.e30.", status: http.StatusUnauthorized},
		} {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, c.agency+"/api/applications", strings.NewReader(`{}`))
			req.Header.Set("Content-Type", tt.contentType)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("%s: POST /api/applications = %d, want %d", tt.name, resp.StatusCode, tt.status)
			}
		}
	})

	t.Run("logging out ends both sessions", func(t *testing.T) {
		b := newBrowser(t, c)
		b.login(c, "Kari", "high")
		_, page := b.get(c.agency + "/")
		resp, page := b.post(c.agency+"/logout", formFields(t, page, "/logout"))
		at(t, resp, page, c.agency, "/", http.StatusOK)
		if !strings.Contains(page, "Log in with Fullmakt") {
			t.Errorf("after logging out the front page does not offer the login:\n%s", page)
		}
		if resp, _ := b.get(c.agency + "/cases"); resp.Request.URL.Path != "/" {
			t.Errorf("after logging out /cases is at %s, want the front page", resp.Request.URL)
		}
	})

	// Last: Fullmakt goes away between the picker and the submission.
	t.Run("Fullmakt down: nothing is submitted", func(t *testing.T) {
		before := caseCount(t, c)
		b := newBrowser(t, c)
		page := b.login(c, "Kari", "high")
		f := formFields(t, page, "/apply/for")
		f.Set("party", radioFor(t, page, "party", "Ola Nordmann"))
		resp, page := b.post(c.agency+"/apply/for", f)
		at(t, resp, page, c.agency, "/apply", http.StatusOK)
		c.crashFullmakt()
		resp, page = b.apply(c, page)
		at(t, resp, page, c.agency, "/problem", http.StatusServiceUnavailable)
		if !strings.Contains(page, "Fullmakt cannot be reached") || !strings.Contains(page, "Nothing was submitted.") {
			t.Errorf("with Fullmakt down the page says:\n%s", page)
		}
		if n := caseCount(t, c); n != before {
			t.Errorf("with Fullmakt down there are %d cases, want %d", n, before)
		}
	})
}

// TestStartsBeforeFullmakt starts the office first, as `make run` may: it keeps
// trying Fullmakt, makes its own key, and Fullmakt fetches the key from the
// office's /jwks.json (a jwks_uri registration, as the demo client has) when
// the office logs someone in.
func TestStartsBeforeFullmakt(t *testing.T) {
	c := startChain(t, chainOptions{agencyFirst: true})
	keyFile := filepath.Join(c.data, "client-key.pem")
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the office's own key: %v, %v; want a file of mode 0600", fi, err)
	}
	// /jwks.json serves the public half of that key.
	key, created, err := loadOrCreateKey(keyFile)
	if err != nil || created {
		t.Fatalf("read the office's key: %v", err)
	}
	want, _ := jwkOf(key)
	resp, err := http.Get(c.agency + "/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []publicJWK `json:"keys"`
	}
	err = json.NewDecoder(resp.Body).Decode(&set)
	resp.Body.Close()
	if err != nil || len(set.Keys) != 1 || set.Keys[0] != want || resp.Header.Get("Content-Type") != "application/jwk-set+json" {
		t.Errorf("GET /jwks.json = %+v (%s), %v; want %+v", set, resp.Header.Get("Content-Type"), err, want)
	}

	b := newBrowser(t, c)
	page := b.login(c, "Kari", "high")
	if !strings.Contains(page, "Yourself, Kari Nordmann") {
		t.Errorf("after the login the picker lacks Kari:\n%s", page)
	}

	// A login the person cancels at Fullmakt ends on a page that says so.
	_, page = b.get(c.agency + "/")
	resp, page = b.post(c.agency+"/logout", formFields(t, page, "/logout"))
	at(t, resp, page, c.agency, "/", http.StatusOK)
	resp, page = b.post(c.agency+"/login", formFields(t, page, "/login"))
	at(t, resp, page, c.fullmakt, "/login/choose", http.StatusOK)
	resp, page = b.post(c.fullmakt+"/login/cancel", formFields(t, page, "/login/cancel"))
	at(t, resp, page, c.agency, "/callback", http.StatusOK)
	if !strings.Contains(page, "You cancelled the login") {
		t.Errorf("a cancelled login shows:\n%s", page)
	}
}
