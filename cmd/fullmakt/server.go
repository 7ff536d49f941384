package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/fullmakt/fullmakt/authz/authzen"
	"github.com/fullmakt/fullmakt/delegation/portal"
	"github.com/fullmakt/fullmakt/delegation/registers/demo"
	"github.com/fullmakt/fullmakt/idp"
	"github.com/fullmakt/fullmakt/idp/login"
	idpweb "github.com/fullmakt/fullmakt/idp/web"
)

// changeReader is what the readiness probe needs from the store.
type changeReader interface {
	LastChange(ctx context.Context) (uint64, error)
}

// server is the HTTP side of `fullmakt serve`. Its handlers are made in routes.go.
type server struct {
	log     *slog.Logger
	store   changeReader
	metrics *metrics
	home    *homePage
	static  http.Handler
	demo    bool
	cast    []demo.Character // the demo cast, when demo is on
	authzen *authzen.API     // the decision API
	oauth   *idp.Server      // the OAuth 2.0 / OpenID Connect server
	// login is the citizen login (and the OAuth server's), and pages renders it.
	login *login.Service
	pages *idpweb.Pages
	// portal is the citizen's pages; the front page is its own for visitors
	// who are not logged in.
	portal *portal.Service
}

// newServer parses the templates and registers the metrics. cast is shown on the
// front page when demoMode is on.
func newServer(log *slog.Logger, store changeReader, demoMode bool, cast []demo.Character, api *authzen.API, m *metrics) (*server, error) {
	home, err := newHomePage()
	if err != nil {
		return nil, fmt.Errorf("parse the home page: %w", err)
	}
	return &server{log: log, store: store, metrics: m, home: home, static: idpweb.Static(), demo: demoMode, cast: cast, authzen: api}, nil
}
