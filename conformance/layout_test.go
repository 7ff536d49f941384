// Package conformance_test guards the dependency rules of the repository's layout
// (STYLE.md): dependencies point inward, the domain imports only the standard library,
// adapters import the domain and their own dependency, and only cmd wires them all.
package conformance_test

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/fullmakt/fullmakt"

func TestDependenciesPointInward(t *testing.T) {
	tests := []struct {
		pkg string
		// allowed lists what the package may depend on besides the standard library
		// and itself: packages of this module exactly, other modules whole.
		allowed []string
	}{
		{pkg: "delegation"},
		{pkg: "delegation/registers", allowed: []string{module + "/delegation"}},
		{pkg: "delegation/registers/demo", allowed: []string{module + "/delegation"}},
		// Notifications follow the store's sequences: the domain only.
		{pkg: "delegation/notify", allowed: []string{module + "/delegation"}},
		// The citizen's pages: the domain, the catalogue and levels (authz), the
		// page chrome (idp/web) and the drafts' port (idp/grants); never the OAuth
		// server, the login or a backend.
		{pkg: "delegation/portal", allowed: cedar(module+"/delegation", module+"/authz", module+"/idp/web", module+"/idp/grants", "golang.org/x/text")},
		// The storage ports and what implements or tests them import authz for
		// authz.Level (idp/accounts), and with it cedar-go.
		{pkg: "delegation/bolt", allowed: cedar(module+"/delegation", module+"/authz", module+"/idp/grants", module+"/idp/accounts", "go.etcd.io/bbolt", "golang.org/x/sys")},
		{pkg: "conformance/storetest", allowed: cedar(module+"/delegation", module+"/authz", module+"/idp/grants", module+"/idp/accounts", "github.com/google/go-cmp")},
		// The OAuth server's storage port: the standard library only.
		{pkg: "idp/grants"},
		// The login's storage port: the domain and its levels of assurance.
		{pkg: "idp/accounts", allowed: cedar(module+"/delegation", module+"/authz")},
		// The decision core is pure: cedar-go (with its own dependencies) and the
		// domain's types, nothing else; what sits around it imports inward only.
		{pkg: "authz", allowed: cedar(module + "/delegation")},
		{pkg: "authz/policytest", allowed: cedar(module+"/delegation", module+"/authz")},
		{pkg: "authz/pdp", allowed: cedar(module+"/delegation", module+"/authz")},
		{pkg: "authz/authzen", allowed: cedar(module+"/delegation", module+"/authz", module+"/authz/pdp")},
		{pkg: "policies", allowed: cedar(module+"/delegation", module+"/authz")},
		// What agencies compile in: the standard library, one JOSE library and one
		// cache, never this repository's other packages (nor fosite, bbolt or cedar-go).
		{pkg: "sdk", allowed: []string{"github.com/go-jose/go-jose/v4", "github.com/hashicorp/golang-lru/v2"}},
		// The example agency is built on the SDK alone, as an agency's service would be.
		{pkg: "cmd/example-agency", allowed: []string{module + "/sdk", "github.com/go-jose/go-jose/v4", "github.com/hashicorp/golang-lru/v2"}},
	}
	for _, tt := range tests {
		t.Run(tt.pkg, func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", module+"/"+tt.pkg).Output()
			if err != nil {
				t.Fatalf("go list -deps %s: %v", tt.pkg, err)
			}
			for _, dep := range strings.Fields(string(out)) {
				if allowed(dep, module+"/"+tt.pkg, tt.allowed) {
					continue
				}
				t.Errorf("%s depends on %s; allowed: the standard library and %v", tt.pkg, dep, tt.allowed)
			}
		})
	}
}

// TestOnlyIDPImportsFosite: fosite (its storage contracts, its sessions, its
// dependency weight) stays behind the idp tree; everything else sees idp's types.
func TestOnlyIDPImportsFosite(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}} {{join .TestImports \" \"}}", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := fields[0]
		if pkg == module+"/idp" || strings.HasPrefix(pkg, module+"/idp/") {
			continue
		}
		for _, imp := range fields[1:] {
			if imp == "github.com/ory/fosite" || strings.HasPrefix(imp, "github.com/ory/fosite/") {
				t.Errorf("%s imports %s; only the idp tree may import fosite", pkg, imp)
			}
		}
	}
}

// cedar adds cedar-go and the modules it depends on to allowed.
func cedar(allowed ...string) []string {
	return append(allowed, "github.com/cedar-policy/cedar-go", "github.com/go-json-experiment/json", "golang.org/x/exp")
}

func allowed(dep, self string, prefixes []string) bool {
	first, _, _ := strings.Cut(dep, "/")
	if !strings.Contains(first, ".") || dep == self { // the standard library has no dot in its first element
		return true
	}
	for _, p := range prefixes {
		// A package of this module is allowed exactly; another module with its
		// packages.
		if dep == p || !strings.HasPrefix(p, module+"/") && strings.HasPrefix(dep, p+"/") {
			return true
		}
	}
	return false
}

// TestSDKTestsStandAlone: the SDK's own tests, too, stay off this repository's
// packages, so that they test the wire contract and not shared Go types. The whole
// chain against the real server is tested from cmd.
func TestSDKTestsStandAlone(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{join .TestImports \" \"}} {{join .XTestImports \" \"}}", module+"/sdk").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, imp := range strings.Fields(string(out)) {
		if strings.HasPrefix(imp, module+"/") && imp != module+"/sdk" {
			t.Errorf("the tests of sdk import %s", imp)
		}
	}
}
