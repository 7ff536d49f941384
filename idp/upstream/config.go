package upstream

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/fullmakt/fullmakt/authz"
)

// Config is one upstream provider, as read from the operator's JSON file (see
// ParseConfig). It is plain data; Validate says what is wrong with it.
type Config struct {
	// ID names the provider in URLs (/login/upstream/{id}) and in the session's
	// login method: 1 to 32 of a–z, 0–9 and '-'.
	ID string `json:"id"`
	// Name is the label of the provider's button, e.g. "ID-porten".
	Name string `json:"name"`
	// Issuer is the upstream's issuer URL; its discovery document is at
	// {issuer}/.well-known/openid-configuration. https, or http on a loopback host.
	Issuer string `json:"issuer"`
	// ClientID is Fullmakt's client id at the upstream.
	ClientID string `json:"client_id"`
	// ClientSecret authenticates Fullmakt at the upstream's token endpoint with
	// client_secret_basic. Exactly one of ClientSecret and PrivateKeyFile is set.
	ClientSecret string `json:"client_secret,omitempty"`
	// PrivateKeyFile is a PEM file with a PKCS #8 private key (EC P-256 or RSA of
	// at least 2048 bits) for private_key_jwt (RFC 7523; ES256 or RS256). The key's
	// kid is its RFC 7638 thumbprint. A relative path is relative to the
	// configuration file.
	PrivateKeyFile string `json:"private_key_file,omitempty"`
	// ClientAssertionAudience is the aud of a private_key_jwt assertion:
	// "token_endpoint" (the default; OpenID Connect Core §9) or "issuer" (what
	// ID-porten and Maskinporten, and draft-ietf-oauth-rfc7523bis, ask for).
	ClientAssertionAudience string `json:"client_assertion_audience,omitempty"`
	// Scopes asked for; ["openid"] by default, and openid is always included.
	Scopes []string `json:"scopes,omitempty"`
	// ACR maps the upstream's acr values to our levels of assurance, "low",
	// "substantial" or "high": for ID-porten {"idporten-loa-substantial":
	// "substantial", "idporten-loa-high": "high"}. Required. An ID token whose acr
	// is not in the map is refused.
	ACR map[string]string `json:"acr"`
	// PIDClaim is the ID token claim that holds the person's identity number;
	// "pid" by default.
	PIDClaim string `json:"pid_claim,omitempty"`
	// AllowSyntheticIDs accepts synthetic test identity numbers (Skatteetaten's,
	// as ID-porten's test environment issues them). Never for a production upstream.
	AllowSyntheticIDs bool `json:"allow_synthetic_ids,omitempty"`
}

// The values of Config.ClientAssertionAudience.
const (
	AudienceTokenEndpoint = "token_endpoint"
	AudienceIssuer        = "issuer"
)

// maxConfigFile bounds the configuration file.
const maxConfigFile = 1 << 20

var idPattern = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)

// LoadConfig reads the providers file at path: {"providers": [Config, ...]}.
// Decoding is strict: an unknown or repeated field is an error, with its place in
// the file as path:LINE:COLUMN. It reports every problem at once (errors.Join): the
// unknown fields, then every provider's problems (Validate) and ids used twice.
// A relative private_key_file is relative to the file's directory.
func LoadConfig(path string) ([]Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("upstream: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigFile+1))
	if err != nil {
		return nil, fmt.Errorf("upstream: read %s: %w", path, err)
	}
	return parseConfig(data, filepath.Dir(path), path+":")
}

// ParseConfig is LoadConfig on the file's content; dir is the directory relative
// private key paths are relative to. Places in errors are LINE:COLUMN.
func ParseConfig(data []byte, dir string) ([]Config, error) {
	return parseConfig(data, dir, "")
}

// configFile is the file's shape.
type configFile struct {
	Providers []Config `json:"providers"`
}

// configFields are the members a provider may have, from Config's JSON tags.
var configFields = []string{
	"id", "name", "issuer", "client_id", "client_secret", "private_key_file",
	"client_assertion_audience", "scopes", "acr", "pid_claim", "allow_synthetic_ids",
}

func parseConfig(data []byte, dir, source string) ([]Config, error) {
	if len(data) > maxConfigFile {
		return nil, fmt.Errorf("upstream: %s longer than %d MiB", strings.TrimSuffix(source, ":"), maxConfigFile>>20)
	}
	pos := func(off int64) string { return source + lineCol(data, off) }
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf(`upstream: %s empty; a file without providers is {"providers": []}`, pos(0))
	}
	// Syntax and unknown members first, each with its place in the file.
	errs, err := unknownMembers(data, pos)
	if err != nil {
		return nil, err
	}
	var file configFile
	if err := json.Unmarshal(data, &file); err != nil {
		var se *json.SemanticError
		if errors.As(err, &se) {
			errs = append(errs, fmt.Errorf("upstream: %s %s: %v", pos(skipSpace(data, se.ByteOffset)), se.JSONPointer, errorCause(se)))
		} else {
			errs = append(errs, fmt.Errorf("upstream: %s %v", pos(0), err))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	seen := map[string]int{}
	for i := range file.Providers {
		c := &file.Providers[i]
		if c.PrivateKeyFile != "" && !filepath.IsAbs(c.PrivateKeyFile) {
			c.PrivateKeyFile = filepath.Join(dir, c.PrivateKeyFile)
		}
		label := fmt.Sprintf("%sproviders[%d]", source, i)
		if c.ID != "" {
			label += fmt.Sprintf(" (%s)", c.ID)
		}
		errs = append(errs, c.problems(label)...)
		if j, ok := seen[c.ID]; ok && c.ID != "" {
			errs = append(errs, fmt.Errorf("upstream: %s: id %q is also the id of providers[%d]", label, c.ID, j))
		} else {
			seen[c.ID] = i
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return file.Providers, nil
}

// errorCause is a semantic error's reason without the json package's prefix and
// position, which the caller gives in its own form.
func errorCause(se *json.SemanticError) string {
	if se.Err != nil {
		return se.Err.Error()
	}
	if se.GoType != nil {
		return fmt.Sprintf("cannot be %s (want %s)", se.JSONKind, se.GoType)
	}
	return "invalid value"
}

// unknownMembers walks the document and reports every member name the file may
// not have: at the top level anything but providers, in a provider anything but
// Config's fields. A syntax error (or a repeated name) is returned alone.
func unknownMembers(data []byte, pos func(int64) string) ([]error, error) {
	dec := jsontext.NewDecoder(bytes.NewReader(data))
	var errs []error
	first := true
	for {
		before := dec.InputOffset()
		tok, err := dec.ReadToken()
		if err == io.EOF {
			return errs, nil
		}
		if err != nil {
			var se *jsontext.SyntacticError
			if errors.As(err, &se) {
				return nil, fmt.Errorf("upstream: %s %v", pos(se.ByteOffset), se.Err)
			}
			return nil, fmt.Errorf("upstream: %s %v", pos(before), err)
		}
		if first {
			first = false
			if tok.Kind() != '{' {
				return nil, fmt.Errorf(`upstream: %s the file must hold an object, {"providers": [...]}`, pos(skipSpace(data, before)))
			}
			continue
		}
		kind, length := dec.StackIndex(dec.StackDepth())
		if tok.Kind() != '"' || kind != '{' || length%2 != 1 {
			continue // not a member name
		}
		name := tok.String()
		ptr := dec.StackPointer()
		parent := ptr.Parent()
		var allowed []string
		var where string
		switch {
		case parent == "":
			allowed, where = []string{"providers"}, `(the file has only "providers")`
		case isProviderPointer(parent):
			allowed, where = configFields, "in a provider"
		default:
			continue
		}
		if !slices.Contains(allowed, name) {
			errs = append(errs, fmt.Errorf("upstream: %s unknown field %q %s", pos(skipSpace(data, before)), name, where))
		}
	}
}

// isProviderPointer reports whether p is /providers/N.
func isProviderPointer(p jsontext.Pointer) bool {
	rest, ok := strings.CutPrefix(string(p), "/providers/")
	if !ok {
		return false
	}
	_, err := strconv.Atoi(rest)
	return err == nil
}

// skipSpace returns the offset of the first byte at or after off that is not
// white space or a separator: where the next token starts.
func skipSpace(data []byte, off int64) int64 {
	for off >= 0 && off < int64(len(data)) && strings.IndexByte(" \t\r\n,:", data[off]) >= 0 {
		off++
	}
	return off
}

// lineCol turns a byte offset into "LINE:COLUMN:" (1-based; columns in
// characters).
func lineCol(data []byte, off int64) string {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := utf8.RuneCount(before[bytes.LastIndexByte(before, '\n')+1:]) + 1
	return fmt.Sprintf("%d:%d:", line, col)
}

// Validate reports every problem of c at once. It reads the private key file, so
// that a key that cannot be used is found when the configuration is loaded.
func (c Config) Validate() error {
	label := "provider"
	if c.ID != "" {
		label = fmt.Sprintf("provider %s", c.ID)
	}
	return errors.Join(c.problems(label)...)
}

func (c Config) problems(label string) []error {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("upstream: %s: "+format, append([]any{label}, args...)...))
	}
	if !idPattern.MatchString(c.ID) {
		add("id %q is not 1 to 32 of a-z, 0-9 and '-'", c.ID)
	}
	if strings.TrimSpace(c.Name) == "" {
		add("name: missing; it is the label of the login button")
	} else if strings.ContainsFunc(c.Name, unicode.IsControl) || utf8.RuneCountInString(c.Name) > 64 {
		add("name: control characters or longer than 64 characters")
	}
	if c.Issuer == "" {
		add("issuer: missing")
	} else if msg := checkIssuer(c.Issuer); msg != "" {
		add("issuer %q %s", c.Issuer, msg)
	}
	if c.ClientID == "" {
		add("client_id: missing")
	} else if strings.ContainsFunc(c.ClientID, func(r rune) bool { return unicode.IsControl(r) }) {
		add("client_id: has control characters")
	}
	switch {
	case c.ClientSecret == "" && c.PrivateKeyFile == "":
		add("client_secret or private_key_file: one is needed to authenticate at the upstream")
	case c.ClientSecret != "" && c.PrivateKeyFile != "":
		add("client_secret and private_key_file: give one, not both")
	case c.PrivateKeyFile != "":
		if _, err := loadKey(c.PrivateKeyFile); err != nil {
			add("private_key_file: %v", err)
		}
	}
	switch c.ClientAssertionAudience {
	case "", AudienceTokenEndpoint, AudienceIssuer:
		if c.ClientAssertionAudience != "" && c.PrivateKeyFile == "" {
			add("client_assertion_audience: only for private_key_file (private_key_jwt)")
		}
	default:
		add("client_assertion_audience %q is not %s or %s", c.ClientAssertionAudience, AudienceTokenEndpoint, AudienceIssuer)
	}
	for i, s := range c.Scopes {
		if !validToken(s) {
			add("scopes[%d] %q is not a scope token (RFC 6749 §3.3: printable ASCII without spaces, quotes or backslashes)", i, s)
		}
	}
	if len(c.ACR) == 0 {
		add(`acr: missing; map the upstream's acr values to "low", "substantial" or "high"`)
	}
	for _, acr := range slices.Sorted(maps.Keys(c.ACR)) {
		if !validToken(acr) {
			add("acr: %q is not an acr value (printable ASCII without spaces)", acr)
		}
		if _, ok := levelNamed(c.ACR[acr]); !ok {
			add(`acr: %q maps to %q, not "low", "substantial" or "high"`, acr, c.ACR[acr])
		}
	}
	if c.PIDClaim != "" && !validToken(c.PIDClaim) {
		add("pid_claim %q is not a claim name", c.PIDClaim)
	}
	return errs
}

// checkIssuer says what is wrong with an issuer URL, or "".
func checkIssuer(s string) string {
	u, err := url.Parse(s)
	switch {
	case s == "":
		return "is missing"
	case err != nil || !u.IsAbs() || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return "is not an absolute URL without query, fragment or user"
	case u.Scheme != "https" && !(u.Scheme == "http" && loopbackHost(u.Hostname())):
		return "must use https (http only on a loopback host)"
	}
	return ""
}

// loopbackHost reports whether host is a loopback name or address.
func loopbackHost(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// validToken reports whether s is an RFC 6749 §3.3 scope token: also good for acr
// values, which travel space-separated in acr_values.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b < 0x21 || b > 0x7e || b == '"' || b == '\\' {
			return false
		}
	}
	return true
}

// levelNamed returns the level called name: low, substantial or high.
func levelNamed(name string) (authz.Level, bool) {
	for _, l := range []authz.Level{authz.LevelLow, authz.LevelSubstantial, authz.LevelHigh} {
		if name == l.String() {
			return l, true
		}
	}
	return 0, false
}

// clientKey is a private_key_jwt key.
type clientKey struct {
	private crypto.Signer
	alg     jose.SignatureAlgorithm
	kid     string // RFC 7638 thumbprint of the public key
}

// loadKey reads a PKCS #8 PEM private key: EC P-256 (ES256) or RSA of at least
// 2048 bits (RS256).
func loadKey(path string) (*clientKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	switch {
	case block == nil:
		return nil, fmt.Errorf("%s holds no PEM block", path)
	case block.Type == "EC PRIVATE KEY" || block.Type == "RSA PRIVATE KEY":
		return nil, fmt.Errorf("%s holds a %s; convert it to PKCS #8 (openssl pkcs8 -topk8 -nocrypt)", path, block.Type)
	case block.Type != "PRIVATE KEY":
		return nil, fmt.Errorf("%s holds a PEM %q block, not a PKCS #8 PRIVATE KEY", path, block.Type)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	k := &clientKey{}
	switch key := parsed.(type) {
	case *ecdsa.PrivateKey:
		if key.Curve != elliptic.P256() {
			return nil, fmt.Errorf("%s: an EC key must be on P-256 (ES256)", path)
		}
		k.private, k.alg = key, jose.ES256
	case *rsa.PrivateKey:
		if key.N.BitLen() < 2048 {
			return nil, fmt.Errorf("%s: an RSA key must have at least 2048 bits", path)
		}
		k.private, k.alg = key, jose.RS256
	default:
		return nil, fmt.Errorf("%s: a %T is neither EC P-256 nor RSA", path, parsed)
	}
	thumb, err := (&jose.JSONWebKey{Key: k.private.Public()}).Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	k.kid = base64.RawURLEncoding.EncodeToString(thumb)
	return k, nil
}
