package bolt_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/delegation/bolt"
	"github.com/fullmakt/fullmakt/delegation/bolt/bolttest"
	"github.com/fullmakt/fullmakt/idp/grants"
)

// The look-up benchmarks run against a demo population imported once per process
// (bolttest.Population): FULLMAKT_BENCH_PERSONS persons (default 100,000;
// docs/BENCHMARKS.md uses 1,000,000), kept in FULLMAKT_BENCH_DIR when set.
type population struct {
	store *bolt.Store
	pairs [][2]delegation.PartyID // (parent, child) pairs sampled from the feed
	err   error
}

var benchPopulation = sync.OnceValue(func() *population {
	store, feed, err := bolttest.Population(100_000)
	if err != nil {
		return &population{err: err}
	}
	pairs, _, err := bolttest.Sample(feed, 10_000)
	p := &population{store: store, err: err}
	for _, pr := range pairs[delegation.RelParent] {
		p.pairs = append(p.pairs, [2]delegation.PartyID{pr.Actor, pr.Party})
	}
	return p
})

func loadPopulation(b *testing.B) *population {
	b.Helper()
	p := benchPopulation()
	if p.err != nil {
		b.Fatalf("set up the benchmark population: %v", p.err)
	}
	if len(p.pairs) == 0 {
		b.Fatal("the benchmark population has no parental relations")
	}
	return p
}

// reportLatency adds p50 and p99 of the timed operations to the benchmark output.
func reportLatency(b *testing.B, d []time.Duration) {
	slices.Sort(d)
	b.ReportMetric(float64(d[len(d)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(d[len(d)*99/100].Nanoseconds()), "p99-ns")
}

func BenchmarkRelations(b *testing.B) {
	p := loadPopulation(b)
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		pair := p.pairs[i%len(p.pairs)]
		start := time.Now()
		rels, err := p.store.Relations(ctx, pair[0], pair[1])
		lat = append(lat, time.Since(start))
		if err != nil || len(rels.Parental) == 0 {
			b.Fatalf("Relations(parent, child) = %v, %v; want a parental relation", rels, err)
		}
	}
	reportLatency(b, lat)
}

func BenchmarkRepresented(b *testing.B) {
	p := loadPopulation(b)
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		pair := p.pairs[i%len(p.pairs)]
		start := time.Now()
		parties, err := p.store.Represented(ctx, pair[0])
		lat = append(lat, time.Since(start))
		if err != nil || len(parties) == 0 {
			b.Fatalf("Represented(parent) = %v, %v; want at least one party", parties, err)
		}
	}
	reportLatency(b, lat)
}

func BenchmarkRelationsParallel(b *testing.B) {
	p := loadPopulation(b)
	ctx := context.Background()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			pair := p.pairs[i%len(p.pairs)]
			if _, err := p.store.Relations(ctx, pair[0], pair[1]); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// The decision log benchmarks run on a store of their own in a temporary directory:
// an append is what a decision made for someone else costs on top of the decision,
// a read what one page of the portal's access log costs.

// accessParties returns n identifiers shaped like fødselsnumre (11 digits). The log
// does not check identifiers, so they need no control digits.
func accessParties(n int) []delegation.PartyID {
	ps := make([]delegation.PartyID, n)
	for i := range ps {
		ps[i] = delegation.PartyID(fmt.Sprintf("%011d", 10_000_000_000+i*7919))
	}
	return ps
}

// accessEvent returns the i-th event of a log spread over parties: party i mod n,
// and an actor that is never the party.
func accessEvent(parties []delegation.PartyID, i int, at time.Time) delegation.AccessEvent {
	n := len(parties)
	e := delegation.AccessEvent{
		At: at.Add(time.Duration(i) * time.Millisecond), Actor: parties[(i+1+(i/n)%(n-1))%n], Party: parties[i%n],
		Service: "skatteetaten.skattemelding", Action: "submit", Allowed: i%10 != 0,
		PolicyVersion: "2026.11.1", Client: "nav-portal",
	}
	if e.Allowed {
		e.Relation, e.RelationID = delegation.RelFullmakt, "fm_"+strconv.Itoa(i/n)
	}
	return e
}

func openBenchStore(b *testing.B) *bolt.Store {
	b.Helper()
	s, err := bolt.Open(filepath.Join(b.TempDir(), "fullmakt.db"), bolt.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func BenchmarkAppendAccess(b *testing.B) {
	parties := accessParties(1000)
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, delegation.Oslo())
	for _, batch := range []int{1, 64, 512} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			s := openBenchStore(b)
			ctx := context.Background()
			events := make([]delegation.AccessEvent, batch)
			lat := make([]time.Duration, 0, b.N)
			n := 0
			for b.Loop() {
				for j := range events {
					events[j] = accessEvent(parties, n, at)
					n++
				}
				start := time.Now()
				err := s.AppendAccess(ctx, events)
				lat = append(lat, time.Since(start))
				if err != nil {
					b.Fatalf("AppendAccess(%d events): %v", batch, err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/event")
			reportLatency(b, lat)
		})
	}
}

func BenchmarkAccessTo(b *testing.B) {
	// 100,000 events for 1,000 parties: 100 each, interleaved as decisions come.
	const perParty = 100
	parties := accessParties(1000)
	total := perParty * len(parties)
	s := openBenchStore(b)
	ctx := context.Background()
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, delegation.Oslo())
	for i := 0; i < total; {
		events := make([]delegation.AccessEvent, min(512, total-i))
		for j := range events {
			events[j] = accessEvent(parties, i, at)
			i++
		}
		if err := s.AppendAccess(ctx, events); err != nil {
			b.Fatalf("AppendAccess: %v", err)
		}
	}
	for _, tt := range []struct {
		name   string
		before uint64
		limit  int
		want   int
	}{
		{"newest 20", 0, 20, 20},
		{"newest 100", 0, 0, perParty},
		{"20 before the middle", uint64(total / 2), 20, 20},
	} {
		b.Run(tt.name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			for i := 0; b.Loop(); i++ {
				p := parties[i%len(parties)]
				start := time.Now()
				got, err := s.AccessTo(ctx, p, tt.before, tt.limit)
				lat = append(lat, time.Since(start))
				if err != nil || len(got) != tt.want {
					b.Fatalf("AccessTo(%d, %d) = %d events, %v; want %d", tt.before, tt.limit, len(got), err, tt.want)
				}
			}
			reportLatency(b, lat)
		})
	}
}

// BenchmarkApplyGrantsParallel is the token endpoint's write: one ApplyGrants
// storing one access token record (a request of about 600 bytes) per operation,
// from many goroutines at once, which share commits and their fsyncs (db.Batch).
// Keys are random, as signatures are; ops/s is the store's write throughput.
func BenchmarkApplyGrantsParallel(b *testing.B) {
	for _, parallelism := range []int{1, 8, 32} {
		goroutines := parallelism * runtime.GOMAXPROCS(0)
		b.Run(fmt.Sprintf("goroutines=%d", goroutines), func(b *testing.B) {
			s := openBenchStore(b)
			ctx := context.Background()
			data := bytes.Repeat([]byte(`{"client_id":"nav-portal","scope":"openid skatt"}`), 13)[:600]
			expires := time.Now().Add(time.Hour)
			var seq atomic.Uint64
			b.SetParallelism(parallelism)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					n := seq.Add(1)
					sig := sha256.Sum256(binary.BigEndian.AppendUint64(nil, n))
					rec := grants.Record{
						Kind: grants.Access, Key: base64.RawURLEncoding.EncodeToString(sig[:]),
						RequestID: fmt.Sprintf("%x-%x", sig[:4], sig[4:16]),
						ExpiresAt: expires.Add(time.Duration(n) * time.Millisecond), Data: data,
					}
					if err := s.ApplyGrants(ctx, grants.Put(rec)); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
		})
	}
}
