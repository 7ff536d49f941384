package sdk

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The WWW-Authenticate challenges of RFC 6750 §3 and RFC 9470 §3, written by
// Require and read by ParseChallenge.

// errInsufficientUserAuthentication is RFC 9470's error code.
const errInsufficientUserAuthentication = "insufficient_user_authentication"

// ParseChallenge reads the WWW-Authenticate headers of a response (from an API
// protected by Require, or any RFC 9470 resource server) and returns the step-up
// of its Bearer challenge with error="insufficient_user_authentication": the
// acr_values (and max_age) to send the person to the login with. It reports
// false when there is none. Every header line is read, each may hold several
// challenges, and parameter values may be tokens or quoted strings; a malformed
// challenge is skipped.
func ParseChallenge(h http.Header) (*StepUp, bool) {
	for _, v := range h.Values("WWW-Authenticate") {
		for _, c := range parseChallenges(v) {
			if c.scheme != "bearer" || c.params["error"] != errInsufficientUserAuthentication {
				continue
			}
			s := &StepUp{ACRValues: c.params["acr_values"]}
			if n, err := strconv.ParseInt(c.params["max_age"], 10, 64); err == nil && n > 0 && n < int64(1<<62)/int64(time.Second) {
				s.MaxAge = time.Duration(n) * time.Second
			}
			return s, true
		}
	}
	return nil, false
}

// challenge is one challenge of a WWW-Authenticate header (RFC 9110 §11.6.1):
// its scheme (lowercase) and either a token68 or auth-params (names lowercase;
// the first of a name twice wins).
type challenge struct {
	scheme  string
	token68 string
	params  map[string]string
}

// parseChallenges reads the challenges of one header value:
//
//	challenge  = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
//	auth-param = token BWS "=" BWS ( token / quoted-string )
//
// with the challenges and auth-params a comma-separated list. It returns those
// read before anything malformed.
func parseChallenges(s string) []challenge {
	p := challengeParser{s: s}
	var out []challenge
	for {
		p.skipSeparators()
		if p.eof() {
			return out
		}
		scheme := p.token()
		if scheme == "" {
			return out
		}
		c := challenge{scheme: strings.ToLower(scheme)}
		spaced := p.spaces()
		switch {
		case p.eof():
			return append(out, c)
		case p.peek() == ',':
			// No parameters, or an empty first element of the list of
			// auth-params: the loop below tells them apart.
		case !spaced:
			return out // the scheme runs into something else
		default:
			if t, ok := p.token68(); ok {
				c.token68 = t
				out = append(out, c)
				continue
			}
		}
		ok := p.params(&c)
		if len(c.params) == 0 {
			c.params = nil
		}
		out = append(out, c)
		if !ok {
			return out
		}
	}
}

// params reads the auth-params of c, up to the end or the next challenge's
// scheme; false when what follows is malformed.
func (p *challengeParser) params(c *challenge) bool {
	c.params = map[string]string{}
	for {
		p.skipSeparators()
		save := p.i
		name := p.token()
		p.ows()
		if name == "" || p.eof() || p.peek() != '=' {
			// Not an auth-param: the end, or the next challenge's scheme.
			p.i = save
			return true
		}
		p.i++ // '='
		p.ows()
		value, ok := p.value()
		if !ok {
			return false
		}
		name = strings.ToLower(name)
		if _, dup := c.params[name]; !dup {
			c.params[name] = value
		}
		p.ows()
		if !p.eof() && p.peek() != ',' {
			return false
		}
	}
}

type challengeParser struct {
	s string
	i int
}

func (p *challengeParser) eof() bool  { return p.i >= len(p.s) }
func (p *challengeParser) peek() byte { return p.s[p.i] }

// ows skips optional white space.
func (p *challengeParser) ows() {
	for !p.eof() && (p.peek() == ' ' || p.peek() == '\t') {
		p.i++
	}
}

// spaces skips white space and reports whether there was any.
func (p *challengeParser) spaces() bool {
	start := p.i
	p.ows()
	return p.i > start
}

// skipSeparators skips white space and commas (empty list elements).
func (p *challengeParser) skipSeparators() {
	for !p.eof() && (p.peek() == ' ' || p.peek() == '\t' || p.peek() == ',') {
		p.i++
	}
}

// token reads a token (RFC 9110 §5.6.2), "" when there is none.
func (p *challengeParser) token() string {
	start := p.i
	for !p.eof() && isTchar(p.peek()) {
		p.i++
	}
	return p.s[start:p.i]
}

// token68 reads a token68 that makes up the whole of a challenge's parameters
// (followed only by white space and a comma, or the end); otherwise it reads
// nothing.
func (p *challengeParser) token68() (string, bool) {
	start := p.i
	i := p.i
	for i < len(p.s) && isToken68Char(p.s[i]) {
		i++
	}
	if i == start {
		return "", false
	}
	for i < len(p.s) && p.s[i] == '=' {
		i++
	}
	end := i
	for i < len(p.s) && (p.s[i] == ' ' || p.s[i] == '\t') {
		i++
	}
	if i < len(p.s) && p.s[i] != ',' {
		return "", false
	}
	p.i = i
	return p.s[start:end], true
}

// value reads a token or a quoted string, unescaping the latter.
func (p *challengeParser) value() (string, bool) {
	if p.eof() {
		return "", false
	}
	if p.peek() != '"' {
		t := p.token()
		return t, t != ""
	}
	p.i++
	var b strings.Builder
	for !p.eof() {
		ch := p.peek()
		p.i++
		switch {
		case ch == '"':
			return b.String(), true
		case ch == '\\':
			if p.eof() || !isQuotedPairChar(p.peek()) {
				return "", false
			}
			b.WriteByte(p.peek())
			p.i++
		case isQdtext(ch):
			b.WriteByte(ch)
		default:
			return "", false
		}
	}
	return "", false // unterminated
}

// isTchar reports whether ch may be in a token (RFC 9110 §5.6.2).
func isTchar(ch byte) bool {
	switch {
	case ch >= 'a' && ch <= 'z', ch >= 'A' && ch <= 'Z', ch >= '0' && ch <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", ch) >= 0
}

// isToken68Char reports whether ch may be in a token68 before its padding.
func isToken68Char(ch byte) bool {
	switch {
	case ch >= 'a' && ch <= 'z', ch >= 'A' && ch <= 'Z', ch >= '0' && ch <= '9':
		return true
	}
	return strings.IndexByte("-._~+/", ch) >= 0
}

// isQdtext reports whether ch may stand unescaped in a quoted string.
func isQdtext(ch byte) bool {
	return ch == '\t' || ch == ' ' || ch == 0x21 || (ch >= 0x23 && ch <= 0x5b) || (ch >= 0x5d && ch <= 0x7e) || ch >= 0x80
}

// isQuotedPairChar reports whether ch may follow a backslash in a quoted string.
func isQuotedPairChar(ch byte) bool {
	return ch == '\t' || ch == ' ' || (ch >= 0x21 && ch <= 0x7e) || ch >= 0x80
}

// quote writes s as a quoted string, escaping quotes and backslashes and
// leaving out the control characters a quoted string cannot hold.
func quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '"' || ch == '\\':
			b.WriteByte('\\')
			b.WriteByte(ch)
		case isQdtext(ch):
			b.WriteByte(ch)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// bearerChallenge writes a Bearer challenge with the parameters given as name,
// value pairs; empty values are left out. Values are quoted strings, but for
// max_age, an integer, written as a token as RFC 9470's grammar allows.
func bearerChallenge(params ...string) string {
	var b strings.Builder
	b.WriteString("Bearer")
	sep := " "
	for i := 0; i+1 < len(params); i += 2 {
		name, value := params[i], params[i+1]
		if value == "" {
			continue
		}
		b.WriteString(sep)
		sep = ", "
		b.WriteString(name)
		b.WriteByte('=')
		if name == "max_age" {
			b.WriteString(value)
		} else {
			b.WriteString(quote(value))
		}
	}
	return b.String()
}

// stepUpChallenge is the RFC 9470 challenge asking for s.
func stepUpChallenge(realm string, s StepUp, description string) string {
	maxAge := ""
	if s.MaxAge > 0 {
		maxAge = strconv.FormatInt(int64(s.MaxAge/time.Second), 10)
	}
	return bearerChallenge("realm", realm, "error", errInsufficientUserAuthentication,
		"error_description", description, "acr_values", s.ACRValues, "max_age", maxAge)
}
