package policies_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/authz/policytest"
	"github.com/fullmakt/fullmakt/policies"
)

func TestDefaultPackLoads(t *testing.T) {
	pack, err := policies.Load()
	if err != nil {
		t.Fatalf("Load() = %v", err)
	}
	if len(pack.Policies) == 0 || len(pack.Catalogue.Services) == 0 {
		t.Fatalf("Load() = %d policies, %d services, want some of each", len(pack.Policies), len(pack.Catalogue.Services))
	}
	if !strings.HasPrefix(pack.Version, "sha256:") {
		t.Errorf("Load().Version = %q, want sha256:…", pack.Version)
	}
	kebab := regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	snake := regexp.MustCompile(`^[a-z0-9]+(_[a-z0-9]+)*$`)
	for _, p := range pack.Policies {
		if !kebab.MatchString(p.ID) {
			t.Errorf("policy %s (%s:%d): @id is not kebab-case", p.ID, p.File, p.Line)
		}
		if !p.Forbid {
			continue
		}
		switch {
		case p.Reason == p.ID:
			t.Errorf("forbid %s (%s:%d) has no @reason", p.ID, p.File, p.Line)
		case !snake.MatchString(p.Reason):
			t.Errorf("forbid %s (%s:%d): @reason %q is not snake_case", p.ID, p.File, p.Line, p.Reason)
		}
		// Only reasons about the login itself may reach every service; the others
		// tell something about the party (party_protected above all).
		disclosable := p.Reason == "level_too_low" || p.Reason == "authentication_too_old"
		if p.Disclose != disclosable {
			t.Errorf("forbid %s (%s:%d): @disclose is %v for reason %s", p.ID, p.File, p.Line, p.Disclose, p.Reason)
		}
	}
}

func TestDecisionCases(t *testing.T) {
	pack, err := policies.Load()
	if err != nil {
		t.Fatalf("Load() = %v", err)
	}
	files, err := policytest.Load(os.DirFS("testdata"))
	if err != nil {
		t.Fatalf("policytest.Load(testdata) = %v", err)
	}
	if len(files) == 0 {
		t.Fatal("no decision case files in testdata")
	}
	for _, r := range policytest.Run(pack, files) {
		t.Run(strings.TrimSuffix(r.File, ".json")+"/"+r.Case.Name, func(t *testing.T) {
			if !r.Passed() {
				t.Errorf("%s: %s: %s (deciding policies: %s)", r.File, r.Case.Name,
					strings.Join(r.Failures, "; "), strings.Join(r.Decision.Policies, ", "))
			}
		})
	}
}

// TestEveryPolicyDecidesACase checks that each policy of the pack decides at least
// one decision case (it is among the permits that allowed or the forbids that
// denied), so that no rule goes untested.
func TestEveryPolicyDecidesACase(t *testing.T) {
	pack, err := policies.Load()
	if err != nil {
		t.Fatalf("Load() = %v", err)
	}
	files, err := policytest.Load(os.DirFS("testdata"))
	if err != nil {
		t.Fatalf("policytest.Load(testdata) = %v", err)
	}
	decided := map[string]bool{}
	for _, r := range policytest.Run(pack, files) {
		for _, id := range r.Decision.Policies {
			decided[id] = true
		}
	}
	for _, p := range pack.Policies {
		if !decided[p.ID] {
			t.Errorf("policy %s (%s:%d) decides no case in testdata; add one", p.ID, p.File, p.Line)
		}
	}
}

// packCopy returns the embedded pack as a MapFS that a test may change.
func packCopy(t *testing.T) fstest.MapFS {
	t.Helper()
	m := fstest.MapFS{}
	err := fs.WalkDir(policies.FS(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(policies.FS(), name)
		if err != nil {
			return err
		}
		m[name] = &fstest.MapFile{Data: b}
		return nil
	})
	if err != nil {
		t.Fatalf("copy the embedded pack: %v", err)
	}
	return m
}

func TestInvalidPackIsRefused(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		src   string
		wants []string // substrings of the error
	}{
		{
			name: "attribute not in the schema",
			file: "bad.cedar",
			src: `// A policy that reads an attribute the schema does not declare.
// Its annotations start on line 3, where errors must point.
@id("reads-unknown-attribute")
permit (principal, action, resource)
when { context.relation.nickname == "boss" };
`,
			wants: []string{"bad.cedar:3", "reads-unknown-attribute"},
		},
		{
			name: "policy without @id",
			file: "bad.cedar",
			src: `// A policy with no @id annotation.
// Its annotations start on line 3, where errors must point.
@reason("no_id")
forbid (principal, action, resource)
when { context.actor.level < 3 };
`,
			wants: []string{"bad.cedar:3", "@id"},
		},
		{
			name: "syntax error",
			file: "sub/bad.cedar",
			src: `@id("broken")
permit (principal, action, resource)
when { context.actor.level >= };
`,
			wants: []string{"sub/bad.cedar:3"},
		},
		{
			name: "duplicate @id",
			file: "bad.cedar",
			src: `// Reuses the id of a policy in self.cedar.
//
@id("self-service")
permit (principal is Person, action, resource)
when { context.relation.kind == "self" };
`,
			wants: []string{"bad.cedar:3", "self-service", "self.cedar:"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := packCopy(t)
			fsys[tt.file] = &fstest.MapFile{Data: []byte(tt.src)}
			_, err := authz.Load(fsys)
			if err == nil {
				t.Fatalf("Load(pack + %s) = nil error, want one", tt.file)
			}
			for _, want := range tt.wants {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Load(pack + %s) = %v, want an error naming %q", tt.file, err, want)
				}
			}
		})
	}

	t.Run("both bad policies are reported at once", func(t *testing.T) {
		fsys := packCopy(t)
		fsys["bad.cedar"] = &fstest.MapFile{Data: []byte(tests[0].src)}
		fsys["worse.cedar"] = &fstest.MapFile{Data: []byte(tests[1].src)}
		_, err := authz.Load(fsys)
		for _, want := range []string{"bad.cedar:3", "worse.cedar:3"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Load(pack + bad.cedar + worse.cedar) = %v, want an error naming %q", err, want)
			}
		}
	})

	t.Run("service in an unknown area", func(t *testing.T) {
		fsys := packCopy(t)
		cat := string(fsys[authz.CatalogueFile].Data)
		bad := strings.Replace(cat, `"areas": ["transport"]`, `"areas": ["space"]`, 1)
		if bad == cat {
			t.Fatal("test setup: no service in the transport area to move")
		}
		fsys[authz.CatalogueFile] = &fstest.MapFile{Data: []byte(bad)}
		_, err := authz.Load(fsys)
		if err == nil || !strings.Contains(err.Error(), authz.CatalogueFile) || !strings.Contains(err.Error(), `unknown area "space"`) {
			t.Errorf("Load(services.json with area space) = %v, want an error naming services.json and the area", err)
		}
	})

	t.Run("malformed services.json", func(t *testing.T) {
		fsys := packCopy(t)
		fsys[authz.CatalogueFile] = &fstest.MapFile{Data: []byte("{\n  \"areas\": [\n    {\"id\": \"tax\",}\n  ]\n}\n")}
		_, err := authz.Load(fsys)
		if err == nil || !strings.Contains(err.Error(), authz.CatalogueFile+":3") {
			t.Errorf("Load(malformed services.json) = %v, want an error naming services.json:3", err)
		}
	})

	t.Run("the embedded pack itself loads from the copy", func(t *testing.T) {
		if _, err := authz.Load(packCopy(t)); err != nil {
			t.Errorf("Load(copy of the embedded pack) = %v", err)
		}
	})
}

func TestCatalogueCoversDemoServices(t *testing.T) {
	pack, err := policies.Load()
	if err != nil {
		t.Fatalf("Load() = %v", err)
	}
	// The demo data (delegation/registers/demo) grants fullmakter for these.
	for _, id := range []string{
		"helsenorge.journal", "helsenorge.resepter", "skatteetaten.skattemelding", "lanekassen.studiestotte",
		"nav.dagpenger", "nav.sykepenger", "husbanken.bostotte", "vegvesen.forerkort",
	} {
		if _, ok := pack.Catalogue.Service(id); !ok {
			t.Errorf("Catalogue.Service(%q) = false, want the demo service", id)
		}
	}
}

// TestEmbeddedFiles checks that FS holds exactly the pack's files: every *.cedar
// file in the folder, the schema, the catalogue, README.md and the decision cases.
func TestEmbeddedFiles(t *testing.T) {
	want := map[string]bool{authz.SchemaFile: true, authz.CatalogueFile: true, "README.md": true}
	for _, pattern := range []string{"*.cedar", "testdata/*.json"} {
		names, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range names {
			want[filepath.ToSlash(name)] = true
		}
	}
	got := map[string]bool{}
	err := fs.WalkDir(policies.FS(), ".", func(name string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			got[name] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for name := range want {
		if !got[name] {
			t.Errorf("FS() lacks %s", name)
		}
	}
	for name := range got {
		if !want[name] {
			t.Errorf("FS() holds %s, which is not part of the pack", name)
		}
	}
}

// TestEmbeddedCasesPass runs the decision cases as the built-in `fullmakt policy
// test` does: from the embedded copy, against the embedded pack.
func TestEmbeddedCasesPass(t *testing.T) {
	pack, err := policies.Load()
	if err != nil {
		t.Fatalf("Load() = %v", err)
	}
	cases, err := fs.Sub(policies.FS(), "testdata")
	if err != nil {
		t.Fatal(err)
	}
	files, err := policytest.Load(cases)
	if err != nil {
		t.Fatalf("policytest.Load(embedded testdata) = %v", err)
	}
	var report strings.Builder
	if failed := policytest.Report(&report, policytest.Run(pack, files), false); failed > 0 || len(files) == 0 {
		t.Errorf("embedded cases: %d files, %d failed:\n%s", len(files), failed, report.String())
	}
}

// TestImports guards the package's edges: besides the standard library it may
// import only authz, the package that loads a pack.
func TestImports(t *testing.T) {
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			first, _, _ := strings.Cut(p, "/")
			if p != "github.com/fullmakt/fullmakt/authz" && strings.Contains(first, ".") {
				t.Errorf("%s imports %s; the policies package imports only the standard library and authz", name, p)
			}
		}
	}
}
