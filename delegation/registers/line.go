package registers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/fullmakt/fullmakt/delegation"
)

// ParseLine decodes one line of a register feed, a JSON object with a "type" field,
// into the domain record it describes. It checks what a line can be checked for on
// its own: JSON syntax, unknown fields (including those of another record type),
// missing fields, identifiers (with ids), dates and the shape of a fullmakt's scope.
// The rules that need the stored registers are delegation.ApplyRecord's.
//
// Error messages are plain and never show a person's identity number.
func ParseLine(line []byte, ids delegation.IDRules) (delegation.Record, error) {
	var w wire
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return nil, &recordError{err: decodeError(err)}
	}
	if len(bytes.TrimSpace(line[dec.InputOffset():])) > 0 {
		return nil, &recordError{err: errors.New("text after the JSON object")}
	}
	rec, err := w.record(ids)
	if err != nil && rec != nil {
		return nil, &recordError{typ: rec.RecordType(), err: err}
	}
	if err != nil {
		return nil, &recordError{err: err}
	}
	return rec, nil
}

// wire is one line as decoded: the union of the fields of every record type. A field
// the line does not have stays nil, so that once a record type has taken its own
// fields, any field left over belongs to another type and is refused like an unknown
// one.
type wire struct {
	Type string `json:"type"`

	ID                  *string `json:"id"`
	Name                *string `json:"name"`
	BirthDate           *string `json:"birth_date"`
	DeathDate           *string `json:"death_date"`
	ConfidentialAddress *bool   `json:"confidential_address"`

	Parent   *string `json:"parent"`
	Child    *string `json:"child"`
	Kind     *string `json:"kind"`
	CeasedAt *string `json:"ceased_at"`

	Guardian *string `json:"guardian"`
	Ward     *string `json:"ward"`

	Person       *string `json:"person"`
	Organization *string `json:"organization"`
	Role         *string `json:"role"`

	Grantor        *string  `json:"grantor"`
	Proxy          *string  `json:"proxy"`
	Actions        []string `json:"actions"`
	MaySubdelegate *bool    `json:"may_subdelegate"`

	Scope     []string `json:"scope"`
	ValidFrom *string  `json:"valid_from"`
	ValidTo   *string  `json:"valid_to"`
}

// record converts w to the domain record its type names.
func (w *wire) record(ids delegation.IDRules) (delegation.Record, error) {
	f := fields{ids: ids}
	var rec delegation.Record
	switch w.Type {
	case "person":
		rec = delegation.Person{
			ID:                  f.person(&w.ID, "id"),
			Name:                f.text(&w.Name, "name"),
			BirthDate:           f.date(&w.BirthDate, "birth_date", true),
			DeathDate:           f.date(&w.DeathDate, "death_date", false),
			ConfidentialAddress: f.flag(&w.ConfidentialAddress),
		}
	case "organization":
		rec = delegation.Organization{ID: f.organization(&w.ID, "id"), Name: f.text(&w.Name, "name")}
	case "parental_responsibility":
		rec = delegation.ParentalResponsibility{
			Parent:    f.person(&w.Parent, "parent"),
			Child:     f.person(&w.Child, "child"),
			Kind:      delegation.CustodyKind(f.text(&w.Kind, "kind")),
			ValidFrom: f.date(&w.ValidFrom, "valid_from", false),
			CeasedAt:  f.date(&w.CeasedAt, "ceased_at", false),
		}
	case "guardianship":
		rec = delegation.Guardianship{
			Guardian: f.person(&w.Guardian, "guardian"),
			Ward:     f.person(&w.Ward, "ward"),
			Scope:    f.list(&w.Scope, "scope", true),
			Period:   f.period(w),
		}
	case "role":
		rec = delegation.Role{
			Person:       f.person(&w.Person, "person"),
			Organization: f.organization(&w.Organization, "organization"),
			Role:         f.text(&w.Role, "role"),
		}
	case "fullmakt":
		grantor, proxy := f.person(&w.Grantor, "grantor"), f.person(&w.Proxy, "proxy")
		entries, actions := f.list(&w.Scope, "scope", true), f.list(&w.Actions, "actions", false)
		period, may := f.period(w), f.flag(&w.MaySubdelegate)
		sourceID, _ := take(&w.ID)
		scope, err := delegation.ParseScope(entries, actions)
		if err != nil {
			f.fail(err)
		}
		rec = delegation.MigratedFullmakt(grantor, proxy, scope, period, may, sourceID)
	case "":
		return nil, errors.New(`missing "type"`)
	default:
		return nil, fmt.Errorf("unknown record type %s", quote(w.Type))
	}
	if name := w.leftover(); name != "" {
		f.fail(fmt.Errorf("unknown field %q", name))
	}
	return rec, f.err
}

// leftover names a field of w that the record type did not take, or "".
func (w *wire) leftover() string {
	switch {
	case w.ID != nil:
		return "id"
	case w.Name != nil:
		return "name"
	case w.BirthDate != nil:
		return "birth_date"
	case w.DeathDate != nil:
		return "death_date"
	case w.ConfidentialAddress != nil:
		return "confidential_address"
	case w.Parent != nil:
		return "parent"
	case w.Child != nil:
		return "child"
	case w.Kind != nil:
		return "kind"
	case w.CeasedAt != nil:
		return "ceased_at"
	case w.Guardian != nil:
		return "guardian"
	case w.Ward != nil:
		return "ward"
	case w.Person != nil:
		return "person"
	case w.Organization != nil:
		return "organization"
	case w.Role != nil:
		return "role"
	case w.Grantor != nil:
		return "grantor"
	case w.Proxy != nil:
		return "proxy"
	case w.Actions != nil:
		return "actions"
	case w.MaySubdelegate != nil:
		return "may_subdelegate"
	case w.Scope != nil:
		return "scope"
	case w.ValidFrom != nil:
		return "valid_from"
	case w.ValidTo != nil:
		return "valid_to"
	}
	return ""
}

// fields takes the fields of one record out of a wire value, converting them and
// keeping the first problem found.
type fields struct {
	ids delegation.IDRules
	err error
}

func (f *fields) fail(err error) {
	if f.err == nil {
		f.err = err
	}
}

// take returns the value *p points to and clears *p (see wire.leftover).
func take[T any](p **T) (v T, ok bool) {
	if *p == nil {
		return v, false
	}
	v, *p = **p, nil
	return v, true
}

// text takes a required string field.
func (f *fields) text(p **string, name string) string {
	s, ok := take(p)
	if !ok {
		f.fail(fmt.Errorf("missing %q", name))
	}
	return s
}

func (f *fields) flag(p **bool) bool {
	b, _ := take(p)
	return b
}

func (f *fields) person(p **string, name string) delegation.PartyID {
	return f.id(p, name, f.ids.ParsePerson)
}

func (f *fields) organization(p **string, name string) delegation.PartyID {
	return f.id(p, name, f.ids.ParseOrganization)
}

func (f *fields) id(p **string, name string, parse func(string) (delegation.PartyID, error)) delegation.PartyID {
	s, ok := take(p)
	if !ok {
		f.fail(fmt.Errorf("missing %q", name))
		return ""
	}
	id, err := parse(s)
	if err != nil {
		f.fail(fmt.Errorf("%s: %w", name, err))
	}
	return id
}

// date takes a date field; an absent or empty optional date is the zero Date.
func (f *fields) date(p **string, name string, required bool) delegation.Date {
	s, ok := take(p)
	if !ok && required {
		f.fail(fmt.Errorf("missing %q", name))
	}
	if s == "" {
		return delegation.Date{}
	}
	d, err := delegation.ParseDate(s)
	if err != nil {
		f.fail(fmt.Errorf("%s: %s is not a date of the form YYYY-MM-DD", name, quote(s)))
	}
	return d
}

// period takes valid_from and valid_to.
func (f *fields) period(w *wire) delegation.Period {
	return delegation.Period{From: f.date(&w.ValidFrom, "valid_from", false), To: f.date(&w.ValidTo, "valid_to", false)}
}

func (f *fields) list(p *[]string, name string, required bool) []string {
	l := *p
	*p = nil
	if l == nil && required {
		f.fail(fmt.Errorf("missing %q", name))
	}
	return l
}

// decodeError turns an error of encoding/json into a plain message without Go type
// names.
func decodeError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Errorf("malformed JSON at column %s: %v", group(syntax.Offset), syntax)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("malformed JSON: the line ends inside the object")
	case errors.As(err, &typ) && typ.Field == "":
		return fmt.Errorf("a line must be a JSON object, not %s %s", article(typ.Value), typ.Value)
	case errors.As(err, &typ):
		want := "a string"
		switch {
		case typ.Field == "scope" || typ.Field == "actions":
			want = "a list of strings"
		case typ.Type.Kind() == reflect.Bool:
			want = "true or false"
		}
		return fmt.Errorf("%q must be %s, not %s %s", typ.Field, want, article(typ.Value), typ.Value)
	}
	// encoding/json has no type for this one.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return fmt.Errorf("unknown field %s", name)
	}
	return fmt.Errorf("malformed JSON: %v", err)
}

func article(noun string) string {
	if noun != "" && strings.ContainsRune("aeiou", rune(noun[0])) {
		return "an"
	}
	return "a"
}

// quote quotes s for a message, shortened when long.
func quote(s string) string {
	const max = 40
	if len(s) <= max {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%q…", strings.ToValidUTF8(s[:max], ""))
}

// recordError is what is wrong with one line. Messages come from this package, from
// encoding/json and from the domain, and some of those quote the offending value, so
// Error makes sure, in this one place, that no message shows a person's identity
// number (see redact) or runs on for a screen.
type recordError struct {
	typ string // the record type, when known
	err error
}

func (e *recordError) Error() string {
	msg := redact(e.err.Error())
	if e.typ != "" {
		msg = e.typ + ": " + msg
	}
	const max = 300
	if len(msg) > max {
		msg = strings.ToValidUTF8(msg[:max], "") + "…"
	}
	return msg
}

func (e *recordError) Unwrap() error { return e.err }

// redact hides every run of six or more digits, except one of exactly nine (an
// organisation number, which is public). Every person identifier scheme with digits
// has such a run: 11 digits in Norway, 12 in Sweden, 10 in Denmark, and a six-digit
// date before the separator of a Finnish code, a formatted Danish one, or a Swedish one
// written with a dash.
func redact(msg string) string {
	isDigit := func(c byte) bool { return c >= '0' && c <= '9' }
	var b strings.Builder
	for i := 0; i < len(msg); {
		if !isDigit(msg[i]) {
			b.WriteByte(msg[i])
			i++
			continue
		}
		j := i
		for j < len(msg) && isDigit(msg[j]) {
			j++
		}
		if n := j - i; n >= 6 && n != 9 {
			b.WriteString("[number hidden]")
		} else {
			b.WriteString(msg[i:j])
		}
		i = j
	}
	return b.String()
}
