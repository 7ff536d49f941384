// Command fullmakt-load is a load generator for the decision API: it sends AuthZEN
// evaluation requests about real relations of a demo population (sampled from the
// feed `fullmakt demo-data` wrote and the server imported) over a fixed number of
// keep-alive connections, and prints throughput and latency percentiles per
// connection count as a Markdown table row. docs/BENCHMARKS.md has the commands.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/delegation/registers/demo"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "fullmakt-load:", err)
		os.Exit(1)
	}
}

type config struct {
	url      string
	key      string
	feed     string
	conns    []int
	duration time.Duration
	warmup   time.Duration
	batch    int // evaluations per call; 1 uses /access/v1/evaluation
	samples  int
}

func run(ctx context.Context, args []string, out io.Writer) error {
	var cfg config
	var conns string
	fs := flag.NewFlagSet("fullmakt-load", flag.ContinueOnError)
	fs.StringVar(&cfg.url, "url", "http://127.0.0.1:8080", "base URL of the server")
	fs.StringVar(&cfg.key, "key", os.Getenv("FULLMAKT_LOAD_KEY"), "API key (or $FULLMAKT_LOAD_KEY)")
	fs.StringVar(&cfg.feed, "feed", "", "the demo feed the server imported (JSON Lines)")
	fs.StringVar(&conns, "c", "8,32,128", "connection counts to run, comma-separated")
	fs.DurationVar(&cfg.duration, "d", 20*time.Second, "how long to measure at each connection count")
	fs.DurationVar(&cfg.warmup, "warmup", 3*time.Second, "unmeasured load before each measurement")
	fs.IntVar(&cfg.batch, "batch", 1, "evaluations per call; above 1 uses /access/v1/evaluations")
	fs.IntVar(&cfg.samples, "samples", 2000, "relations sampled per kind from the feed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, s := range strings.Split(conns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("-c: %q is not a connection count", s)
		}
		cfg.conns = append(cfg.conns, n)
	}
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
	fmt.Fprintf(out, "| endpoint | evaluations/call | connections | calls/s | decisions/s | p50 ms | p90 ms | p99 ms | errors | allowed |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, c := range cfg.conns {
		r, err := measure(ctx, cfg, endpoint, bodies, c)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "| %s | %d | %d | %.0f | %.0f | %.2f | %.2f | %.2f | %d | %.0f %% |\n",
			endpoint, cfg.batch, c, r.rps, r.rps*float64(cfg.batch), ms(r.p50), ms(r.p90), ms(r.p99), r.errors, 100*r.allowed)
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// query is one evaluation: a relation from the feed, or a stranger, or oneself.
type query struct {
	Subject  map[string]any `json:"subject"`
	Action   map[string]any `json:"action"`
	Resource map[string]any `json:"resource"`
	Context  map[string]any `json:"context,omitempty"`
}

// requestBodies samples the feed and builds the request bodies: a mix of parents,
// guardians, role holders, fullmakt holders, people acting for themselves, and
// strangers (a random person asking about another), in equal shares.
func requestBodies(cfg config) ([][]byte, error) {
	f, err := os.Open(cfg.feed)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	pairs, persons, err := demo.Sample(f, cfg.samples, 1)
	if err != nil {
		return nil, err
	}
	if len(persons) < 2 {
		return nil, errors.New("the feed has fewer than two persons")
	}
	service := map[delegation.RelationKind]string{
		delegation.RelParent: "skatteetaten.skattemelding", delegation.RelGuardian: "skatteetaten.skattemelding",
		delegation.RelRole: "brreg.arsregnskap", delegation.RelFullmakt: "skatteetaten.skattemelding",
	}
	rng := rand.New(rand.NewPCG(2, 3))
	var qs []query
	q := func(actor, party delegation.PartyID, svc string) query {
		qu := query{
			Subject:  map[string]any{"type": "person", "id": actor, "properties": map[string]any{"acr": "http://eidas.europa.eu/LoA/high"}},
			Action:   map[string]any{"name": "read"},
			Resource: map[string]any{"type": "service", "id": svc},
		}
		if party != "" {
			kind := "person"
			if party.Kind() == delegation.KindOrganization {
				kind = "organization"
			}
			qu.Context = map[string]any{"party": map[string]any{"type": kind, "id": party}}
		}
		return qu
	}
	for k, ps := range pairs {
		for _, p := range ps {
			qs = append(qs, q(p.Actor, p.Party, service[k]))
		}
	}
	for range cfg.samples {
		a, b := persons[rng.IntN(len(persons))], persons[rng.IntN(len(persons))]
		qs = append(qs, q(a, b, "skatteetaten.skattemelding"), q(a, "", "skatteetaten.skattemelding"))
	}
	rng.Shuffle(len(qs), func(i, j int) { qs[i], qs[j] = qs[j], qs[i] })
	var bodies [][]byte
	for i := 0; i+cfg.batch <= len(qs); i += cfg.batch {
		var v any = qs[i]
		if cfg.batch > 1 {
			v = map[string]any{"evaluations": qs[i : i+cfg.batch]}
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		bodies = append(bodies, b)
	}
	return bodies, nil
}

type result struct {
	rps           float64
	p50, p90, p99 time.Duration
	errors        int
	allowed       float64
}

// measure runs c workers, each with its own keep-alive connection, first for the
// warm-up and then for the measured duration.
func measure(ctx context.Context, cfg config, endpoint string, bodies [][]byte, c int) (result, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: c, MaxConnsPerHost: c, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	url := strings.TrimRight(cfg.url, "/") + endpoint

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
				allowed, decisions, err := call(client, url, cfg.key, bodies[j%len(bodies)])
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

// call posts one body and counts the permitted decisions in the answer.
func call(client *http.Client, url, key string, body []byte) (allowed, decisions int, err error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("status %d: %.200s", resp.StatusCode, b)
	}
	var answer struct {
		Decision    *bool `json:"decision"`
		Evaluations []struct {
			Decision bool `json:"decision"`
		} `json:"evaluations"`
	}
	if err := json.Unmarshal(b, &answer); err != nil {
		return 0, 0, err
	}
	if answer.Decision != nil {
		if *answer.Decision {
			allowed = 1
		}
		return allowed, 1, nil
	}
	for _, e := range answer.Evaluations {
		if e.Decision {
			allowed++
		}
	}
	return allowed, len(answer.Evaluations), nil
}
