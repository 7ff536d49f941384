package sdk

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseChallenge(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   *StepUp
	}{
		{
			name:   "RFC 9470's example",
			values: []string{`Bearer error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="myACR"`},
			want:   &StepUp{ACRValues: "myACR"},
		},
		{
			name:   "max_age quoted, as in RFC 9470",
			values: []string{`Bearer error="insufficient_user_authentication", error_description="More recent authentication is required", max_age="5"`},
			want:   &StepUp{MaxAge: 5 * time.Second},
		},
		{
			name:   "max_age as a token, with a realm",
			values: []string{`Bearer realm="https://api.example", error="insufficient_user_authentication", acr_values="a b", max_age=300`},
			want:   &StepUp{ACRValues: "a b", MaxAge: 300 * time.Second},
		},
		{
			name:   "case-insensitive scheme and names, spaces around '='",
			values: []string{`BEARER Error = "insufficient_user_authentication" , ACR_VALUES = "x"`},
			want:   &StepUp{ACRValues: "x"},
		},
		{
			name:   "escapes in a quoted string",
			values: []string{`Bearer error="insufficient_user_authentication", error_description="say \"hi\" \\ there", acr_values="a\"b\\c"`},
			want:   &StepUp{ACRValues: `a"b\c`},
		},
		{
			name:   "after other challenges in the same header",
			values: []string{`Basic realm="x", Negotiate abc+/def==, DPoP algs="ES256", Bearer error="insufficient_user_authentication", acr_values="high"`},
			want:   &StepUp{ACRValues: "high"},
		},
		{
			name:   "before another challenge",
			values: []string{`Bearer error="insufficient_user_authentication", acr_values="high", Basic realm="x"`},
			want:   &StepUp{ACRValues: "high"},
		},
		{
			name:   "in the second header",
			values: []string{`Basic realm="x"`, `Bearer realm="y", error="insufficient_user_authentication", acr_values="high"`},
			want:   &StepUp{ACRValues: "high"},
		},
		{
			name:   "a scheme without parameters first",
			values: []string{`Negotiate, Bearer error="insufficient_user_authentication", acr_values="high"`},
			want:   &StepUp{ACRValues: "high"},
		},
		{
			name:   "empty list elements",
			values: []string{`,, Bearer ,error="insufficient_user_authentication",, acr_values="high" ,`},
			want:   &StepUp{ACRValues: "high"},
		},
		{
			name:   "the first of a parameter twice wins",
			values: []string{`Bearer error="insufficient_user_authentication", acr_values="first", acr_values="second"`},
			want:   &StepUp{ACRValues: "first"},
		},
		{
			name:   "a bad max_age is left out",
			values: []string{`Bearer error="insufficient_user_authentication", acr_values="high", max_age="-5"`},
			want:   &StepUp{ACRValues: "high"},
		},
		{name: "no header"},
		{name: "another error", values: []string{`Bearer error="invalid_token", acr_values="high"`}},
		{name: "another scheme", values: []string{`DPoP error="insufficient_user_authentication", acr_values="high"`}},
		{name: "just a realm", values: []string{`Bearer realm="x"`}},
		{name: "a token68", values: []string{`Bearer aW5zdWZmaWNpZW50==`}},
		{name: "an unterminated string", values: []string{`Bearer error="insufficient_user_authentication, acr_values="high"`}},
		{name: "a control character", values: []string{"Bearer error=\"insufficient_user_authentication\x01\""}},
		{name: "garbage", values: []string{`=,"=,\\`}},
		{
			name:   "malformed, then a good header",
			values: []string{`Bearer error="oops`, `Bearer error=insufficient_user_authentication, acr_values=high`},
			want:   &StepUp{ACRValues: "high"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tt.values {
				h.Add("WWW-Authenticate", v)
			}
			got, ok := ParseChallenge(h)
			if ok != (tt.want != nil) || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseChallenge(%q) = %+v, %v; want %+v", tt.values, got, ok, tt.want)
			}
		})
	}
}

func TestParseChallenges(t *testing.T) {
	got := parseChallenges(`Basic realm="a b", Negotiate abc+/def==, Bearer, DPoP algs="ES256 PS256", error=invalid_token`)
	want := []challenge{
		{scheme: "basic", params: map[string]string{"realm": "a b"}},
		{scheme: "negotiate", token68: "abc+/def=="},
		{scheme: "bearer"},
		{scheme: "dpop", params: map[string]string{"algs": "ES256 PS256", "error": "invalid_token"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseChallenges = %+v, want %+v", got, want)
	}
}

func TestBearerChallengeQuotes(t *testing.T) {
	got := bearerChallenge("realm", `a "b" \c`+"\r\n", "error", "x", "empty", "", "max_age", "5")
	want := `Bearer realm="a \"b\" \\c", error="x", max_age=5`
	if got != want {
		t.Errorf("bearerChallenge = %q, want %q", got, want)
	}
	if got := bearerChallenge(); got != "Bearer" {
		t.Errorf("bearerChallenge() = %q, want Bearer", got)
	}
}

func FuzzParseChallenge(f *testing.F) {
	f.Add(`Bearer realm="x", error="insufficient_user_authentication", acr_values="a b", max_age=300`, "high", int64(60))
	f.Add(`Basic realm="x", Negotiate abc==, Bearer error=insufficient_user_authentication`, `a"b\c`, int64(0))
	f.Add(`,,=" \`, "", int64(-1))
	f.Fuzz(func(t *testing.T, header, acr string, maxAge int64) {
		// Whatever a header holds, reading it neither panics nor invents a
		// step-up for a header without the error code.
		h := http.Header{"Www-Authenticate": {header}}
		if s, ok := ParseChallenge(h); ok && (s == nil || !strings.Contains(strings.ToLower(header), "insufficient_user_authentication")) {
			t.Fatalf("ParseChallenge(%q) = %+v without the error code", header, s)
		}
		// What Require writes reads back the same, for any printable acr_values.
		if strings.ContainsFunc(acr, func(r rune) bool { return r < 0x20 || r == 0x7f || r > 0x7e }) {
			return
		}
		step := StepUp{ACRValues: acr}
		if maxAge > 0 && maxAge < 1<<31 {
			step.MaxAge = time.Duration(maxAge) * time.Second
		}
		if step.ACRValues == "" && step.MaxAge == 0 {
			return
		}
		written := stepUpChallenge("https://api.example", step, "A higher level of authentication is required")
		h = http.Header{"Www-Authenticate": {`Basic realm="z"`, written}}
		got, ok := ParseChallenge(h)
		if !ok || *got != step {
			t.Fatalf("ParseChallenge(%q) = %+v, %v; want %+v", written, got, ok, step)
		}
	})
}
