package registers_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports guards the package's edges: it depends on the domain and the standard
// library only, never on a storage backend or anything else in the repository.
func TestImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	allowed := map[string]bool{
		"github.com/fullmakt/fullmakt/delegation":           true,
		"github.com/fullmakt/fullmakt/delegation/registers": true,
	}
	for _, pkg := range strings.Fields(string(out)) {
		first, _, _ := strings.Cut(pkg, "/")
		if strings.Contains(first, ".") && !allowed[pkg] { // not the standard library
			t.Errorf("registers depends on %s; want the domain and the standard library only", pkg)
		}
	}
}
