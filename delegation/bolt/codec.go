package bolt

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/fullmakt/fullmakt/delegation"
)

// Persons and register relations are the records a population import writes by the
// million and every decision reads, so they have a compact binary encoding instead of
// JSON: about half the size and a tenth of the decoding time. The identifiers are in
// the key and are not repeated in the value. Each value starts with a version byte.
//
//	person:       1 | name | birth date | death date | flags (bit 0: confidential address)
//	parental:     1 | kind | valid_from | ceased_at        (parent, child in the key)
//	guardianship: 1 | count | scope… | from | to           (guardian, ward in the key)
//	role:         1                                        (person, organisation, role in the key)
//
// A string is a uvarint length and its bytes; a date is three uvarints (year, month,
// day), zero for an unset date.
const codecV1 = 1

func encodePerson(p delegation.Person) []byte {
	b := make([]byte, 0, 24+len(p.Name))
	b = append(b, codecV1)
	b = appendString(b, p.Name)
	b = appendDate(appendDate(b, p.BirthDate), p.DeathDate)
	var flags byte
	if p.ConfidentialAddress {
		flags |= 1
	}
	return append(b, flags)
}

func decodePerson(id delegation.PartyID, b []byte) (delegation.Person, error) {
	d := decoder{b: b}
	d.version()
	p := delegation.Person{ID: id, Name: d.string(), BirthDate: d.date(), DeathDate: d.date()}
	p.ConfidentialAddress = d.byte()&1 != 0
	return p, d.done("person")
}

func encodeParental(r delegation.ParentalResponsibility) []byte {
	b := appendString([]byte{codecV1}, string(r.Kind))
	return appendDate(appendDate(b, r.ValidFrom), r.CeasedAt)
}

func decodeParental(parent, child delegation.PartyID, b []byte) (delegation.ParentalResponsibility, error) {
	d := decoder{b: b}
	d.version()
	r := delegation.ParentalResponsibility{Parent: parent, Child: child, Kind: delegation.CustodyKind(d.string()), ValidFrom: d.date(), CeasedAt: d.date()}
	return r, d.done("parental responsibility")
}

func encodeGuardianship(g delegation.Guardianship) []byte {
	b := binary.AppendUvarint([]byte{codecV1}, uint64(len(g.Scope)))
	for _, s := range g.Scope {
		b = appendString(b, s)
	}
	return appendDate(appendDate(b, g.Period.From), g.Period.To)
}

func decodeGuardianship(guardian, ward delegation.PartyID, b []byte) (delegation.Guardianship, error) {
	d := decoder{b: b}
	d.version()
	g := delegation.Guardianship{Guardian: guardian, Ward: ward}
	n := d.uvarint()
	if n > uint64(len(b)) {
		d.fail()
	}
	for range min(n, uint64(len(b))) {
		g.Scope = append(g.Scope, d.string())
	}
	g.Period = delegation.Period{From: d.date(), To: d.date()}
	return g, d.done("guardianship")
}

func encodeRole(delegation.Role) []byte { return []byte{codecV1} }

func decodeRole(person, org delegation.PartyID, role string, b []byte) (delegation.Role, error) {
	d := decoder{b: b}
	d.version()
	return delegation.Role{Person: person, Organization: org, Role: role}, d.done("role")
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func appendDate(b []byte, d delegation.Date) []byte {
	b = binary.AppendUvarint(b, uint64(d.Year))
	b = binary.AppendUvarint(b, uint64(d.Month))
	return binary.AppendUvarint(b, uint64(d.Day))
}

// decoder reads the binary encodings, remembering the first error.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = fmt.Errorf("truncated or corrupt record")
	}
	d.b = nil
}

func (d *decoder) version() {
	if v := d.byte(); v != codecV1 && d.err == nil {
		d.err = fmt.Errorf("unknown record encoding %d", v)
	}
}

// done reports the first error, or trailing bytes, of a record of the named kind.
func (d *decoder) done(what string) error {
	if d.err == nil && len(d.b) > 0 {
		d.err = fmt.Errorf("%d unexpected bytes", len(d.b))
	}
	if d.err != nil {
		return fmt.Errorf("bolt: decode %s: %w", what, d.err)
	}
	return nil
}

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) date() delegation.Date {
	y, m, day := d.uvarint(), d.uvarint(), d.uvarint()
	if y > 9999 || m > 12 || day > 31 {
		d.fail()
		return delegation.Date{}
	}
	return delegation.Date{Year: int(y), Month: time.Month(m), Day: int(day)}
}
