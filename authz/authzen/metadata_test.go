package authzen_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fullmakt/fullmakt/authz/authzen"
)

// TestMetadata checks the PDP metadata (§9): public, cacheable, and naming every
// endpoint this PDP offers, the party search included.
func TestMetadata(t *testing.T) {
	f := newFixture(t)
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/.well-known/authzen-configuration", nil)
	res := f.do(req)
	if res.status != http.StatusOK {
		t.Fatalf("GET metadata = %d %s, want 200", res.status, res.body)
	}
	u := f.srv.URL
	want := obj{
		"policy_decision_point":       u,
		"access_evaluation_endpoint":  u + "/access/v1/evaluation",
		"access_evaluations_endpoint": u + "/access/v1/evaluations",
		"search_resource_endpoint":    u + "/access/v1/search/resource",
		"search_action_endpoint":      u + "/access/v1/search/action",
		"search_party_endpoint":       u + "/access/v1/search/party",
	}
	if diff := cmp.Diff(any(want), res.json(t)); diff != "" {
		t.Errorf("GET metadata (-want +got):\n%s", diff)
	}
	for h, want := range map[string]string{"Content-Type": "application/json", "Cache-Control": "public, max-age=3600"} {
		if got := res.header.Get(h); got != want {
			t.Errorf("GET metadata: %s = %q, want %q", h, got, want)
		}
	}
	// Every endpoint the metadata names answers (here: 401 without a key).
	for name, url := range want {
		if name == "policy_decision_point" {
			continue
		}
		req, _ := http.NewRequest(http.MethodPost, url.(string), strings.NewReader(`{}`))
		req.Header.Set("Content-Type", "application/json")
		if res := f.do(req); res.status != http.StatusUnauthorized {
			t.Errorf("POST %s (%s) = %d, want 401", url, name, res.status)
		}
	}
}

// TestMetadataTenant checks a PDP URL with a path (§9.2): the well-known path goes
// between the host and the path, and the endpoints are below the path.
func TestMetadataTenant(t *testing.T) {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	keys, err := authzen.ParseAPIKeys(strings.NewReader("a " + authzen.HashAPIKey(keyNormal)))
	if err != nil {
		t.Fatal(err)
	}
	authzen.New(nil, keys, authzen.Config{PDPURL: srv.URL + "/tenant1/"}).Routes(mux)
	res, err := http.Get(srv.URL + "/.well-known/authzen-configuration/tenant1")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("GET /.well-known/authzen-configuration/tenant1 = %d, want 200", res.StatusCode)
	}
	res, err = http.Post(srv.URL+"/tenant1/access/v1/evaluation", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST /tenant1/access/v1/evaluation = %d, want 401", res.StatusCode)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  authzen.Config
		want []string // substrings of the error; none: valid
	}{
		{"http", authzen.Config{PDPURL: "http://localhost:8080"}, nil},
		{"https with a path", authzen.Config{PDPURL: "https://pdp.example.com/tenant1"}, nil},
		{"empty", authzen.Config{}, []string{"empty"}},
		{"relative", authzen.Config{PDPURL: "/pdp"}, []string{"absolute"}},
		{"ftp", authzen.Config{PDPURL: "ftp://pdp.example.com"}, []string{"absolute"}},
		{"query", authzen.Config{PDPURL: "https://pdp.example.com/?a=b"}, []string{"query"}},
		{"fragment", authzen.Config{PDPURL: "https://pdp.example.com/#x"}, []string{"fragment"}},
		{"every problem at once", authzen.Config{PDPURL: "https://pdp.example.com/{x}", MaxBodyBytes: -1, MaxEvaluations: -1},
			[]string{"braces", "MaxBodyBytes", "MaxEvaluations"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Errorf("Validate(%+v) = %v, want nil", tt.cfg, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate(%+v) = nil, want an error with %q", tt.cfg, tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate(%+v) = %v, want it to mention %q", tt.cfg, err, w)
				}
			}
		})
	}
}
