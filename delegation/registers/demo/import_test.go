package demo_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/delegation/bolt"
	"github.com/fullmakt/fullmakt/delegation/registers"
	"github.com/fullmakt/fullmakt/delegation/registers/demo"
)

func openStore(t *testing.T) *bolt.Store {
	t.Helper()
	store, err := bolt.Open(filepath.Join(t.TempDir(), "db"), bolt.Options{})
	if err != nil {
		t.Fatalf("bolt.Open: %v", err)
	}
	t.Cleanup(func() {
		if err := store.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return store
}

// importData imports data through the real importer, as `fullmakt import
// --allow-synthetic-ids` and `serve --demo` do, and fails the test for every line it
// refuses.
func importData(t *testing.T, store *bolt.Store, name string, data []byte, at time.Time) registers.Summary {
	t.Helper()
	sum, err := registers.Import(context.Background(), store, bytes.NewReader(data), registers.Options{
		Name:    name,
		IDs:     delegation.IDRules{AllowSynthetic: true},
		Now:     func() time.Time { return at },
		OnError: func(e registers.LineError) { t.Errorf("import refused %v", e) },
	})
	if err != nil {
		t.Fatalf("Import(%s): %v", name, err)
	}
	if sum.Failed != 0 {
		t.Errorf("Import(%s): %d of %d records failed, want 0", name, sum.Failed, sum.Records)
	}
	return sum
}

// checkStored checks that every record of data is in the store, found through the
// store's own queries.
func checkStored(t *testing.T, store *bolt.Store, data []byte) {
	t.Helper()
	ctx := context.Background()
	relations := func(actor, party string) delegation.Relations {
		rels, err := store.Relations(ctx, delegation.PartyID(actor), delegation.PartyID(party))
		if err != nil {
			t.Fatalf("Relations: %v", err)
		}
		return rels
	}
	missing := 0
	for i, l := range parseLines(t, data) {
		var found bool
		switch l.Type {
		case "person":
			p, err := store.Person(ctx, delegation.PartyID(l.ID))
			found = err == nil && p.Name == l.Name && p.BirthDate.String() == l.BirthDate && p.DeathDate.String() == l.DeathDate &&
				p.ConfidentialAddress == l.ConfidentialAddress
		case "organization":
			o, err := store.Organization(ctx, delegation.PartyID(l.ID))
			found = err == nil && o.Name == l.Name
		case "parental_responsibility":
			found = slices.ContainsFunc(relations(l.Parent, l.Child).Parental, func(r delegation.ParentalResponsibility) bool {
				return string(r.Kind) == l.Kind && r.ValidFrom.String() == l.ValidFrom && r.CeasedAt.String() == l.CeasedAt
			})
		case "guardianship":
			found = slices.ContainsFunc(relations(l.Guardian, l.Ward).Guardianships, func(g delegation.Guardianship) bool {
				return slices.Equal(g.Scope, l.Scope) && g.Period.From.String() == l.ValidFrom && g.Period.To.String() == l.ValidTo
			})
		case "role":
			found = slices.ContainsFunc(relations(l.Person, l.Organization).Roles, func(r delegation.Role) bool { return r.Role == l.Role })
		case "fullmakt":
			found = slices.ContainsFunc(relations(l.Proxy, l.Grantor).Fullmakter, func(f delegation.Fullmakt) bool {
				return f.Origin == delegation.OriginMigration && f.Status == delegation.StatusActive &&
					f.Period.From.String() == l.ValidFrom && f.Period.To.String() == l.ValidTo && f.MaySubdelegate == l.MaySubdelegate
			})
		}
		if !found {
			if missing++; missing <= 10 {
				t.Errorf("line %d (%s) is not in the store as written", i+1, l.Type)
			}
		}
	}
}

func TestGeneratedPopulationImports(t *testing.T) {
	for _, seed := range []uint64{1, 2} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			store := openStore(t)
			data, st := generate(t, demo.Options{Persons: 5000, Seed: seed, Now: now})
			sum := importData(t, store, "population", data, now)
			if sum.Records != int64(st.Records()) || sum.Changed != sum.Records {
				t.Errorf("Import: %+v, want all %d records stored", sum, st.Records())
			}
			checkStored(t, store, data)
			// The CLI fixes the day the file is made; it is imported later.
			again := importData(t, store, "population, a year later", data, now.AddDate(1, 0, 0))
			if again.Unchanged != again.Records || again.Changed != 0 {
				t.Errorf("Import again: %+v, want every record unchanged", again)
			}
		})
	}
}

func TestCastImports(t *testing.T) {
	store := openStore(t)
	var cast bytes.Buffer
	if err := demo.WriteCast(&cast, now); err != nil {
		t.Fatal(err)
	}
	sum := importData(t, store, "cast", cast.Bytes(), now)
	if sum.Changed != sum.Records || sum.Records == 0 {
		t.Errorf("Import(cast): %+v, want every record stored", sum)
	}
	checkStored(t, store, cast.Bytes())

	// serve --demo loads the cast on every start.
	restart := now.Add(36 * time.Hour)
	var again bytes.Buffer
	if err := demo.WriteCast(&again, restart); err != nil {
		t.Fatal(err)
	}
	if sum := importData(t, store, "cast after a restart", again.Bytes(), restart); sum.Changed != 0 {
		t.Errorf("Import(cast) after a restart the same month: %+v, want nothing changed", sum)
	}

	// A store kept across months collects each month's cast, and a population.
	for months := 1; months <= 14; months++ {
		later := now.AddDate(0, months, 0)
		var next bytes.Buffer
		if err := demo.WriteCast(&next, later); err != nil {
			t.Fatal(err)
		}
		importData(t, store, "cast "+later.Format("2006-01"), next.Bytes(), later)
		checkStored(t, store, next.Bytes())
	}
	data, _ := generate(t, demo.Options{Persons: 5000, Seed: 9, Now: now})
	importData(t, store, "population after casts", data, now.AddDate(1, 3, 0))
	checkStored(t, store, cast.Bytes())
}
