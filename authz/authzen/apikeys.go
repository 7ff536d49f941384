package authzen

import (
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode"
)

// APIKeys authenticates `Authorization: Bearer <key>` against configured keys,
// kept as SHA-256 hashes, never the keys themselves. It is safe for concurrent
// use.
type APIKeys struct {
	clients []keyedClient
}

type keyedClient struct {
	hash   [sha256.Size]byte
	client Client
}

var _ Authenticator = (*APIKeys)(nil)

// hashPrefix starts every hash in a keys file.
const hashPrefix = "sha256:"

// flagDetailed on a client's line lets it see detailed reasons.
const flagDetailed = "detailed-reasons"

// HashAPIKey returns the form of key a keys file holds: "sha256:" and the hex
// SHA-256 of the key. Keys should be long and random (32 bytes from a CSPRNG):
// an unsalted hash protects only keys that cannot be guessed.
func HashAPIKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hashPrefix + hex.EncodeToString(sum[:])
}

// ParseAPIKeys reads a keys file: one client per line,
//
//	client_id sha256:<64 hex digits> [detailed-reasons]
//
// with blank lines and lines starting with # ignored. It reports every bad line
// at once, as "line N: …", and refuses a file with no client, a client id twice
// or a key twice.
func ParseAPIKeys(r io.Reader) (*APIKeys, error) {
	var (
		k    APIKeys
		errs []error
		ids  = map[string]int{}
		keys = map[[sha256.Size]byte]int{}
	)
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("authzen: line %d: "+format, append([]any{n}, args...)...))
		}
		fields := strings.Fields(line)
		if len(fields) < 2 || len(fields) > 3 {
			bad("want client_id sha256:<hex> [%s]", flagDetailed)
			continue
		}
		c := keyedClient{client: Client{ID: fields[0]}}
		if strings.ContainsFunc(c.client.ID, func(r rune) bool { return !unicode.IsPrint(r) }) || len(c.client.ID) > 128 {
			bad("the client id has unprintable characters or is longer than 128 bytes")
			continue
		}
		hexSum, ok := strings.CutPrefix(fields[1], hashPrefix)
		sum, err := hex.DecodeString(hexSum)
		if !ok || err != nil || len(sum) != sha256.Size {
			// The value is not echoed: it may be a key pasted by mistake.
			bad("the key hash is not sha256: and 64 hex digits")
			continue
		}
		copy(c.hash[:], sum)
		if len(fields) == 3 {
			if fields[2] != flagDetailed {
				bad("unknown flag %q (want %s)", fields[2], flagDetailed)
				continue
			}
			c.client.DetailedReasons = true
		}
		if prev, dup := ids[c.client.ID]; dup {
			bad("client %q is already on line %d", c.client.ID, prev)
			continue
		}
		if prev, dup := keys[c.hash]; dup {
			bad("the key is already on line %d: every client needs its own", prev)
			continue
		}
		ids[c.client.ID], keys[c.hash] = n, n
		k.clients = append(k.clients, c)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("authzen: read API keys: %w", err)
	}
	if len(errs) == 0 && len(k.clients) == 0 {
		errs = append(errs, errors.New("authzen: no API keys: every call would be refused"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &k, nil
}

// Clients returns the ids of the configured clients, in file order.
func (k *APIKeys) Clients() []string {
	ids := make([]string, len(k.clients))
	for i, c := range k.clients {
		ids[i] = c.client.ID
	}
	return ids
}

// Authenticate implements Authenticator: the bearer key's hash is compared with
// every configured one in constant time.
func (k *APIKeys) Authenticate(r *http.Request) (Client, bool) {
	scheme, key, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return Client{}, false
	}
	key = strings.TrimSpace(key)
	if key == "" {
		return Client{}, false
	}
	sum := sha256.Sum256([]byte(key))
	var found Client
	match := 0
	for _, c := range k.clients {
		if subtle.ConstantTimeCompare(sum[:], c.hash[:]) == 1 {
			found, match = c.client, 1
		}
	}
	return found, match == 1
}
