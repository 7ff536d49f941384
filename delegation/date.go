package delegation

import (
	"fmt"
	"sync"
	"time"
	_ "time/tzdata" // Oslo's rules travel inside the binary; a bare container has no zoneinfo.
)

// Date is a calendar date with no time of day and no zone: a birth date, a death
// date, the first or last day of a period. The zero Date means "not set".
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// oslo is the zone every calendar rule is decided in (PRODUCT.md: age is computed on
// the calendar date in Europe/Oslo). Loaded once; the value never changes after.
var oslo = sync.OnceValue(func() *time.Location {
	loc, err := time.LoadLocation("Europe/Oslo")
	if err != nil {
		// time/tzdata is linked in, so this cannot happen short of a broken toolchain.
		panic("delegation: load Europe/Oslo: " + err.Error())
	}
	return loc
})

// Oslo returns the Europe/Oslo location.
func Oslo() *time.Location { return oslo() }

// Today returns the calendar date in Europe/Oslo at the instant t.
func Today(t time.Time) Date {
	y, m, d := t.In(oslo()).Date()
	return Date{y, m, d}
}

// NewDate returns the date y-m-d. It does not normalise: use ParseDate for input.
func NewDate(y int, m time.Month, d int) Date { return Date{y, m, d} }

// ParseDate parses an ISO 8601 calendar date, YYYY-MM-DD, and rejects dates that do
// not exist (2023-02-29).
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("delegation: %q is not a date of the form YYYY-MM-DD: %w", s, ErrInvalid)
	}
	return Date{t.Year(), t.Month(), t.Day()}, nil
}

// IsZero reports whether d is unset.
func (d Date) IsZero() bool { return d == Date{} }

// String formats d as YYYY-MM-DD, or "" when unset.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
}

// Compare returns -1, 0 or +1 as d is before, equal to or after e.
func (d Date) Compare(e Date) int {
	switch {
	case d.Year != e.Year:
		return cmpInt(d.Year, e.Year)
	case d.Month != e.Month:
		return cmpInt(int(d.Month), int(e.Month))
	default:
		return cmpInt(d.Day, e.Day)
	}
}

// Before reports whether d is strictly before e.
func (d Date) Before(e Date) bool { return d.Compare(e) < 0 }

// After reports whether d is strictly after e.
func (d Date) After(e Date) bool { return d.Compare(e) > 0 }

// AddDays returns the date n days after d (n may be negative).
func (d Date) AddDays(n int) Date {
	t := time.Date(d.Year, d.Month, d.Day+n, 12, 0, 0, 0, time.UTC)
	return Date{t.Year(), t.Month(), t.Day()}
}

// AddYears returns the same calendar day n years later; 29 February becomes
// 1 March in a year that has no 29 February.
func (d Date) AddYears(n int) Date {
	t := time.Date(d.Year+n, d.Month, d.Day, 12, 0, 0, 0, time.UTC)
	return Date{t.Year(), t.Month(), t.Day()}
}

// Start returns the first instant of d in Europe/Oslo.
func (d Date) Start() time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, oslo())
}

// MarshalText implements encoding.TextMarshaler (YYYY-MM-DD; empty when unset).
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler; an empty text is the zero Date.
func (d *Date) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Date{}
		return nil
	}
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// AgeOn returns the age in whole years, on the calendar date today, of a person born
// on birth. A person turns a year older at the start of their birthday; someone born
// on 29 February turns older on 1 March in years without one (the day after 28
// February), which is how the population register counts it.
func AgeOn(birth, today Date) int {
	age := today.Year - birth.Year
	if today.Month < birth.Month || (today.Month == birth.Month && today.Day < birth.Day) {
		age--
	}
	return age
}

// Period is a span of whole calendar days, both ends inclusive. A zero From means
// "since always" and a zero To means "until further notice".
type Period struct {
	From Date `json:"from,omitzero"`
	To   Date `json:"to,omitzero"`
}

// Validate reports a period whose end is before its start.
func (p Period) Validate() error {
	if !p.From.IsZero() && !p.To.IsZero() && p.To.Before(p.From) {
		return fmt.Errorf("%w: period ends (%s) before it starts (%s)", ErrInvalid, p.To, p.From)
	}
	return nil
}

// Contains reports whether the day d lies within p.
func (p Period) Contains(d Date) bool {
	return (p.From.IsZero() || !d.Before(p.From)) && (p.To.IsZero() || !d.After(p.To))
}

// Within reports whether p lies entirely within q.
func (p Period) Within(q Period) bool {
	fromOK := q.From.IsZero() || (!p.From.IsZero() && !p.From.Before(q.From))
	toOK := q.To.IsZero() || (!p.To.IsZero() && !p.To.After(q.To))
	return fromOK && toOK
}

// Overlaps reports whether p and q share at least one day.
func (p Period) Overlaps(q Period) bool {
	startsBeforeQEnds := q.To.IsZero() || p.From.IsZero() || !p.From.After(q.To)
	qStartsBeforePEnds := p.To.IsZero() || q.From.IsZero() || !q.From.After(p.To)
	return startsBeforeQEnds && qStartsBeforePEnds
}

// Ended reports whether the whole period lies before today.
func (p Period) Ended(today Date) bool { return !p.To.IsZero() && p.To.Before(today) }

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
