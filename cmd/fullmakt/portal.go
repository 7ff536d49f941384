package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/authz/pdp"
	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/delegation/bolt"
	"github.com/fullmakt/fullmakt/delegation/portal"
	"github.com/fullmakt/fullmakt/idp/login"
	idpweb "github.com/fullmakt/fullmakt/idp/web"
)

// newPortal builds the citizen portal over the login's sessions: its pages and
// catalogues are parsed here, once. front is the page for visitors who are not
// logged in; changed is called after every write the portal makes.
func newPortal(ctx context.Context, cfg ServeConfig, store *bolt.Store, decider *pdp.PDP, people *login.Service,
	front http.Handler, changed func(), log *slog.Logger) (*portal.Service, error) {
	cat, err := idpweb.LoadCatalogue(idpweb.Messages(), portal.Messages())
	if err != nil {
		return nil, fmt.Errorf("the portal's messages: %w", err)
	}
	pages, err := idpweb.NewPages(cat, portal.Templates(), "*.html")
	if err != nil {
		return nil, fmt.Errorf("the portal's pages: %w", err)
	}
	key, err := store.Secret(ctx, "portal", func() ([]byte, error) {
		b := make([]byte, 32)
		_, err := rand.Read(b)
		return b, err
	})
	if err != nil {
		return nil, fmt.Errorf("the portal's key: %w", err)
	}
	return portal.New(portal.Config{
		IDRules: delegation.IDRules{AllowSynthetic: cfg.AllowSyntheticIDs || cfg.Demo},
	}, portal.Deps{
		Store: store, Drafts: store, Sessions: portalSessions{people}, Packs: decider, Pages: pages,
		Key: key, Front: front, Changed: changed, Log: log,
	})
}

// portalSessions adapts the login to what the portal needs of it.
type portalSessions struct {
	login *login.Service
}

// Visitor implements portal.Sessions.
func (s portalSessions) Visitor(r *http.Request) (portal.Visitor, bool) {
	sess, ok := s.login.Visit(r)
	if !ok {
		return portal.Visitor{}, false
	}
	return portal.Visitor{
		Person: sess.Person, Name: sess.Name, Level: sess.Level, AuthTime: sess.AuthTime, Test: sess.Test,
		FormToken: s.login.FormToken(sess),
	}, true
}

// StepUp implements portal.Sessions.
func (s portalSessions) StepUp(w http.ResponseWriter, r *http.Request, level authz.Level, returnTo string) {
	s.login.StepUp(w, r, level, returnTo)
}
