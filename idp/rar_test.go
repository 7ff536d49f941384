package idp

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ory/fosite"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/policies"
)

// Identifiers for the tests: valid, with control digits that match.
const (
	rarPerson    = "01017010170" // born 1 January 1970
	rarSynthetic = "17851050183" // a synthetic test number
	rarOrg       = "910000004"
	skatteetaten = "974761076"
	nav          = "889640782"
)

func rarCatalogue(t testing.TB) *authz.Catalogue {
	t.Helper()
	pack, err := policies.Load()
	if err != nil {
		t.Fatal(err)
	}
	return pack.Catalogue
}

var (
	rarToday = delegation.NewDate(2026, 11, 23)
	rarBoth  = []string{"representation", "consent"}
)

func TestParseAuthorizationDetails(t *testing.T) {
	cat := rarCatalogue(t)
	tests := []struct {
		name    string
		raw     string
		allowed []string // rarBoth when nil
		want    []AuthorizationDetail
		wantErr string // the description, exactly; "" for success
	}{
		{
			name: "representation, the person picks",
			raw:  `[{"type":"representation"}]`,
			want: []AuthorizationDetail{{Type: DetailRepresentation}},
		},
		{
			name: "representation of a named person, services and actions",
			raw: `[{"type":"representation","party":{"type":"person","id":"` + rarPerson + `"},
			        "services":["skatteetaten.skattemelding","nav.dagpenger"],"actions":["read","submit"]}]`,
			want: []AuthorizationDetail{{
				Type: DetailRepresentation, Party: rarPerson,
				Services: []string{"skatteetaten.skattemelding", "nav.dagpenger"}, Actions: []string{"read", "submit"},
			}},
		},
		{
			name: "representation of an organisation; a synthetic number; the no: prefix",
			raw: ` [ {"type":"representation","party":{"id":"no:` + rarOrg + `","type":"organization"}},
			         {"type":"representation","party":{"type":"person","id":"` + rarSynthetic + `"},"actions":["vote"]} ] `,
			want: []AuthorizationDetail{
				{Type: DetailRepresentation, Party: rarOrg},
				{Type: DetailRepresentation, Party: rarSynthetic, Actions: []string{"vote"}},
			},
		},
		{
			name: "consent",
			raw: `[{"type":"consent","provider":"` + skatteetaten + `","data_set":"skatteetaten.inntekt",
			        "purpose":"  Loan application at Example Bank  ","valid_to":"2027-11-23","one_time":true}]`,
			want: []AuthorizationDetail{{
				Type: DetailConsent, Provider: skatteetaten, DataSet: "skatteetaten.inntekt",
				Purpose: "Loan application at Example Bank", ValidTo: delegation.NewDate(2027, 11, 23), OneTime: true,
			}},
		},
		{
			name: "consent valid today only, and a representation",
			raw: `[{"type":"consent","provider":"` + nav + `","data_set":"nav.ytelser","purpose":"Søknad om bostøtte","valid_to":"2026-11-23","one_time":false},
			       {"type":"representation"}]`,
			want: []AuthorizationDetail{
				{Type: DetailConsent, Provider: nav, DataSet: "nav.ytelser", Purpose: "Søknad om bostøtte", ValidTo: rarToday},
				{Type: DetailRepresentation},
			},
		},

		// The array.
		{name: "object", raw: `{"type":"representation"}`, wantErr: "authorization_details: not a JSON array of objects"},
		{name: "null", raw: `null`, wantErr: "authorization_details: not a JSON array of objects"},
		{name: "empty string", raw: ``, wantErr: "authorization_details: not a JSON array of objects"},
		{name: "empty array", raw: `[]`, wantErr: "authorization_details: an empty array; leave the parameter out instead"},
		{name: "bad JSON", raw: `[{"type":"representation"}`, wantErr: "authorization_details: not valid JSON: unexpected end of JSON input"},
		{name: "trailing data", raw: `[{"type":"representation"}] x`, wantErr: "authorization_details: not valid JSON: invalid character 'x' after top-level value"},
		{name: "eleven entries", raw: "[" + strings.Repeat(`{"type":"representation"},`, 10) + `{"type":"representation"}]`, wantErr: "authorization_details: 11 entries, more than 10"},
		{name: "too long", raw: `[{"type":"representation"}]` + strings.Repeat(" ", 8<<10), wantErr: "authorization_details: longer than 8192 bytes"},
		{name: "entry not an object", raw: `[{"type":"representation"},"consent"]`, wantErr: "authorization_details[1]: not a JSON object"},
		{name: "entry null", raw: `[null]`, wantErr: "authorization_details[0]: not a JSON object"},

		// The type.
		{name: "no type", raw: `[{"services":["nav.dagpenger"]}]`, wantErr: "authorization_details[0]: no type"},
		{name: "type not a string", raw: `[{"type":1}]`, wantErr: "authorization_details[0].type: not a string"},
		{name: "type null", raw: `[{"type":null}]`, wantErr: "authorization_details[0].type: not a string"},
		{name: "unknown type", raw: `[{"type":"payment_initiation"}]`, wantErr: `authorization_details[0].type: unknown type 'payment_initiation' (want representation or consent)`},
		{name: "long odd type", raw: `[{"type":"` + strings.Repeat("x", 70) + `\"ü\\"}]`, wantErr: `authorization_details[0].type: unknown type '` + strings.Repeat("x", 61) + `...' (want representation or consent)`},
		{name: "odd type", raw: `[{"type":"\"ü\\\u0007"}]`, wantErr: `authorization_details[0].type: unknown type '????' (want representation or consent)`},
		{name: "type in another case", raw: `[{"type":"Representation"}]`, wantErr: `authorization_details[0].type: unknown type 'Representation' (want representation or consent)`},
		{name: "type not allowed", raw: `[{"type":"representation"},{"type":"consent","provider":"` + skatteetaten + `","data_set":"skatteetaten.inntekt","purpose":"x","valid_to":"2027-01-01"}]`, allowed: []string{"representation"}, wantErr: `authorization_details[1].type: the client may not request type 'consent'`},
		{name: "no type allowed", raw: `[{"type":"representation"}]`, allowed: []string{}, wantErr: `authorization_details[0].type: the client may not request type 'representation'`},

		// Fields.
		{name: "unknown field", raw: `[{"type":"representation","locations":["https://x"]}]`, wantErr: `authorization_details[0]: unknown field 'locations' for type representation`},
		{name: "field of the other type", raw: `[{"type":"representation","purpose":"x"}]`, wantErr: `authorization_details[0]: unknown field 'purpose' for type representation`},
		{name: "field in another case", raw: `[{"type":"representation","Services":["nav.dagpenger"]}]`, wantErr: `authorization_details[0]: unknown field 'Services' for type representation`},
		{name: "duplicate field", raw: `[{"type":"representation","services":["nav.dagpenger"],"services":["nav.pensjon"]}]`, wantErr: `authorization_details[0]: field 'services' appears twice`},
		{name: "duplicate type", raw: `[{"type":"consent","type":"representation"}]`, wantErr: `authorization_details[0]: field 'type' appears twice`},

		// Representation.
		{name: "party not an object", raw: `[{"type":"representation","party":"` + rarPerson + `"}]`, wantErr: "authorization_details[0].party: not a JSON object"},
		{name: "party without id", raw: `[{"type":"representation","party":{"type":"person"}}]`, wantErr: "authorization_details[0].party: no id"},
		{name: "party without type", raw: `[{"type":"representation","party":{"id":"` + rarPerson + `"}}]`, wantErr: "authorization_details[0].party: no type (person or organization)"},
		{name: "party of another type", raw: `[{"type":"representation","party":{"type":"company","id":"` + rarOrg + `"}}]`, wantErr: `authorization_details[0].party.type: 'company' is not person or organization`},
		{name: "party unknown field", raw: `[{"type":"representation","party":{"type":"person","id":"` + rarPerson + `","name":"Kari"}}]`, wantErr: `authorization_details[0].party: unknown field 'name'`},
		{name: "party id a number", raw: `[{"type":"representation","party":{"type":"person","id":1017010170}}]`, wantErr: "authorization_details[0].party.id: not a string"},
		{name: "party id control digit", raw: `[{"type":"representation","party":{"type":"person","id":"01017010171"}}]`, wantErr: "authorization_details[0].party.id: invalid identifier: second control digit of the identity number does not match"},
		{name: "person who is an organisation", raw: `[{"type":"representation","party":{"type":"person","id":"` + rarOrg + `"}}]`, wantErr: "authorization_details[0].party.id: invalid identifier: an organisation number where a person's identity number was expected"},
		{name: "organisation who is a person", raw: `[{"type":"representation","party":{"type":"organization","id":"` + rarPerson + `"}}]`, wantErr: "authorization_details[0].party.id: invalid identifier: a person's identity number where an organisation number was expected"},
		{name: "services not an array", raw: `[{"type":"representation","services":"nav.dagpenger"}]`, wantErr: "authorization_details[0].services: not an array of strings"},
		{name: "services null", raw: `[{"type":"representation","services":null}]`, wantErr: "authorization_details[0].services: not an array of strings"},
		{name: "services empty", raw: `[{"type":"representation","services":[]}]`, wantErr: "authorization_details[0].services: an empty array; leave the field out instead"},
		{name: "service null", raw: `[{"type":"representation","services":["nav.dagpenger",null]}]`, wantErr: "authorization_details[0].services[1]: not a string"},
		{name: "service empty", raw: `[{"type":"representation","services":[""]}]`, wantErr: "authorization_details[0].services[0]: empty"},
		{name: "service twice", raw: `[{"type":"representation","services":["nav.dagpenger","nav.pensjon","nav.dagpenger"]}]`, wantErr: `authorization_details[0].services[2]: 'nav.dagpenger' is listed twice`},
		{name: "unknown service", raw: `[{"type":"representation"},{"type":"representation","services":["nav.dagpenger","nav.nope"]}]`, wantErr: `authorization_details[1].services[1]: 'nav.nope' is not a service in the catalogue`},
		{name: "unknown action", raw: `[{"type":"representation","actions":["read","delete"]}]`, wantErr: `authorization_details[0].actions[1]: 'delete' is not an action in the catalogue`},
		{name: "action twice", raw: `[{"type":"representation","actions":["read","read"]}]`, wantErr: `authorization_details[0].actions[1]: 'read' is listed twice`},
		{name: "action a service does not offer", raw: `[{"type":"representation","services":["skatteetaten.skattemelding","skatteetaten.inntekt"],"actions":["read","submit"]}]`, wantErr: `authorization_details[0].actions[1]: service 'skatteetaten.inntekt' does not offer 'submit'`},

		// Consent.
		{name: "consent without provider", raw: `[{"type":"consent","data_set":"skatteetaten.inntekt","purpose":"x","valid_to":"2027-01-01"}]`, wantErr: "authorization_details[0]: no provider"},
		{name: "consent without data set", raw: `[{"type":"consent","provider":"` + skatteetaten + `","purpose":"x","valid_to":"2027-01-01"}]`, wantErr: "authorization_details[0]: no data_set"},
		{name: "consent without purpose", raw: `[{"type":"consent","provider":"` + skatteetaten + `","data_set":"skatteetaten.inntekt","valid_to":"2027-01-01"}]`, wantErr: "authorization_details[0]: no purpose"},
		{name: "consent without valid_to", raw: `[{"type":"consent","provider":"` + skatteetaten + `","data_set":"skatteetaten.inntekt","purpose":"x"}]`, wantErr: "authorization_details[0]: no valid_to"},
		{name: "consent unknown field", raw: consent(`"recipient":"` + rarOrg + `"`), wantErr: `authorization_details[0]: unknown field 'recipient' for type consent`},
		{name: "provider a person", raw: `[{"type":"consent","provider":"` + rarPerson + `","data_set":"skatteetaten.inntekt","purpose":"x","valid_to":"2027-01-01"}]`, wantErr: "authorization_details[0].provider: invalid identifier: a person's identity number where an organisation number was expected"},
		{name: "provider control digit", raw: `[{"type":"consent","provider":"974761077","data_set":"skatteetaten.inntekt","purpose":"x","valid_to":"2027-01-01"}]`, wantErr: "authorization_details[0].provider: invalid identifier: organisation number control digit does not match"},
		{name: "provider not the data set's", raw: `[{"type":"consent","provider":"` + nav + `","data_set":"skatteetaten.inntekt","purpose":"x","valid_to":"2027-01-01"}]`, wantErr: `authorization_details[0].provider: '` + nav + `' is not the provider of data set 'skatteetaten.inntekt'`},
		{name: "data set empty", raw: `[{"type":"consent","provider":"` + skatteetaten + `","data_set":"","purpose":"x","valid_to":"2027-01-01"}]`, wantErr: "authorization_details[0].data_set: empty"},
		{name: "data set unknown", raw: `[{"type":"consent","provider":"` + skatteetaten + `","data_set":"skatteetaten.formue","purpose":"x","valid_to":"2027-01-01"}]`, wantErr: `authorization_details[0].data_set: 'skatteetaten.formue' is not a service in the catalogue`},
		{name: "data set not labelled", raw: `[{"type":"consent","provider":"` + skatteetaten + `","data_set":"skatteetaten.skattemelding","purpose":"x","valid_to":"2027-01-01"}]`, wantErr: `authorization_details[0].data_set: 'skatteetaten.skattemelding' is not a data set one can consent to share`},
		{name: "purpose blank", raw: consentWith("purpose", `"   "`), wantErr: "authorization_details[0].purpose: empty"},
		{name: "purpose too long", raw: consentWith("purpose", `"`+strings.Repeat("å", 201)+`"`), wantErr: "authorization_details[0].purpose: 201 characters, more than 200"},
		{name: "purpose newline", raw: consentWith("purpose", `"line\nbreak"`), wantErr: "authorization_details[0].purpose: contains the control character U+000A"},
		{name: "purpose bidi override", raw: consentWith("purpose", `"abc\u202Edef"`), wantErr: "authorization_details[0].purpose: contains the control character U+202E"},
		{name: "purpose not a string", raw: consentWith("purpose", `["x"]`), wantErr: "authorization_details[0].purpose: not a string"},
		{name: "valid_to not a date", raw: consentWith("valid_to", `"2027-02-29"`), wantErr: "authorization_details[0].valid_to: not a date of the form YYYY-MM-DD"},
		{name: "valid_to with a time", raw: consentWith("valid_to", `"2027-01-01T00:00:00Z"`), wantErr: "authorization_details[0].valid_to: not a date of the form YYYY-MM-DD"},
		{name: "valid_to passed", raw: consentWith("valid_to", `"2026-11-22"`), wantErr: "authorization_details[0].valid_to: 2026-11-22 has passed"},
		{name: "valid_to more than a year ahead", raw: consentWith("valid_to", `"2027-11-24"`), wantErr: "authorization_details[0].valid_to: 2027-11-24 is more than a year ahead"},
		{name: "one_time not a bool", raw: consentWith("one_time", `"yes"`), wantErr: "authorization_details[0].one_time: not true or false"},
		{name: "one_time null", raw: consentWith("one_time", `null`), wantErr: "authorization_details[0].one_time: not true or false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			allowed := tt.allowed
			if allowed == nil {
				allowed = rarBoth
			}
			got, err := ParseAuthorizationDetails(tt.raw, allowed, cat, rarToday)
			if tt.wantErr != "" {
				var rfc *fosite.RFC6749Error
				if !errors.As(err, &rfc) || !errors.Is(err, ErrInvalidAuthorizationDetails) {
					t.Fatalf("ParseAuthorizationDetails(%s) = %v, %v; want invalid_authorization_details", tt.name, got, err)
				}
				if rfc.ErrorField != "invalid_authorization_details" || rfc.CodeField != 400 || rfc.DescriptionField != tt.wantErr {
					t.Errorf("ParseAuthorizationDetails(%s) = %s %d %q, want invalid_authorization_details 400 %q", tt.name, rfc.ErrorField, rfc.CodeField, rfc.DescriptionField, tt.wantErr)
				}
				for _, id := range []string{rarPerson, "01017010171"} { // persons' numbers, not organisations'
					if strings.Contains(rfc.DescriptionField, id) {
						t.Errorf("the description echoes an identity number: %q", rfc.DescriptionField)
					}
				}
				if !rfc6749Description(rfc.DescriptionField) {
					t.Errorf("the description %q has characters RFC 6749 §4.1.2.1 does not allow", rfc.DescriptionField)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseAuthorizationDetails(%s) = %v", tt.name, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseAuthorizationDetails(%s) (-want +got):\n%s", tt.name, diff)
			}
			roundTrip(t, got, allowed, cat)
		})
	}
}

// rfc6749Description reports whether s has only the characters RFC 6749 §4.1.2.1
// allows in error_description: %x20-21 / %x23-5B / %x5D-7E.
func rfc6749Description(s string) bool {
	for i := range len(s) {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// consentWith is a valid consent entry with the field name set to the JSON value.
func consentWith(name, value string) string {
	fields := map[string]string{
		"provider": `"` + skatteetaten + `"`, "data_set": `"skatteetaten.inntekt"`,
		"purpose": `"Loan application"`, "valid_to": `"2027-01-01"`,
	}
	fields[name] = value
	var b strings.Builder
	b.WriteString(`[{"type":"consent"`)
	for _, n := range []string{"provider", "data_set", "purpose", "valid_to", "one_time"} {
		if v, ok := fields[n]; ok {
			b.WriteString(`,"` + n + `":` + v)
		}
	}
	b.WriteString("}]")
	return b.String()
}

// consent is a valid consent entry with more members.
func consent(more string) string {
	return strings.TrimSuffix(consentWith("purpose", `"Loan application"`), "}]") + "," + more + "}]"
}

// roundTrip marshals details and checks that they parse back to the same value.
func roundTrip(t *testing.T, details []AuthorizationDetail, allowed []string, cat *authz.Catalogue) {
	t.Helper()
	b, err := json.Marshal(details)
	if err != nil {
		t.Fatalf("Marshal(%+v) = %v", details, err)
	}
	again, err := parseAuthorizationDetails(b, allowed, cat, rarToday)
	if err != nil {
		t.Fatalf("parse(Marshal(details)) = %v; JSON %s", err, b)
	}
	if diff := cmp.Diff(details, again); diff != "" {
		t.Errorf("parse(Marshal(details)) (-want +got):\n%s\nJSON %s", diff, b)
	}
	var decoded []AuthorizationDetail
	if err := json.Unmarshal(b, &decoded); err != nil {
		t.Fatalf("Unmarshal(%s) = %v", b, err)
	}
	if diff := cmp.Diff(details, decoded); diff != "" {
		t.Errorf("Unmarshal(Marshal(details)) (-want +got):\n%s", diff)
	}
}

func TestAuthorizationDetailJSON(t *testing.T) {
	tests := []struct {
		name string
		d    AuthorizationDetail
		want string
	}{
		{
			name: "representation, minimal",
			d:    AuthorizationDetail{Type: DetailRepresentation},
			want: `{"type":"representation"}`,
		},
		{
			name: "representation, full",
			d:    AuthorizationDetail{Type: DetailRepresentation, Party: rarPerson, Services: []string{"nav.dagpenger"}, Actions: []string{"read"}},
			want: `{"type":"representation","party":{"type":"person","id":"` + rarPerson + `"},"services":["nav.dagpenger"],"actions":["read"]}`,
		},
		{
			name: "representation of an organisation",
			d:    AuthorizationDetail{Type: DetailRepresentation, Party: rarOrg},
			want: `{"type":"representation","party":{"type":"organization","id":"` + rarOrg + `"}}`,
		},
		{
			name: "consent",
			d:    AuthorizationDetail{Type: DetailConsent, Provider: nav, DataSet: "nav.ytelser", Purpose: "Bostøtte", ValidTo: delegation.NewDate(2027, 3, 1)},
			want: `{"type":"consent","provider":"` + nav + `","data_set":"nav.ytelser","purpose":"Bostøtte","valid_to":"2027-03-01"}`,
		},
		{
			name: "consent, one time",
			d:    AuthorizationDetail{Type: DetailConsent, Provider: nav, DataSet: "nav.ytelser", Purpose: "Bostøtte", ValidTo: delegation.NewDate(2027, 3, 1), OneTime: true},
			want: `{"type":"consent","provider":"` + nav + `","data_set":"nav.ytelser","purpose":"Bostøtte","valid_to":"2027-03-01","one_time":true}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.d)
			if err != nil || string(b) != tt.want {
				t.Fatalf("Marshal(%+v) = %s, %v; want %s", tt.d, b, err, tt.want)
			}
			var got AuthorizationDetail
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("Unmarshal(%s) = %v", b, err)
			}
			if diff := cmp.Diff(tt.d, got); diff != "" {
				t.Errorf("Unmarshal(Marshal(d)) (-want +got):\n%s", diff)
			}
		})
	}

	// A stored detail decodes whatever the day and the catalogue: only its shape is checked.
	var d AuthorizationDetail
	if err := json.Unmarshal([]byte(`{"type":"consent","provider":"`+nav+`","data_set":"gone.service","purpose":"x","valid_to":"2001-01-01"}`), &d); err != nil {
		t.Errorf("Unmarshal(stored, expired consent) = %v", err)
	}
	if err := json.Unmarshal([]byte(`{"type":"representation","extra":1}`), &d); err == nil || !strings.Contains(err.Error(), `unknown field 'extra'`) {
		t.Errorf("Unmarshal(unknown field) = %v, want an error naming it", err)
	}
	if _, err := json.Marshal(AuthorizationDetail{Type: "other"}); err == nil {
		t.Error("Marshal(unknown type) = nil error")
	}
}

func FuzzParseAuthorizationDetails(f *testing.F) {
	cat := rarCatalogue(f)
	for _, seed := range []string{
		`[{"type":"representation"}]`,
		`[{"type":"representation","party":{"type":"person","id":"` + rarPerson + `"},"services":["skatteetaten.skattemelding"],"actions":["read","submit"]}]`,
		`[{"type":"representation","party":{"type":"organization","id":"no:` + rarOrg + `"}},{"type":"representation","actions":["vote"]}]`,
		`[{"type":"representation","party":{"type":"person","id":"se:19900101-1234"}}]`,
		`[{"type":"representation","party":{"type":"person","id":"eidas:SE/NO/abc"}}]`,
		`[{"type":"consent","provider":"` + skatteetaten + `","data_set":"skatteetaten.inntekt","purpose":" Lån \u00e6 <b>&</b> ","valid_to":"2027-01-01","one_time":true}]`,
		`[{"type":"consent","provider":"` + nav + `","data_set":"nav.ytelser","purpose":"x","valid_to":"2026-11-23"}]`,
		`[{"type":"representation","services":["nav.dagpenger","nav.dagpenger"]}]`,
		`[{"type":"consent","type":"consent"}]`,
		`{}`, `[]`, `[null]`, `[1,2]`, `"x"`, `[{"type":"representation"}] `,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		details, err := ParseAuthorizationDetails(raw, rarBoth, cat, rarToday)
		if err != nil {
			var rfc *fosite.RFC6749Error
			if !errors.As(err, &rfc) || !errors.Is(err, ErrInvalidAuthorizationDetails) {
				t.Fatalf("ParseAuthorizationDetails(%q) = %v, not invalid_authorization_details", raw, err)
			}
			if !rfc6749Description(rfc.DescriptionField) {
				t.Fatalf("ParseAuthorizationDetails(%q): description %q has characters RFC 6749 does not allow", raw, rfc.DescriptionField)
			}
			return
		}
		if len(details) == 0 || len(details) > MaxAuthorizationDetails {
			t.Fatalf("ParseAuthorizationDetails(%q) = %d details", raw, len(details))
		}
		b, err := json.Marshal(details)
		if err != nil {
			t.Fatalf("Marshal(%+v) = %v", details, err)
		}
		// HTML escaping may make the encoding longer than the input: re-parse
		// without the size limit.
		again, err := parseAuthorizationDetails(b, rarBoth, cat, rarToday)
		if err != nil {
			t.Fatalf("parse(Marshal(ParseAuthorizationDetails(%q))) = %v; JSON %s", raw, err, b)
		}
		if diff := cmp.Diff(details, again); diff != "" {
			t.Fatalf("parse(Marshal(ParseAuthorizationDetails(%q))) (-want +got):\n%s", raw, diff)
		}
		b2, err := json.Marshal(again)
		if err != nil || string(b2) != string(b) {
			t.Fatalf("Marshal is not stable: %s, then %s (%v)", b, b2, err)
		}
	})
}
