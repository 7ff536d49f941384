package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/delegation/registers/demo"
)

func runDemoData(_ context.Context, c cli, args []string) int {
	cfg := DefaultDemoDataConfig()
	flags := newFlagSet("demo-data", "fullmakt demo-data [flags]",
		"Writes a synthetic population as a register feed in JSON Lines, ready for\n"+
			"\"fullmakt import --allow-synthetic-ids\": households with parental responsibility,\n"+
			"guardianships, organisations with their roles, and migrated fullmakter. Identity\n"+
			"numbers are synthetic test numbers, none of them the demo cast's (serve --demo\n"+
			"loads the cast). The same seed and day give the same file.")
	flags.IntVar(&cfg.Persons, "persons", cfg.Persons, "generate `N` persons")
	flags.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed the generator with `S`")
	flags.StringVar(&cfg.Out, "out", cfg.Out, "write to `FILE`; - is standard output")
	flags.StringVar(&cfg.Today, "today", cfg.Today, "generate for the day `YYYY-MM-DD` (default today in Oslo)")
	var cast bool
	flags.BoolVar(&cast, "cast", false, "write the demo cast that serve --demo loads, with full identity numbers, to standard output instead of a population")
	if code, done := flags.parse(c, args); done {
		return code
	}
	if len(flags.Args()) > 0 {
		fmt.Fprintf(c.stderr, "fullmakt demo-data: takes no arguments, got %q\n", flags.Args())
		return exitUsage
	}
	if err := cfg.Validate(); err != nil {
		return invalid(c, "demo-data", err)
	}
	now := time.Now()
	if cfg.Today != "" {
		day, _ := delegation.ParseDate(cfg.Today) // checked by Validate
		// Noon in Oslo: the same calendar day wherever the generator reads the date.
		now = day.Start().Add(12 * time.Hour)
	}
	if cast {
		if err := demo.WriteCast(c.stdout, now); err != nil {
			fmt.Fprintf(c.stderr, "fullmakt demo-data: %v\n", err)
			return exitError
		}
		return exitOK
	}
	start := time.Now()
	stats, err := writeDemoData(c.stdout, cfg, now)
	if err != nil {
		fmt.Fprintf(c.stderr, "fullmakt demo-data: %v\n", err)
		return exitError
	}
	fmt.Fprintf(c.stderr, "%s: %s records in %.1fs: %s persons, %s organizations, %s parental responsibilities, %s guardianships, %s roles, %s fullmakter\n",
		displayOut(cfg.Out), thousands(int64(stats.Records())), time.Since(start).Seconds(),
		thousands(int64(stats.Persons)), thousands(int64(stats.Organizations)), thousands(int64(stats.Parental)),
		thousands(int64(stats.Guardianships)), thousands(int64(stats.Roles)), thousands(int64(stats.Fullmakter)))
	return exitOK
}

func writeDemoData(stdout io.Writer, cfg DemoDataConfig, now time.Time) (stats demo.Stats, err error) {
	w := stdout
	if cfg.Out != "-" {
		f, err := os.Create(cfg.Out)
		if err != nil {
			return stats, err
		}
		defer func() {
			if cerr := f.Close(); cerr != nil {
				err = errors.Join(err, cerr)
			}
		}()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	stats, err = demo.Generate(bw, demo.Options{Persons: cfg.Persons, Seed: cfg.Seed, Now: now})
	if err != nil {
		return stats, err
	}
	return stats, bw.Flush()
}

func displayOut(out string) string {
	if out == "-" {
		return "stdout"
	}
	return out
}
