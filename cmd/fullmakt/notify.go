package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/fullmakt/fullmakt/delegation/bolt"
	"github.com/fullmakt/fullmakt/delegation/notify"
)

// notifications runs what tells people what happened: the Deriver, which fills
// the outbox from the change sequence, the decision log and the calendar, and,
// with --webhook-url, the Webhook that delivers the outbox.
type notifications struct {
	deriver *notify.Deriver
	webhook *notify.Webhook // nil without --webhook-url
}

// newNotifications builds them; the webhook's secret is read from
// --webhook-secret-file.
func newNotifications(cfg ServeConfig, store *bolt.Store, log *slog.Logger) (*notifications, error) {
	n := &notifications{}
	if cfg.WebhookURL != "" {
		secret, err := os.ReadFile(cfg.WebhookSecretFile)
		if err != nil {
			return nil, fmt.Errorf("--webhook-secret-file: %w", err)
		}
		if n.webhook, err = notify.NewWebhook(store, notify.WebhookConfig{
			URL: cfg.WebhookURL, Secret: bytes.TrimSpace(secret), Log: log,
			MinBackoff: cfg.WebhookMinBackoff,
		}); err != nil {
			return nil, fmt.Errorf("--webhook-url: %w", err)
		}
	}
	n.deriver = notify.NewDeriver(store, notify.DeriverOptions{Log: log, Stored: func(int) {
		if n.webhook != nil {
			n.webhook.Nudge()
		}
	}})
	return n, nil
}

// start runs them until ctx ends; wait returns once they have stopped (before
// the store closes).
func (n *notifications) start(ctx context.Context) (wait func()) {
	var wg sync.WaitGroup
	wg.Go(func() { n.deriver.Run(ctx) })
	if n.webhook != nil {
		wg.Go(func() { n.webhook.Run(ctx) })
	}
	return wg.Wait
}
