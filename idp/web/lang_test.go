package web

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLanguages(t *testing.T) {
	want := []Lang{NB, NN, EN, SV, DA, FI}
	if got := Languages(); !slices.Equal(got, want) {
		t.Errorf("Languages() = %v, want %v", got, want)
	}
	names := map[Lang]string{NB: "Norsk bokmål", NN: "Norsk nynorsk", EN: "English", SV: "Svenska", DA: "Dansk", FI: "Suomi", "de": "de"}
	for l, want := range names {
		if got := l.Name(); got != want {
			t.Errorf("%s.Name() = %q, want %q", l, got, want)
		}
	}
}

func TestNegotiate(t *testing.T) {
	tests := []struct {
		name   string
		cookie string
		accept []string
		want   Lang
	}{
		{name: "nothing", want: NB},
		{name: "bokmål", accept: []string{"nb-NO,nb;q=0.9,en;q=0.5"}, want: NB},
		{name: "no is bokmål", accept: []string{"no"}, want: NB},
		{name: "no-NO is bokmål", accept: []string{"no-NO,en;q=0.8"}, want: NB},
		{name: "nynorsk", accept: []string{"nn-NO"}, want: NN},
		{name: "nynorsk before bokmål", accept: []string{"nn,nb;q=0.9"}, want: NN},
		{name: "english", accept: []string{"en-US,en;q=0.9"}, want: EN},
		{name: "swedish in Finland", accept: []string{"sv-FI"}, want: SV},
		{name: "finnish", accept: []string{"fi-FI,fi;q=0.9,en;q=0.8"}, want: FI},
		{name: "danish", accept: []string{"da"}, want: DA},
		{name: "q-values order", accept: []string{"da;q=0.5, sv;q=0.9, en;q=0.1"}, want: SV},
		{name: "unsupported first", accept: []string{"de-DE,de;q=0.9,sv;q=0.2"}, want: SV},
		{name: "q=0 is refused", accept: []string{"en;q=0, da;q=0.5"}, want: DA},
		{name: "only unsupported", accept: []string{"de, fr;q=0.8"}, want: NB},
		{name: "garbage", accept: []string{"!!garbage;;q=x"}, want: NB},
		{name: "garbage beside a good entry", accept: []string{"@@@, fi;q=0.7"}, want: FI},
		{name: "two header lines", accept: []string{"de", "en;q=0.5"}, want: EN},
		{name: "wildcard", accept: []string{"*"}, want: NB},
		{name: "cookie wins", cookie: "fi", accept: []string{"en"}, want: FI},
		{name: "nynorsk cookie", cookie: "nn", want: NN},
		{name: "unknown cookie is ignored", cookie: "de", accept: []string{"sv"}, want: SV},
		{name: "cookie in another case is ignored", cookie: "EN", want: NB},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			for _, a := range tt.accept {
				r.Header.Add("Accept-Language", a)
			}
			if tt.cookie != "" {
				r.AddCookie(&http.Cookie{Name: "lang", Value: tt.cookie})
			}
			if got := Negotiate(r); got != tt.want {
				t.Errorf("Negotiate(cookie %q, Accept-Language %q) = %s, want %s", tt.cookie, tt.accept, got, tt.want)
			}
		})
	}
}

func TestLanguageSwitch(t *testing.T) {
	tests := []struct {
		name         string
		method       string
		target       string
		host         string
		tls          bool
		wantStatus   int
		wantLocation string
		wantCookie   string // the cookie's value; "" for none
		wantSecure   bool
	}{
		{name: "switch and return", target: "/lang?to=en&return=" + url.QueryEscape("/login/method?flow=abc&x=1"), host: "fullmakt.example", tls: true,
			wantStatus: 303, wantLocation: "/login/method?flow=abc&x=1", wantCookie: "en", wantSecure: true},
		{name: "plain http elsewhere is still Secure", target: "/lang?to=nn&return=/", host: "fullmakt.example",
			wantStatus: 303, wantLocation: "/", wantCookie: "nn", wantSecure: true},
		{name: "localhost over http", target: "/lang?to=sv&return=/a", host: "localhost:8080",
			wantStatus: 303, wantLocation: "/a", wantCookie: "sv", wantSecure: false},
		{name: "127.0.0.1 over http", target: "/lang?to=da&return=/a", host: "127.0.0.1:8080",
			wantStatus: 303, wantLocation: "/a", wantCookie: "da", wantSecure: false},
		{name: "localhost over https", target: "/lang?to=da&return=/a", host: "localhost:8443", tls: true,
			wantStatus: 303, wantLocation: "/a", wantCookie: "da", wantSecure: true},
		{name: "no return", target: "/lang?to=fi", host: "localhost",
			wantStatus: 303, wantLocation: "/", wantCookie: "fi"},
		{name: "protocol-relative return", target: "/lang?to=en&return=" + url.QueryEscape("//evil.example/x"), host: "localhost",
			wantStatus: 303, wantLocation: "/", wantCookie: "en"},
		{name: "absolute return", target: "/lang?to=en&return=" + url.QueryEscape("https://evil.example/"), host: "localhost",
			wantStatus: 303, wantLocation: "/", wantCookie: "en"},
		{name: "backslash return", target: "/lang?to=en&return=" + url.QueryEscape(`/\evil.example`), host: "localhost",
			wantStatus: 303, wantLocation: "/", wantCookie: "en"},
		{name: "backslash after dots", target: "/lang?to=en&return=" + url.QueryEscape(`/a/../\evil.example`), host: "localhost",
			wantStatus: 303, wantLocation: "/", wantCookie: "en"},
		{name: "broken escape", target: "/lang?to=en&return=" + url.QueryEscape("/a%zz"), host: "localhost",
			wantStatus: 303, wantLocation: "/", wantCookie: "en"},
		{name: "tab return", target: "/lang?to=en&return=" + url.QueryEscape("/\t/evil.example"), host: "localhost",
			wantStatus: 303, wantLocation: "/", wantCookie: "en"},
		{name: "relative return", target: "/lang?to=en&return=evil.example", host: "localhost",
			wantStatus: 303, wantLocation: "/", wantCookie: "en"},
		{name: "javascript return", target: "/lang?to=en&return=" + url.QueryEscape("javascript:alert(1)"), host: "localhost",
			wantStatus: 303, wantLocation: "/", wantCookie: "en"},
		{name: "unknown language", target: "/lang?to=de&return=/", host: "localhost", wantStatus: 400},
		{name: "no language", target: "/lang", host: "localhost", wantStatus: 400},
		{name: "post", method: "POST", target: "/lang?to=en", host: "localhost", wantStatus: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = "GET"
			}
			r := httptest.NewRequest(method, tt.target, nil)
			r.Host = tt.host
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			w := httptest.NewRecorder()
			LanguageSwitch().ServeHTTP(w, r)
			res := w.Result()
			if res.StatusCode != tt.wantStatus {
				t.Fatalf("GET %s: status = %d, want %d", tt.target, res.StatusCode, tt.wantStatus)
			}
			if got := res.Header.Get("Location"); got != tt.wantLocation {
				t.Errorf("Location = %q, want %q", got, tt.wantLocation)
			}
			cookies := res.Cookies()
			if tt.wantCookie == "" {
				if len(cookies) != 0 {
					t.Errorf("cookies = %v, want none", cookies)
				}
				return
			}
			if len(cookies) != 1 {
				t.Fatalf("cookies = %v, want one", cookies)
			}
			c := cookies[0]
			if c.Name != "lang" || c.Value != tt.wantCookie || c.Path != "/" || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure != tt.wantSecure {
				t.Errorf("cookie = %s; want lang=%s, Path=/, HttpOnly, SameSite=Lax, Secure %v", c, tt.wantCookie, tt.wantSecure)
			}
			if want := int((365 * 24 * time.Hour).Seconds()); c.MaxAge != want {
				t.Errorf("cookie Max-Age = %d, want %d", c.MaxAge, want)
			}
			// The cookie the switch sets is the one Negotiate reads.
			next := httptest.NewRequest("GET", "/", nil)
			next.Header.Set("Accept-Language", "de")
			next.AddCookie(c)
			if got := Negotiate(next); got != Lang(tt.wantCookie) {
				t.Errorf("Negotiate after the switch = %s, want %s", got, tt.wantCookie)
			}
		})
	}
}

// FuzzLanguageSwitch checks that wherever return points, the switch sends the
// browser to a page on this site.
func FuzzLanguageSwitch(f *testing.F) {
	for _, s := range []string{"/", "/a?b=c", "//evil.example", `/\evil.example`, "https://evil.example", "/\t/evil.example", "/%2F/evil.example", "/a/../..//evil.example", "/./%5C/evil"} {
		f.Add(s)
	}
	base, _ := url.Parse("https://fullmakt.example/lang")
	f.Fuzz(func(t *testing.T, ret string) {
		r := httptest.NewRequest("GET", "/lang?to=en&return="+url.QueryEscape(ret), nil)
		r.Host = "fullmakt.example"
		w := httptest.NewRecorder()
		LanguageSwitch().ServeHTTP(w, r)
		if w.Code != http.StatusSeeOther {
			t.Fatalf("return %q: status %d, want 303", ret, w.Code)
		}
		loc := w.Header().Get("Location")
		u, err := url.Parse(loc)
		if err != nil {
			t.Fatalf("return %q: Location %q does not parse: %v", ret, loc, err)
		}
		if got := base.ResolveReference(u); got.Host != "fullmakt.example" || got.Scheme != "https" {
			t.Fatalf("return %q: Location %q leads to %s", ret, loc, got)
		}
		// What Go's resolver does not know but browsers do: a backslash is a slash,
		// and tabs and newlines are dropped.
		if strings.ContainsAny(loc, "\\\t\r\n") || strings.HasPrefix(loc, "//") || !strings.HasPrefix(loc, "/") {
			t.Fatalf("return %q: Location %q", ret, loc)
		}
	})
}
