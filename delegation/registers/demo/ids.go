package demo

import (
	"fmt"

	"github.com/fullmakt/fullmakt/delegation"
)

// Individual numbers (the three digits after the birth date) are split between the
// cast and the generated population, so that both can be imported into one store
// without an identity number naming two people: the cast takes the first castInds
// numbers of each century range (000–009 for births in the 1900s, 500–509 for births
// from 2000), the generator the rest.
const castInds = 10

// indRange returns how many individual numbers the generator may use for a birth in
// year, and the i-th of them: 010–499 for 1900–1939; 010–499 and 900–999 for
// 1940–1999; 510–999 for 2000–2039 (see the century rules of the fødselsnummer).
// Other years have none.
func indRange(year int) (n int, ind func(i int) int) {
	switch {
	case year >= 1900 && year <= 1939:
		return 500 - castInds, func(i int) int { return castInds + i }
	case year >= 1940 && year <= 1999:
		return 600 - castInds, func(i int) int {
			if i < 500-castInds {
				return castInds + i
			}
			return 900 + i - (500 - castInds)
		}
	case year >= 2000 && year <= 2039:
		return 500 - castInds, func(i int) int { return 500 + castInds + i }
	}
	return 0, nil
}

// indStride walks the individual numbers of a date in a scattered order. It is prime
// and divides none of the range sizes (490, 590), so i ↦ (i·stride + offset) mod n
// visits every number exactly once.
const indStride = 97

// idAllocator hands out synthetic identity numbers, never the same one twice. It
// remembers, per birth date, how far it has walked that date's individual numbers:
// memory grows with the number of distinct birth dates (about 40,000 for a century),
// not with the number of persons.
type idAllocator struct {
	salt uint64
	next map[delegation.Date]int
}

func newIDAllocator(salt uint64) *idAllocator {
	return &idAllocator{salt: salt, next: make(map[delegation.Date]int)}
}

// allocate returns a fresh synthetic identity number for a person born on birth, or
// false when every individual number of that date is taken or the year has none.
func (a *idAllocator) allocate(birth delegation.Date) (delegation.PartyID, bool) {
	n, ind := indRange(birth.Year)
	if n == 0 {
		return "", false
	}
	offset := int(splitmix(a.salt^uint64(birth.Year)<<16^uint64(birth.Month)<<8^uint64(birth.Day)) % uint64(n))
	for i := a.next[birth]; i < n; i++ {
		if id, ok := delegation.NorwegianPersonID(birth, ind((i*indStride+offset)%n), false, true); ok {
			a.next[birth] = i + 1
			return id, true
		}
	}
	a.next[birth] = n
	return "", false
}

// allocateNear is allocate for a birth date that may move a few days when its own
// date is full (a population far larger than Norway's): it tries birth, then the days
// around it that are not after latest, and returns the date it used.
func (a *idAllocator) allocateNear(birth, latest delegation.Date) (delegation.PartyID, delegation.Date, error) {
	for shift := range 31 {
		for _, d := range []delegation.Date{birth.AddDays(-shift), birth.AddDays(shift)} {
			if d.After(latest) {
				continue
			}
			if id, ok := a.allocate(d); ok {
				return id, d, nil
			}
			if shift == 0 {
				break
			}
		}
	}
	return "", delegation.Date{}, fmt.Errorf("demo: no synthetic identity number left for births around %s", birth)
}

// splitmix is the SplitMix64 finaliser: a cheap, well-mixed hash of x.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}
