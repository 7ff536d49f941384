package pdp_test

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/authz/pdp"
	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/delegation/bolt"
	"github.com/fullmakt/fullmakt/delegation/bolt/bolttest"
	"github.com/fullmakt/fullmakt/policies"
)

// The decision benchmarks run the default pack against a demo population imported
// once per process (bolttest.Population): FULLMAKT_BENCH_PERSONS persons (default
// 100,000; docs/BENCHMARKS.md uses 1,000,000), kept in FULLMAKT_BENCH_DIR when set.
type population struct {
	store *bolt.Store
	reqs  []authz.Request // a mix: parents, guardians, roles, fullmakter, self, strangers
	err   error
}

var benchPopulation = sync.OnceValue(func() *population {
	store, feed, err := bolttest.Population(100_000)
	if err != nil {
		return &population{err: err}
	}
	pairs, persons, err := bolttest.Sample(feed, 2000)
	if err != nil {
		return &population{err: err}
	}
	p := &population{store: store}
	req := func(actor, party delegation.PartyID, service string) authz.Request {
		return authz.Request{Actor: actor, Party: party, Service: service, Action: "read", ACR: "idporten-loa-high", Now: bolttest.Now}
	}
	for k, ps := range pairs {
		service := "skatteetaten.skattemelding"
		if k == delegation.RelRole {
			service = "brreg.arsregnskap"
		}
		for _, pr := range ps {
			p.reqs = append(p.reqs, req(pr.Actor, pr.Party, service))
		}
	}
	for i, a := range persons {
		p.reqs = append(p.reqs, req(a, "", "skatteetaten.skattemelding"), req(a, persons[(i+1)%len(persons)], "skatteetaten.skattemelding"))
	}
	// A fixed order spreads kinds evenly over the run.
	slices.SortFunc(p.reqs, func(a, b authz.Request) int { return cmp.Compare(a.Actor, b.Actor) })
	return p
})

func benchPDP(b *testing.B, access bool) (*pdp.PDP, *population) {
	b.Helper()
	pop := benchPopulation()
	if pop.err != nil {
		b.Fatalf("set up the benchmark population: %v", pop.err)
	}
	pack, err := policies.Load()
	if err != nil {
		b.Fatal(err)
	}
	o := pdp.Options{}
	if access {
		o.Access = pop.store
	}
	p := pdp.New(pop.store, pack, o)
	b.Cleanup(func() { p.Close(context.Background()) })
	return p, pop
}

// BenchmarkDecide is one decision in process: facts from the 1M-person store, the
// default pack, the decision log on. It reports p50 and p99.
func BenchmarkDecide(b *testing.B) {
	for _, access := range []bool{false, true} {
		b.Run("decision-log="+strconv.FormatBool(access), func(b *testing.B) {
			p, pop := benchPDP(b, access)
			ctx := context.Background()
			lat := make([]time.Duration, 0, b.N)
			allowed := 0
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				t0 := time.Now()
				d, err := p.Decide(ctx, pop.reqs[i%len(pop.reqs)], "bench")
				lat = append(lat, time.Since(t0))
				if err != nil {
					b.Fatal(err)
				}
				if d.Allow {
					allowed++
				}
			}
			b.StopTimer()
			reportLatency(b, lat)
			b.ReportMetric(100*float64(allowed)/float64(len(lat)), "%allowed")
		})
	}
}

// BenchmarkDecideParallel is the throughput on every core.
func BenchmarkDecideParallel(b *testing.B) {
	p, pop := benchPDP(b, true)
	ctx := context.Background()
	var next sync.Mutex
	i := 0
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			next.Lock()
			req := pop.reqs[i%len(pop.reqs)]
			i++
			next.Unlock()
			if _, err := p.Decide(ctx, req, "bench"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func reportLatency(b *testing.B, d []time.Duration) {
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	b.ReportMetric(float64(d[len(d)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(d[len(d)*99/100].Nanoseconds()), "p99-ns")
}
