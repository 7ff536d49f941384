package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fullmakt/fullmakt/idp"
)

// The whole chain in Chromium: fullmakt serve --demo in-process and the example
// agency (cmd/example-agency, built from this tree) as a process of its own, both
// on 127.0.0.1. The agency knows Fullmakt only through the SDK.

// agencyListening is the example agency's announcement.
var agencyListening = regexp.MustCompile(`example-agency listening on http://127\.0\.0\.1:\d+, public URL (http://\S+)\n`)

// startAgency builds the example agency and starts it beside a Fullmakt that
// declares its two clients for the port picked here. It returns Fullmakt's URL
// (http://localhost:PORT, where passkeys work) and the agency's
// (http://127.0.0.1:PORT: another host, so the two keep their cookies apart, as
// two sites do).
func startAgency(t *testing.T) (fullmakt, agency string) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "example-agency")
	build := exec.CommandContext(t.Context(), "go", "build", "-o", bin, "github.com/fullmakt/fullmakt/cmd/example-agency")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build example-agency: %v\n%s", err, out)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	agency = "http://" + addr

	// The agency's key for private_key_jwt, registered inline in the clients file.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "agency-key.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	const diplomasSecret = "diplomas-secret-for-the-browser-test-0123456789"
	secretFile := filepath.Join(dir, "diplomas-secret")
	if err := os.WriteFile(secretFile, []byte(diplomasSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	ac := exampleAgencyClient()
	ac.JWKSURI = ""
	ac.JWKS = publicJWKS(t, &key.PublicKey)
	ac.RedirectURIs = []string{agency + "/callback"}
	ac.PostLogoutRedirectURIs = []string{agency + "/"}
	ac.Audiences = []string{agency + "/api", agency + "/diplomas"}
	dc := exampleDiplomasClient()
	dc.SecretHash = idp.HashSecret(diplomasSecret)
	dc.Audiences = []string{agency + "/diplomas"}
	clients, err := json.Marshal(map[string]any{"clients": []idp.Client{ac, dc}})
	if err != nil {
		t.Fatal(err)
	}
	clientsFile := filepath.Join(dir, "clients.json")
	if err := os.WriteFile(clientsFile, clients, 0o600); err != nil {
		t.Fatal(err)
	}

	fullmakt = serveForBrowser(t, "--data", filepath.Join(dir, "fullmakt"), "--demo", "--clients", clientsFile)

	out := &syncBuffer{}
	cmd := exec.Command(bin, "--addr", addr, "--public-url", agency, "--fullmakt", fullmakt,
		"--data", filepath.Join(dir, "agency"), "--key-file", keyFile, "--diplomas-secret-file", secretFile)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan int, 1)
	go func() {
		cmd.Wait()
		done <- cmd.ProcessState.ExitCode()
	}()
	var once sync.Once
	t.Cleanup(func() {
		once.Do(func() {
			cmd.Process.Signal(os.Interrupt)
			select {
			case <-done:
			case <-time.After(15 * time.Second):
				cmd.Process.Kill()
				<-done
				t.Errorf("the example agency did not stop within 15 s of SIGINT")
			}
			if t.Failed() {
				t.Logf("the example agency's log:\n%s", out.String())
			}
		})
	})
	if got := waitFor(t, out, agencyListening, done, 30*time.Second)[1]; got != agency {
		t.Fatalf("the agency's public URL is %s, want %s", got, agency)
	}
	return fullmakt, agency
}

// publicJWKS is a JWK Set of pub as a clients file holds it, with the kid the
// agency gives its key: the RFC 7638 thumbprint.
func publicJWKS(t *testing.T, pub *ecdsa.PublicKey) json.RawMessage {
	t.Helper()
	raw, err := pub.Bytes() // 0x04, then X and Y, 32 bytes each
	if err != nil {
		t.Fatal(err)
	}
	x, y := base64.RawURLEncoding.EncodeToString(raw[1:33]), base64.RawURLEncoding.EncodeToString(raw[33:])
	sum := sha256.Sum256([]byte(`{"crv":"P-256","kty":"EC","x":"` + x + `","y":"` + y + `"}`))
	b, err := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "EC", "crv": "P-256", "x": x, "y": y, "use": "sig", "alg": "ES256",
		"kid": base64.RawURLEncoding.EncodeToString(sum[:]),
	}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// agencyLogIn starts the agency's login and logs in at Fullmakt with TestID as
// person at level; the browser lands on the agency's party picker.
func agencyLogIn(t *testing.T, ctx context.Context, fullmakt, agency, person, level string) {
	t.Helper()
	do(t, ctx, "open the agency", chromedp.Navigate(agency+"/"))
	do(t, ctx, "click Log in with Fullmakt", chromedp.Click(`form[action="/login"] button`))
	arrive(t, ctx, fullmakt+"/login/choose?")
	demoEID(t, ctx, fullmakt, person, level, false)
	at(t, ctx, agency+"/apply/for")
}

// chooseParty answers the agency's picker: a listed party whose label starts
// with name, or, with id, "Someone else" and that identity number.
func agencyChoose(t *testing.T, ctx context.Context, agency, name, id string) {
	t.Helper()
	if !strings.HasPrefix(eval[string](t, ctx, `location.href`), agency+"/apply/for") {
		do(t, ctx, "open the picker", chromedp.Navigate(agency+"/apply/for"))
		at(t, ctx, agency+"/apply/for")
	}
	if id == "" {
		chooseRadio(t, ctx, "party", name)
	} else {
		do(t, ctx, "choose someone else", chromedp.Click(`#party-other`), chromedp.SendKeys(`#id`, id))
	}
	do(t, ctx, "continue", chromedp.Click(`form[action="/apply/for"] button[type="submit"]`))
}

// agencyApply fills in the application form and submits it.
func agencyApply(t *testing.T, ctx context.Context, agency string) {
	t.Helper()
	at(t, ctx, agency+"/apply")
	year := eval[string](t, ctx, `[...document.querySelectorAll('#academic-year option')].map(o => o.value).filter(v => v)[0] || ''`)
	if year == "" {
		t.Fatal("the application form offers no academic year")
	}
	do(t, ctx, "fill in the application",
		chromedp.SetValue(`#academic-year`, year),
		chromedp.SendKeys(`#school`, "Bergen katedralskole"),
		chromedp.SendKeys(`#programme`, "Studiespesialisering"),
		chromedp.Click(`#confirm`))
	do(t, ctx, "submit the application", chromedp.Click(`form[action="/apply"] button[type="submit"]`))
	// The form posts, and the answer is a redirect: away from /apply, unless
	// the form was refused.
	for deadline := time.Now().Add(actionTimeout); eval[string](t, ctx, `location.pathname`) == "/apply"; {
		if time.Now().After(deadline) {
			t.Fatalf("the application was not accepted:\n%s", pageText(t, ctx, "main"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// casePage waits for the case page and returns its summary and main text.
func casePage(t *testing.T, ctx context.Context, agency string) (map[string]string, string) {
	t.Helper()
	arrive(t, ctx, agency+"/cases/")
	return summary(t, ctx), pageText(t, ctx, "main")
}

func TestBrowserExampleAgency(t *testing.T) {
	if _, err := os.Stat(filepath.Join(axeDir, "node_modules", "axe-core", "axe.min.js")); err != nil {
		missing(t, "axe-core is not installed (%v): run `npm ci --prefix cmd/fullmakt/testdata/browser`, or `make test`", err)
	}
	fullmakt, agency := startAgency(t)
	ctx := newBrowser(t)
	setLanguage(t, ctx, fullmakt, "en")
	authenticator := addAuthenticator(t, ctx, true)
	maja, sara := cast(t, "Maja"), cast(t, "Sara")

	step := steps(t)

	step("Tor adds a passkey at Fullmakt", func(t *testing.T) {
		do(t, ctx, "open the passkeys page", chromedp.Navigate(fullmakt+"/login?return=/account/passkeys"))
		arrive(t, ctx, fullmakt+"/login/choose?")
		demoEID(t, ctx, fullmakt, "Tor", "high", false)
		arrive(t, ctx, fullmakt+"/account/passkeys")
		do(t, ctx, "name the passkey", chromedp.SendKeys(`#passkey-name`, "Tor's laptop"))
		do(t, ctx, "add it", chromedp.Click(`button[data-passkey="register"]`))
		arrive(t, ctx, fullmakt+"/account/passkeys?done=added")
		logOut(t, ctx, fullmakt)
	})

	step("Tor, at substantial, is challenged and steps up with his passkey", func(t *testing.T) {
		// The passkey must not answer the TestID page's autofill: Tor logs in
		// with TestID at substantial.
		setUserVerified(t, ctx, authenticator, false)
		agencyLogIn(t, ctx, fullmakt, agency, "Tor", "substantial")
		checkAccessibility(t, ctx, "agency-picker")
		screenshot(t, ctx, "agency-picker")
		if got := pageText(t, ctx, `form[action="/apply/for"]`); !strings.Contains(got, "Maja Lie") || !strings.Contains(got, "level high") {
			t.Errorf("Tor's picker does not offer Maja with a note on the step-up:\n%s", got)
		}
		agencyChoose(t, ctx, agency, "Maja Lie", "")
		at(t, ctx, agency+"/apply")
		checkAccessibility(t, ctx, "agency-apply")
		screenshot(t, ctx, "agency-apply")
		agencyApply(t, ctx, agency)

		// The agency's API answered 401 insufficient_user_authentication; the
		// agency sent Tor back to Fullmakt asking for level high.
		arrive(t, ctx, fullmakt+"/login/step-up?")
		do(t, ctx, "wait for the step-up button", chromedp.WaitVisible(`button[data-passkey="step-up"]`))
		setUserVerified(t, ctx, authenticator, true)
		do(t, ctx, "step up with the passkey", chromedp.Click(`button[data-passkey="step-up"]`))

		got, main := casePage(t, ctx, agency)
		checkAccessibility(t, ctx, "agency-case")
		screenshot(t, ctx, "agency-case")
		if !strings.HasPrefix(got["Applicant"], "Maja Lie") || !strings.HasPrefix(got["Submitted by"], "Tor Lie") ||
			!strings.Contains(strings.ToLower(got["Relation"]), "fullmakt") || !strings.Contains(strings.ToLower(got["Level of assurance"]), "high") {
			t.Errorf("the case says %v; want Maja applying, Tor submitting through a fullmakt at level high", got)
		}
		for _, want := range []string{"Verified.", "example-agency"} {
			if !strings.Contains(main, want) {
				t.Errorf("the case page lacks %q (a verified receipt; the diplomas API saw the agency in the act chain):\n%s", want, main)
			}
		}
	})

	step("Maja revokes; Tor's next request is refused", func(t *testing.T) {
		// Tor picks Maja again at high: the agency's SDK now holds an allow.
		agencyChoose(t, ctx, agency, "Maja Lie", "")
		at(t, ctx, agency+"/apply")

		// Maja, in her own browser, revokes the fullmakt in the portal.
		mctx := newBrowser(t)
		setLanguage(t, mctx, fullmakt, "en")
		do(t, mctx, "open the portal", chromedp.Navigate(fullmakt+"/login?return=/"))
		arrive(t, mctx, fullmakt+"/login/choose?")
		demoEID(t, mctx, fullmakt, "Maja", "high", false)
		at(t, mctx, fullmakt+"/")
		link := eval[string](t, mctx, `(document.querySelector('main a[href^="/fullmakter/"]') || {}).getAttribute ? document.querySelector('main a[href^="/fullmakter/"]').getAttribute('href') : ''`)
		if link == "" {
			t.Fatalf("Maja's overview links to no fullmakt:\n%s", pageText(t, mctx, "main"))
		}
		do(t, mctx, "open the revocation", chromedp.Navigate(fullmakt+link+"/end"))
		arrive(t, mctx, fullmakt+link+"/end")
		revoked := time.Now()
		do(t, mctx, "revoke", chromedp.Click(`main form button[type="submit"]`))
		arrive(t, mctx, fullmakt+link+"?ended=1")

		// Maja is no longer in Tor's picker; asked by her number, the agency
		// refuses.
		do(t, ctx, "open the picker", chromedp.Navigate(agency+"/apply/for"))
		at(t, ctx, agency+"/apply/for")
		if got := pageText(t, ctx, `form[action="/apply/for"]`); strings.Contains(got, "Maja Lie") {
			t.Errorf("after the revocation Tor's picker still offers Maja:\n%s", got)
		}
		agencyChoose(t, ctx, agency, "", maja.ID.String())
		arrive(t, ctx, agency+"/refused")
		t.Logf("Tor was refused %v after Maja pressed Revoke (browser steps included)", time.Since(revoked).Round(time.Millisecond))
		if main := pageText(t, ctx, "main"); !strings.Contains(main, "revoked") || !strings.Contains(main, "Nothing was submitted") {
			t.Errorf("the refused page does not say the fullmakt was revoked:\n%s", main)
		}
		checkAccessibility(t, ctx, "agency-refused-revoked")
		do(t, ctx, "log out at the agency", chromedp.Click(`header form[action="/logout"] button`))
		arrive(t, ctx, agency+"/")
	})

	step("Kari submits for Ola, 17, and is refused for Sara, 18", func(t *testing.T) {
		setUserVerified(t, ctx, authenticator, false)
		agencyLogIn(t, ctx, fullmakt, agency, "Kari", "high")
		if got := pageText(t, ctx, `form[action="/apply/for"]`); strings.Contains(got, "Sara") || !strings.Contains(got, "Ola Nordmann") {
			t.Errorf("Kari's picker should offer Ola and not Sara:\n%s", got)
		}
		agencyChoose(t, ctx, agency, "Ola Nordmann", "")
		agencyApply(t, ctx, agency)
		got, main := casePage(t, ctx, agency)
		if !strings.HasPrefix(got["Applicant"], "Ola Nordmann") || !strings.HasPrefix(got["Submitted by"], "Kari Nordmann") ||
			!strings.Contains(strings.ToLower(got["Relation"]), "parent") {
			t.Errorf("the case says %v; want Ola applying, Kari submitting as a parent", got)
		}
		if !strings.Contains(main, "Verified.") {
			t.Errorf("the case page has no verified receipt:\n%s", main)
		}

		agencyChoose(t, ctx, agency, "", sara.ID.String())
		arrive(t, ctx, agency+"/refused")
		main = pageText(t, ctx, "main")
		if !strings.Contains(main, "until they turn 18") {
			t.Errorf("the refused page does not explain that parents act only until 18:\n%s", main)
		}
		checkAccessibility(t, ctx, "agency-refused-adult")
		screenshot(t, ctx, "agency-refused")
	})
}
