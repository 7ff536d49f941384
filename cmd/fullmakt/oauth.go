package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fullmakt/fullmakt/authz/authzen"
	"github.com/fullmakt/fullmakt/delegation/registers/demo"
	"github.com/fullmakt/fullmakt/idp"
)

// The demo client of the OAuth server: with --demo, agencies' examples work out of
// the box with this id and secret, as the decision API's demo key does. The secret
// is printed at start and in the README: never use --demo in production.
const (
	demoClientSecret = "fullmakt-demo-secret-not-secret"
	demoAudience     = "http://localhost:8080/demo-agency"
)

// demoOAuthClient is demo-agency as an OAuth client: a confidential web client
// that may use every grant, act for others, collect consents for the demo cast's
// organisation, and call the decision API with a token of scope decide.
func demoOAuthClient() idp.Client {
	return idp.Client{
		ID:                      demoClientID,
		Name:                    "Demo agency",
		Organization:            demo.CastOrganization().ID,
		SecretHash:              idp.HashSecret(demoClientSecret),
		TokenEndpointAuthMethod: idp.AuthMethodSecretBasic,
		GrantTypes:              []string{"authorization_code", "refresh_token", "client_credentials", idp.GrantTypeTokenExchange},
		Scopes:                  []string{"openid", "profile", "represent", idp.ScopeDecide},
		RedirectURIs:            []string{"http://localhost:8080/callback", "http://127.0.0.1:8080/callback"},
		Audiences:               []string{demoAudience},
		Services:                []string{"*"},
		PID:                     true,
		DetailedReasons:         true,
		AuthorizationDetailsTypes: []string{
			string(idp.DetailRepresentation), string(idp.DetailConsent),
		},
	}
}

// The example agency's clients (cmd/example-agency): with --demo, the agency and
// its diplomas API run against the demo server on port 8081 out of the box. A
// clients file that declares either id replaces it (tests run the agency on
// other ports). The diplomas API's secret is as public as the demo's.
const (
	exampleAgencyID       = "example-agency"
	exampleAgencyOrg      = "960885406"
	exampleAgencyBase     = "http://localhost:8081"
	exampleDiplomasID     = "example-diplomas"
	exampleDiplomasSecret = "example-diplomas-demo-secret-not-secret"
)

// exampleAgencyClient is the example agency's web front and applications API: it
// logs people in with private_key_jwt (its key is published at its own
// /jwks.json), asks decisions with a client-credentials token of scope decide,
// and exchanges people's tokens to call the diplomas API.
func exampleAgencyClient() idp.Client {
	return idp.Client{
		ID:                          exampleAgencyID,
		Name:                        "Student support office (example)",
		Organization:                exampleAgencyOrg,
		TokenEndpointAuthMethod:     idp.AuthMethodPrivateKeyJWT,
		TokenEndpointAuthSigningAlg: "ES256",
		JWKSURI:                     exampleAgencyBase + "/jwks.json",
		GrantTypes:                  []string{"authorization_code", "refresh_token", "client_credentials", idp.GrantTypeTokenExchange},
		Scopes:                      []string{"openid", "profile", idp.ScopeDecide},
		RedirectURIs:                []string{exampleAgencyBase + "/callback"},
		PostLogoutRedirectURIs:      []string{exampleAgencyBase + "/"},
		Audiences:                   []string{exampleAgencyBase + "/api", exampleAgencyBase + "/diplomas"},
		Services:                    []string{"lanekassen.studiestotte", "udir.vitnemal"},
		PID:                         true,
		DetailedReasons:             true,
		AuthorizationDetailsTypes:   []string{string(idp.DetailRepresentation)},
	}
}

// exampleDiplomasClient is "a second agency's API" in the example: it only asks
// decisions, with a client-credentials token.
func exampleDiplomasClient() idp.Client {
	return idp.Client{
		ID:                      exampleDiplomasID,
		Name:                    "Diplomas API (example)",
		SecretHash:              idp.HashSecret(exampleDiplomasSecret),
		TokenEndpointAuthMethod: idp.AuthMethodSecretBasic,
		GrantTypes:              []string{"client_credentials"},
		Scopes:                  []string{idp.ScopeDecide},
		Audiences:               []string{exampleAgencyBase + "/diplomas"},
		Services:                []string{"udir.vitnemal"},
		PID:                     true,
	}
}

// clientsFile is where serve reads its OAuth clients: --clients FILE, or the
// clients file in the data directory (the same one `fullmakt client` edits), which
// may be missing, and then there are no clients until it appears.
type clientsFile struct {
	path     string
	explicit bool // named by --clients: it must exist
	demo     bool // add the demo clients to the file's clients
}

func newClientsFile(cfg ServeConfig) clientsFile {
	if cfg.ClientsFile != "" {
		return clientsFile{path: cfg.ClientsFile, explicit: true, demo: cfg.Demo}
	}
	return clientsFile{path: filepath.Join(cfg.DataDir, clientsFileName), demo: cfg.Demo}
}

// fingerprint is the file's modification time, size and content hash: "absent"
// when an optional file does not exist.
func (f clientsFile) fingerprint() (string, error) {
	file, err := os.Open(f.path)
	if errors.Is(err, fs.ErrNotExist) && !f.explicit {
		return "absent", nil
	}
	if err != nil {
		return "", err
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	if _, err := io.Copy(h, file); err != nil {
		return "", err
	}
	return fmt.Sprintf("%d/%d/%x", st.ModTime().UnixNano(), st.Size(), h.Sum(nil)), nil
}

// load reads the clients, and in demo mode adds demo-agency, example-agency and
// example-diplomas, each unless the file declares a client of that id itself.
func (f clientsFile) load() (*idp.Clients, error) {
	var list []idp.Client
	cs, err := idp.LoadClients(f.path)
	switch {
	case err == nil:
		list = cs.All()
	case errors.Is(err, fs.ErrNotExist) && !f.explicit:
	default:
		return nil, err
	}
	if f.demo {
		for _, c := range []idp.Client{demoOAuthClient(), exampleAgencyClient(), exampleDiplomasClient()} {
			if !slices.ContainsFunc(list, func(d idp.Client) bool { return d.ID == c.ID }) {
				list = append(list, c)
			}
		}
	}
	return idp.NewClients(list)
}

// clientsWatcher reloads the clients file when it changes.
type clientsWatcher = fileWatcher[*idp.Clients]

// newClientsWatcher loads the clients; it fails when they do not load at start.
func newClientsWatcher(cfg ServeConfig, log *slog.Logger) (*clientsWatcher, *idp.Clients, error) {
	f := newClientsFile(cfg)
	w := &clientsWatcher{
		what: "clients file", running: "the running clients", where: slog.String("file", f.path),
		interval: cfg.ClientsReload, log: log,
		fingerprint: f.fingerprint,
		load:        f.load,
		describe:    func(cs *idp.Clients) []slog.Attr { return []slog.Attr{slog.Int("clients", cs.Len())} },
	}
	cs, err := w.start()
	if err != nil {
		return nil, nil, fmt.Errorf("--clients %s: %w", f.path, err)
	}
	return w, cs, nil
}

// tokenAuthenticator lets the decision API's callers authenticate with an API key
// or with an OAuth access token the server issued to them for themselves (client
// credentials) with the scope decide. Keys are tried first: comparing hashes is
// far cheaper than verifying a signature.
type tokenAuthenticator struct {
	keys   authzen.Authenticator
	tokens tokenClients
}

// tokenClients finds the client of an access token (*idp.Server).
type tokenClients interface {
	ClientOfToken(ctx context.Context, token, scope string) (*idp.Client, bool)
}

// Authenticate implements authzen.Authenticator.
func (a tokenAuthenticator) Authenticate(r *http.Request) (authzen.Client, bool) {
	if c, ok := a.keys.Authenticate(r); ok {
		return c, true
	}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return authzen.Client{}, false
	}
	c, ok := a.tokens.ClientOfToken(r.Context(), strings.TrimSpace(token), idp.ScopeDecide)
	if !ok {
		return authzen.Client{}, false
	}
	return authzen.Client{ID: c.ID, DetailedReasons: c.DetailedReasons}, true
}

// startOAuthMaintenance runs the OAuth server's key schedule and garbage
// collection until ctx ends; the returned function waits for it to stop.
func startOAuthMaintenance(ctx context.Context, s *idp.Server, every time.Duration) (wait func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Maintain(ctx, every)
	}()
	return func() { <-done }
}
