package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/fullmakt/fullmakt/delegation/bolt"
	"github.com/fullmakt/fullmakt/idp"
)

// runKeys is `fullmakt keys list|rotate`: the operator's view of the token signing
// keys, which the server otherwise creates, rotates and retires on its own.
func runKeys(ctx context.Context, c cli, args []string) int {
	return subcommands(ctx, c, "keys", args, map[string]func(context.Context, cli, []string) int{
		"list":   runKeysList,
		"rotate": runKeysRotate,
	}, `Usage:
  fullmakt keys list [flags]            list the signing keys and what each does now
  fullmakt keys rotate [--now] [flags]  make a new signing key

The server signs ID tokens and access tokens with one key and publishes every key
it has in its JWKS (the jwks_uri of its discovery document). It makes a new key
every 30 days, publishes it an hour before it starts signing, and keeps the old key
published until the tokens it signed have expired. Rotate by hand when a key may
have leaked (rotate --now).

The keys are in the database DIR/`+dbFile+`, which fullmakt serve holds while it
runs: stop the server first, or the command waits --lock-timeout and gives up.
`)
}

// KeysConfig configures `fullmakt keys`.
type KeysConfig struct {
	DataDir     string
	LockTimeout time.Duration // how long to wait for the server to let go of the store
	Now         bool          // rotate: the new key signs at once
}

// DefaultKeysConfig returns the configuration the flags start from.
func DefaultKeysConfig() KeysConfig {
	return KeysConfig{DataDir: defaultDataDir, LockTimeout: time.Second}
}

// Validate reports every problem of the configuration at once.
func (c KeysConfig) Validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("--data: the data directory is empty"))
	}
	if c.LockTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--lock-timeout: %s is not a positive duration", c.LockTimeout))
	}
	return errors.Join(errs...)
}

// keysFlags defines the flags both subcommands take.
func keysFlags(name, synopsis, about string, cfg *KeysConfig) *flagSet {
	flags := newFlagSet(name, synopsis, about+"\n\n"+
		"The keys are in DIR/"+dbFile+", which fullmakt serve holds while it runs: stop\n"+
		"the server first, or the command waits --lock-timeout and gives up.")
	flags.StringVar(&cfg.DataDir, "data", cfg.DataDir, "the database is in `DIR`")
	flags.fs.DurationVar(&cfg.LockTimeout, "lock-timeout", cfg.LockTimeout, "wait up to `DURATION` for another process (fullmakt serve) to release the database")
	return flags
}

func runKeysList(ctx context.Context, c cli, args []string) int {
	cfg := DefaultKeysConfig()
	flags := keysFlags("keys list", "fullmakt keys list [flags]",
		"Lists the token signing keys, oldest first: the key id (kid), the algorithm,\n"+
			"when the key was made, when it starts or started signing, and its state:\n"+
			"pending (published, not signing yet), signing, or retiring (published until\n"+
			"the tokens it signed have expired, then deleted).", &cfg)
	if code, done := flags.parse(c, args); done {
		return code
	}
	if len(flags.Args()) > 0 {
		fmt.Fprintf(c.stderr, "fullmakt keys list: takes no arguments, got %q\n", flags.Args())
		return exitUsage
	}
	if err := cfg.Validate(); err != nil {
		return invalid(c, "keys list", err)
	}
	store, ok := openKeysStore(c, "list", cfg)
	if !ok {
		return exitError
	}
	defer store.Close()
	infos, err := idp.NewKeys(store, idp.DefaultKeyConfig(), time.Now).List(ctx)
	if err != nil {
		fmt.Fprintf(c.stderr, "fullmakt keys list: %v\n", err)
		return exitError
	}
	if len(infos) == 0 {
		fmt.Fprintln(c.stdout, "No signing keys yet: fullmakt serve makes the first when it starts.")
		return exitOK
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tALG\tCREATED\tSIGNS FROM\tSTATE")
	for _, k := range infos {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.Algorithm, formatKeyTime(k.CreatedAt), formatKeyTime(k.SignsFrom), k.State)
	}
	if err := tw.Flush(); err != nil {
		fmt.Fprintf(c.stderr, "fullmakt keys list: %v\n", err)
		return exitError
	}
	return exitOK
}

func runKeysRotate(ctx context.Context, c cli, args []string) int {
	cfg := DefaultKeysConfig()
	lead := idp.DefaultKeyConfig().PublishLead
	flags := keysFlags("keys rotate", "fullmakt keys rotate [--now] [flags]",
		fmt.Sprintf("Makes a new token signing key. It is published at once and signs from %s\n"+
			"later, so that relying parties that cache the keys know it first; with --now\n"+
			"it signs at once (when the current key may have leaked). The key it replaces\n"+
			"stays published until the tokens it signed have expired. A new key that was\n"+
			"waiting to sign is deleted: it has signed nothing.", lead), &cfg)
	flags.BoolVar(&cfg.Now, "now", cfg.Now, "the new key signs at once, not an hour later")
	if code, done := flags.parse(c, args); done {
		return code
	}
	if len(flags.Args()) > 0 {
		fmt.Fprintf(c.stderr, "fullmakt keys rotate: takes no arguments, got %q\n", flags.Args())
		return exitUsage
	}
	if err := cfg.Validate(); err != nil {
		return invalid(c, "keys rotate", err)
	}
	store, ok := openKeysStore(c, "rotate", cfg)
	if !ok {
		return exitError
	}
	now := time.Now()
	key, err := idp.NewKeys(store, idp.DefaultKeyConfig(), func() time.Time { return now }).Rotate(ctx, cfg.Now)
	if cerr := store.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close the store: %w", cerr)
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "fullmakt keys rotate: %v\n", err)
		return exitError
	}
	if key.SignsFrom.After(now) {
		fmt.Fprintf(c.stdout, "New signing key %s: published now, signs from %s (in %s).\n",
			key.ID, formatKeyTime(key.SignsFrom), key.SignsFrom.Sub(now).Round(time.Second))
	} else {
		fmt.Fprintf(c.stdout, "New signing key %s: published and signing from now (%s).\n", key.ID, formatKeyTime(key.SignsFrom))
	}
	fmt.Fprintln(c.stdout, "Start fullmakt serve again to use it.")
	return exitOK
}

// openKeysStore opens the existing database in cfg.DataDir; it reports why not on
// stderr. It does not create one: a mistyped --data would otherwise give a new,
// empty database.
func openKeysStore(c cli, sub string, cfg KeysConfig) (*bolt.Store, bool) {
	path := filepath.Join(cfg.DataDir, dbFile)
	if _, err := os.Stat(path); err != nil {
		fmt.Fprintf(c.stderr, "fullmakt keys %s: no database at %s (is --data right?)\n", sub, path)
		return nil, false
	}
	store, err := bolt.Open(path, bolt.Options{Timeout: cfg.LockTimeout})
	if errors.Is(err, bolt.ErrLocked) {
		fmt.Fprintf(c.stderr, "fullmakt keys %s: %s is in use by another process, most likely fullmakt serve.\n"+
			"Stop the server and run this again (waited %s; see --lock-timeout).\n", sub, path, cfg.LockTimeout)
		return nil, false
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "fullmakt keys %s: %v\n", sub, err)
		return nil, false
	}
	return store, true
}

// formatKeyTime formats t for the key listing: UTC, to the second.
func formatKeyTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }
