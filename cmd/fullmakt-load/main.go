// Command fullmakt-load is a load generator for Fullmakt's HTTP endpoints: it sends
// requests over a fixed number of keep-alive connections, and prints throughput and
// latency percentiles per connection count as Markdown table rows.
// docs/BENCHMARKS.md has the commands.
//
// Modes (-mode):
//
//   - decide (the default): AuthZEN evaluation requests about real relations of a
//     demo population, sampled from the feed `fullmakt demo-data` wrote and the server
//     imported (-feed), authenticated with an API key (-key).
//   - cc: client credentials token requests (client_secret_basic) at /token.
//   - exchange: RFC 8693 token exchanges at /token: a person's access token for one
//     acting on someone's behalf. The person's token is -subject-token, or, against
//     `fullmakt serve --demo`, one the tool gets first through the demo login
//     (-actor logs in at level high; -party is whom the exchanged tokens act for).
//   - introspect: RFC 7662 introspection at /introspect of a pool of distinct access
//     tokens (-pool) the tool mints first with client credentials.
//
// The token modes authenticate as -client-id with -client-secret (by default the
// demo client of `serve --demo`).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "fullmakt-load:", err)
		os.Exit(1)
	}
}

type config struct {
	mode     string
	url      string
	conns    []int
	duration time.Duration
	warmup   time.Duration

	// decide
	key     string
	feed    string
	batch   int // evaluations per call; 1 uses /access/v1/evaluation
	samples int

	// the token modes
	clientID, clientSecret string
	scope                  string
	subjectToken           string
	actor, party           string
	audience               string
	service                string
	pool                   int
}

// Defaults of the token modes: the demo client of `fullmakt serve --demo`.
const (
	demoClientID     = "demo-agency"
	demoClientSecret = "fullmakt-demo-secret-not-secret"
	demoAudience     = "http://localhost:8080/demo-agency"
)

func run(ctx context.Context, args []string, out io.Writer) error {
	var cfg config
	var conns string
	fs := flag.NewFlagSet("fullmakt-load", flag.ContinueOnError)
	fs.StringVar(&cfg.mode, "mode", "decide", "what to load: decide, cc, exchange or introspect")
	fs.StringVar(&cfg.url, "url", "http://127.0.0.1:8080", "base URL of the server")
	fs.StringVar(&conns, "c", "8,32,128", "connection counts to run, comma-separated")
	fs.DurationVar(&cfg.duration, "d", 20*time.Second, "how long to measure at each connection count")
	fs.DurationVar(&cfg.warmup, "warmup", 3*time.Second, "unmeasured load before each measurement")
	fs.StringVar(&cfg.key, "key", os.Getenv("FULLMAKT_LOAD_KEY"), "decide: API key (or $FULLMAKT_LOAD_KEY)")
	fs.StringVar(&cfg.feed, "feed", "", "decide: the demo feed the server imported (JSON Lines)")
	fs.IntVar(&cfg.batch, "batch", 1, "decide: evaluations per call; above 1 uses /access/v1/evaluations")
	fs.IntVar(&cfg.samples, "samples", 2000, "decide: relations sampled per kind from the feed")
	fs.StringVar(&cfg.clientID, "client-id", demoClientID, "token modes: the client to authenticate as (client_secret_basic)")
	fs.StringVar(&cfg.clientSecret, "client-secret", envOr("FULLMAKT_LOAD_CLIENT_SECRET", demoClientSecret), "token modes: its secret (or $FULLMAKT_LOAD_CLIENT_SECRET)")
	fs.StringVar(&cfg.scope, "scope", "decide", "cc, introspect: the scope to ask for")
	fs.StringVar(&cfg.subjectToken, "subject-token", "", "exchange: a person's access token (default: log in through the demo login)")
	fs.StringVar(&cfg.actor, "actor", "Kari", "exchange: the demo cast member (first name) who logs in through the demo login")
	fs.StringVar(&cfg.party, "party", "Emma", "exchange: the demo cast member (first name) the exchanged tokens act for")
	fs.StringVar(&cfg.audience, "audience", demoAudience, "exchange: the audience of the exchanged tokens")
	fs.StringVar(&cfg.service, "service", "skatteetaten.skattemelding", "exchange: the service the exchanged tokens are for (action read)")
	fs.IntVar(&cfg.pool, "pool", 200, "introspect: distinct tokens to mint and introspect in turn")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("no arguments expected, got %q", fs.Args())
	}
	for _, s := range strings.Split(conns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("-c: %q is not a connection count", s)
		}
		cfg.conns = append(cfg.conns, n)
	}
	cfg.url = strings.TrimRight(cfg.url, "/")
	switch cfg.mode {
	case "decide":
		return runDecide(ctx, cfg, out)
	case "cc", "exchange", "introspect":
		return runToken(ctx, cfg, out)
	}
	return fmt.Errorf("-mode: %q is not decide, cc, exchange or introspect", cfg.mode)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// runDecide loads the decision API.
func runDecide(ctx context.Context, cfg config, out io.Writer) error {
	if cfg.feed == "" || cfg.key == "" || cfg.batch < 1 {
		return errors.New("-feed and -key are required, and -batch must be at least 1")
	}
	bodies, err := requestBodies(cfg)
	if err != nil {
		return err
	}
	endpoint := "/access/v1/evaluation"
	if cfg.batch > 1 {
		endpoint = "/access/v1/evaluations"
	}
	url := cfg.url + endpoint
	fmt.Fprintf(out, "| endpoint | evaluations/call | connections | calls/s | decisions/s | p50 ms | p90 ms | p99 ms | errors | allowed |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, c := range cfg.conns {
		r, err := measure(ctx, cfg, c, func(client *http.Client, i int) (int, int, error) {
			return decide(client, url, cfg.key, bodies[i%len(bodies)])
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "| %s | %d | %d | %.0f | %.0f | %.2f | %.2f | %.2f | %d | %.0f %% |\n",
			endpoint, cfg.batch, c, r.rps, r.rps*float64(cfg.batch), ms(r.p50), ms(r.p90), ms(r.p99), r.errors, 100*r.allowed)
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

type result struct {
	rps           float64
	p50, p90, p99 time.Duration
	errors        int
	allowed       float64
}

// call makes the i-th request of a worker and returns, for the decision API, how
// many decisions it carried and how many of those allowed (1, 1 for a request of
// another kind that succeeded).
type call func(client *http.Client, i int) (allowed, decisions int, err error)

// measure runs c workers, each with its own keep-alive connection, first for the
// warm-up and then for the measured duration.
func measure(ctx context.Context, cfg config, c int, do call) (result, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: c, MaxConnsPerHost: c, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}

	type worker struct {
		lat            []time.Duration
		errs, allow, n int
		firstErr       error
	}
	workers := make([]worker, c)
	start := time.Now()
	measureFrom := start.Add(cfg.warmup)
	stop := measureFrom.Add(cfg.duration)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			w := &workers[i]
			for j := i * 7919; ; j++ {
				t0 := time.Now()
				if t0.After(stop) || ctx.Err() != nil {
					return
				}
				allowed, decisions, err := do(client, j)
				if t0.Before(measureFrom) {
					continue
				}
				if err != nil {
					w.errs++
					if w.firstErr == nil {
						w.firstErr = err
					}
					continue
				}
				w.lat = append(w.lat, time.Since(t0)) // answered calls only
				w.allow += allowed
				w.n += decisions
			}
		})
	}
	wg.Wait()
	var lat []time.Duration
	var r result
	var allowed, decisions int
	for _, w := range workers {
		lat = append(lat, w.lat...)
		r.errors += w.errs
		allowed += w.allow
		decisions += w.n
		if w.firstErr != nil && r.errors == w.errs {
			fmt.Fprintln(os.Stderr, "fullmakt-load: first error:", w.firstErr)
		}
	}
	if len(lat) == 0 {
		return r, fmt.Errorf("no call answered (%d errors)", r.errors)
	}
	slices.Sort(lat)
	r.rps = float64(len(lat)) / cfg.duration.Seconds()
	r.p50, r.p90, r.p99 = lat[len(lat)/2], lat[len(lat)*9/10], lat[len(lat)*99/100]
	if decisions > 0 {
		r.allowed = float64(allowed) / float64(decisions)
	}
	return r, nil
}
