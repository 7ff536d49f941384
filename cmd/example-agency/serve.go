package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/fullmakt/fullmakt/sdk"
)

// The service the office decides about, and the diplomas API's.
const (
	serviceStudentSupport = "lanekassen.studiestotte"
	serviceDiplomas       = "udir.vitnemal"
)

// agency is the running office: its configuration, its two clients at Fullmakt,
// the case store, the sessions and the pages.
type agency struct {
	cfg    Config
	public string // the public URL, without a trailing slash
	log    *slog.Logger

	// fm is the office's client (example-agency): logins, the party picker,
	// decisions, token exchange, and the applications API's Require.
	fm *sdk.Client
	// diplomas is the diplomas API's own client (example-diplomas).
	diplomas *sdk.Client

	cases    *caseStore
	sessions *sessions
	pages    *pages
	jwks     []byte
	// api calls the office's own APIs over HTTP, as a separate back end would.
	api *http.Client
	now func() time.Time
}

// apiAudience and diplomasAudience are the two APIs' identifiers at Fullmakt.
func (a *agency) apiAudience() string      { return a.public + "/api" }
func (a *agency) diplomasAudience() string { return a.public + "/diplomas" }

// serve starts the office and serves until ctx ends, then stops gracefully. It
// announces "example-agency listening on http://ADDR, public URL URL" on announce
// once it can serve every page.
func serve(ctx context.Context, cfg Config, log *slog.Logger, announce io.Writer) error {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("create the data directory: %w", err)
	}
	key, created, err := loadOrCreateKey(cfg.keyFile())
	if err != nil {
		return err
	}
	jwk, err := jwkOf(key)
	if err != nil {
		return err
	}
	if created {
		log.Info("generated the client key", "file", cfg.keyFile(), "kid", jwk.Kid)
	}
	secret, err := diplomasSecret(cfg)
	if err != nil {
		return err
	}
	cases, err := openCaseStore(filepath.Join(cfg.DataDir, "cases"))
	if err != nil {
		return err
	}

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	public := strings.TrimSuffix(cfg.PublicURL, "/")
	if public == "" {
		public = defaultPublicURL(ln.Addr())
	}
	pg, err := newPages(log, cfg.Fullmakt)
	if err != nil {
		ln.Close()
		return err
	}
	a := &agency{
		cfg: cfg, public: public, log: log, cases: cases,
		sessions: newSessions(strings.HasPrefix(public, "https://")),
		pages:    pg, jwks: jwkSet(jwk),
		api: &http.Client{Timeout: 20 * time.Second}, now: time.Now,
	}

	// Serve at once, with only the key set and the stylesheet until Fullmakt is
	// reached: Fullmakt may fetch the key set (a jwks_uri registration) while the
	// SDK authenticates for the first time.
	var handler atomic.Pointer[http.Handler]
	starting := a.startingRoutes()
	handler.Store(&starting)
	srv := &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*handler.Load()).ServeHTTP(w, r) }),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	stop := func() error {
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
		defer cancel()
		return srv.Shutdown(shutdownCtx)
	}

	// gaveUp stops the server after a failed start; a signal while waiting for
	// Fullmakt is a clean stop, not a failure.
	gaveUp := func(err error) error {
		err = errors.Join(err, stop())
		if ctx.Err() != nil {
			log.Info("stopped while waiting for Fullmakt")
			return nil
		}
		return err
	}
	a.fm, err = connect(ctx, sdk.Config{
		Issuer: cfg.Fullmakt, ClientID: cfg.ClientID, PrivateKey: key, KeyID: jwk.Kid,
		Audience: a.apiAudience(), Log: log,
	}, cfg.WaitForFullmakt, log)
	if err != nil {
		return gaveUp(err)
	}
	defer a.fm.Close()
	a.diplomas, err = connect(ctx, sdk.Config{
		Issuer: cfg.Fullmakt, ClientID: cfg.DiplomasClientID, ClientSecret: secret,
		Audience: a.diplomasAudience(), Log: log,
	}, cfg.WaitForFullmakt, log)
	if err != nil {
		return gaveUp(err)
	}
	defer a.diplomas.Close()

	routes := a.routes()
	handler.Store(&routes)
	log.Info("listening", "addr", ln.Addr().String(), "public_url", public, "fullmakt", cfg.Fullmakt)
	fmt.Fprintf(announce, "example-agency listening on http://%s, public URL %s\n", ln.Addr(), public)

	select {
	case err := <-served:
		return fmt.Errorf("serve HTTP: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", cfg.ShutdownTimeout)
	if err := stop(); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	log.Info("stopped")
	return nil
}

// connect makes an SDK client, trying again with a growing pause for up to wait
// while Fullmakt cannot be reached: `make run` starts both at once, and Fullmakt
// may come up a second later.
func connect(ctx context.Context, cfg sdk.Config, wait time.Duration, log *slog.Logger) (*sdk.Client, error) {
	deadline := time.Now().Add(wait)
	pause := 250 * time.Millisecond
	for {
		c, err := sdk.New(ctx, cfg)
		if err == nil {
			return c, nil
		}
		if errors.Is(err, sdk.ErrConfig) || ctx.Err() != nil || time.Now().Add(pause).After(deadline) {
			return nil, fmt.Errorf("connect to Fullmakt at %s as %s: %w", cfg.Issuer, cfg.ClientID, err)
		}
		log.Warn("Fullmakt cannot be reached yet; trying again", "issuer", cfg.Issuer, "client_id", cfg.ClientID, "in", pause, "err", err)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("connect to Fullmakt at %s: %w", cfg.Issuer, ctx.Err())
		case <-time.After(pause):
		}
		pause = min(2*pause, 2*time.Second)
	}
}

// diplomasSecret reads the diplomas API's client secret, or gives the demo
// secret with --demo.
func diplomasSecret(cfg Config) (string, error) {
	if cfg.DiplomasSecretFile == "" {
		return demoDiplomasSecret, nil // Validate allows this only with --demo
	}
	b, err := os.ReadFile(cfg.DiplomasSecretFile)
	if err != nil {
		return "", fmt.Errorf("read the diplomas API's secret: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("the diplomas API's secret file %s is empty", cfg.DiplomasSecretFile)
	}
	return s, nil
}

// defaultPublicURL is http://localhost:PORT on a loopback address (the same host
// name as Fullmakt's default, so that the demo's URLs match the registered
// ones), http:// and the address otherwise.
func defaultPublicURL(addr net.Addr) string {
	if tcp, ok := addr.(*net.TCPAddr); ok && tcp.IP.IsLoopback() {
		return fmt.Sprintf("http://localhost:%d", tcp.Port)
	}
	return "http://" + addr.String()
}
