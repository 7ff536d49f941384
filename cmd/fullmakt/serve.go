package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/authz/authzen"
	"github.com/fullmakt/fullmakt/authz/pdp"
	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/delegation/bolt"
	"github.com/fullmakt/fullmakt/delegation/registers"
	"github.com/fullmakt/fullmakt/delegation/registers/demo"
	"github.com/fullmakt/fullmakt/idp"
)

func runServe(ctx context.Context, c cli, args []string) int {
	cfg := DefaultServeConfig()
	flags := newFlagSet("serve", "fullmakt serve [flags]",
		"Runs the HTTP server on one embedded database file, DIR/"+dbFile+". It stops\n"+
			"gracefully on SIGINT or SIGTERM: requests in flight get 10 seconds to finish.")
	flags.StringVar(&cfg.Addr, "addr", cfg.Addr, "listen on `HOST:PORT`; port 0 picks a free port")
	flags.StringVar(&cfg.DataDir, "data", cfg.DataDir, "keep the database in `DIR` (created, mode 0700)")
	flags.BoolVar(&cfg.Demo, "demo", cfg.Demo, "load the demo cast at start and list it on the front page; add the demo OAuth client and login (never in production)")
	flags.BoolVar(&cfg.AllowSyntheticIDs, "allow-synthetic-ids", cfg.AllowSyntheticIDs, "accept synthetic test identity numbers (never in production)")
	flags.StringVar(&cfg.LogFormat, "log-format", cfg.LogFormat, "log as `FORMAT`: text or json")
	flags.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "log at `LEVEL`: debug, info, warn or error")
	flags.StringVar(&cfg.Policies, "policies", cfg.Policies, "decide with the policy pack in `DIR`, reloaded when it changes (default: the built-in pack)")
	flags.StringVar(&cfg.APIKeysFile, "api-keys", cfg.APIKeysFile, "read the decision API's clients from `FILE`: lines of \"client-id sha256:HEX [detailed-reasons]\"")
	flags.StringVar(&cfg.PublicURL, "public-url", cfg.PublicURL, "the server's `URL` as clients reach it, the OAuth issuer; https unless on a loopback address (default: http:// and the listening address)")
	flags.StringVar(&cfg.ClientsFile, "clients", cfg.ClientsFile, "read the OAuth clients from `FILE`, reloaded when it changes (default: DIR/"+clientsFileName+" if it exists)")
	flags.StringVar(&cfg.UpstreamFile, "upstream", cfg.UpstreamFile, "let people log in with the upstream OpenID Providers (national eIDs) in `FILE` (docs/LOGIN.md)")
	flags.StringVar(&cfg.WebhookURL, "webhook-url", cfg.WebhookURL, "deliver every notification to `URL`: a signed POST each (Standard Webhooks), in order, retried until it succeeds (https unless on a loopback address)")
	flags.StringVar(&cfg.WebhookSecretFile, "webhook-secret-file", cfg.WebhookSecretFile, "sign the webhook's requests with the secret in `FILE` (at least 32 bytes)")
	flags.DurationVar(&cfg.AccessTokenLifetime, "access-token-lifetime", cfg.AccessTokenLifetime, "OAuth access tokens live `DURATION`, at most 24h (default: 10m)")
	flags.DurationVar(&cfg.RefreshTokenLifetime, "refresh-token-lifetime", cfg.RefreshTokenLifetime, "OAuth refresh tokens live `DURATION`, at most 2160h (default: 12h)")
	if code, done := flags.parse(c, args); done {
		return code
	}
	if len(flags.Args()) > 0 {
		fmt.Fprintf(c.stderr, "fullmakt serve: takes no arguments, got %q\n", flags.Args())
		return exitUsage
	}
	if err := cfg.Validate(); err != nil {
		return invalid(c, "serve", err)
	}
	log, err := newLogger(c.stderr, cfg.LogFormat, cfg.LogLevel)
	if err != nil {
		return invalid(c, "serve", err)
	}
	if c.getenv("GOGC") == "" {
		// The live heap is small (the policy pack, caches) while every decision
		// allocates some 25 kB of garbage, so at the default of 100 the collector
		// runs dozens of times a second. 400 gave 50% more decisions per second
		// over HTTP on 2 cores (docs/BENCHMARKS.md); GOGC in the environment wins.
		defer debug.SetGCPercent(debug.SetGCPercent(serveGCPercent))
	}
	if err := serve(ctx, cfg, log, c.stderr); err != nil {
		fmt.Fprintf(c.stderr, "fullmakt serve: %v\n", err)
		return exitError
	}
	return exitOK
}

// defaultPublicURL is the public URL of a server started without --public-url:
// http://localhost and the port on a loopback address (passkeys need a host
// name: WebAuthn refuses IP addresses as relying party ids), http:// and the
// address otherwise.
func defaultPublicURL(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if ok && tcp.IP.IsLoopback() {
		return fmt.Sprintf("http://localhost:%d", tcp.Port)
	}
	return "http://" + addr.String()
}

// serveGCPercent is serve's garbage collection target unless GOGC is set.
const serveGCPercent = 400

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	l, err := parseLevel(level)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: l}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

// serve opens the store, loads the demo cast when asked, and serves HTTP until ctx
// ends; then it shuts the server down gracefully and closes the store. It prints
// "fullmakt listening on http://ADDR" to announce once it accepts connections.
func serve(ctx context.Context, cfg ServeConfig, log *slog.Logger, announce io.Writer) (err error) {
	store, err := openStore(cfg.DataDir, cfg.LockTimeout)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := store.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("close the store: %w", cerr))
		}
	}()
	log.Info("store opened", "data", cfg.DataDir, "demo", cfg.Demo, "allow_synthetic_ids", cfg.AllowSyntheticIDs)

	var cast []demo.Character
	if cfg.Demo {
		if cast, err = loadDemoCast(ctx, store, time.Now(), log); err != nil {
			return err
		}
	}
	pack, watcher, err := loadServePack(cfg, log)
	if err != nil {
		return err
	}
	log.Info("policy pack in use", "dir", cfg.Policies, "version", pack.Version,
		"policies", len(pack.Policies), "services", len(pack.Catalogue.Services))
	keys, keyClients, err := apiClients(cfg)
	if err != nil {
		return err
	}
	if len(keyClients) == 0 {
		log.Warn("the decision API has no API keys: only OAuth clients with a token of scope decide can call it")
	}
	clientsWatch, oauthClients, err := newClientsWatcher(cfg, log)
	if err != nil {
		return err
	}
	registry := idp.NewClientRegistry(oauthClients, nil)
	log.Info("OAuth clients loaded", "file", newClientsFile(cfg).path, "clients", oauthClients.Len())
	m, err := newMetrics()
	if err != nil {
		return fmt.Errorf("register metrics: %w", err)
	}
	m.packInUse(pack.Version)
	decider := pdp.New(store, pack, pdp.Options{Log: log, Access: store, Observe: m.observeDecision})
	if err := m.queueGauge(decider.Queued); err != nil {
		return fmt.Errorf("register metrics: %w", err)
	}
	defer func() {
		// The decision log's queue is written before the store closes.
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
		defer cancel()
		if cerr := decider.Close(closeCtx); cerr != nil {
			err = errors.Join(err, fmt.Errorf("flush the decision log: %w", cerr))
		}
	}()

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	publicURL := cfg.PublicURL
	if publicURL == "" {
		publicURL = defaultPublicURL(ln.Addr())
	}
	people, pages, err := newLogin(ctx, cfg, publicURL, store, decider, registry, cast, log)
	if err != nil {
		ln.Close()
		return err
	}
	oauth, err := idp.New(ctx, idp.Config{
		Issuer: publicURL, AccessTokenLifetime: cfg.AccessTokenLifetime, RefreshTokenLifetime: cfg.RefreshTokenLifetime,
	}, idp.Deps{Grants: store, Clients: registry, Decider: decider, Registry: store, Login: people, Log: log})
	if err != nil {
		ln.Close()
		return fmt.Errorf("the OAuth server: %w", err)
	}
	// Before the decision point and the store close (deferred earlier, so run later).
	defer oauth.Close()
	people.SetServer(oauth)
	auth := tokenAuthenticator{keys: keys, tokens: oauth}
	// The change feed tells agencies whose relations changed, so that they drop
	// the decisions they cache; the OAuth server signs the decision receipts
	// with its token keys.
	feed := authzen.NewFeed(store, authzen.FeedOptions{Log: log})
	api := authzen.New(decider, auth, authzen.Config{
		PDPURL: publicURL, IDRules: delegation.IDRules{AllowSynthetic: cfg.AllowSyntheticIDs || cfg.Demo}, Log: log,
		Receipts: oauth, Feed: feed,
	})
	srv, err := newServer(log, store, cfg.Demo, cast, api, m)
	if err != nil {
		ln.Close()
		return err
	}
	srv.oauth, srv.login, srv.pages = oauth, people, pages
	notes, err := newNotifications(cfg, store, log)
	if err != nil {
		ln.Close()
		return err
	}
	changed := func() {
		notes.deriver.Nudge()
		feed.Nudge()
	}
	if srv.portal, err = newPortal(ctx, cfg, store, decider, people, srv.handleHome(), changed, log); err != nil {
		ln.Close()
		return err
	}
	httpServer := &http.Server{
		Handler:           srv.routes(),
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	// Change streams never end by themselves: Shutdown would wait for them until
	// its grace ran out.
	httpServer.RegisterOnShutdown(feed.Close)
	watchCtx, stopWatching := context.WithCancel(ctx)
	defer stopWatching()
	if watcher != nil {
		go watcher.run(watchCtx, func(p *authz.Pack) {
			decider.SetPack(p)
			feed.Reset(authzen.ResetPolicy) // cached decisions were the old pack's
			m.packInUse(p.Version)
			m.packReloads.WithLabelValues("loaded").Inc()
		}, func() { m.packReloads.WithLabelValues("rejected").Inc() })
	}
	go clientsWatch.run(watchCtx, func(cs *idp.Clients) {
		registry.Set(cs)
		m.clientsReloads.WithLabelValues("loaded").Inc()
	}, func() { m.clientsReloads.WithLabelValues("rejected").Inc() })
	// The OAuth server's key schedule and garbage collection, the notifications
	// and the change feed use the store: they stop, and are waited for, before it
	// closes.
	maintainCtx, stopMaintaining := context.WithCancel(ctx)
	maintained := startOAuthMaintenance(maintainCtx, oauth, cfg.OAuthMaintenance)
	notified := notes.start(maintainCtx)
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		feed.Run(maintainCtx)
	}()
	defer func() {
		stopMaintaining()
		maintained()
		notified()
		<-fed
	}()

	log.Info("listening", "addr", ln.Addr().String(), "public_url", publicURL)
	if cfg.Demo {
		fmt.Fprintf(announce, "demo OAuth client: client_id %s, client_secret %s (not secret: --demo only)\n", demoClientID, demoClientSecret)
		fmt.Fprintf(announce, "demo decision API key: %s (not secret: --demo only)\n", demoAPIKey)
	}
	fmt.Fprintf(announce, "fullmakt listening on http://%s, public URL %s\n", ln.Addr(), publicURL)

	served := make(chan error, 1)
	go func() { served <- httpServer.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve HTTP: %w", err)
	case <-ctx.Done():
	}

	log.Info("shutting down", "grace", cfg.ShutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if err := httpServer.Shutdown(shutdownCtx); err != nil {
		httpServer.Close()
		return fmt.Errorf("shut down HTTP: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve HTTP: %w", err)
	}
	log.Info("stopped")
	return nil
}

// loadDemoCast imports the demo cast into store (idempotently: a second start
// changes nothing) and returns the cast, as of now, for the front page.
func loadDemoCast(ctx context.Context, store *bolt.Store, now time.Time, log *slog.Logger) ([]demo.Character, error) {
	var buf bytes.Buffer
	if err := demo.WriteCast(&buf, now); err != nil {
		return nil, fmt.Errorf("write the demo cast: %w", err)
	}
	sum, err := registers.Import(ctx, store, &buf, registers.Options{
		Name: "demo cast",
		IDs:  delegation.IDRules{AllowSynthetic: true},
		Now:  func() time.Time { return now },
		Size: int64(buf.Len()),
		OnError: func(le registers.LineError) {
			log.Error("demo cast record refused", "error", le.Error())
		},
	})
	if err != nil {
		return nil, fmt.Errorf("import the demo cast: %w", err)
	}
	if sum.Failed > 0 {
		return nil, fmt.Errorf("import the demo cast: %d of %d records refused", sum.Failed, sum.Records)
	}
	log.Info("demo cast loaded", "records", sum.Records, "changed", sum.Changed, "unchanged", sum.Unchanged)
	return demo.Cast(now), nil
}
