package authzen_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fullmakt/fullmakt/authz/authzen"
)

func TestHashAPIKey(t *testing.T) {
	// sha256("abc"), FIPS 180-2 appendix B.1.
	const want = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	if got := authzen.HashAPIKey("abc"); got != want {
		t.Errorf("HashAPIKey(%q) = %q, want %q", "abc", got, want)
	}
}

func TestParseAPIKeys(t *testing.T) {
	h1, h2 := authzen.HashAPIKey("key-one"), authzen.HashAPIKey("key-two")
	for _, tt := range []struct {
		name    string
		file    string
		clients []string
		errs    []string // substrings of the error
	}{
		{"two clients", "# agencies\n\nnav " + h1 + "\n  lanekassen\t" + h2 + " detailed-reasons  \n", []string{"nav", "lanekassen"}, nil},
		{"upper-case hex", "nav sha256:" + strings.ToUpper(h1[7:]), []string{"nav"}, nil},
		{"empty", "# nothing yet\n", nil, []string{"no API keys"}},
		{"no hash", "nav\n", nil, []string{"line 1:"}},
		{"a key, not its hash", "nav key-one\n", nil, []string{"line 1:", "sha256"}},
		{"short hash", "nav sha256:abcd\n", nil, []string{"line 1:"}},
		{"not hex", "nav sha256:" + strings.Repeat("zz", 32), nil, []string{"line 1:"}},
		{"unknown flag", "nav " + h1 + " admin\n", nil, []string{`line 1: unknown flag "admin"`}},
		{"too many fields", "nav " + h1 + " detailed-reasons x\n", nil, []string{"line 1:"}},
		{"a client twice", "nav " + h1 + "\nnav " + h2 + "\n", nil, []string{`line 2: client "nav" is already on line 1`}},
		{"a key twice", "nav " + h1 + "\n#\nskatt " + h1 + "\n", nil, []string{"line 3: the key is already on line 1"}},
		{"every bad line", "a\nb " + h1 + "\nc x\n", nil, []string{"line 1:", "line 3:"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := authzen.ParseAPIKeys(strings.NewReader(tt.file))
			if len(tt.errs) > 0 {
				if err == nil {
					t.Fatalf("ParseAPIKeys(%q) = %v, nil, want an error", tt.file, keys.Clients())
				}
				for _, w := range tt.errs {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("ParseAPIKeys(%q) = %v, want it to mention %q", tt.file, err, w)
					}
				}
				if strings.Contains(err.Error(), "key-one") {
					t.Errorf("ParseAPIKeys(%q) = %v: echoes a key", tt.file, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseAPIKeys(%q) = %v, want nil", tt.file, err)
			}
			if diff := cmp.Diff(tt.clients, keys.Clients()); diff != "" {
				t.Errorf("ParseAPIKeys(%q).Clients() (-want +got):\n%s", tt.file, diff)
			}
		})
	}
}

func TestAPIKeysAuthenticate(t *testing.T) {
	keys, err := authzen.ParseAPIKeys(strings.NewReader(
		"nav " + authzen.HashAPIKey("key-one") + "\nlanekassen " + authzen.HashAPIKey("key-two") + " detailed-reasons\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		header string
		want   authzen.Client
		ok     bool
	}{
		{"Bearer key-one", authzen.Client{ID: "nav"}, true},
		{"Bearer key-two", authzen.Client{ID: "lanekassen", DetailedReasons: true}, true},
		{"bearer key-two", authzen.Client{ID: "lanekassen", DetailedReasons: true}, true},
		{"Bearer  key-one ", authzen.Client{ID: "nav"}, true},
		{"", authzen.Client{}, false},
		{"Bearer", authzen.Client{}, false},
		{"Bearer ", authzen.Client{}, false},
		{"Bearer key-three", authzen.Client{}, false},
		{"Bearer " + authzen.HashAPIKey("key-one"), authzen.Client{}, false},
		{"Basic key-one", authzen.Client{}, false},
		{"key-one", authzen.Client{}, false},
	} {
		r, _ := http.NewRequest(http.MethodPost, "http://pdp.example/", nil)
		if tt.header != "" {
			r.Header.Set("Authorization", tt.header)
		}
		got, ok := keys.Authenticate(r)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Authenticate(Authorization: %q) = %+v, %v, want %+v, %v", tt.header, got, ok, tt.want, tt.ok)
		}
	}
}
