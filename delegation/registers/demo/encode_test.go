package demo

import (
	"encoding/json"
	"testing"
)

// checkAppendString checks that appendString writes valid JSON that decodes to what
// encoding/json's own encoding of s decodes to.
func checkAppendString(t *testing.T, s string) {
	t.Helper()
	got := appendString(nil, s)
	var back string
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatalf("appendString(%q) = %s, not a JSON string: %v", s, got, err)
	}
	std, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var want string
	if err := json.Unmarshal(std, &want); err != nil {
		t.Fatal(err)
	}
	if back != want {
		t.Errorf("appendString(%q) = %s, decodes to %q, want %q", s, got, back, want)
	}
}

func TestAppendString(t *testing.T) {
	for _, tc := range []struct {
		name, s, want string
	}{
		{"empty", "", `""`},
		{"Norwegian letters pass through", "Bjørg Ødegård Ås", `"Bjørg Ødegård Ås"`},
		{"quote and backslash", `a"b\c`, `"a\"b\\c"`},
		{"control characters", "a\nb\tc\r\x01\x1f", `"a\nb\tc\r\u0001\u001f"`},
		{"invalid UTF-8 becomes U+FFFD", "a\xffb", "\"a\ufffdb\""},
		{"a rune cut short", "\xe2\x82", "\"\ufffd\ufffd\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(appendString(nil, tc.s)); got != tc.want {
				t.Errorf("appendString(%q) = %s, want %s", tc.s, got, tc.want)
			}
			checkAppendString(t, tc.s)
		})
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "Kari Nordmann", "Ærlig Øl Å", `"\`, "\x00\x7f\u2028", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(checkAppendString)
}
