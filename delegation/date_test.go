package delegation_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/fullmakt/fullmakt/delegation"
	"github.com/google/go-cmp/cmp"
)

// oslo returns the instant y-m-d hh:mm:ss in Europe/Oslo.
func oslo(y int, m time.Month, d, hh, mm, ss int) time.Time {
	return time.Date(y, m, d, hh, mm, ss, 0, delegation.Oslo())
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		in      string
		want    delegation.Date
		wantErr bool
	}{
		{in: "2024-02-29", want: date(2024, 2, 29)},
		{in: "2000-02-29", want: date(2000, 2, 29)},
		{in: "1970-01-01", want: date(1970, 1, 1)},
		{in: "2024-12-31", want: date(2024, 12, 31)},
		{in: "0001-01-01", want: date(1, 1, 1)},
		{in: "9999-12-31", want: date(9999, 12, 31)},
		{in: "2023-02-29", wantErr: true},
		{in: "1900-02-29", wantErr: true},
		{in: "2024-04-31", wantErr: true},
		{in: "2024-02-30", wantErr: true},
		{in: "2024-13-01", wantErr: true},
		{in: "2024-00-10", wantErr: true},
		{in: "2024-01-00", wantErr: true},
		{in: "2024-01-32", wantErr: true},
		{in: "2024-1-01", wantErr: true},
		{in: "2024-01-1", wantErr: true},
		{in: "24-01-01", wantErr: true},
		{in: "20240101", wantErr: true},
		{in: "01.01.2024", wantErr: true},
		{in: "2024-01-01T00:00:00Z", wantErr: true},
		{in: " 2024-01-01", wantErr: true},
		{in: "2024-01-01 ", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := delegation.ParseDate(tt.in)
			if tt.wantErr {
				if err == nil || !errors.Is(err, delegation.ErrInvalid) || got != (delegation.Date{}) {
					t.Errorf("ParseDate(%q) = %v, %v, want the zero Date and an ErrInvalid", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseDate(%q) = %v, %v, want %v, nil", tt.in, got, err, tt.want)
			}
			if s := got.String(); s != tt.in {
				t.Errorf("ParseDate(%q).String() = %q, want %q", tt.in, s, tt.in)
			}
		})
	}
}

func TestDateString(t *testing.T) {
	tests := []struct {
		d    delegation.Date
		want string
	}{
		{delegation.Date{}, ""},
		{date(2024, 2, 9), "2024-02-09"},
		{date(999, 1, 1), "0999-01-01"},
		{date(0, 1, 1), "0000-01-01"}, // not the zero Date: it has a month
	}
	for _, tt := range tests {
		if got := tt.d.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.d, got, tt.want)
		}
		if got := tt.d.IsZero(); got != (tt.want == "") {
			t.Errorf("%#v.IsZero() = %v, want %v", tt.d, got, tt.want == "")
		}
	}
}

func TestDateCompare(t *testing.T) {
	tests := []struct {
		name string
		d, e delegation.Date
		want int
	}{
		{"equal", date(2024, 5, 17), date(2024, 5, 17), 0},
		{"day before", date(2024, 5, 16), date(2024, 5, 17), -1},
		{"day after", date(2024, 5, 18), date(2024, 5, 17), 1},
		{"month decides over day", date(2024, 4, 30), date(2024, 5, 1), -1},
		{"year decides over month", date(2023, 12, 31), date(2024, 1, 1), -1},
		{"year decides over month, after", date(2025, 1, 1), date(2024, 12, 31), 1},
		{"zero is before everything", delegation.Date{}, date(1, 1, 1), -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.d.Compare(tt.e); got != tt.want {
				t.Errorf("%v.Compare(%v) = %d, want %d", tt.d, tt.e, got, tt.want)
			}
			if got := tt.e.Compare(tt.d); got != -tt.want {
				t.Errorf("%v.Compare(%v) = %d, want %d", tt.e, tt.d, got, -tt.want)
			}
			if got := tt.d.Before(tt.e); got != (tt.want < 0) {
				t.Errorf("%v.Before(%v) = %v, want %v", tt.d, tt.e, got, tt.want < 0)
			}
			if got := tt.d.After(tt.e); got != (tt.want > 0) {
				t.Errorf("%v.After(%v) = %v, want %v", tt.d, tt.e, got, tt.want > 0)
			}
		})
	}
}

func TestDateAddDays(t *testing.T) {
	tests := []struct {
		d    delegation.Date
		n    int
		want delegation.Date
	}{
		{date(2024, 1, 31), 1, date(2024, 2, 1)},
		{date(2024, 2, 28), 1, date(2024, 2, 29)},
		{date(2023, 2, 28), 1, date(2023, 3, 1)},
		{date(2024, 12, 31), 1, date(2025, 1, 1)},
		{date(2025, 1, 1), -1, date(2024, 12, 31)},
		{date(2024, 3, 1), -1, date(2024, 2, 29)},
		{date(2024, 3, 30), 1, date(2024, 3, 31)},   // the day Oslo moves to summer time
		{date(2024, 10, 26), 2, date(2024, 10, 28)}, // across the day Oslo moves back
		{date(2024, 1, 1), 366, date(2025, 1, 1)},
		{date(2024, 1, 1), 0, date(2024, 1, 1)},
		{date(2024, 1, 1), -36525, date(1924, 1, 1)},
	}
	for _, tt := range tests {
		if got := tt.d.AddDays(tt.n); got != tt.want {
			t.Errorf("%v.AddDays(%d) = %v, want %v", tt.d, tt.n, got, tt.want)
		}
	}
}

func TestDateAddYears(t *testing.T) {
	tests := []struct {
		d    delegation.Date
		n    int
		want delegation.Date
	}{
		{date(2006, 3, 15), 18, date(2024, 3, 15)},
		{date(2024, 2, 29), 1, date(2025, 3, 1)},
		{date(2024, 2, 29), 4, date(2028, 2, 29)},
		{date(2024, 2, 29), -1, date(2023, 3, 1)},
		{date(2000, 2, 29), 100, date(2100, 3, 1)}, // 2100 is not a leap year
		{date(2024, 12, 31), -24, date(2000, 12, 31)},
	}
	for _, tt := range tests {
		if got := tt.d.AddYears(tt.n); got != tt.want {
			t.Errorf("%v.AddYears(%d) = %v, want %v", tt.d, tt.n, got, tt.want)
		}
	}
}

// Today decides on the calendar in Oslo, not in UTC nor in the zone of the instant.
func TestToday(t *testing.T) {
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		at   time.Time
		want delegation.Date
	}{
		{"winter, an hour before Oslo midnight", time.Date(2024, 1, 15, 22, 59, 59, 0, time.UTC), date(2024, 1, 15)},
		{"winter, Oslo midnight (UTC+1)", time.Date(2024, 1, 15, 23, 0, 0, 0, time.UTC), date(2024, 1, 16)},
		{"summer, just before Oslo midnight", time.Date(2024, 6, 15, 21, 59, 59, 0, time.UTC), date(2024, 6, 15)},
		{"summer, Oslo midnight (UTC+2)", time.Date(2024, 6, 15, 22, 0, 0, 0, time.UTC), date(2024, 6, 16)},
		{"new year in Oslo, still old year in UTC", time.Date(2023, 12, 31, 23, 0, 0, 0, time.UTC), date(2024, 1, 1)},
		{"the last nanosecond of the year in Oslo", time.Date(2023, 12, 31, 22, 59, 59, 999999999, time.UTC), date(2023, 12, 31)},
		{"an instant in another zone", time.Date(2024, 6, 15, 18, 30, 0, 0, newYork), date(2024, 6, 16)},
		{"Oslo midnight built in Oslo", oslo(2024, 3, 15, 0, 0, 0), date(2024, 3, 15)},
		{"a nanosecond earlier", oslo(2024, 3, 15, 0, 0, 0).Add(-time.Nanosecond), date(2024, 3, 14)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := delegation.Today(tt.at); got != tt.want {
				t.Errorf("Today(%v) = %v, want %v", tt.at, got, tt.want)
			}
		})
	}
}

func TestDateStart(t *testing.T) {
	// Ordinary days and the days Oslo changes to and from summer time (23 and 25 hours).
	for _, d := range []delegation.Date{date(2024, 1, 15), date(2024, 3, 31), date(2024, 6, 15), date(2024, 10, 27), date(2024, 2, 29)} {
		start := d.Start()
		if want := time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, delegation.Oslo()); !start.Equal(want) {
			t.Errorf("%v.Start() = %v, want %v", d, start, want)
		}
		if got := delegation.Today(start); got != d {
			t.Errorf("Today(%v.Start()) = %v, want %v", d, got, d)
		}
		if got := delegation.Today(start.Add(-time.Nanosecond)); got != d.AddDays(-1) {
			t.Errorf("Today(%v.Start() - 1ns) = %v, want %v", d, got, d.AddDays(-1))
		}
		if got := delegation.Today(d.AddDays(1).Start().Add(-time.Nanosecond)); got != d {
			t.Errorf("Today(the last instant of %v) = %v, want %v", d, got, d)
		}
	}
	if got, want := date(2024, 3, 31).AddDays(1).Start().Sub(date(2024, 3, 31).Start()), 23*time.Hour; got != want {
		t.Errorf("31 March 2024 in Oslo lasts %v, want %v", got, want)
	}
	if loc := delegation.Oslo(); loc.String() != "Europe/Oslo" {
		t.Errorf("Oslo() = %v, want Europe/Oslo", loc)
	}
}

func TestAgeOn(t *testing.T) {
	tests := []struct {
		name         string
		birth, today delegation.Date
		want         int
	}{
		{"the day before the 18th birthday", date(2006, 3, 15), date(2024, 3, 14), 17},
		{"the 18th birthday", date(2006, 3, 15), date(2024, 3, 15), 18},
		{"the day after", date(2006, 3, 15), date(2024, 3, 16), 18},
		{"a month before", date(2006, 3, 15), date(2024, 2, 20), 17},
		{"the day of birth", date(2024, 3, 15), date(2024, 3, 15), 0},
		{"29 Feb birth, 28 Feb of a common year", date(2008, 2, 29), date(2026, 2, 28), 17},
		{"29 Feb birth, 1 Mar of a common year", date(2008, 2, 29), date(2026, 3, 1), 18},
		{"29 Feb birth, 28 Feb of a leap year", date(2008, 2, 29), date(2028, 2, 28), 19},
		{"29 Feb birth, 29 Feb of a leap year", date(2008, 2, 29), date(2028, 2, 29), 20},
		{"31 Dec birth, 1 Jan", date(2006, 12, 31), date(2024, 1, 1), 17},
		{"31 Dec birth, 31 Dec", date(2006, 12, 31), date(2024, 12, 31), 18},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := delegation.AgeOn(tt.birth, tt.today); got != tt.want {
				t.Errorf("AgeOn(%v, %v) = %d, want %d", tt.birth, tt.today, got, tt.want)
			}
			// The person turns a year older at 00:00 on the birthday, Oslo time.
			p := delegation.Person{BirthDate: tt.birth}
			if got := p.AgeOn(tt.today); got != tt.want {
				t.Errorf("Person{BirthDate: %v}.AgeOn(%v) = %d, want %d", tt.birth, tt.today, got, tt.want)
			}
		})
	}
}

// A child becomes an adult at 00:00 on the 18th birthday in Oslo: 23:00 UTC the day
// before in winter, 22:00 UTC in summer.
func TestAdultAtOsloMidnight(t *testing.T) {
	tests := []struct {
		name      string
		birth     delegation.Date
		now       time.Time
		wantMinor bool
	}{
		{"winter, a second before", date(2006, 1, 16), time.Date(2024, 1, 15, 22, 59, 59, 0, time.UTC), true},
		{"winter, at midnight", date(2006, 1, 16), time.Date(2024, 1, 15, 23, 0, 0, 0, time.UTC), false},
		{"summer, a second before", date(2006, 6, 16), time.Date(2024, 6, 15, 21, 59, 59, 0, time.UTC), true},
		{"summer, at midnight", date(2006, 6, 16), time.Date(2024, 6, 15, 22, 0, 0, 0, time.UTC), false},
		{"Oslo time, a nanosecond before", date(2006, 3, 15), oslo(2024, 3, 15, 0, 0, 0).Add(-time.Nanosecond), true},
		{"Oslo time, at midnight", date(2006, 3, 15), oslo(2024, 3, 15, 0, 0, 0), false},
		{"29 Feb birth, last second of 28 Feb", date(2008, 2, 29), oslo(2026, 2, 28, 23, 59, 59), true},
		{"29 Feb birth, 1 Mar at midnight", date(2008, 2, 29), oslo(2026, 3, 1, 0, 0, 0), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := delegation.Person{BirthDate: tt.birth}
			if got := p.MinorOn(delegation.Today(tt.now)); got != tt.wantMinor {
				t.Errorf("born %v: MinorOn(Today(%v)) = %v, want %v", tt.birth, tt.now, got, tt.wantMinor)
			}
		})
	}
}

func TestPeriod(t *testing.T) {
	jan1, jan10, jan20, jan31 := date(2024, 1, 1), date(2024, 1, 10), date(2024, 1, 20), date(2024, 1, 31)
	open := delegation.Period{}
	jan := delegation.Period{From: jan1, To: jan31}
	fromJan10 := delegation.Period{From: jan10}
	untilJan20 := delegation.Period{To: jan20}

	t.Run("Contains", func(t *testing.T) {
		tests := []struct {
			p    delegation.Period
			d    delegation.Date
			want bool
		}{
			{jan, jan1, true}, {jan, jan31, true}, {jan, jan10, true},
			{jan, jan1.AddDays(-1), false}, {jan, jan31.AddDays(1), false},
			{open, date(1800, 1, 1), true}, {open, date(9999, 12, 31), true},
			{fromJan10, jan10, true}, {fromJan10, jan10.AddDays(-1), false}, {fromJan10, date(9999, 1, 1), true},
			{untilJan20, jan20, true}, {untilJan20, jan20.AddDays(1), false}, {untilJan20, date(1800, 1, 1), true},
			{delegation.Period{From: jan10, To: jan10}, jan10, true},
		}
		for _, tt := range tests {
			if got := tt.p.Contains(tt.d); got != tt.want {
				t.Errorf("%+v.Contains(%v) = %v, want %v", tt.p, tt.d, got, tt.want)
			}
		}
	})
	t.Run("Within", func(t *testing.T) {
		tests := []struct {
			p, q delegation.Period
			want bool
		}{
			{jan, jan, true},
			{delegation.Period{From: jan10, To: jan20}, jan, true},
			{delegation.Period{From: jan1.AddDays(-1), To: jan20}, jan, false},
			{delegation.Period{From: jan10, To: jan31.AddDays(1)}, jan, false},
			{jan, open, true},
			{open, open, true},
			{open, jan, false},
			{fromJan10, jan, false},  // open-ended inside a bounded period
			{untilJan20, jan, false}, // open start inside a bounded period
			{jan, fromJan10, false},  // starts too early
			{delegation.Period{From: jan20}, fromJan10, true},
			{delegation.Period{From: jan20, To: jan31}, fromJan10, true},
			{delegation.Period{From: jan10, To: jan10}, untilJan20, true},
			{delegation.Period{From: jan10}, untilJan20, false},
		}
		for _, tt := range tests {
			if got := tt.p.Within(tt.q); got != tt.want {
				t.Errorf("%+v.Within(%+v) = %v, want %v", tt.p, tt.q, got, tt.want)
			}
		}
	})
	t.Run("Overlaps", func(t *testing.T) {
		tests := []struct {
			p, q delegation.Period
			want bool
		}{
			{jan, jan, true},
			{jan, delegation.Period{From: jan31, To: jan31.AddDays(5)}, true}, // one shared day
			{jan, delegation.Period{From: jan31.AddDays(1)}, false},
			{jan, delegation.Period{To: jan1}, true},
			{jan, delegation.Period{To: jan1.AddDays(-1)}, false},
			{open, jan, true},
			{open, open, true},
			{fromJan10, untilJan20, true},
			{delegation.Period{From: jan20}, delegation.Period{To: jan10}, false},
			{delegation.Period{From: jan10, To: jan20}, delegation.Period{From: jan1, To: jan31}, true},
		}
		for _, tt := range tests {
			if got := tt.p.Overlaps(tt.q); got != tt.want {
				t.Errorf("%+v.Overlaps(%+v) = %v, want %v", tt.p, tt.q, got, tt.want)
			}
			if got := tt.q.Overlaps(tt.p); got != tt.want {
				t.Errorf("%+v.Overlaps(%+v) = %v, want %v", tt.q, tt.p, got, tt.want)
			}
		}
	})
	t.Run("Ended", func(t *testing.T) {
		tests := []struct {
			p     delegation.Period
			today delegation.Date
			want  bool
		}{
			{jan, jan31, false}, {jan, jan31.AddDays(1), true}, {jan, jan1.AddDays(-1), false},
			{fromJan10, date(9999, 1, 1), false}, {open, date(9999, 1, 1), false},
			{untilJan20, jan20, false}, {untilJan20, jan20.AddDays(1), true},
		}
		for _, tt := range tests {
			if got := tt.p.Ended(tt.today); got != tt.want {
				t.Errorf("%+v.Ended(%v) = %v, want %v", tt.p, tt.today, got, tt.want)
			}
		}
	})
	t.Run("Validate", func(t *testing.T) {
		tests := []struct {
			p       delegation.Period
			wantErr bool
		}{
			{jan, false}, {open, false}, {fromJan10, false}, {untilJan20, false},
			{delegation.Period{From: jan10, To: jan10}, false},
			{delegation.Period{From: jan10, To: jan10.AddDays(-1)}, true},
			{delegation.Period{From: jan31, To: jan1}, true},
		}
		for _, tt := range tests {
			err := tt.p.Validate()
			if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, delegation.ErrInvalid)) {
				t.Errorf("%+v.Validate() = %v, want error: %v (ErrInvalid)", tt.p, err, tt.wantErr)
			}
		}
	})
}

func TestDateJSON(t *testing.T) {
	type record struct {
		Born   delegation.Date   `json:"born"`
		Died   delegation.Date   `json:"died,omitzero"`
		Period delegation.Period `json:"period,omitzero"`
	}
	tests := []struct {
		name string
		in   record
		want string
	}{
		{"zero dates omitted", record{Born: date(2024, 2, 29)}, `{"born":"2024-02-29"}`},
		{"all set", record{Born: date(1950, 1, 2), Died: date(2024, 12, 31), Period: delegation.Period{From: date(2024, 1, 1), To: date(2024, 6, 30)}},
			`{"born":"1950-01-02","died":"2024-12-31","period":{"from":"2024-01-01","to":"2024-06-30"}}`},
		{"open-ended period", record{Born: date(1950, 1, 2), Period: delegation.Period{From: date(2024, 1, 1)}},
			`{"born":"1950-01-02","period":{"from":"2024-01-01"}}`},
		{"zero without omitzero is empty", record{}, `{"born":""}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.in)
			if err != nil || string(b) != tt.want {
				t.Fatalf("json.Marshal(%+v) = %s, %v, want %s", tt.in, b, err, tt.want)
			}
			var back record
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("json.Unmarshal(%s) = %v", b, err)
			}
			if diff := cmp.Diff(tt.in, back); diff != "" {
				t.Errorf("JSON round trip (-sent +received):\n%s", diff)
			}
		})
	}
	for _, bad := range []string{`{"born":"2023-02-29"}`, `{"born":"29.02.2024"}`, `{"born":20240229}`, `{"born":"2024-02-29T00:00:00Z"}`} {
		var r record
		err := json.Unmarshal([]byte(bad), &r)
		if err == nil {
			t.Errorf("json.Unmarshal(%s) = nil error, want one", bad)
		}
	}
	var r record
	if err := json.Unmarshal([]byte(`{"born":"2023-02-29"}`), &r); !errors.Is(err, delegation.ErrInvalid) {
		t.Errorf("json.Unmarshal of 2023-02-29 = %v, want ErrInvalid", err)
	}
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2024-02-29", "2023-02-29", "0000-01-01", "9999-12-31", "2024-1-1", "", "2024-01-01T00:00:00Z",
		"+024-01-01", "-024-01-01", "2024-+1-01", "2024-01-+1", "2024-01-01\x00", "2024-02-30", "1900-02-29"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := delegation.ParseDate(s)
		if err != nil {
			if d != (delegation.Date{}) || !errors.Is(err, delegation.ErrInvalid) {
				t.Fatalf("ParseDate(%q) = %v, %v, want the zero Date and ErrInvalid", s, d, err)
			}
			return
		}
		if got := d.String(); got != s {
			t.Fatalf("ParseDate(%q).String() = %q, want the input back", s, got)
		}
		if got := d.AddDays(0); got != d {
			t.Fatalf("ParseDate(%q) = %v, a date that does not exist (normalises to %v)", s, d, got)
		}
		if d.IsZero() {
			t.Fatalf("ParseDate(%q) = the zero Date with no error", s)
		}
		var u delegation.Date
		if err := u.UnmarshalText([]byte(s)); err != nil || u != d {
			t.Fatalf("UnmarshalText(%q) = %v, %v, want %v", s, u, err, d)
		}
		if b, err := d.MarshalText(); err != nil || string(b) != s {
			t.Fatalf("%v.MarshalText() = %q, %v, want %q", d, b, err, s)
		}
		if d.Compare(d.AddDays(1)) != -1 || d.AddDays(1).AddDays(-1) != d {
			t.Fatalf("%v: Compare or AddDays is inconsistent", d)
		}
	})
}
