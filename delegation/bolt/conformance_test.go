package bolt_test

import (
	"path/filepath"
	"testing"

	"github.com/fullmakt/fullmakt/conformance/storetest"
	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/delegation/bolt"
	"github.com/fullmakt/fullmakt/idp/accounts"
	"github.com/fullmakt/fullmakt/idp/grants"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) delegation.Store {
		s, err := bolt.Open(filepath.Join(t.TempDir(), "fullmakt.db"), bolt.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestGrantsConformance(t *testing.T) {
	storetest.RunGrants(t, func(t *testing.T) grants.Store {
		s, err := bolt.Open(filepath.Join(t.TempDir(), "fullmakt.db"), bolt.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestAccountsConformance(t *testing.T) {
	storetest.RunAccounts(t, func(t *testing.T) accounts.Store {
		s, err := bolt.Open(filepath.Join(t.TempDir(), "fullmakt.db"), bolt.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
