package idp

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ory/fosite"
)

// The clients file
//
// Clients are declared in one JSON file, {"clients": [ … ]}, which operators keep
// in version control and edit with `fullmakt client` or by hand; the server loads
// it at start and again whenever it changes. It is a file rather than records in
// the database because the server holds the database's lock while it runs.

// maxClientsFile bounds the clients file.
const maxClientsFile = 8 << 20

// Clients is an immutable snapshot of the clients file, safe for concurrent use.
// The zero value has no clients.
type Clients struct {
	list []Client // sorted by id
	byID map[string]int
}

// NewClients validates list and returns it as a snapshot. It reports every problem
// at once: each client's (see Client.Validate), ids used twice, and secret hashes
// shared by two clients.
func NewClients(list []Client) (*Clients, error) {
	entries := make([]clientEntry, len(list))
	for i := range list {
		entries[i] = clientEntry{client: list[i]}
	}
	return buildClients(entries, "idp: ")
}

// Get returns the client with the id, which must not be modified.
func (cs *Clients) Get(id string) (*Client, bool) {
	if cs == nil {
		return nil, false
	}
	i, ok := cs.byID[id]
	if !ok {
		return nil, false
	}
	return &cs.list[i], true
}

// All returns a copy of the clients, ordered by id. The copies share their slices
// with the snapshot: do not modify them in place.
func (cs *Clients) All() []Client {
	if cs == nil {
		return nil
	}
	return slices.Clone(cs.list)
}

// Len returns the number of clients.
func (cs *Clients) Len() int {
	if cs == nil {
		return 0
	}
	return len(cs.list)
}

// clientEntry is a client and where it was declared ("" or "FILE:LINE:COL: ").
type clientEntry struct {
	client Client
	where  string
}

// buildClients validates the entries and makes the snapshot.
func buildClients(entries []clientEntry, prefix string) (*Clients, error) {
	var errs []error
	ids := map[string]string{}    // id → where
	hashes := map[string]string{} // secret hash → client id
	cs := &Clients{byID: map[string]int{}}
	for _, e := range entries {
		c := e.client
		ps, d := c.check()
		if err := joinProblems(prefix+e.where, c.label(), ps); err != nil {
			errs = append(errs, err)
			continue
		}
		if where, dup := ids[c.ID]; dup {
			at := ""
			if where != "" {
				at = " at " + strings.TrimSuffix(where, ": ")
			}
			errs = append(errs, fmt.Errorf("%s%s: the id is already used by another client%s", prefix+e.where, c.label(), at))
			continue
		}
		ids[c.ID] = e.where
		for _, h := range append([]string{c.SecretHash}, rotatedHashes(c)...) {
			if other, dup := hashes[h]; h != "" && dup && other != c.ID {
				errs = append(errs, fmt.Errorf("%s%s: has the same secret as client %q; every client needs its own", prefix+e.where, c.label(), other))
			} else if h != "" {
				hashes[h] = c.ID
			}
		}
		c.jwks, c.lifetime, c.rotated = d.jwks, d.lifetime, nil
		cs.list = append(cs.list, c)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	slices.SortFunc(cs.list, func(a, b Client) int { return cmp.Compare(a.ID, b.ID) })
	for i, c := range cs.list {
		cs.byID[c.ID] = i
	}
	return cs, nil
}

func rotatedHashes(c Client) []string {
	hs := make([]string, len(c.RotatedSecrets))
	for i, r := range c.RotatedSecrets {
		hs[i] = r.Hash
	}
	return hs
}

// LoadClients reads the clients file at path (see ParseClients).
func LoadClients(path string) (*Clients, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("idp: load clients: %w", err)
	}
	defer f.Close()
	return ParseClients(f, path)
}

// clientsFile is the clients file's form.
type clientsFile struct {
	Clients []Client `json:"clients"`
}

// ParseClients reads a clients file,
//
//	{"clients": [{"id": "…", …}, …]}
//
// naming it source in errors. Decoding is strict: an unknown or repeated field is
// an error, since a mistyped security setting must not be silently ignored. It
// reports every problem at once, each with its place in the file as
// source:LINE:COLUMN: a JSON syntax error (then nothing else), fields of the wrong
// type or unknown, and each client's problems (see NewClients).
func ParseClients(r io.Reader, source string) (*Clients, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxClientsFile+1))
	if err != nil {
		return nil, fmt.Errorf("idp: read clients %s: %w", source, err)
	}
	if len(data) > maxClientsFile {
		return nil, fmt.Errorf("idp: %s: longer than %d MiB", source, maxClientsFile>>20)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf(`idp: %s: empty; a file without clients is {"clients": []}`, source)
	}
	pos := func(off int64) string { return source + ":" + jsonLineCol(data, off) + ": " }
	// A syntax error first: after it, nothing else in the file can be trusted.
	var probe any
	if err := json.Unmarshal(data, &probe); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			off := se.Offset
			if off > 0 && off <= int64(len(data)) && se.Error() != "unexpected end of JSON input" {
				off-- // the offset is just after the offending byte
			}
			return nil, fmt.Errorf("idp: %s%v", pos(off), strings.TrimPrefix(err.Error(), "json: "))
		}
		return nil, fmt.Errorf("idp: %s: %w", source, err)
	}
	if _, ok := probe.(map[string]any); !ok {
		return nil, fmt.Errorf(`idp: %sthe file must hold an object, {"clients": [...]}`, pos(jsonSkipSpace(data, 0)))
	}

	var errs []error
	var entries []clientEntry
	fields, err := jsonObjectMembers(data, 0)
	if err != nil {
		return nil, fmt.Errorf("idp: %s: %w", source, err)
	}
	seen := map[string]bool{}
	for _, f := range fields {
		switch {
		case f.name != "clients":
			errs = append(errs, fmt.Errorf(`idp: %sunknown field %q (the file has only "clients")`, pos(f.keyAt), f.name))
		case seen[f.name]:
			errs = append(errs, fmt.Errorf(`idp: %s"clients" appears twice`, pos(f.keyAt)))
		default:
			seen[f.name] = true
			var es []error
			entries, es = parseClientList(data, f, pos)
			errs = append(errs, es...)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return buildClients(entries, "idp: ")
}

// parseClientList decodes the clients array, the value of field f.
func parseClientList(data []byte, f jsonMember, pos func(int64) string) ([]clientEntry, []error) {
	raw := bytes.TrimSpace(data[f.valueAt:f.valueEnd])
	if bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	if len(raw) == 0 || raw[0] != '[' {
		return nil, []error{fmt.Errorf(`idp: %s"clients" must be an array of clients`, pos(f.valueAt))}
	}
	elems, err := jsonArrayElements(data, jsonSkipSpace(data, f.valueAt))
	if err != nil {
		return nil, []error{fmt.Errorf("idp: %s%v", pos(f.valueAt), err)}
	}
	var (
		entries []clientEntry
		errs    []error
	)
	for i, el := range elems {
		c, es := decodeClient(data, el, i, pos)
		if len(es) > 0 {
			errs = append(errs, es...)
			continue
		}
		entries = append(entries, clientEntry{client: c, where: pos(el.start)})
	}
	return entries, errs
}

// clientFieldNames returns the JSON names of Client's fields.
func clientFieldNames() map[string]bool {
	m := map[string]bool{}
	t := reflect.TypeFor[Client]()
	for i := range t.NumField() {
		if tag := t.Field(i).Tag.Get("json"); tag != "" {
			m[strings.Split(tag, ",")[0]] = true
		}
	}
	return m
}

// decodeClient decodes the i-th client, at el in data, strictly.
func decodeClient(data []byte, el jsonSpan, i int, pos func(int64) string) (Client, []error) {
	raw := data[el.start:el.end]
	label := fmt.Sprintf("clients[%d]", i)
	var named struct {
		ID any `json:"id"`
	}
	if json.Unmarshal(raw, &named) == nil {
		if id, ok := named.ID.(string); ok {
			label = fmt.Sprintf("client %q", id)
		}
	}
	if raw[0] != '{' {
		return Client{}, []error{fmt.Errorf("idp: %s%s is not an object", pos(el.start), label)}
	}
	fields, err := jsonObjectMembers(data, el.start)
	if err != nil {
		return Client{}, []error{fmt.Errorf("idp: %s%s: %v", pos(el.start), label, err)}
	}
	var errs []error
	known, seen := clientFieldNames(), map[string]bool{}
	for _, f := range fields {
		switch {
		case !known[f.name]:
			errs = append(errs, fmt.Errorf("idp: %s%s: unknown field %q", pos(f.keyAt), label, f.name))
		case seen[f.name]:
			errs = append(errs, fmt.Errorf("idp: %s%s: field %q appears twice", pos(f.keyAt), label, f.name))
		}
		seen[f.name] = true
	}
	if len(errs) > 0 {
		return Client{}, errs
	}
	var c Client
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		at := el.start
		msg := strings.TrimPrefix(err.Error(), "json: ")
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			// The offset is just after the value of the wrong type; a member of
			// the client is found by name instead.
			at = el.start + max(te.Offset-1, 0)
			for _, f := range fields {
				if f.name == te.Field {
					at = f.valueAt
				}
			}
			msg = fmt.Sprintf("%s: want %s, not %s", te.Field, jsonTypeName(te.Type), te.Value)
		} else if pe := (*time.ParseError)(nil); errors.As(err, &pe) {
			if k := bytes.Index(raw, []byte(strconv.Quote(pe.Value))); k >= 0 {
				at = el.start + int64(k)
			}
			msg = fmt.Sprintf("%q is not an RFC 3339 time such as 2026-01-02T15:04:05Z", pe.Value)
		} else if name, ok := strings.CutPrefix(msg, "unknown field "); ok {
			// In a rotated secret: find the key for its position.
			if k := bytes.Index(raw, []byte(name)); k >= 0 {
				at = el.start + int64(k)
			}
			msg = "unknown field " + name
		}
		return Client{}, []error{fmt.Errorf("idp: %s%s: %s", pos(at), label, msg)}
	}
	return c, nil
}

// jsonTypeName names the JSON form of a Go type, for messages.
func jsonTypeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice:
		return "an array"
	case reflect.Struct, reflect.Map:
		if t == reflect.TypeFor[time.Time]() {
			return "a time (RFC 3339)"
		}
		return "an object"
	}
	return t.String()
}

// jsonSpan is a JSON value's bytes in the file, [start, end).
type jsonSpan struct{ start, end int64 }

// jsonMember is one member of a JSON object: its name, where its key starts and where
// its value is.
type jsonMember struct {
	name              string
	keyAt             int64
	valueAt, valueEnd int64
}

// jsonObjectMembers lists the members of the object starting at data[at], which must be
// valid JSON, in order, repeated names included.
func jsonObjectMembers(data []byte, at int64) ([]jsonMember, error) {
	dec := json.NewDecoder(bytes.NewReader(data[at:]))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("not an object")
	}
	var fields []jsonMember
	for dec.More() {
		keyAt := jsonSkipSpace(data, at+dec.InputOffset())
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name, _ := t.(string)
		valueAt := jsonSkipSpace(data, at+dec.InputOffset())
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		fields = append(fields, jsonMember{name: name, keyAt: keyAt, valueAt: valueAt, valueEnd: at + dec.InputOffset()})
	}
	return fields, nil
}

// jsonArrayElements lists the elements of the array starting at data[at], which must
// be valid JSON.
func jsonArrayElements(data []byte, at int64) ([]jsonSpan, error) {
	dec := json.NewDecoder(bytes.NewReader(data[at:]))
	if t, err := dec.Token(); err != nil || t != json.Delim('[') {
		return nil, errors.New("not an array")
	}
	var elems []jsonSpan
	for dec.More() {
		start := jsonSkipSpace(data, at+dec.InputOffset())
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		elems = append(elems, jsonSpan{start: start, end: at + dec.InputOffset()})
	}
	return elems, nil
}

// jsonSkipSpace returns the offset of the first byte at or after off that is neither
// white space nor a separator (',' or ':').
func jsonSkipSpace(data []byte, off int64) int64 {
	for off < int64(len(data)) {
		switch data[off] {
		case ' ', '\t', '\r', '\n', ',', ':':
			off++
		default:
			return off
		}
	}
	return off
}

// jsonLineCol returns "LINE:COLUMN" of the byte offset off, both counted from 1,
// columns in bytes.
func jsonLineCol(data []byte, off int64) string {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := off - int64(bytes.LastIndexByte(before, '\n'))
	return fmt.Sprintf("%d:%d", line, col)
}

// WriteClients validates list (see NewClients) and writes it to path as a clients
// file, ordered by id, indented, with mode 0600. It writes a temporary file in the
// same folder, syncs it and renames it over path, so a reader (the server
// reloading) sees the old file or the new one, never part of one.
func WriteClients(path string, list []Client) error {
	cs, err := NewClients(list)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	out := clientsFile{Clients: cs.list}
	if out.Clients == nil {
		out.Clients = []Client{}
	}
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("idp: write clients: %w", err)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("idp: write clients: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("idp: write clients: %w", err)
	}
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("idp: write clients: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("idp: write clients: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("idp: write clients: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("idp: write clients: %w", err)
	}
	// Make the rename itself durable.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// ClientRegistry serves the current clients to fosite, and is swapped to a new
// snapshot when the clients file changes. It is safe for concurrent use.
type ClientRegistry struct {
	clients atomic.Pointer[Clients]
	now     func() time.Time
}

// NewClientRegistry returns a registry serving cs (nil: none), with now the clock
// that decides whether rotated secrets have expired (nil: time.Now).
func NewClientRegistry(cs *Clients, now func() time.Time) *ClientRegistry {
	if now == nil {
		now = time.Now
	}
	r := &ClientRegistry{now: now}
	r.Set(cs)
	return r
}

// Set replaces the clients atomically: requests under way finish with the old
// snapshot. nil means no clients.
func (r *ClientRegistry) Set(cs *Clients) {
	if cs == nil {
		cs = &Clients{}
	}
	r.clients.Store(cs)
}

// Clients returns the current snapshot.
func (r *ClientRegistry) Clients() *Clients { return r.clients.Load() }

// GetClient returns a copy of the client with the id, whose GetRotatedHashes holds
// only the rotated secrets not yet expired, or an error wrapping fosite.ErrNotFound.
func (r *ClientRegistry) GetClient(_ context.Context, id string) (fosite.Client, error) {
	c, ok := r.clients.Load().Get(id)
	if !ok {
		return nil, fmt.Errorf("idp: client %q: %w", id, fosite.ErrNotFound)
	}
	served := *c
	served.rotated = c.RotatedHashesAt(r.now())
	return &served, nil
}

// Client secrets

// secretPrefix starts every client secret, so that secret scanners can find leaked
// ones.
const secretPrefix = "fms_"

// secretHashPrefix starts every secret hash.
const secretHashPrefix = "sha256:"

// NewSecret returns a new client secret: "fms_" and 32 random bytes (256 bits) from
// crypto/rand, base64url without padding.
func NewSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("idp: new client secret: %w", err)
	}
	return secretPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// HashSecret returns what the clients file keeps of a secret: "sha256:" and the
// lowercase hex SHA-256 of it.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return secretHashPrefix + hex.EncodeToString(sum[:])
}

// validSecretHash reports whether h is "sha256:" and 64 lowercase hex digits.
func validSecretHash(h string) bool {
	_, ok := decodeSecretHash([]byte(h))
	return ok
}

func decodeSecretHash(h []byte) ([sha256.Size]byte, bool) {
	var sum [sha256.Size]byte
	hexSum, ok := bytes.CutPrefix(h, []byte(secretHashPrefix))
	if !ok || len(hexSum) != 2*sha256.Size {
		return sum, false
	}
	for _, b := range hexSum {
		if !(b >= '0' && b <= '9' || b >= 'a' && b <= 'f') {
			return sum, false
		}
	}
	if _, err := hex.Decode(sum[:], hexSum); err != nil {
		return sum, false
	}
	return sum, true
}

// Errors of SecretHasher.Compare. fosite turns either into invalid_client.
var (
	errSecretMismatch = errors.New("idp: the client secret does not match")
	errBadSecretHash  = errors.New("idp: the stored secret hash is not sha256: and 64 lowercase hex digits")
)

// SecretHasher is fosite's Hasher for client secrets: an unsalted SHA-256,
// compared in constant time.
//
// A slow password hash (bcrypt, fosite's default, or PBKDF2) protects secrets that
// could be guessed. These cannot: every secret is made by NewSecret with 256 bits
// from crypto/rand, and `fullmakt client add` never accepts one chosen by a person,
// so a leaked hash is no more use to an attacker than a guess, and a slow hash
// would add nothing against brute force. It would cost the token endpoint dearly
// on every client authentication: about 4.5 ms for PBKDF2-SHA256 with 25,000
// iterations and 60 ms for bcrypt at cost 10 (fosite's default, cost 12, is four
// times that), against under 200 ns for this whole Compare, SHA-256 included
// (BenchmarkSecretCompare; all on a 2-core AMD EPYC). Ory Hydra follows the same
// reasoning (ory/hydra#3164), and Keycloak keeps client secrets without hashing
// them at all.
//
// The zero value is ready to use and safe for concurrent use.
type SecretHasher struct{}

var _ fosite.Hasher = SecretHasher{}

// Compare returns nil when data is the secret whose hash is hash, and an error
// when it is not or when hash is not "sha256:" and 64 lowercase hex digits.
func (SecretHasher) Compare(_ context.Context, hash, data []byte) error {
	want, ok := decodeSecretHash(hash)
	if !ok {
		return errBadSecretHash
	}
	got := sha256.Sum256(data)
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		return errSecretMismatch
	}
	return nil
}

// Hash returns the hash of data as HashSecret makes it.
func (SecretHasher) Hash(_ context.Context, data []byte) ([]byte, error) {
	return []byte(HashSecret(string(data))), nil
}
