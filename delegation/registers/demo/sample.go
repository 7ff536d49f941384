package demo

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"

	"github.com/fullmakt/fullmakt/delegation"
)

// Pair is an actor and a party a register feed links, by the kind of relation.
type Pair struct {
	Kind  delegation.RelationKind
	Actor delegation.PartyID
	Party delegation.PartyID
}

// Sample reads a register feed (as Generate writes it) and returns up to n pairs of
// each relation kind (parent, guardian, role, fullmakt) and up to n persons, each
// chosen uniformly with a seeded reservoir, so benchmarks and load tests ask about
// real relations spread over the whole population, the same ones on every run.
func Sample(r io.Reader, n int, seed uint64) (pairs map[delegation.RelationKind][]Pair, persons []delegation.PartyID, err error) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	pairs = map[delegation.RelationKind][]Pair{}
	seen := map[delegation.RelationKind]int{}
	keep := func(k delegation.RelationKind, p Pair) {
		seen[k]++
		switch list := pairs[k]; {
		case len(list) < n:
			pairs[k] = append(list, p)
		default:
			if j := rng.IntN(seen[k]); j < n {
				list[j] = p
			}
		}
	}
	var personsSeen int
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		var rec struct {
			Type                 string
			ID                   delegation.PartyID
			Parent, Child        delegation.PartyID
			Guardian, Ward       delegation.PartyID
			Person, Organization delegation.PartyID
			Grantor, Proxy       delegation.PartyID
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return nil, nil, fmt.Errorf("demo: sample line %d: %w", line, err)
		}
		switch rec.Type {
		case "person":
			personsSeen++
			if len(persons) < n {
				persons = append(persons, rec.ID)
			} else if j := rng.IntN(personsSeen); j < n {
				persons[j] = rec.ID
			}
		case "parental_responsibility":
			keep(delegation.RelParent, Pair{delegation.RelParent, rec.Parent, rec.Child})
		case "guardianship":
			keep(delegation.RelGuardian, Pair{delegation.RelGuardian, rec.Guardian, rec.Ward})
		case "role":
			keep(delegation.RelRole, Pair{delegation.RelRole, rec.Person, rec.Organization})
		case "fullmakt":
			keep(delegation.RelFullmakt, Pair{delegation.RelFullmakt, rec.Proxy, rec.Grantor})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("demo: sample: %w", err)
	}
	return pairs, persons, nil
}
