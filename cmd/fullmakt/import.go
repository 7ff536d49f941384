package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"time"

	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/delegation/bolt"
	"github.com/fullmakt/fullmakt/delegation/registers"
)

func runImport(ctx context.Context, c cli, args []string) int {
	cfg := DefaultImportConfig()
	flags := newFlagSet("import", "fullmakt import [flags] FILE...",
		"Imports register feeds in JSON Lines, one record per line, into the database\n"+
			"DIR/"+dbFile+". FILE - is standard input. Import is idempotent: a record already\n"+
			"stored is left alone. Bad lines are reported as FILE:LINE: message and the\n"+
			"good ones are stored, unless --strict. The exit status is 0 when every line\n"+
			"was imported, 1 when any line failed or the import stopped, 2 for a usage error.")
	flags.StringVar(&cfg.DataDir, "data", cfg.DataDir, "keep the database in `DIR` (created, mode 0700)")
	flags.BoolVar(&cfg.Strict, "strict", cfg.Strict, "store nothing from a file in which any line fails")
	flags.IntVar(&cfg.BatchSize, "batch", cfg.BatchSize, "commit every `N` records (one transaction each)")
	flags.BoolVar(&cfg.AllowSyntheticIDs, "allow-synthetic-ids", cfg.AllowSyntheticIDs, "accept synthetic test identity numbers (demo and test data)")
	flags.IntVar(&cfg.MemoryLimitMiB, "memory-limit", cfg.MemoryLimitMiB, "soft memory limit of the Go runtime while importing, in `MiB` (0: none)")
	if code, done := flags.parse(c, args); done {
		return code
	}
	cfg.Files = flags.Args()
	if err := cfg.Validate(); err != nil {
		return invalid(c, "import", err)
	}
	if cfg.MemoryLimitMiB > 0 {
		previous := debug.SetMemoryLimit(int64(cfg.MemoryLimitMiB) << 20)
		defer debug.SetMemoryLimit(previous)
	}
	store, err := openStore(cfg.DataDir, cfg.LockTimeout)
	if err != nil {
		fmt.Fprintf(c.stderr, "fullmakt import: %v\n", err)
		return exitError
	}
	ok := importFiles(ctx, c, store, cfg)
	if err := store.Close(); err != nil {
		fmt.Fprintf(c.stderr, "fullmakt import: close the store: %v\n", err)
		ok = false
	}
	if !ok {
		return exitError
	}
	return exitOK
}

// importFiles imports the files in order and reports whether every line of every
// file was imported. It stops at the first file that cannot be read or is rejected:
// later files usually refer to the persons of earlier ones.
func importFiles(ctx context.Context, c cli, store *bolt.Store, cfg ImportConfig) bool {
	allOK := true
	for _, file := range cfg.Files {
		sum, err := importFile(ctx, c, store, cfg, file)
		switch {
		case errors.Is(err, registers.ErrRejected):
			fmt.Fprintf(c.stderr, "%s: rejected: %d of %d records failed, so nothing from this file was stored (--strict)\n",
				displayName(file), sum.Failed, sum.Records)
			return false
		case errors.Is(err, context.Canceled):
			fmt.Fprintf(c.stderr, "%s: interrupted: the batches committed so far are kept, and importing the file again finishes the work\n",
				displayName(file))
			return false
		case err != nil:
			fmt.Fprintf(c.stderr, "fullmakt import: %s: %v\n", displayName(file), err)
			return false
		}
		fmt.Fprintln(c.stderr, summaryLine(displayName(file), sum))
		if sum.Failed > 0 {
			allOK = false
		}
	}
	return allOK
}

func importFile(ctx context.Context, c cli, store *bolt.Store, cfg ImportConfig, file string) (registers.Summary, error) {
	var (
		r    io.Reader
		size int64
	)
	if file == "-" {
		r = c.stdin
	} else {
		f, err := os.Open(file)
		if err != nil {
			return registers.Summary{}, err
		}
		defer f.Close()
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			size = fi.Size()
		}
		r = f
	}
	counter := &commitCounter{Updater: store}
	progress := &progressPrinter{w: c.stderr, name: displayName(file), batch: int64(cfg.BatchSize), commits: counter}
	return registers.Import(ctx, counter, r, registers.Options{
		Name:      displayName(file),
		Strict:    cfg.Strict,
		BatchSize: cfg.BatchSize,
		IDs:       delegation.IDRules{AllowSynthetic: cfg.AllowSyntheticIDs},
		Now:       time.Now,
		Size:      size,
		Progress:  progress.report,
		OnError: func(le registers.LineError) {
			// "FILE:LINE: message"; messages never echo an identity number.
			fmt.Fprintln(c.stderr, le.Error())
		},
	})
}

// commitCounter counts the transactions an import has committed. Every one but the
// last holds exactly BatchSize records (registers.Options), so the count tells how
// many records are safely stored whatever happens next: after a crash, at least
// that many lines from the top of the file are in the database.
type commitCounter struct {
	registers.Updater
	n int64
}

func (c *commitCounter) UpdateRegister(ctx context.Context, fn func(delegation.RegisterTx) error) error {
	err := c.Updater.UpdateRegister(ctx, fn)
	if err == nil {
		c.n++
	}
	return err
}

func displayName(file string) string {
	if file == "-" {
		return "stdin"
	}
	return file
}

// progressPrinter prints the progress registers.Import reports (about once a
// second), once the import has run for a second, so that short imports print only
// their summary: "people.jsonl: 1,234,567 records  61,234 records/s  ETA 12s  1,230,000 committed".
type progressPrinter struct {
	w       io.Writer
	name    string
	batch   int64
	commits *commitCounter
}

func (p *progressPrinter) report(pr registers.Progress) {
	if pr.Elapsed < time.Second {
		return
	}
	committed := min(p.commits.n*p.batch, pr.Records)
	fmt.Fprintf(p.w, "%s: %s  %s committed\n", p.name, registers.FormatProgress(pr), thousands(committed))
}

// summaryLine is the one line an import of one file ends with:
// "people.jsonl: 1,000,000 records, 999,998 stored, 0 unchanged, 2 failed in 18.2s (54,945 records/s)".
func summaryLine(name string, s registers.Summary) string {
	secs := s.Elapsed.Seconds()
	rate := "-"
	if secs > 0 {
		rate = thousands(int64(float64(s.Records) / secs))
	}
	return fmt.Sprintf("%s: %s records, %s stored, %s unchanged, %s failed in %.1fs (%s records/s)",
		name, thousands(s.Records), thousands(s.Changed), thousands(s.Unchanged), thousands(s.Failed), secs, rate)
}

// thousands formats n with commas between groups of three digits: 1,234,567.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	var b []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, s[i])
	}
	if neg {
		return "-" + string(b)
	}
	return string(b)
}
