package main

import (
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

// packWatcher reloads the policy pack in a folder when it changes.
type packWatcher = fileWatcher[*authz.Pack]

// newPackWatcher loads the pack in dir; it fails when that first pack is invalid.
func newPackWatcher(dir string, interval time.Duration, log *slog.Logger) (*packWatcher, *authz.Pack, error) {
	w := &packWatcher{
		what: "policy pack", running: "the running pack", where: slog.String("dir", dir),
		interval: interval, log: log,
		fingerprint: func() (string, error) { return packFingerprint(os.DirFS(dir)) },
		load:        func() (*authz.Pack, error) { return authz.Load(os.DirFS(dir)) },
		describe: func(p *authz.Pack) []slog.Attr {
			return []slog.Attr{slog.String("version", p.Version), slog.Int("policies", len(p.Policies)),
				slog.Int("services", len(p.Catalogue.Services))}
		},
	}
	pack, err := w.start()
	if err != nil {
		return nil, nil, fmt.Errorf("policy pack %s: %w", dir, err)
	}
	return w, pack, nil
}
