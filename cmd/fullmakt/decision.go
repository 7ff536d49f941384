package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/authz/authzen"
	"github.com/fullmakt/fullmakt/policies"
)

// The demo client of the decision API: with --demo, agencies' examples work out of
// the box with this key. It is printed on the demo's front page; never use --demo
// in production.
const (
	demoClientID = "demo-agency"
	demoAPIKey   = "fullmakt-demo-key-not-secret"
)

// loadServePack loads the pack serve starts with: the folder given by --policies
// (and a watcher that reloads it), or the built-in pack (and no watcher).
func loadServePack(cfg ServeConfig, log *slog.Logger) (*authz.Pack, *packWatcher, error) {
	if cfg.Policies == "" {
		pack, err := policies.Load()
		return pack, nil, err
	}
	w, pack, err := newPackWatcher(cfg.Policies, cfg.PolicyReload, log)
	return pack, w, err
}

// apiClients reads the decision API's clients: --api-keys, and the demo client
// with --demo.
func apiClients(cfg ServeConfig) (authzen.Authenticator, []string, error) {
	var lines []string
	if cfg.APIKeysFile != "" {
		b, err := os.ReadFile(cfg.APIKeysFile)
		if err != nil {
			return nil, nil, fmt.Errorf("--api-keys: %w", err)
		}
		lines = append(lines, string(b))
	}
	if cfg.Demo {
		lines = append(lines, demoClientID+" "+authzen.HashAPIKey(demoAPIKey)+" detailed-reasons")
	}
	if len(lines) == 0 {
		return noClients{}, nil, nil
	}
	keys, err := authzen.ParseAPIKeys(strings.NewReader(strings.Join(lines, "\n")))
	if err != nil {
		return nil, nil, fmt.Errorf("--api-keys %s: %w", cfg.APIKeysFile, err)
	}
	return keys, keys.Clients(), nil
}

// noClients authenticates nobody: the decision API answers 401 until clients are
// configured.
type noClients struct{}

func (noClients) Authenticate(*http.Request) (authzen.Client, bool) { return authzen.Client{}, false }
