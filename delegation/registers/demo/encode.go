package demo

import (
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/fullmakt/fullmakt/delegation"
)

// flushAt is the size at which buffered lines are handed to the writer.
const flushAt = 64 << 10

// lineWriter appends records in the register import format to a buffer and hands it
// to w in large writes. It writes each field by hand: the format is small and fixed,
// and a million persons go out several times faster than through encoding/json.
// The first write error is kept and returned by flush; later records are dropped.
type lineWriter struct {
	w   io.Writer
	buf []byte
	err error
}

func newLineWriter(w io.Writer) *lineWriter {
	return &lineWriter{w: w, buf: make([]byte, 0, flushAt+4096)}
}

// endLine closes the current record and writes the buffer out when it is full.
func (e *lineWriter) endLine() {
	e.buf = append(e.buf, '}', '\n')
	if len(e.buf) >= flushAt {
		e.flush()
	}
}

// flush writes out whatever is buffered and returns the first error seen.
func (e *lineWriter) flush() error {
	if e.err == nil && len(e.buf) > 0 {
		_, e.err = e.w.Write(e.buf)
	}
	e.buf = e.buf[:0]
	return e.err
}

func (e *lineWriter) person(p delegation.Person) {
	b := append(e.buf, `{"type":"person","id":`...)
	b = appendString(b, p.ID.String())
	b = append(b, `,"name":`...)
	b = appendString(b, p.Name)
	b = append(b, `,"birth_date":`...)
	b = appendDate(b, p.BirthDate)
	if !p.DeathDate.IsZero() {
		b = append(b, `,"death_date":`...)
		b = appendDate(b, p.DeathDate)
	}
	if p.ConfidentialAddress {
		b = append(b, `,"confidential_address":true`...)
	}
	e.buf = b
	e.endLine()
}

func (e *lineWriter) organization(o delegation.Organization) {
	b := append(e.buf, `{"type":"organization","id":`...)
	b = appendString(b, o.ID.String())
	b = append(b, `,"name":`...)
	e.buf = appendString(b, o.Name)
	e.endLine()
}

func (e *lineWriter) parental(r delegation.ParentalResponsibility) {
	b := append(e.buf, `{"type":"parental_responsibility","parent":`...)
	b = appendString(b, r.Parent.String())
	b = append(b, `,"child":`...)
	b = appendString(b, r.Child.String())
	b = append(b, `,"kind":`...)
	b = appendString(b, string(r.Kind))
	b = appendOptionalDate(b, `,"valid_from":`, r.ValidFrom)
	e.buf = appendOptionalDate(b, `,"ceased_at":`, r.CeasedAt)
	e.endLine()
}

func (e *lineWriter) guardianship(g delegation.Guardianship) {
	b := append(e.buf, `{"type":"guardianship","guardian":`...)
	b = appendString(b, g.Guardian.String())
	b = append(b, `,"ward":`...)
	b = appendString(b, g.Ward.String())
	b = append(b, `,"scope":`...)
	b = appendStrings(b, g.Scope)
	b = appendOptionalDate(b, `,"valid_from":`, g.Period.From)
	e.buf = appendOptionalDate(b, `,"valid_to":`, g.Period.To)
	e.endLine()
}

func (e *lineWriter) role(r delegation.Role) {
	b := append(e.buf, `{"type":"role","person":`...)
	b = appendString(b, r.Person.String())
	b = append(b, `,"organization":`...)
	b = appendString(b, r.Organization.String())
	b = append(b, `,"role":`...)
	e.buf = appendString(b, r.Role)
	e.endLine()
}

// migratedFullmakt is a fullmakt record as an older system exports it: one flat list
// of areas and services, as the import format has it.
type migratedFullmakt struct {
	SourceID       string // the old system's id; empty when it had none
	Grantor, Proxy delegation.PartyID
	Scope          []string
	Actions        []string
	Period         delegation.Period
	MaySubdelegate bool
}

func (e *lineWriter) fullmakt(f migratedFullmakt) {
	b := append(e.buf, `{"type":"fullmakt"`...)
	if f.SourceID != "" {
		b = append(b, `,"id":`...)
		b = appendString(b, f.SourceID)
	}
	b = append(b, `,"grantor":`...)
	b = appendString(b, f.Grantor.String())
	b = append(b, `,"proxy":`...)
	b = appendString(b, f.Proxy.String())
	b = append(b, `,"scope":`...)
	b = appendStrings(b, f.Scope)
	if len(f.Actions) > 0 {
		b = append(b, `,"actions":`...)
		b = appendStrings(b, f.Actions)
	}
	b = appendOptionalDate(b, `,"valid_from":`, f.Period.From)
	b = appendOptionalDate(b, `,"valid_to":`, f.Period.To)
	if f.MaySubdelegate {
		b = append(b, `,"may_subdelegate":true`...)
	}
	e.buf = b
	e.endLine()
}

func appendOptionalDate(b []byte, key string, d delegation.Date) []byte {
	if d.IsZero() {
		return b
	}
	return appendDate(append(b, key...), d)
}

// appendDate appends d as a JSON string, "YYYY-MM-DD".
func appendDate(b []byte, d delegation.Date) []byte {
	b = append(b, '"')
	y := d.Year
	b = append(b, byte('0'+y/1000%10), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-')
	b = append(b, byte('0'+int(d.Month)/10), byte('0'+int(d.Month)%10), '-')
	return append(b, byte('0'+d.Day/10), byte('0'+d.Day%10), '"')
}

func appendStrings(b []byte, l []string) []byte {
	b = append(b, '[')
	for i, s := range l {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// appendString appends s as a JSON string. UTF-8 passes through unchanged; quotes,
// backslashes and control characters are escaped, and invalid UTF-8 becomes U+FFFD,
// as encoding/json does.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
			b = append(append(b, s[start:i]...), "\ufffd"...)
			i++
			start = i
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, `\u00`...)
			if c < 0x10 {
				b = append(b, '0')
			}
			b = strconv.AppendUint(b, uint64(c), 16)
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
