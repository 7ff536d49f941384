package main

import (
	"context"
	"log/slog"
	"time"
)

// fileWatcher reloads something the server reads from disk (the policy pack, the
// clients file) when it changes. It polls: every interval it takes a fingerprint of
// the files, and only when that differs from the last one seen does it load them. A
// change that does not load (a syntax error, a rule that fails validation, a
// half-written file) is logged once, and the running value stays until the files
// change again.
//
// Polling rather than inotify: it works the same on every platform and filesystem
// (network mounts, Kubernetes ConfigMaps replaced by a symlink swap), and a
// fingerprint a second of a few small files costs next to nothing.
type fileWatcher[T any] struct {
	what     string    // what is watched, in log messages: "policy pack"
	running  string    // what is kept after a bad change: "the running pack"
	where    slog.Attr // where it is: dir=… or file=…
	interval time.Duration
	log      *slog.Logger

	// fingerprint summarises the files; the same fingerprint means nothing changed.
	fingerprint func() (string, error)
	// load reads and validates the files.
	load func() (T, error)
	// describe returns the attributes logged with a new value.
	describe func(T) []slog.Attr

	seen string // fingerprint of the files last looked at, loaded or not
}

// start takes the first fingerprint and loads the first value; it fails when that
// value does not load.
func (w *fileWatcher[T]) start() (T, error) {
	var zero T
	fp, err := w.fingerprint()
	if err != nil {
		return zero, err
	}
	v, err := w.load()
	if err != nil {
		return zero, err
	}
	w.seen = fp
	return v, nil
}

// run polls until ctx ends, calling swap with every new value that loads and
// rejected after every change that does not.
func (w *fileWatcher[T]) run(ctx context.Context, swap func(T), rejected func()) {
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

// check looks once.
func (w *fileWatcher[T]) check(ctx context.Context, swap func(T), rejected func()) {
	fp, err := w.fingerprint()
	if err != nil {
		if fp != w.seen {
			w.log.LogAttrs(ctx, slog.LevelError, w.what+" unreadable; keeping "+w.running,
				w.where, slog.Any("error", err))
		}
		w.seen = fp
		return
	}
	if fp == w.seen {
		return
	}
	w.seen = fp
	v, err := w.load()
	if err != nil {
		w.log.LogAttrs(ctx, slog.LevelError, w.what+" change rejected; keeping "+w.running,
			w.where, slog.Any("error", err))
		rejected()
		return
	}
	swap(v)
	w.log.LogAttrs(ctx, slog.LevelInfo, w.what+" loaded", append([]slog.Attr{w.where}, w.describe(v)...)...)
}
