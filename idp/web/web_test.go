package web

import (
	"io"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
)

func TestStatic(t *testing.T) {
	tests := []struct {
		path      string
		want      int
		wantType  string
		wantBody  string
		wantCache string
	}{
		{path: "/static/fullmakt.css", want: 200, wantType: "text/css; charset=utf-8", wantBody: "prefers-reduced-motion", wantCache: "public, max-age=3600"},
		{path: "/static/", want: 404},
		{path: "/static/nope.css", want: 404},
		{path: "/static/../templates/layout.html", want: 404},
		{path: "/static/../messages/en/layout.json", want: 404},
		{path: "/fullmakt.css", want: 404},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			w := httptest.NewRecorder()
			Static().ServeHTTP(w, httptest.NewRequest("GET", tt.path, nil))
			res := w.Result()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.want {
				t.Fatalf("GET %s = %d, want %d", tt.path, res.StatusCode, tt.want)
			}
			if got := res.Header.Get("Cache-Control"); got != tt.wantCache {
				t.Errorf("Cache-Control = %q, want %q", got, tt.wantCache)
			}
			if tt.wantType != "" && res.Header.Get("Content-Type") != tt.wantType {
				t.Errorf("Content-Type = %q, want %q", res.Header.Get("Content-Type"), tt.wantType)
			}
			if !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("the body lacks %q", tt.wantBody)
			}
		})
	}
}

// TestImports guards the package's edges: of this repository it imports only
// authz (for the level in the page header), and nothing it depends on is the OAuth
// server, storage or a login.
func TestImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for imp := range strings.FieldsSeq(string(out)) {
		if strings.HasPrefix(imp, "github.com/fullmakt/fullmakt/") && imp != "github.com/fullmakt/fullmakt/authz" {
			t.Errorf("idp/web imports %s", imp)
		}
	}
	out, err = exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for dep := range strings.FieldsSeq(string(out)) {
		for _, forbidden := range []string{"github.com/fullmakt/fullmakt/idp", "github.com/ory/fosite", "go.etcd.io/bbolt"} {
			if dep != "github.com/fullmakt/fullmakt/idp/web" && (dep == forbidden || strings.HasPrefix(dep, forbidden+"/")) {
				t.Errorf("idp/web depends on %s", dep)
			}
		}
	}
}
