package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/fullmakt/fullmakt/delegation/bolt"
)

// openStore opens the bbolt store in dir, creating dir (mode 0700: the file holds
// identity numbers) when it does not exist. bbolt lets one process at a time open
// the file; when another holds it past lockTimeout, the error says so plainly.
func openStore(dir string, lockTimeout time.Duration) (*bolt.Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create the data directory: %w", err)
	}
	s, err := bolt.Open(filepath.Join(dir, dbFile), bolt.Options{Timeout: lockTimeout})
	if errors.Is(err, bolt.ErrLocked) {
		return nil, fmt.Errorf("another fullmakt process is using %s", dir)
	}
	return s, err
}
