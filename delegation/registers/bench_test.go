package registers_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/delegation/bolt"
	"github.com/fullmakt/fullmakt/delegation/registers"
)

// idSource hands out distinct valid identity numbers, one birth date after the other
// across span days from start.
type idSource struct {
	start    delegation.Date
	span     int
	firstInd int         // 0 for those born 1900–1999, 500 for 2000–2039
	used     map[int]int // day → individual numbers tried
	k        int
}

func newIDSource(start delegation.Date, span, firstInd int) *idSource {
	return &idSource{start: start, span: span, firstInd: firstInd, used: map[int]int{}}
}

func (s *idSource) next() (delegation.PartyID, delegation.Date) {
	for {
		day := s.k % s.span
		s.k++
		d := s.start.AddDays(day)
		for s.used[day] < 500 {
			ind := s.firstInd + s.used[day]
			s.used[day]++
			if id, ok := delegation.NorwegianPersonID(d, ind, false, false); ok {
				return id, d
			}
		}
	}
}

// populationFeed returns a feed of families: two parents, a child and the parental
// responsibility of each parent, five records a family.
func populationFeed(families int) []byte {
	adults := newIDSource(delegation.NewDate(1950, 1, 1), 40*365, 0)
	children := newIDSource(delegation.NewDate(2000, 1, 1), 20*365, 500)
	var buf bytes.Buffer
	for i := range families {
		p1, b1 := adults.next()
		p2, b2 := adults.next()
		ch, bc := children.next()
		fmt.Fprintf(&buf, `{"type":"person","id":"%s","name":"Forelder %d A","birth_date":"%s"}`+"\n", p1, i, b1)
		fmt.Fprintf(&buf, `{"type":"person","id":"%s","name":"Forelder %d B","birth_date":"%s"}`+"\n", p2, i, b2)
		fmt.Fprintf(&buf, `{"type":"person","id":"%s","name":"Barn %d","birth_date":"%s"}`+"\n", ch, i, bc)
		fmt.Fprintf(&buf, `{"type":"parental_responsibility","parent":"%s","child":"%s","kind":"joint"}`+"\n", p1, ch)
		fmt.Fprintf(&buf, `{"type":"parental_responsibility","parent":"%s","child":"%s","kind":"joint"}`+"\n", p2, ch)
	}
	return buf.Bytes()
}

// BenchmarkImport imports 20,000 records (4,000 families) into a new bbolt store.
func BenchmarkImport(b *testing.B) {
	const families, records = 4000, 5 * 4000
	input := populationFeed(families)
	b.SetBytes(int64(len(input)))
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s, err := bolt.Open(filepath.Join(b.TempDir(), "fullmakt.db"), bolt.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		sum, err := registers.Import(context.Background(), s, bytes.NewReader(input), registers.Options{Size: int64(len(input))})
		b.StopTimer()
		if err != nil || sum.Changed != records {
			b.Fatalf("Import() = %+v, %v; want %d records changed", sum, err, records)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(records*b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkParseLine decodes one line, the part of the import before the store.
func BenchmarkParseLine(b *testing.B) {
	lines := bytes.Split(bytes.TrimSpace(populationFeed(20)), []byte("\n"))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := registers.ParseLine(lines[i%len(lines)], delegation.IDRules{}); err != nil {
			b.Fatal(err)
		}
	}
}
