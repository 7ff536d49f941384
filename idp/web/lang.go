package web

import (
	"cmp"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/text/language"
)

// Lang is a language pages are shown in: a BCP 47 language code.
type Lang string

// The supported languages. Bokmål and English are complete; the others have the
// same keys, falling back to English where a text is not yet translated.
const (
	NB Lang = "nb" // Norwegian Bokmål, the default
	NN Lang = "nn" // Norwegian Nynorsk
	EN Lang = "en" // English
	SV Lang = "sv" // Swedish
	DA Lang = "da" // Danish
	FI Lang = "fi" // Finnish
)

// langCookie is the cookie that remembers the language the person chose.
const langCookie = "lang"

// Languages returns the supported languages in the order the switch shows them:
// nb, nn, en, sv, da, fi.
func Languages() []Lang { return []Lang{NB, NN, EN, SV, DA, FI} }

// Name returns the language's name in itself ("Norsk bokmål", "Norsk nynorsk",
// "English", "Svenska", "Dansk", "Suomi"); for an unsupported language, its code.
func (l Lang) Name() string {
	switch l {
	case NB:
		return "Norsk bokmål"
	case NN:
		return "Norsk nynorsk"
	case EN:
		return "English"
	case SV:
		return "Svenska"
	case DA:
		return "Dansk"
	case FI:
		return "Suomi"
	}
	return string(l)
}

// valid reports whether l is a supported language.
func (l Lang) valid() bool { return slices.Contains(Languages(), l) }

// supportedTags are Languages as language tags, in the same order.
func supportedTags() []language.Tag {
	tags := make([]language.Tag, 0, len(Languages()))
	for _, l := range Languages() {
		tags = append(tags, language.MustParse(string(l)))
	}
	return tags
}

// Negotiate picks the page language: the cookie "lang" if it names a supported
// language, else the best match of Accept-Language (nb, nn, no→nb, en, sv, da, fi;
// "nn-NO" is nn and "sv-FI" sv), else nb.
func Negotiate(r *http.Request) Lang {
	if c, err := r.Cookie(langCookie); err == nil && Lang(c.Value).valid() {
		return Lang(c.Value)
	}
	tags := acceptLanguage(strings.Join(r.Header.Values("Accept-Language"), ","))
	if len(tags) == 0 {
		return NB
	}
	// The matcher takes "no" for nb, and gives the first supported language (nb)
	// when nothing matches.
	_, i, conf := language.NewMatcher(supportedTags()).Match(tags...)
	if conf == language.No {
		return NB
	}
	return Languages()[i]
}

// acceptLanguage parses an Accept-Language header into tags, most wanted first. It
// reads each entry on its own, so one malformed entry does not spoil the others,
// and it drops entries with q=0 (not wanted).
func acceptLanguage(header string) []language.Tag {
	type weighted struct {
		tag language.Tag
		q   float32
	}
	var all []weighted
	for entry := range strings.SplitSeq(header, ",") {
		if strings.TrimSpace(entry) == "" {
			continue
		}
		tags, qs, err := language.ParseAcceptLanguage(entry)
		if err != nil {
			continue
		}
		for i, t := range tags {
			all = append(all, weighted{t, qs[i]})
		}
	}
	slices.SortStableFunc(all, func(a, b weighted) int { return cmp.Compare(b.q, a.q) })
	tags := make([]language.Tag, 0, len(all))
	for _, w := range all {
		if w.q > 0 {
			tags = append(tags, w.tag)
		}
	}
	return tags
}

// LanguageSwitch serves GET /lang?to=nb&return=/path?query: it sets the "lang"
// cookie (Path=/, one year, SameSite=Lax, HttpOnly, Secure unless the request is
// plain http to localhost, 127.0.0.1 or ::1) and redirects 303 See Other to return
// if that is a path on this site (it starts with "/" but not "//" or "/\"), else to
// "/". An unknown language is a 400 with a short plain page. The switch in the page
// header is a list of links to it, so it works without JavaScript.
func LanguageSwitch() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "Method not allowed.", http.StatusMethodNotAllowed)
			return
		}
		q := r.URL.Query()
		to := Lang(q.Get("to"))
		if !to.valid() {
			SetHeaders(w.Header(), nil)
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte("Ukjent språk. Gå tilbake og velg et språk fra listen.\n" +
				"Unknown language. Go back and choose a language from the list.\n"))
			return
		}
		http.SetCookie(w, &http.Cookie{
			Name:     langCookie,
			Value:    string(to),
			Path:     "/",
			MaxAge:   int((365 * 24 * time.Hour).Seconds()),
			HttpOnly: true,
			Secure:   !plainLocalhost(r),
			SameSite: http.SameSiteLaxMode,
		})
		back := q.Get("return")
		if !LocalPath(back) {
			back = "/"
		}
		// Not http.Redirect: it cleans the path, and path.Clean("/a/../\\x") is "/\\x".
		w.Header().Set("Location", back)
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusSeeOther)
	})
}

// LocalPath reports whether p is a path on this site that is safe to redirect to:
// it starts with one "/", not "//" (another host), holds no backslash (browsers read
// "/\evil.example" as "//evil.example"), no control characters or spaces (browsers
// drop tabs and newlines, so "/\t/evil.example" would become "//evil.example"), and
// parses as a URL without scheme or host.
func LocalPath(p string) bool {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsRune(p, '\\') {
		return false
	}
	for _, c := range p {
		if c <= ' ' || c == 0x7f {
			return false
		}
	}
	u, err := url.Parse(p)
	return err == nil && u.Scheme == "" && u.Host == "" && u.User == nil
}

// plainLocalhost reports whether r came over plain http to this machine's loopback
// name or address: the only place a cookie may go without Secure (a developer's
// `fullmakt serve`).
func plainLocalhost(r *http.Request) bool {
	if r.TLS != nil {
		return false
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	switch strings.Trim(host, "[]") {
	case "localhost", "127.0.0.1", "::1":
		return true
	}
	return false
}
