package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/fullmakt/fullmakt/authz/authzen"
	"github.com/fullmakt/fullmakt/delegation/registers/demo"
	"github.com/fullmakt/fullmakt/idp"
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
	// demoLogin is the OAuth server's login in demo mode; nil otherwise.
	demoLogin *demoLogin
}

// newServer parses the templates and registers the metrics. cast is shown on the
// front page when demoMode is on.
func newServer(log *slog.Logger, store changeReader, demoMode bool, cast []demo.Character, api *authzen.API, m *metrics) (*server, error) {
	home, err := newHomePage()
	if err != nil {
		return nil, fmt.Errorf("parse the home page: %w", err)
	}
	static, err := newStaticHandler()
	if err != nil {
		return nil, fmt.Errorf("static files: %w", err)
	}
	return &server{log: log, store: store, metrics: m, home: home, static: static, demo: demoMode, cast: cast, authzen: api}, nil
}
