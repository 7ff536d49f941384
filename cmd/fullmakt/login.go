package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"

	"github.com/fullmakt/fullmakt/authz/pdp"
	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/delegation/bolt"
	"github.com/fullmakt/fullmakt/delegation/registers/demo"
	"github.com/fullmakt/fullmakt/idp"
	"github.com/fullmakt/fullmakt/idp/login"
	"github.com/fullmakt/fullmakt/idp/upstream"
	idpweb "github.com/fullmakt/fullmakt/idp/web"
	"github.com/fullmakt/fullmakt/idp/webauthn"
)

// newLogin builds the citizen login: passkeys always, the upstream eIDs of
// --upstream, and the demo eID with --demo. The pages' language catalogues and
// templates are parsed here, once.
func newLogin(ctx context.Context, cfg ServeConfig, publicURL string, store *bolt.Store, decider *pdp.PDP,
	clients *idp.ClientRegistry, cast []demo.Character, log *slog.Logger) (*login.Service, *idpweb.Pages, error) {
	cat, err := idpweb.LoadCatalogue(idpweb.Messages(), login.Messages())
	if err != nil {
		return nil, nil, fmt.Errorf("the pages' messages: %w", err)
	}
	pages, err := idpweb.NewPages(cat, login.Templates(), "*.html")
	if err != nil {
		return nil, nil, fmt.Errorf("the login pages: %w", err)
	}
	key, err := store.Secret(ctx, "login", func() ([]byte, error) {
		b := make([]byte, 32)
		_, err := rand.Read(b)
		return b, err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("the login's key: %w", err)
	}
	u, err := url.Parse(publicURL)
	if err != nil {
		return nil, nil, err
	}
	var passkeys *webauthn.Ceremonies
	if net.ParseIP(u.Hostname()) != nil {
		// WebAuthn's relying party id is a host name, never an address.
		log.Warn("passkeys are off: the public URL has an IP address, not a host name", "public_url", publicURL)
	} else if passkeys, err = webauthn.New(webauthn.Config{
		RPID: u.Hostname(), RPDisplayName: "Fullmakt", Origins: []string{u.Scheme + "://" + u.Host},
	}, store, store, nil); err != nil {
		return nil, nil, fmt.Errorf("passkeys: %w", err)
	}

	var methods []login.Method
	if cfg.UpstreamFile != "" {
		providers, err := upstream.LoadConfig(cfg.UpstreamFile)
		if err != nil {
			return nil, nil, err
		}
		for _, pc := range providers {
			callback := strings.TrimSuffix(publicURL, "/") + "/login/upstream/" + pc.ID + "/callback"
			p, err := upstream.New(pc, callback, store, nil, nil)
			if err != nil {
				return nil, nil, fmt.Errorf("upstream %s: %w", pc.ID, err)
			}
			methods = append(methods, login.Upstream(p))
			log.Info("upstream login", "id", pc.ID, "issuer", pc.Issuer, "callback", callback)
		}
	}
	if cfg.Demo {
		var people []login.DemoPerson
		for _, c := range cast {
			people = append(people, login.DemoPerson{ID: c.ID, Name: fmt.Sprintf("%s (%d)", c.Name, c.Age), Story: c.Story})
		}
		methods = append(methods, login.NewDemo(people, delegation.IDRules{AllowSynthetic: true}))
	}
	svc, err := login.New(login.Config{PublicURL: publicURL}, login.Deps{
		Grants: store, Accounts: store, People: store, Decider: decider, Passkeys: passkeys,
		Methods: methods, Clients: clients, Pages: pages, Key: key, Log: log,
	})
	if err != nil {
		return nil, nil, err
	}
	return svc, pages, nil
}
