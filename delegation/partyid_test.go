package delegation_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fullmakt/fullmakt/delegation"
)

// The helpers below compute control digits and century rules from the published
// specifications, independently of the package, so that the tests can fail when the
// package gets them wrong.

// fnrControls returns the two mod-11 control digits of a Norwegian fødselsnummer
// whose first nine digits are nine, or ok false when either would be 10.
// Weights (Skatteetaten): k1 = 3 7 6 1 8 9 4 5 2, k2 = 5 4 3 2 7 6 5 4 3 2.
func fnrControls(nine string) (k1, k2 int, ok bool) {
	d := func(i int) int { return int(nine[i] - '0') }
	k1 = 11 - (3*d(0)+7*d(1)+6*d(2)+1*d(3)+8*d(4)+9*d(5)+4*d(6)+5*d(7)+2*d(8))%11
	if k1 == 11 {
		k1 = 0
	}
	if k1 == 10 {
		return 0, 0, false
	}
	k2 = 11 - (5*d(0)+4*d(1)+3*d(2)+2*d(3)+7*d(4)+6*d(5)+5*d(6)+4*d(7)+3*d(8)+2*k1)%11
	if k2 == 11 {
		k2 = 0
	}
	if k2 == 10 {
		return 0, 0, false
	}
	return k1, k2, true
}

// fnrWithControls appends the control digits to nine leading digits.
func fnrWithControls(nine string) (string, bool) {
	k1, k2, ok := fnrControls(nine)
	if !ok {
		return "", false
	}
	return fmt.Sprintf("%s%d%d", nine, k1, k2), true
}

// fnr returns a fødselsnummer for ddmmyy with the first individual number from ind
// upward (up to ten tries) that has valid control digits.
func fnr(t testing.TB, ddmmyy string, ind int) string {
	t.Helper()
	for i := ind; i < ind+10 && i <= 999; i++ {
		if s, ok := fnrWithControls(fmt.Sprintf("%s%03d", ddmmyy, i)); ok {
			return s
		}
	}
	t.Fatalf("no valid fødselsnummer for %s from individual number %d", ddmmyy, ind)
	return ""
}

// norwegianYear applies the individual-number table (Skatteetaten): 000–499 are
// 1900–1999; 500–749 are 1854–1899; 500–999 are 2000–2039; 900–999 are 1940–1999.
func norwegianYear(yy, ind int) (int, bool) {
	switch {
	case ind >= 0 && ind <= 499:
		return 1900 + yy, true
	case ind >= 500 && ind <= 749 && yy >= 54:
		return 1800 + yy, true
	case ind >= 500 && ind <= 999 && yy <= 39:
		return 2000 + yy, true
	case ind >= 900 && ind <= 999 && yy >= 40:
		return 1900 + yy, true
	}
	return 0, false
}

func daysIn(year int, month time.Month) int {
	return time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// localFnr is the test's own validator of an 11-digit Norwegian person number.
func localFnr(s string, allowSynthetic bool) (delegation.Date, bool) {
	if len(s) != 11 || strings.Trim(s, "0123456789") != "" {
		return delegation.Date{}, false
	}
	k1, k2, ok := fnrControls(s[:9])
	if !ok || int(s[9]-'0') != k1 || int(s[10]-'0') != k2 {
		return delegation.Date{}, false
	}
	num := func(a, b int) int {
		n := 0
		for _, c := range s[a:b] {
			n = n*10 + int(c-'0')
		}
		return n
	}
	day, month, yy, ind := num(0, 2), num(2, 4), num(4, 6), num(6, 9)
	if day >= 41 && day <= 71 {
		day -= 40
	}
	if month >= 81 && month <= 92 {
		if !allowSynthetic {
			return delegation.Date{}, false
		}
		month -= 80
	}
	year, ok := norwegianYear(yy, ind)
	if !ok || month < 1 || month > 12 || day < 1 || day > daysIn(year, time.Month(month)) {
		return delegation.Date{}, false
	}
	return delegation.NewDate(year, time.Month(month), day), true
}

// orgControl returns the mod-11 control digit of an organisation number's first eight
// digits (Brønnøysundregistrene: weights 3 2 7 6 5 4 3 2), or false when it is 10.
func orgControl(eight string) (int, bool) {
	w := []int{3, 2, 7, 6, 5, 4, 3, 2}
	sum := 0
	for i, c := range eight {
		sum += int(c-'0') * w[i]
	}
	switch k := 11 - sum%11; k {
	case 11:
		return 0, true
	case 10:
		return 0, false
	default:
		return k, true
	}
}

// luhnDigit returns the Luhn check digit for the nine digits YYMMDDNNN.
func luhnDigit(nine string) int {
	sum := 0
	for i, c := range nine {
		d := int(c - '0')
		if i%2 == 0 { // weights 2 1 2 1 … from the left
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return (10 - sum%10) % 10
}

// swedish returns "YYYYMMDDNNNC" with the Luhn digit computed over YYMMDDNNN.
func swedish(yyyymmdd, nnn string) string {
	return fmt.Sprintf("%s%s%d", yyyymmdd, nnn, luhnDigit(yyyymmdd[2:]+nnn))
}

// hetu returns a Finnish personal identity code with its control character
// (DDMMYYZZZ mod 31, in "0123456789ABCDEFHJKLMNPRSTUVWXY").
func hetu(ddmmyy string, sign byte, zzz string) string {
	n := 0
	for _, c := range ddmmyy + zzz {
		n = n*10 + int(c-'0')
	}
	return fmt.Sprintf("%s%c%s%c", ddmmyy, sign, zzz, "0123456789ABCDEFHJKLMNPRSTUVWXY"[n%31])
}

// flip returns s with the digit at i replaced by the next digit.
func flip(s string, i int) string {
	return s[:i] + string(rune('0'+(s[i]-'0'+1)%10)) + s[i+1:]
}

func date(y int, m time.Month, d int) delegation.Date { return delegation.NewDate(y, m, d) }

// idCase is one case of a per-scheme Parse table; want is "" when an error is wanted,
// and wantMsg is then part of its message.
type idCase struct {
	name      string
	in        string
	want      delegation.PartyID
	wantBirth delegation.Date
	wantMsg   string
}

func TestPublishedExamples(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want delegation.PartyID
	}{
		{"Brønnøysundregistrene's organisation number", "974760673", "974760673"},
		{"Skatteverket's example personnummer 19121212-1212", "se:19121212-1212", "se:191212121212"},
		{"DVV's example HETU 131052-308T", "fi:131052-308T", "fi:131052-308T"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := delegation.IDRules{}.Parse(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("Parse(%q) = %q, %v, want %q, nil", tt.in, got, err, tt.want)
			}
		})
	}
	// The test's own algorithms agree with the published examples, so they can be
	// trusted to judge the package.
	if k, ok := orgControl("97476067"); !ok || k != 3 {
		t.Errorf("orgControl(97476067) = %d, %v, want 3, true", k, ok)
	}
	if got := swedish("19121212", "121"); got != "191212121212" {
		t.Errorf("swedish(19121212, 121) = %q, want 191212121212", got)
	}
	if got := hetu("131052", '-', "308"); got != "131052-308T" {
		t.Errorf("hetu(131052, -, 308) = %q, want 131052-308T", got)
	}
}

func TestParseNorwegianPerson(t *testing.T) {
	valid := fnr(t, "010170", 123)  // 1 January 1970
	dnr := fnr(t, "410170", 123)    // d-nummer: day + 40
	synth := fnr(t, "018170", 123)  // synthetic: month + 80
	synthD := fnr(t, "418170", 123) // both
	tests := []struct {
		name      string
		rules     delegation.IDRules
		in        string
		want      delegation.PartyID // "" when an error is wanted
		wantBirth delegation.Date
		wantMsg   string // part of the error message
	}{
		{name: "fødselsnummer", in: valid, want: delegation.PartyID(valid), wantBirth: date(1970, 1, 1)},
		{name: "surrounding spaces are trimmed", in: " \t" + valid + "\n", want: delegation.PartyID(valid), wantBirth: date(1970, 1, 1)},
		{name: "no: prefix", in: "no:" + valid, want: delegation.PartyID(valid), wantBirth: date(1970, 1, 1)},
		{name: "NO: prefix", in: "NO:" + valid, want: delegation.PartyID(valid), wantBirth: date(1970, 1, 1)},
		{name: "first control digit wrong", in: flip(valid, 9), wantMsg: "first control digit"},
		{name: "second control digit wrong", in: flip(valid, 10), wantMsg: "second control digit"},
		{name: "d-nummer", in: dnr, want: delegation.PartyID(dnr), wantBirth: date(1970, 1, 1)},
		{name: "d-nummer on 31 January", in: fnr(t, "710170", 123), want: delegation.PartyID(fnr(t, "710170", 123)), wantBirth: date(1970, 1, 31)},
		{name: "d-nummer with day 32", in: fnr(t, "720170", 123), wantMsg: "does not exist"},
		{name: "day 40 is neither", in: fnr(t, "400170", 123), wantMsg: "does not exist"},
		{name: "d-nummer on 29 February in a leap year", in: fnr(t, "690272", 123), want: delegation.PartyID(fnr(t, "690272", 123)), wantBirth: date(1972, 2, 29)},
		{name: "synthetic rejected by default", in: synth, wantMsg: "synthetic"},
		{name: "synthetic accepted with AllowSynthetic", rules: delegation.IDRules{AllowSynthetic: true}, in: synth, want: delegation.PartyID(synth), wantBirth: date(1970, 1, 1)},
		{name: "synthetic d-nummer with AllowSynthetic", rules: delegation.IDRules{AllowSynthetic: true}, in: synthD, want: delegation.PartyID(synthD), wantBirth: date(1970, 1, 1)},
		{name: "synthetic d-nummer rejected by default", in: synthD, wantMsg: "synthetic"},
		{name: "synthetic month 93 does not exist", rules: delegation.IDRules{AllowSynthetic: true}, in: fnr(t, "019370", 123), wantMsg: "does not exist"},
		{name: "synthetic December", rules: delegation.IDRules{AllowSynthetic: true}, in: fnr(t, "319270", 123), want: delegation.PartyID(fnr(t, "319270", 123)), wantBirth: date(1970, 12, 31)},
		{name: "month 13", in: fnr(t, "011370", 123), wantMsg: "does not exist"},
		{name: "month 00", in: fnr(t, "010070", 123), wantMsg: "does not exist"},
		{name: "day 00", in: fnr(t, "000170", 123), wantMsg: "does not exist"},
		{name: "31 April", in: fnr(t, "310470", 123), wantMsg: "does not exist"},
		{name: "30 April", in: fnr(t, "300470", 123), want: delegation.PartyID(fnr(t, "300470", 123)), wantBirth: date(1970, 4, 30)},
		{name: "29 February 1970 (not a leap year)", in: fnr(t, "290270", 123), wantMsg: "does not exist"},
		{name: "29 February 1972", in: fnr(t, "290272", 123), want: delegation.PartyID(fnr(t, "290272", 123)), wantBirth: date(1972, 2, 29)},
		// yy 00 is 1900 (not a leap year) with 000–499 and 2000 (a leap year) with 500–999.
		{name: "29 February 1900 does not exist", in: fnr(t, "290200", 100), wantMsg: "does not exist"},
		{name: "29 February 2000 exists", in: fnr(t, "290200", 500), want: delegation.PartyID(fnr(t, "290200", 500)), wantBirth: date(2000, 2, 29)},
		{name: "29 February 1856 exists", in: fnr(t, "290256", 500), want: delegation.PartyID(fnr(t, "290256", 500)), wantBirth: date(1856, 2, 29)},
		{name: "29 February 1944 with 900–999", in: fnr(t, "290244", 900), want: delegation.PartyID(fnr(t, "290244", 900)), wantBirth: date(1944, 2, 29)},
		{name: "29 February 1945 with 900–999", in: fnr(t, "290245", 900), wantMsg: "does not exist"},

		{name: "1854 with 500–749", in: fnr(t, "010154", 500), want: delegation.PartyID(fnr(t, "010154", 500)), wantBirth: date(1854, 1, 1)},
		{name: "1899 with 740–749", in: fnr(t, "311299", 740), want: delegation.PartyID(fnr(t, "311299", 740)), wantBirth: date(1899, 12, 31)},
		{name: "1853 does not exist with 500–749", in: fnr(t, "311253", 500), wantMsg: "individual number"},
		{name: "yy 40–53 with 500–749", in: fnr(t, "010145", 600), wantMsg: "individual number"},
		{name: "1900 with 000", in: fnr(t, "010100", 0), want: delegation.PartyID(fnr(t, "010100", 0)), wantBirth: date(1900, 1, 1)},
		{name: "1999 with 490–499", in: fnr(t, "311299", 490), want: delegation.PartyID(fnr(t, "311299", 490)), wantBirth: date(1999, 12, 31)},
		{name: "2039 with 000–499 is 1939", in: fnr(t, "010139", 200), want: delegation.PartyID(fnr(t, "010139", 200)), wantBirth: date(1939, 1, 1)},
		{name: "1940 with 900–999", in: fnr(t, "010140", 900), want: delegation.PartyID(fnr(t, "010140", 900)), wantBirth: date(1940, 1, 1)},
		{name: "1999 with 990–999", in: fnr(t, "311299", 990), want: delegation.PartyID(fnr(t, "311299", 990)), wantBirth: date(1999, 12, 31)},
		{name: "yy 40–99 with 750–899", in: fnr(t, "010170", 800), wantMsg: "individual number"},
		{name: "yy 54–99 with 750–899", in: fnr(t, "010160", 750), wantMsg: "individual number"},
		{name: "2000 with 500", in: fnr(t, "010100", 500), want: delegation.PartyID(fnr(t, "010100", 500)), wantBirth: date(2000, 1, 1)},
		{name: "2039 with 900–999", in: fnr(t, "311239", 900), want: delegation.PartyID(fnr(t, "311239", 900)), wantBirth: date(2039, 12, 31)},
		{name: "2020 with 750–899", in: fnr(t, "010120", 800), want: delegation.PartyID(fnr(t, "010120", 800)), wantBirth: date(2020, 1, 1)},

		{name: "empty", in: "", wantMsg: "empty"},
		{name: "only spaces", in: "   ", wantMsg: "empty"},
		{name: "10 digits", in: valid[:10], wantMsg: "11 digits"},
		{name: "12 digits", in: valid + "0", wantMsg: "11 digits"},
		{name: "a letter", in: valid[:5] + "x" + valid[6:], wantMsg: "digits only"},
		{name: "a space inside", in: valid[:6] + " " + valid[6:], wantMsg: "digits only"},
		{name: "a hyphen inside", in: valid[:6] + "-" + valid[6:], wantMsg: "digits only"},
		{name: "non-ASCII digits", in: "٠١٠١٧٠١٢٣٤٥", wantMsg: "digits only"},
		{name: "a nested scheme after no:", in: "no:se:" + swedish("19900101", "123"), wantMsg: "digits only"},
		{name: "a nested no: after no:", in: "no:no:" + valid, wantMsg: "digits only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.rules.Parse(tt.in)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("%+v.Parse(%q) = %q, nil, want an error", tt.rules, tt.in, got)
				}
				if got != "" {
					t.Errorf("%+v.Parse(%q) = %q with an error, want \"\"", tt.rules, tt.in, got)
				}
				if !errors.Is(err, delegation.ErrInvalidID) || !errors.Is(err, delegation.ErrInvalid) {
					t.Errorf("%+v.Parse(%q) error %v does not wrap ErrInvalidID and ErrInvalid", tt.rules, tt.in, err)
				}
				if !strings.Contains(err.Error(), tt.wantMsg) {
					t.Errorf("%+v.Parse(%q) error = %q, want it to say %q", tt.rules, tt.in, err, tt.wantMsg)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("%+v.Parse(%q) = %q, %v, want %q, nil", tt.rules, tt.in, got, err, tt.want)
			}
			if k := got.Kind(); k != delegation.KindPerson {
				t.Errorf("%q.Kind() = %v, want person", got, k)
			}
			if s := got.Scheme(); s != "no" {
				t.Errorf("%q.Scheme() = %q, want no", got, s)
			}
			if b, ok := got.BirthDate(); !ok || b != tt.wantBirth {
				t.Errorf("%q.BirthDate() = %v, %v, want %v, true", got, b, ok, tt.wantBirth)
			}
		})
	}
}

func TestParseOrganizationNumber(t *testing.T) {
	// A base whose control digit would be 10: no organisation number starts with it.
	var noControl string
	for b := 10000000; noControl == ""; b++ {
		if _, ok := orgControl(fmt.Sprint(b)); !ok {
			noControl = fmt.Sprint(b)
		}
	}
	tests := []struct {
		name    string
		in      string
		want    delegation.PartyID
		wantMsg string
	}{
		{name: "Brønnøysundregistrene", in: "974760673", want: "974760673"},
		{name: "with no: prefix", in: "no:974760673", want: "974760673"},
		{name: "control digit wrong", in: "974760674", wantMsg: "control digit"},
		{name: "another digit wrong", in: "974760683", wantMsg: "control digit"},
		{name: "control digit would be 10, 0", in: noControl + "0", wantMsg: "control digit"},
		{name: "control digit would be 10, 9", in: noControl + "9", wantMsg: "control digit"},
		{name: "8 digits", in: "97476067", wantMsg: "not 8"},
		{name: "10 digits", in: "9747606730", wantMsg: "not 10"},
		{name: "spaces between groups", in: "974 760 673", wantMsg: "digits only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := expectParse(t, delegation.IDRules{}, tt.in, tt.want, tt.wantMsg)
			if !ok {
				return
			}
			if got.Kind() != delegation.KindOrganization || got.Scheme() != "no" {
				t.Errorf("%q: Kind() = %v, Scheme() = %q, want organization, no", got, got.Kind(), got.Scheme())
			}
			if b, ok := got.BirthDate(); ok {
				t.Errorf("%q.BirthDate() = %v, true, want false", got, b)
			}
		})
	}
}

func TestParseSwedish(t *testing.T) {
	std := swedish("19900101", "123")
	samordning := swedish("19900161", "123") // day + 60
	tests := []idCase{
		{name: "personnummer", in: "se:" + std, want: delegation.PartyID("se:" + std), wantBirth: date(1990, 1, 1)},
		{name: "with hyphen", in: "se:" + std[:8] + "-" + std[8:], want: delegation.PartyID("se:" + std), wantBirth: date(1990, 1, 1)},
		{name: "upper-case scheme", in: "SE:" + std, want: delegation.PartyID("se:" + std), wantBirth: date(1990, 1, 1)},
		{name: "samordningsnummer (day + 60)", in: "se:" + samordning, want: delegation.PartyID("se:" + samordning), wantBirth: date(1990, 1, 1)},
		{name: "samordningsnummer on the 31st", in: "se:" + swedish("19900191", "123"), want: delegation.PartyID("se:" + swedish("19900191", "123")), wantBirth: date(1990, 1, 31)},
		{name: "samordningsnummer with day 92", in: "se:" + swedish("19900192", "123"), wantMsg: "does not exist"},
		{name: "29 February 2000", in: "se:" + swedish("20000229", "123"), want: delegation.PartyID("se:" + swedish("20000229", "123")), wantBirth: date(2000, 2, 29)},
		{name: "29 February 1900", in: "se:" + swedish("19000229", "123"), wantMsg: "does not exist"},
		{name: "29 February 2023", in: "se:" + swedish("20230229", "123"), wantMsg: "does not exist"},
		{name: "31 April", in: "se:" + swedish("19900431", "123"), wantMsg: "does not exist"},
		{name: "Luhn digit wrong", in: "se:" + flip(std, 11), wantMsg: "control digit"},
		{name: "a digit of the date wrong", in: "se:" + flip(std, 7), wantMsg: "control digit"},
		{name: "10 digits", in: "se:" + std[2:], wantMsg: "12 digits"},
		{name: "10 digits with hyphen", in: "se:" + std[2:8] + "-" + std[8:], wantMsg: "12 digits"},
		{name: "13 digits", in: "se:" + std + "0", wantMsg: "12 digits"},
		{name: "letter", in: "se:" + std[:11] + "X", wantMsg: "12 digits"},
		{name: "empty", in: "se:", wantMsg: "12 digits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkParse(t, delegation.IDRules{}, tt.in, tt.want, tt.wantBirth, tt.wantMsg, "se")
		})
	}
}

func TestParseDanish(t *testing.T) {
	tests := []idCase{
		{name: "century digit 0", in: "dk:0101901234", want: "dk:0101901234", wantBirth: date(1990, 1, 1)},
		{name: "with hyphen", in: "dk:010190-1234", want: "dk:0101901234", wantBirth: date(1990, 1, 1)},
		{name: "century digit 3", in: "dk:3112993999", want: "dk:3112993999", wantBirth: date(1999, 12, 31)},
		{name: "century digit 4, yy 36", in: "dk:0101364000", want: "dk:0101364000", wantBirth: date(2036, 1, 1)},
		{name: "century digit 4, yy 37", in: "dk:0101374000", want: "dk:0101374000", wantBirth: date(1937, 1, 1)},
		{name: "century digit 9, yy 00", in: "dk:0101009000", want: "dk:0101009000", wantBirth: date(2000, 1, 1)},
		{name: "century digit 9, yy 99", in: "dk:0101999000", want: "dk:0101999000", wantBirth: date(1999, 1, 1)},
		{name: "century digit 5, yy 57", in: "dk:0101575000", want: "dk:0101575000", wantBirth: date(2057, 1, 1)},
		{name: "century digit 8, yy 58", in: "dk:0101588000", want: "dk:0101588000", wantBirth: date(1858, 1, 1)},
		{name: "29 February 2000 (digit 4)", in: "dk:2902004000", want: "dk:2902004000", wantBirth: date(2000, 2, 29)},
		{name: "29 February 1900 (digit 0)", in: "dk:2902000000", wantMsg: "does not exist"},
		{name: "31 April", in: "dk:3104901234", wantMsg: "does not exist"},
		{name: "month 13", in: "dk:0113901234", wantMsg: "does not exist"},
		{name: "9 digits", in: "dk:010190123", wantMsg: "10 digits"},
		{name: "11 digits", in: "dk:01019012345", wantMsg: "10 digits"},
		{name: "letter", in: "dk:010190123x", wantMsg: "10 digits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkParse(t, delegation.IDRules{}, tt.in, tt.want, tt.wantBirth, tt.wantMsg, "dk")
		})
	}
}

func TestParseFinnish(t *testing.T) {
	tests := []idCase{
		{name: "lower-case control character", in: "fi:131052-308t", want: "fi:131052-308T", wantBirth: date(1952, 10, 13)},
		{name: "control character wrong", in: "fi:131052-308U", wantMsg: "control character"},
		{name: "individual number wrong", in: "fi:131052-309T", wantMsg: "control character"},
		{name: "sign + is the 1800s", in: "fi:" + hetu("010150", '+', "123"), want: delegation.PartyID("fi:" + hetu("010150", '+', "123")), wantBirth: date(1850, 1, 1)},
		{name: "sign A is the 2000s", in: "fi:" + hetu("290200", 'A', "123"), want: delegation.PartyID("fi:" + hetu("290200", 'A', "123")), wantBirth: date(2000, 2, 29)},
		{name: "29 February 1900", in: "fi:" + hetu("290200", '-', "123"), wantMsg: "does not exist"},
		{name: "29 February 2023", in: "fi:" + hetu("290223", 'A', "123"), wantMsg: "does not exist"},
		{name: "29 February 2024", in: "fi:" + hetu("290224", 'B', "123"), want: delegation.PartyID("fi:" + hetu("290224", 'B', "123")), wantBirth: date(2024, 2, 29)},
		{name: "31 April", in: "fi:" + hetu("310490", '-', "123"), wantMsg: "does not exist"},
		{name: "unknown sign G", in: "fi:" + hetu("010190", 'G', "123"), wantMsg: "century sign"},
		{name: "unknown sign Z", in: "fi:" + hetu("010190", 'Z', "123"), wantMsg: "century sign"},
		{name: "10 characters", in: "fi:131052-308", wantMsg: "DDMMYYCZZZQ"},
		{name: "12 characters", in: "fi:131052-308TT", wantMsg: "DDMMYYCZZZQ"},
		{name: "letter in the date", in: "fi:13105x-308T", wantMsg: "DDMMYYCZZZQ"},
		{name: "letter in the individual number", in: "fi:131052-3x8T", wantMsg: "DDMMYYCZZZQ"},
		{name: "empty", in: "fi:", wantMsg: "DDMMYYCZZZQ"},
	}
	// Every century sign, old and new (2023), with the century it stands for.
	for _, c := range []struct {
		sign    byte
		century int
	}{{'+', 1800}, {'-', 1900}, {'Y', 1900}, {'X', 1900}, {'W', 1900}, {'V', 1900}, {'U', 1900},
		{'A', 2000}, {'B', 2000}, {'C', 2000}, {'D', 2000}, {'E', 2000}, {'F', 2000}} {
		h := hetu("150699", c.sign, "456")
		tests = append(tests, idCase{name: "century sign " + string(c.sign), in: "fi:" + h, want: delegation.PartyID("fi:" + h), wantBirth: date(c.century+99, 6, 15)})
		if c.sign >= 'A' { // a lower-case sign is accepted and canonicalised
			tests = append(tests, idCase{name: "lower-case century sign " + string(c.sign), in: "fi:" + strings.ToLower(h), want: delegation.PartyID("fi:" + h), wantBirth: date(c.century+99, 6, 15)})
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkParse(t, delegation.IDRules{}, tt.in, tt.want, tt.wantBirth, tt.wantMsg, "fi")
		})
	}
}

// Parse agrees with the test's own Luhn and mod-31 computations on generated Swedish
// and Finnish numbers, every HETU control character included.
func TestParseGeneratedNordic(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	first, last := date(1900, 1, 1).Start(), date(2039, 12, 31).Start()
	controls := map[byte]bool{}
	for i := range 5000 {
		birth := delegation.Today(first.Add(time.Duration(rng.Int64N(int64(last.Sub(first))))))
		ind := fmt.Sprintf("%03d", rng.IntN(1000))

		day := birth.Day
		if i%2 == 1 {
			day += 60 // samordningsnummer
		}
		se := swedish(fmt.Sprintf("%04d%02d%02d", birth.Year, birth.Month, day), ind)
		if id, err := (delegation.IDRules{}).Parse("se:" + se); err != nil || id != delegation.PartyID("se:"+se) {
			t.Fatalf("Parse(se:%s) = %q, %v, want se:%s", se, id, err, se)
		} else if b, _ := id.BirthDate(); b != birth {
			t.Fatalf("%q.BirthDate() = %v, want %v", id, b, birth)
		}
		if id, err := (delegation.IDRules{}).Parse("se:" + flip(se, 11)); err == nil {
			t.Fatalf("Parse(se:%s) = %q, nil, want a control digit error", flip(se, 11), id)
		}

		sign := byte('-')
		if birth.Year >= 2000 {
			sign = "ABCDEF"[rng.IntN(6)]
		} else if rng.IntN(2) == 0 {
			sign = "YXWVU"[rng.IntN(5)]
		}
		fi := hetu(fmt.Sprintf("%02d%02d%02d", birth.Day, birth.Month, birth.Year%100), sign, ind)
		controls[fi[10]] = true
		if id, err := (delegation.IDRules{}).Parse("fi:" + fi); err != nil || id != delegation.PartyID("fi:"+fi) {
			t.Fatalf("Parse(fi:%s) = %q, %v, want fi:%s", fi, id, err, fi)
		} else if b, _ := id.BirthDate(); b != birth {
			t.Fatalf("%q.BirthDate() = %v, want %v", id, b, birth)
		}
		for _, c := range []byte("0123456789ABCDEFHJKLMNPRSTUVWXY") {
			if c == fi[10] {
				continue
			}
			wrong := fi[:10] + string(c)
			if id, err := (delegation.IDRules{}).Parse("fi:" + wrong); err == nil {
				t.Fatalf("Parse(fi:%s) = %q, nil, want a control character error", wrong, id)
			}
		}
	}
	if len(controls) != 31 {
		t.Errorf("the generated HETUs used %d of the 31 control characters", len(controls))
	}
}

func TestParseEIDAS(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    delegation.PartyID
		wantMsg string
	}{
		{name: "typical", in: "eidas:SE/NO/abc123", want: "eidas:SE/NO/abc123"},
		{name: "upper-case scheme", in: "EIDAS:SE/NO/abc123", want: "eidas:SE/NO/abc123"},
		{name: "opaque, colons and all", in: "eidas:ES/NO/99:x=y", want: "eidas:ES/NO/99:x=y"},
		{name: "non-ASCII letters", in: "eidas:DE/NO/Müller", want: "eidas:DE/NO/Müller"},
		{name: "256 bytes", in: "eidas:" + strings.Repeat("a", 256), want: delegation.PartyID("eidas:" + strings.Repeat("a", 256))},
		{name: "257 bytes", in: "eidas:" + strings.Repeat("a", 257), wantMsg: "1 to 256"},
		{name: "empty", in: "eidas:", wantMsg: "1 to 256"},
		{name: "space", in: "eidas:SE/NO/a b", wantMsg: "no spaces"},
		{name: "tab", in: "eidas:SE/NO/a\tb", wantMsg: "no spaces"},
		{name: "NUL", in: "eidas:SE/NO/a\x00b", wantMsg: "control characters"},
		{name: "DEL", in: "eidas:SE/NO/a\x7fb", wantMsg: "control characters"},
		{name: "newline", in: "eidas:SE/NO/a\nb", wantMsg: "control characters"},
		{name: "C1 control NEL", in: "eidas:SE/NO/a\u0085b", wantMsg: "control characters"},
		{name: "C1 control CSI", in: "eidas:SE/NO/a\u009bb", wantMsg: "control characters"},
		{name: "no-break space", in: "eidas:SE/NO/a\u00a0b", wantMsg: "no spaces"},
		{name: "line separator", in: "eidas:SE/NO/a\u2028b", wantMsg: "no spaces"},
		{name: "invalid UTF-8", in: "eidas:SE/NO/a\xffb", wantMsg: "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := expectParse(t, delegation.IDRules{}, tt.in, tt.want, tt.wantMsg)
			if !ok {
				return
			}
			if got.Kind() != delegation.KindPerson || got.Scheme() != "eidas" {
				t.Errorf("%q: Kind() = %v, Scheme() = %q, want person, eidas", got, got.Kind(), got.Scheme())
			}
			if b, ok := got.BirthDate(); ok {
				t.Errorf("%q.BirthDate() = %v, true, want false (eIDAS encodes no birth date)", got, b)
			}
		})
	}
}

func TestParseUnknownScheme(t *testing.T) {
	for _, in := range []string{"us:123-45-6789", "is:0101902349", ":01017012345", "01017012345:", "person:01017012345"} {
		t.Run(in, func(t *testing.T) {
			got, err := delegation.IDRules{}.Parse(in)
			if err == nil || !errors.Is(err, delegation.ErrInvalidID) {
				t.Fatalf("Parse(%q) = %q, %v, want ErrInvalidID", in, got, err)
			}
			if !strings.Contains(err.Error(), "scheme") {
				t.Errorf("Parse(%q) error = %q, want it to name the scheme as the problem", in, err)
			}
		})
	}
}

// checkParse runs one case of a per-scheme table.
func checkParse(t *testing.T, r delegation.IDRules, in string, want delegation.PartyID, wantBirth delegation.Date, wantMsg, scheme string) {
	t.Helper()
	got, ok := expectParse(t, r, in, want, wantMsg)
	if !ok {
		return
	}
	if got.Kind() != delegation.KindPerson || got.Scheme() != scheme {
		t.Errorf("%q: Kind() = %v, Scheme() = %q, want person, %s", got, got.Kind(), got.Scheme(), scheme)
	}
	if b, ok := got.BirthDate(); !ok || b != wantBirth {
		t.Errorf("%q.BirthDate() = %v, %v, want %v, true", got, b, ok, wantBirth)
	}
	if again, err := r.Parse(string(got)); err != nil || again != got {
		t.Errorf("Parse(%q) (canonical) = %q, %v, want %q, nil", got, again, err, got)
	}
}

var digitRun = regexp.MustCompile(`[0-9]{6,}`)

// The error explains why a number is refused without ever repeating it: errors end up
// in logs, and a national identity number must not.
func TestParseErrorDoesNotEchoNumber(t *testing.T) {
	valid := fnr(t, "010170", 123)
	inputs := []string{
		flip(valid, 9), flip(valid, 10), valid[:10], valid + "1", valid[:6] + "x" + valid[7:],
		fnr(t, "310470", 123), fnr(t, "018170", 123), fnr(t, "010170", 800),
		"974760674", "97476067", "no:" + flip(valid, 10), "no:se:" + swedish("19900101", "123"),
		"se:" + flip(swedish("19900101", "123"), 11), "se:1990010112", "se:" + swedish("20230229", "123"),
		"dk:3104901234", "dk:310490123", "fi:131052-308U", "fi:131052G308T", "fi:290223A1234",
		valid + ":x", "xx:" + valid, valid + ":" + valid, "eidas:" + valid + " " + valid,
		"eidas:" + strings.Repeat("1", 300),
	}
	for _, in := range inputs {
		t.Run(in, func(t *testing.T) {
			_, err := delegation.IDRules{}.Parse(in)
			if err == nil {
				t.Fatalf("Parse(%q) = nil error, want one", in)
			}
			for _, run := range digitRun.FindAllString(in, -1) {
				if strings.Contains(err.Error(), run[:6]) {
					t.Errorf("Parse(%q) error %q repeats digits of the number", in, err)
				}
			}
		})
	}
}

func TestParsePersonAndOrganization(t *testing.T) {
	person := fnr(t, "010170", 123)
	tests := []struct {
		name    string
		parse   func(delegation.IDRules, string) (delegation.PartyID, error)
		in      string
		wantErr bool
	}{
		{"ParsePerson of a person", delegation.IDRules.ParsePerson, person, false},
		{"ParsePerson of a Swedish person", delegation.IDRules.ParsePerson, "se:191212121212", false},
		{"ParsePerson of an eIDAS id", delegation.IDRules.ParsePerson, "eidas:SE/NO/x", false},
		{"ParsePerson of an organisation", delegation.IDRules.ParsePerson, "974760673", true},
		{"ParsePerson of a bad number", delegation.IDRules.ParsePerson, flip(person, 10), true},
		{"ParseOrganization of an organisation", delegation.IDRules.ParseOrganization, "974760673", false},
		{"ParseOrganization of a person", delegation.IDRules.ParseOrganization, person, true},
		{"ParseOrganization of an eIDAS id", delegation.IDRules.ParseOrganization, "eidas:SE/NO/x", true},
		{"ParseOrganization of a bad number", delegation.IDRules.ParseOrganization, "974760674", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.parse(delegation.IDRules{}, tt.in)
			if tt.wantErr {
				if err == nil || got != "" || !errors.Is(err, delegation.ErrInvalidID) {
					t.Errorf("parse(%q) = %q, %v, want \"\", ErrInvalidID", tt.in, got, err)
				}
				if err != nil && strings.Contains(err.Error(), tt.in) {
					t.Errorf("parse(%q) error %q repeats the number", tt.in, err)
				}
				return
			}
			want, _ := delegation.IDRules{}.Parse(tt.in)
			if err != nil || got != want {
				t.Errorf("parse(%q) = %q, %v, want %q, nil", tt.in, got, err, want)
			}
		})
	}
}

func TestPartyIDKindSchemeString(t *testing.T) {
	tests := []struct {
		id         delegation.PartyID
		wantKind   delegation.PartyKind
		wantScheme string
	}{
		{"01017012345", delegation.KindPerson, "no"},
		{"974760673", delegation.KindOrganization, "no"},
		{"se:191212121212", delegation.KindPerson, "se"},
		{"se:974760673", delegation.KindPerson, "se"},
		{"dk:0101901234", delegation.KindPerson, "dk"},
		{"fi:131052-308T", delegation.KindPerson, "fi"},
		{"eidas:SE/NO/abc", delegation.KindPerson, "eidas"},
		{"", 0, "no"},
	}
	for _, tt := range tests {
		t.Run(string(tt.id), func(t *testing.T) {
			if got := tt.id.Kind(); got != tt.wantKind {
				t.Errorf("%q.Kind() = %v, want %v", tt.id, got, tt.wantKind)
			}
			if got := tt.id.Scheme(); got != tt.wantScheme {
				t.Errorf("%q.Scheme() = %q, want %q", tt.id, got, tt.wantScheme)
			}
			if got := tt.id.String(); got != string(tt.id) {
				t.Errorf("%q.String() = %q, want the identifier itself", tt.id, got)
			}
		})
	}
	for k, want := range map[delegation.PartyKind]string{delegation.KindPerson: "person", delegation.KindOrganization: "organization", 0: "unknown", 9: "unknown"} {
		if got := k.String(); got != want {
			t.Errorf("PartyKind(%d).String() = %q, want %q", k, got, want)
		}
	}
}

func TestBirthDateOfMalformedIDs(t *testing.T) {
	// A PartyID decoded from JSON has not been through Parse; asking for its birth date
	// must not crash the import that does so.
	for _, id := range []delegation.PartyID{"", "1", "0101701", "010170123456", "01017x12345", "no:01017012345",
		"se:", "se:1", "se:19900101123x", "dk:", "dk:0101", "fi:", "fi:010190", "fi:0101x0-123A", "eidas:", ":"} {
		t.Run(string(id), func(t *testing.T) {
			if d, ok := id.BirthDate(); ok {
				t.Errorf("%q.BirthDate() = %v, true, want false", id, d)
			}
		})
	}
}

func TestMasked(t *testing.T) {
	tests := []struct {
		id   delegation.PartyID
		want string
	}{
		{"01017012345", "010170*****"},
		{"974760673", "974760673"},
		{"se:191212121212", "se:19121212****"},
		{"dk:0101901234", "dk:010190****"},
		{"fi:131052-308T", "fi:131052*****"},
		{"eidas:SE/NO/abc123", "eidas:SE/NO/******"},
		{"eidas:SE/N", "eidas:SE/N"},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(string(tt.id), func(t *testing.T) {
			if got := tt.id.Masked(); got != tt.want {
				t.Errorf("%q.Masked() = %q, want %q", tt.id, got, tt.want)
			}
		})
	}
}

func TestLogValueRedactsPersons(t *testing.T) {
	person := delegation.PartyID(fnr(t, "010170", 123))
	tests := []struct {
		name      string
		id        delegation.PartyID
		want      string // what the log shows
		wantShown bool   // whether the identifier itself may appear
	}{
		{"Norwegian person", person, "no:person:redacted", false},
		{"d-nummer", delegation.PartyID(fnr(t, "410170", 123)), "no:person:redacted", false},
		{"Swedish person", "se:191212121212", "se:person:redacted", false},
		{"Danish person", "dk:0101901234", "dk:person:redacted", false},
		{"Finnish person", "fi:131052-308T", "fi:person:redacted", false},
		{"eIDAS person", "eidas:SE/NO/abc123", "eidas:person:redacted", false},
		{"organisation", "974760673", "974760673", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(slog.NewJSONHandler(&buf, nil))
			log.Info("act", "party", tt.id)
			log.Info("act", slog.Any("party", tt.id))
			log.LogAttrs(t.Context(), slog.LevelInfo, "act", slog.Any("party", tt.id))
			log.Info("act", slog.Group("request", "party", tt.id))
			log.With("party", tt.id).Info("act")
			out := buf.String()
			if got := strings.Count(out, `"party":"`+tt.want+`"`); got != 5 {
				t.Errorf("log of %q shows %q %d times, want 5:\n%s", tt.id, tt.want, got, out)
			}
			if shown := strings.Contains(out, string(tt.id)); shown != tt.wantShown {
				t.Errorf("log of %q contains the identifier: %v, want %v:\n%s", tt.id, shown, tt.wantShown, out)
			}
			if birth := strings.TrimRight(tt.id.Masked(), "*"); !tt.wantShown && tt.id.Scheme() != "eidas" && strings.Contains(out, birth) {
				t.Errorf("log of %q shows its birth date %q:\n%s", tt.id, birth, out)
			}
		})
	}
	t.Run("empty", func(t *testing.T) {
		if got := delegation.PartyID("").LogValue(); got.String() != "" {
			t.Errorf(`PartyID("").LogValue() = %q, want ""`, got)
		}
	})
}

// NorwegianPersonID, the test's own algorithm and Parse agree on every case.
func TestNorwegianPersonIDAgreesWithParse(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	first, last := date(1854, 1, 1).Start(), date(2039, 12, 31).Start()
	const n = 20000
	var made, refused int
	for range n {
		birth := delegation.Today(first.Add(time.Duration(rng.Int64N(int64(last.Sub(first))))))
		ind := rng.IntN(1000)
		dNumber, synthetic := rng.IntN(4) == 0, rng.IntN(4) == 0
		day, month := birth.Day, int(birth.Month)
		if dNumber {
			day += 40
		}
		if synthetic {
			month += 80
		}
		nine := fmt.Sprintf("%02d%02d%02d%03d", day, month, birth.Year%100, ind)
		local, controlsOK := fnrWithControls(nine)
		year, centuryOK := norwegianYear(birth.Year%100, ind)
		wantOK := controlsOK && centuryOK && year == birth.Year

		id, ok := delegation.NorwegianPersonID(birth, ind, dNumber, synthetic)
		if ok != wantOK || (ok && string(id) != local) {
			t.Fatalf("NorwegianPersonID(%v, %d, %v, %v) = %q, %v, want %q, %v", birth, ind, dNumber, synthetic, id, ok, local, wantOK)
		}
		if !ok {
			refused++
			if controlsOK { // the digits are a number, but not of this birth date
				if got, err := (delegation.IDRules{AllowSynthetic: true}).Parse(local); err == nil {
					if b, _ := got.BirthDate(); b == birth {
						t.Fatalf("Parse(%q).BirthDate() = %v, but the individual number %d is not used for that year", local, b, ind)
					}
				}
			}
			continue
		}
		made++
		got, err := delegation.IDRules{AllowSynthetic: synthetic}.Parse(string(id))
		if err != nil || got != id {
			t.Fatalf("Parse(%q) = %q, %v, want %q, nil", id, got, err, id)
		}
		if b, ok := got.BirthDate(); !ok || b != birth {
			t.Fatalf("%q.BirthDate() = %v, %v, want %v, true", id, b, ok, birth)
		}
		if synthetic {
			if _, err := (delegation.IDRules{}).Parse(string(id)); err == nil {
				t.Fatalf("Parse(%q) without AllowSynthetic = nil error, want one", id)
			}
		}
	}
	if made < n/5 || refused < n/5 {
		t.Errorf("made %d and refused %d of %d: the generator does not exercise both outcomes", made, refused, n)
	}
}

// Parse and the test's validator agree on random numbers with valid control digits
// and on random numbers with random control digits.
func TestParseNorwegianAgreesWithLocalValidator(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var accepted int
	for i := range 30000 {
		day, month := rng.IntN(80), rng.IntN(100)
		nine := fmt.Sprintf("%02d%02d%02d%03d", day, month, rng.IntN(100), rng.IntN(1000))
		s, ok := fnrWithControls(nine)
		if !ok || i%3 == 0 {
			s = nine + fmt.Sprintf("%02d", rng.IntN(100))
		}
		for _, allow := range []bool{false, true} {
			r := delegation.IDRules{AllowSynthetic: allow}
			want, wantOK := localFnr(s, allow)
			got, err := r.Parse(s)
			if (err == nil) != wantOK {
				t.Fatalf("%+v.Parse(%q) = %q, %v; the test's validator says valid = %v", r, s, got, err, wantOK)
			}
			if wantOK {
				accepted++
				if b, _ := got.BirthDate(); b != want {
					t.Fatalf("%q.BirthDate() = %v, want %v", got, b, want)
				}
			}
		}
	}
	if accepted < 1000 {
		t.Errorf("only %d accepted: the generator is too weak", accepted)
	}
}

func TestNorwegianPersonIDRefusesBadInput(t *testing.T) {
	tests := []struct {
		name               string
		birth              delegation.Date
		ind                int
		dNumber, synthetic bool
	}{
		{"individual number -1", date(1970, 1, 1), -1, false, false},
		{"individual number -5", date(1970, 1, 1), -5, false, false},
		{"individual number 1000", date(1970, 1, 1), 1000, false, false},
		{"individual number 12345", date(1970, 1, 1), 12345, false, false},
		{"zero date", delegation.Date{}, 123, false, false},
		{"29 February 2023", date(2023, 2, 29), 500, false, false},
		{"day 32", date(1970, 1, 32), 123, false, false},
		{"1853", date(1853, 6, 1), 600, false, false},
		{"2040", date(2040, 6, 1), 600, false, false},
		{"1970 with 500–749", date(1970, 6, 1), 600, false, false},
		{"negative year", date(-70, 6, 1), 123, false, false},
		{"d-nummer of day 32", date(1970, 1, 32), 123, true, false},
		{"synthetic month 13", date(1970, 13, 1), 123, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Eleven individual numbers in a row, so that one whose control digit would
			// be 10 cannot hide a bug; they stay on the same side of 0 and of 999.
			for ind := tt.ind; ind < tt.ind+11 && (ind < 0) == (tt.ind < 0) && (ind > 999) == (tt.ind > 999); ind++ {
				if id, ok := delegation.NorwegianPersonID(tt.birth, ind, tt.dNumber, tt.synthetic); ok {
					t.Errorf("NorwegianPersonID(%v, %d, %v, %v) = %q, true, want false", tt.birth, ind, tt.dNumber, tt.synthetic, id)
				}
			}
		})
	}
}

func TestOrganizationNumber(t *testing.T) {
	for _, base := range []int{-1, 0, 9999999, 100000000} {
		if id, ok := delegation.OrganizationNumber(base); ok {
			t.Errorf("OrganizationNumber(%d) = %q, true, want false", base, id)
		}
	}
	if id, ok := delegation.OrganizationNumber(97476067); !ok || id != "974760673" {
		t.Errorf("OrganizationNumber(97476067) = %q, %v, want 974760673, true", id, ok)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	bases := []int{10000000, 99999999}
	for range 5000 {
		bases = append(bases, 10000000+rng.IntN(90000000))
	}
	var made int
	for _, base := range bases {
		eight := fmt.Sprint(base)
		k, wantOK := orgControl(eight)
		id, ok := delegation.OrganizationNumber(base)
		if ok != wantOK || (ok && string(id) != fmt.Sprintf("%s%d", eight, k)) {
			t.Fatalf("OrganizationNumber(%d) = %q, %v, want %s%d, %v", base, id, ok, eight, k, wantOK)
		}
		if ok {
			made++
			if got, err := (delegation.IDRules{}).ParseOrganization(string(id)); err != nil || got != id {
				t.Fatalf("ParseOrganization(%q) = %q, %v, want %q, nil", id, got, err, id)
			}
		}
		// Of the ten numbers with this base, exactly the one returned parses.
		for d := range 10 {
			s := fmt.Sprintf("%s%d", eight, d)
			_, err := delegation.IDRules{}.Parse(s)
			if want := ok && d == k; (err == nil) != want {
				t.Fatalf("Parse(%q) error = %v, want valid = %v", s, err, want)
			}
		}
	}
	if made < len(bases)*8/10 {
		t.Errorf("only %d of %d bases gave a number", made, len(bases))
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", " ", "01017012345", "974760673", "no:974760673", "NO:01017012345", "no:no:1",
		"41017012345", "01817012345", "29020050000", "se:191212121212", "se:19121212-1212",
		"SE:19121212+1212", "se:19900161", "dk:0101901234", "dk:010190-1234", "fi:131052-308T",
		"fi:131052-308t", "fi:150699Y456N", "fi:290224B123", "eidas:SE/NO/abc123", "eidas:",
		"eidas:a\xffb", "eidas:a\u0085", "us:1", ":", "::", "01017012345:", "\u00a0974760673\u00a0",
		"٠١٠١٧٠١٢٣٤٥", "d\u212a:0101901234", "fi:131052-308ſ",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, allowSynthetic bool) {
		r := delegation.IDRules{AllowSynthetic: allowSynthetic}
		id, err := r.Parse(s)
		if err != nil {
			if id != "" {
				t.Fatalf("Parse(%q) = %q with error %v, want \"\"", s, id, err)
			}
			if !errors.Is(err, delegation.ErrInvalidID) {
				t.Fatalf("Parse(%q) error %v does not wrap ErrInvalidID", s, err)
			}
			for _, run := range digitRun.FindAllString(s, -1) {
				if strings.Contains(err.Error(), run) {
					t.Fatalf("Parse(%q) error %q repeats the number", s, err)
				}
			}
			return
		}
		if id == "" {
			t.Fatalf("Parse(%q) = \"\", nil", s)
		}
		again, err := r.Parse(string(id))
		if err != nil || again != id {
			t.Fatalf("Parse(%q) = %q, but Parse(%q) = %q, %v: canonical ids must be stable", s, id, id, again, err)
		}
		if allowSynthetic == false {
			if lax, err := (delegation.IDRules{AllowSynthetic: true}).Parse(s); err != nil || lax != id {
				t.Fatalf("Parse(%q) = %q, but with AllowSynthetic = %q, %v", s, id, lax, err)
			}
		}
		person, perr := r.ParsePerson(s)
		org, oerr := r.ParseOrganization(s)
		switch id.Kind() {
		case delegation.KindPerson:
			if perr != nil || person != id || oerr == nil {
				t.Fatalf("person %q: ParsePerson = %q, %v; ParseOrganization error %v", id, person, perr, oerr)
			}
		case delegation.KindOrganization:
			if oerr != nil || org != id || perr == nil || id.Scheme() != "no" {
				t.Fatalf("organisation %q: ParseOrganization = %q, %v; ParsePerson error %v", id, org, oerr, perr)
			}
		default:
			t.Fatalf("Parse(%q) = %q of kind %v", s, id, id.Kind())
		}
		if b, ok := id.BirthDate(); ok != (id.Kind() == delegation.KindPerson && id.Scheme() != "eidas") {
			t.Fatalf("%q.BirthDate() = %v, %v", id, b, ok)
		}
		if m := id.Masked(); len(m) != len(id) {
			t.Fatalf("%q.Masked() = %q, not the same length", id, m)
		}
		if v, want := id.LogValue().String(), id.Scheme()+":person:redacted"; id.Kind() == delegation.KindPerson && v != want {
			t.Fatalf("%q.LogValue() = %q, want %q", id, v, want)
		}
	})
}

// The methods of PartyID never panic, whatever the string: ids arrive from JSON too.
func FuzzPartyIDMethods(f *testing.F) {
	for _, s := range []string{"", "1", "se:", "dk:1", "fi:010190", "fi:0101901234567", "no:1", "eidas:", "974760673", "01017012345"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id := delegation.PartyID(s)
		_ = id.Kind().String()
		_ = id.Scheme()
		_ = id.LogValue()
		if m := id.Masked(); len(m) != len(s) {
			t.Fatalf("%q.Masked() = %q, not the same length", s, m)
		}
		if b, ok := id.BirthDate(); ok {
			if _, err := delegation.ParseDate(b.String()); err != nil {
				t.Fatalf("%q.BirthDate() = %v, a date that does not exist", s, b)
			}
		}
	})
}

// expectParse runs rules.Parse(in): when want is empty it expects an ErrInvalidID whose
// message says wantMsg and reports false; otherwise it expects want and reports true.
func expectParse(t *testing.T, rules delegation.IDRules, in string, want delegation.PartyID, wantMsg string) (delegation.PartyID, bool) {
	t.Helper()
	got, err := rules.Parse(in)
	if want == "" {
		if err == nil || !errors.Is(err, delegation.ErrInvalidID) || !strings.Contains(err.Error(), wantMsg) {
			t.Errorf("Parse(%q) = %q, %v, want an ErrInvalidID saying %q", in, got, err, wantMsg)
		}
		return got, false
	}
	if err != nil || got != want {
		t.Fatalf("Parse(%q) = %q, %v, want %q, nil", in, got, err, want)
	}
	return got, true
}
