// Package bolttest gives benchmarks of several packages one demo population in a
// bbolt store, generated and imported once and, when FULLMAKT_BENCH_DIR is set,
// kept between runs. It is for tests and benchmarks only.
package bolttest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/delegation/bolt"
	"github.com/fullmakt/fullmakt/delegation/registers"
	"github.com/fullmakt/fullmakt/delegation/registers/demo"
)

// Now is the day the population is made for.
var Now = time.Date(2026, 11, 23, 12, 0, 0, 0, delegation.Oslo())

// Population opens a store holding the demo population of FULLMAKT_BENCH_PERSONS
// persons (persons when unset; docs/BENCHMARKS.md uses 1,000,000), seed 1, made
// for Now. It returns the store and the path of the feed it was imported from. The
// feed and the store live in FULLMAKT_BENCH_DIR, or in a new temporary folder.
func Population(persons int) (*bolt.Store, string, error) {
	if v, err := strconv.Atoi(os.Getenv("FULLMAKT_BENCH_PERSONS")); err == nil && v > 0 {
		persons = v
	}
	dir := os.Getenv("FULLMAKT_BENCH_DIR")
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "fullmakt-bench-"); err != nil {
			return nil, "", err
		}
	}
	name := filepath.Join(dir, "population-"+strconv.Itoa(persons))
	feed := name + ".jsonl"
	if _, err := os.Stat(feed); err != nil {
		if err := writeFeed(feed, persons); err != nil {
			return nil, "", fmt.Errorf("bolttest: write the population: %w", err)
		}
	}
	store, err := bolt.Open(name+".db", bolt.Options{})
	if err != nil {
		return nil, "", err
	}
	f, err := os.Open(feed)
	if err != nil {
		store.Close()
		return nil, "", err
	}
	defer f.Close()
	// Importing an already imported feed changes nothing and is quick.
	if _, err := registers.Import(context.Background(), store, f, registers.Options{
		Name: feed, IDs: delegation.IDRules{AllowSynthetic: true}, Now: func() time.Time { return Now },
	}); err != nil {
		store.Close()
		return nil, "", fmt.Errorf("bolttest: import the population: %w", err)
	}
	return store, feed, nil
}

// writeFeed generates the population beside path and renames it into place, so an
// interrupted run never leaves half a feed.
func writeFeed(path string, persons int) error {
	f, err := os.Create(path + ".tmp")
	if err != nil {
		return err
	}
	if _, err := demo.Generate(f, demo.Options{Persons: persons, Seed: 1, Now: Now}); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}

// Sample returns up to n relations of each kind, and n persons, from the feed
// (demo.Sample with seed 1).
func Sample(feed string, n int) (map[delegation.RelationKind][]demo.Pair, []delegation.PartyID, error) {
	f, err := os.Open(feed)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	return demo.Sample(f, n, 1)
}
