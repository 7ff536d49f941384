package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"github.com/fullmakt/fullmakt/authz"
)

// packFingerprint hashes the names and contents of the files a pack is made of,
// so the watcher loads a pack only when something in it changed.
func packFingerprint(fsys fs.FS) (string, error) {
	files, err := authz.PackFiles(fsys)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, name := range files {
		b, err := fs.ReadFile(fsys, name)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", name, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// packWatcher reloads the policy pack in a folder when it changes. A change that
// does not load (a syntax error, a policy that fails validation, a half-written
// file) is logged once and the running pack stays.
type packWatcher struct {
	dir      string
	interval time.Duration
	log      *slog.Logger
	seen     string // fingerprint of the files last looked at, loaded or not
}

// newPackWatcher loads the pack in dir; it fails when that first pack is invalid.
func newPackWatcher(dir string, interval time.Duration, log *slog.Logger) (*packWatcher, *authz.Pack, error) {
	w := &packWatcher{dir: dir, interval: interval, log: log}
	fsys := os.DirFS(dir)
	fp, err := packFingerprint(fsys)
	if err != nil {
		return nil, nil, fmt.Errorf("policy pack %s: %w", dir, err)
	}
	pack, err := authz.Load(fsys)
	if err != nil {
		return nil, nil, fmt.Errorf("policy pack %s: %w", dir, err)
	}
	w.seen = fp
	return w, pack, nil
}

// run polls the folder until ctx ends, calling swap with every new valid pack
// and rejected after every change that does not load.
func (w *packWatcher) run(ctx context.Context, swap func(*authz.Pack), rejected func()) {
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.check(ctx, swap, rejected)
		}
	}
}

func (w *packWatcher) check(ctx context.Context, swap func(*authz.Pack), rejected func()) {
	fsys := os.DirFS(w.dir)
	fp, err := packFingerprint(fsys)
	if err != nil {
		if fp != w.seen {
			w.log.LogAttrs(ctx, slog.LevelError, "policy pack unreadable; keeping the running pack",
				slog.String("dir", w.dir), slog.Any("error", err))
		}
		w.seen = fp
		return
	}
	if fp == w.seen {
		return
	}
	w.seen = fp
	pack, err := authz.Load(fsys)
	if err != nil {
		w.log.LogAttrs(ctx, slog.LevelError, "policy pack change rejected; keeping the running pack",
			slog.String("dir", w.dir), slog.Any("error", err))
		rejected()
		return
	}
	swap(pack)
	w.log.LogAttrs(ctx, slog.LevelInfo, "policy pack loaded", slog.String("dir", w.dir),
		slog.String("version", pack.Version), slog.Int("policies", len(pack.Policies)),
		slog.Int("services", len(pack.Catalogue.Services)))
}
