package delegation

import (
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// PartyKind says whether a party is a person or an organisation.
type PartyKind uint8

const (
	KindPerson PartyKind = iota + 1
	KindOrganization
)

func (k PartyKind) String() string {
	switch k {
	case KindPerson:
		return "person"
	case KindOrganization:
		return "organization"
	}
	return "unknown"
}

// PartyID is the canonical identifier of a party. Its forms are:
//
//	01017012345          Norwegian fødselsnummer or d-nummer (11 digits)
//	910000004            Norwegian organisation number (9 digits)
//	se:199001011234      Swedish personnummer or samordningsnummer (12 digits)
//	dk:0101901234        Danish CPR number (10 digits)
//	fi:010190-123A       Finnish personal identity code (HETU)
//	eidas:SE/NO/abc123   an eIDAS unique identifier, opaque
//
// Obtain one with IDRules.Parse, which checks the control digits; a PartyID built by
// conversion from an unchecked string is a bug. Person identifiers are personal data:
// PartyID implements slog.LogValuer so that they never reach a log.
type PartyID string

// Kind returns the kind of party the identifier names; the empty PartyID names no
// party and has kind 0 ("unknown").
func (id PartyID) Kind() PartyKind {
	if id == "" {
		return 0
	}
	if len(id) == 9 && isDigits(string(id)) {
		return KindOrganization
	}
	return KindPerson
}

// Scheme returns the identifier scheme: "no" for Norwegian numbers (persons and
// organisations), otherwise the prefix before the colon.
func (id PartyID) Scheme() string {
	if scheme, _, ok := strings.Cut(string(id), ":"); ok {
		return scheme
	}
	return "no"
}

// String returns the identifier itself. Use it for storage and protocols, never for
// logs: log the PartyID value and slog redacts it.
func (id PartyID) String() string { return string(id) }

// LogValue redacts person identifiers (organisation numbers are public).
func (id PartyID) LogValue() slog.Value {
	if id == "" {
		return slog.StringValue("")
	}
	if id.Kind() == KindOrganization {
		return slog.StringValue(string(id))
	}
	return slog.StringValue(id.Scheme() + ":person:redacted")
}

// Masked returns the identifier with everything after the birth date hidden, for
// showing a person which number they typed ("010170*****").
func (id PartyID) Masked() string {
	s := string(id)
	if id.Kind() == KindOrganization || len(s) <= 6 {
		return s
	}
	keep := 6
	if id.Scheme() != "no" {
		keep = strings.Index(s, ":") + 1 + 6
		if id.Scheme() == "se" {
			keep += 2 // the century
		}
		if keep > len(s) {
			keep = len(s)
		}
	}
	return s[:keep] + strings.Repeat("*", len(s)-keep)
}

// IDRules are the rules for accepting identifiers.
type IDRules struct {
	// AllowSynthetic accepts Norwegian synthetic test numbers (Skatteetaten's, with 80
	// added to the month). Off in production; on for demo and test populations.
	AllowSynthetic bool
}

// ErrInvalidID is wrapped by every identifier validation error.
var ErrInvalidID = fmt.Errorf("%w identifier", ErrInvalid)

func invalidID(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidID}, args...)...)
}

// Parse checks s and returns it as a canonical PartyID. The error says why a number is
// not accepted (length, control digit, date, scheme), without echoing the number.
func (r IDRules) Parse(s string) (PartyID, error) {
	s = strings.TrimSpace(s)
	if scheme, value, ok := strings.Cut(s, ":"); ok {
		switch strings.ToLower(scheme) {
		case "no":
			if strings.Contains(value, ":") { // "no:se:…" is not a Norwegian number
				return "", invalidID("a Norwegian number has digits only")
			}
			return r.Parse(value)
		case "se":
			return parseSwedish(value)
		case "dk":
			return parseDanish(value)
		case "fi":
			return parseFinnish(value)
		case "eidas":
			return parseEIDAS(value)
		}
		// The scheme is not echoed: what precedes the colon may be the number itself.
		return "", invalidID("unknown identifier scheme (want no, se, dk, fi or eidas)")
	}
	switch {
	case s == "":
		return "", invalidID("empty identifier")
	case !isDigits(s):
		return "", invalidID("a Norwegian number has digits only")
	case len(s) == 9:
		return parseOrgNumber(s)
	case len(s) == 11:
		return r.parseNorwegianPerson(s)
	}
	return "", invalidID("a Norwegian number has 11 digits (person) or 9 digits (organisation), not %d", len(s))
}

// ParsePerson is Parse restricted to persons.
func (r IDRules) ParsePerson(s string) (PartyID, error) {
	id, err := r.Parse(s)
	if err == nil && id.Kind() != KindPerson {
		return "", invalidID("an organisation number where a person's identity number was expected")
	}
	return id, err
}

// ParseOrganization is Parse restricted to organisations.
func (r IDRules) ParseOrganization(s string) (PartyID, error) {
	id, err := r.Parse(s)
	if err == nil && id.Kind() != KindOrganization {
		return "", invalidID("a person's identity number where an organisation number was expected")
	}
	return id, err
}

// BirthDate returns the birth date encoded in a person identifier, when the scheme
// encodes one (all but eidas). An identifier not in canonical form (one decoded from
// JSON without IDRules.Parse) reports false rather than panicking.
func (id PartyID) BirthDate() (Date, bool) {
	s := string(id)
	switch id.Scheme() {
	case "no":
		if id.Kind() != KindPerson || len(s) != 11 || !isDigits(s) {
			return Date{}, false
		}
		d, err := norwegianBirthDate(s)
		return d, err == nil
	case "se":
		if len(s) != 15 || !isDigits(s[3:]) {
			return Date{}, false
		}
		d, err := swedishBirthDate(s[3:])
		return d, err == nil
	case "dk":
		if len(s) != 13 || !isDigits(s[3:]) {
			return Date{}, false
		}
		d, err := danishBirthDate(s[3:])
		return d, err == nil
	case "fi":
		if len(s) != 14 || !isDigits(s[3:9]) {
			return Date{}, false
		}
		d, err := finnishBirthDate(s[3:])
		return d, err == nil
	}
	return Date{}, false
}

var (
	fnrWeights1 = []int{3, 7, 6, 1, 8, 9, 4, 5, 2}
	fnrWeights2 = []int{5, 4, 3, 2, 7, 6, 5, 4, 3, 2}
	orgWeights  = []int{3, 2, 7, 6, 5, 4, 3, 2}
)

// mod11 returns the control digit for digits under weights, or -1 when the sum gives
// the remainder that no valid number has.
func mod11(digits string, weights []int) int {
	sum := 0
	for i, w := range weights {
		sum += int(digits[i]-'0') * w
	}
	k := 11 - sum%11
	switch k {
	case 11:
		return 0
	case 10:
		return -1
	}
	return k
}

func parseOrgNumber(s string) (PartyID, error) {
	k := mod11(s, orgWeights)
	if k < 0 || int(s[8]-'0') != k {
		return "", invalidID("organisation number control digit does not match")
	}
	return PartyID(s), nil
}

func (r IDRules) parseNorwegianPerson(s string) (PartyID, error) {
	k1 := mod11(s, fnrWeights1)
	if k1 < 0 || int(s[9]-'0') != k1 {
		return "", invalidID("first control digit of the identity number does not match")
	}
	k2 := mod11(s, fnrWeights2)
	if k2 < 0 || int(s[10]-'0') != k2 {
		return "", invalidID("second control digit of the identity number does not match")
	}
	if atoi(s[2:4]) > 80 && !r.AllowSynthetic {
		return "", invalidID("synthetic test numbers are not accepted here")
	}
	if _, err := norwegianBirthDate(s); err != nil {
		return "", err
	}
	return PartyID(s), nil
}

// norwegianBirthDate decodes DDMMYYIII: the day has 40 added for a d-nummer, the
// month 80 for a synthetic number, and the individual number III gives the century.
func norwegianBirthDate(s string) (Date, error) {
	day, month, yy, ind := atoi(s[0:2]), atoi(s[2:4]), atoi(s[4:6]), atoi(s[6:9])
	if day > 40 {
		day -= 40
	}
	if month > 80 {
		month -= 80
	}
	var year int
	switch {
	case ind <= 499:
		year = 1900 + yy
	case ind <= 749 && yy >= 54:
		year = 1800 + yy
	case ind >= 500 && yy <= 39:
		year = 2000 + yy
	case ind >= 900 && yy >= 40:
		year = 1900 + yy
	default:
		return Date{}, invalidID("individual number is not used for that birth year")
	}
	return validDate(year, month, day)
}

func parseSwedish(v string) (PartyID, error) {
	v = strings.ReplaceAll(strings.ReplaceAll(v, "-", ""), "+", "")
	if !isDigits(v) || len(v) != 12 {
		return "", invalidID("a Swedish personnummer has 12 digits (YYYYMMDDNNNC)")
	}
	if !luhnOK(v[2:]) {
		return "", invalidID("Swedish personnummer control digit does not match")
	}
	if _, err := swedishBirthDate(v); err != nil {
		return "", err
	}
	return PartyID("se:" + v), nil
}

// swedishBirthDate decodes YYYYMMDD; a samordningsnummer has 60 added to the day.
func swedishBirthDate(v string) (Date, error) {
	day := atoi(v[6:8])
	if day > 60 {
		day -= 60
	}
	return validDate(atoi(v[0:4]), atoi(v[4:6]), day)
}

func luhnOK(digits string) bool {
	sum := 0
	for i := range len(digits) {
		d := int(digits[len(digits)-1-i] - '0')
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

// parseDanish accepts a CPR number. Denmark stopped guaranteeing the mod-11 check in
// 2007, so only the date and the century digit are checked.
func parseDanish(v string) (PartyID, error) {
	v = strings.ReplaceAll(v, "-", "")
	if !isDigits(v) || len(v) != 10 {
		return "", invalidID("a Danish CPR number has 10 digits (DDMMYYSSSS)")
	}
	if _, err := danishBirthDate(v); err != nil {
		return "", err
	}
	return PartyID("dk:" + v), nil
}

func danishBirthDate(v string) (Date, error) {
	day, month, yy, c := atoi(v[0:2]), atoi(v[2:4]), atoi(v[4:6]), int(v[6]-'0')
	year := 1900 + yy
	switch {
	case (c == 4 || c == 9) && yy <= 36:
		year = 2000 + yy
	case c >= 5 && c <= 8 && yy <= 57:
		year = 2000 + yy
	case c >= 5 && c <= 8:
		year = 1800 + yy
	}
	return validDate(year, month, day)
}

const hetuControl = "0123456789ABCDEFHJKLMNPRSTUVWXY"

// parseFinnish accepts a HETU: DDMMYY, a century sign, an individual number, and a
// control character (DDMMYYZZZ mod 31).
func parseFinnish(v string) (PartyID, error) {
	v = strings.ToUpper(v)
	if len(v) != 11 || !isDigits(v[0:6]) || !isDigits(v[7:10]) {
		return "", invalidID("a Finnish personal identity code has the form DDMMYYCZZZQ")
	}
	if _, err := finnishBirthDate(v); err != nil {
		return "", err
	}
	if hetuControl[atoi(v[0:6]+v[7:10])%31] != v[10] {
		return "", invalidID("Finnish personal identity code control character does not match")
	}
	return PartyID("fi:" + v), nil
}

func finnishBirthDate(v string) (Date, error) {
	var century int
	switch v[6] {
	case '+':
		century = 1800
	case '-', 'Y', 'X', 'W', 'V', 'U':
		century = 1900
	case 'A', 'B', 'C', 'D', 'E', 'F':
		century = 2000
	default:
		return Date{}, invalidID("unknown century sign in Finnish personal identity code")
	}
	return validDate(century+atoi(v[4:6]), atoi(v[2:4]), atoi(v[0:2]))
}

func parseEIDAS(v string) (PartyID, error) {
	if v == "" || len(v) > 256 {
		return "", invalidID("an eIDAS identifier has 1 to 256 characters")
	}
	if !utf8.ValidString(v) { // JSON would turn the bad bytes into U+FFFD: another id
		return "", invalidID("an eIDAS identifier is UTF-8 text")
	}
	for _, c := range v {
		if c <= ' ' || c == 0x7f || unicode.IsControl(c) || unicode.IsSpace(c) {
			return "", invalidID("an eIDAS identifier has no spaces or control characters")
		}
	}
	return PartyID("eidas:" + v), nil
}

func validDate(year, month, day int) (Date, error) {
	if month < 1 || month > 12 || day < 1 || day > 31 {
		return Date{}, invalidID("the birth date in the identity number does not exist")
	}
	t := time.Date(year, time.Month(month), day, 12, 0, 0, 0, time.UTC)
	if t.Day() != day {
		return Date{}, invalidID("the birth date in the identity number does not exist")
	}
	return Date{year, time.Month(month), day}, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// atoi converts a string of ASCII digits; callers have checked isDigits.
func atoi(s string) int {
	n := 0
	for i := range len(s) {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// NorwegianPersonID builds the identity number of a person born on birth with the
// individual number ind (0–999; it must suit the birth year, see the century rules).
// dNumber adds 40 to the day, synthetic adds 80 to the month (a test number). It
// reports false when no valid number exists for that individual number (a control
// digit would be 10): try the next one. For demo populations and tests.
func NorwegianPersonID(birth Date, ind int, dNumber, synthetic bool) (PartyID, bool) {
	if ind < 0 || ind > 999 { // %03d would write more than three digits, or a sign
		return "", false
	}
	day, month := birth.Day, int(birth.Month)
	if dNumber {
		day += 40
	}
	if synthetic {
		month += 80
	}
	s := fmt.Sprintf("%02d%02d%02d%03d", day, month, birth.Year%100, ind)
	k1 := mod11(s, fnrWeights1)
	if k1 < 0 {
		return "", false
	}
	s += string(rune('0' + k1))
	k2 := mod11(s, fnrWeights2)
	if k2 < 0 {
		return "", false
	}
	s += string(rune('0' + k2))
	if d, err := norwegianBirthDate(s); err != nil || d != birth {
		return "", false
	}
	return PartyID(s), true
}

// OrganizationNumber builds the organisation number whose first eight digits are
// base (10000000–99999999). It reports false when no valid number has that base.
func OrganizationNumber(base int) (PartyID, bool) {
	if base < 10000000 || base > 99999999 {
		return "", false
	}
	s := fmt.Sprintf("%08d", base)
	k := mod11(s, orgWeights)
	if k < 0 {
		return "", false
	}
	return PartyID(s + string(rune('0'+k))), true
}
