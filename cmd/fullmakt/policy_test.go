package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fullmakt/fullmakt/delegation/registers/demo"
)

func TestPolicyCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pack")
	if got := fullmakt(t, nil, "", "policy", "export", dir); got.code != exitOK {
		t.Fatalf("policy export = %d; stderr:\n%s", got.code, got.stderr)
	}
	if got := fullmakt(t, nil, "", "policy", "export", dir); got.code != exitError || !strings.Contains(got.stderr, "exists") {
		t.Errorf("policy export over an existing folder = %d, %q; want an error saying it exists", got.code, got.stderr)
	}
	okLine := regexp.MustCompile(`^ok: \d+ policies, \d+ services, version sha256:[0-9a-f]{16}\n$`)
	for _, args := range [][]string{{"policy", "validate"}, {"policy", "validate", dir}} {
		if got := fullmakt(t, nil, "", args...); got.code != exitOK || !okLine.MatchString(got.stdout) {
			t.Errorf("%q = %d, %q; want ok with counts and version", args, got.code, got.stdout)
		}
	}
	summary := regexp.MustCompile(`(\d+) cases, (\d+) passed, 0 failed\n$`)
	for _, args := range [][]string{{"policy", "test"}, {"policy", "test", dir}} {
		got := fullmakt(t, nil, "", args...)
		if m := summary.FindStringSubmatch(got.stdout); got.code != exitOK || m == nil || m[1] == "0" || m[1] != m[2] {
			t.Errorf("%q = %d; want every case passing; stdout:\n%s\nstderr:\n%s", args, got.code, got.stdout, got.stderr)
		}
	}

	// A policy that does not validate: the pack is refused with file and line.
	bad := filepath.Join(dir, "zz-bad.cedar")
	write(t, bad, "// a new rule\n@id(\"bad\")\npermit (principal, action, resource) when { context.relation.no_such };\n")
	got := fullmakt(t, nil, "", "policy", "validate", dir)
	if got.code != exitError || !strings.Contains(got.stderr, "zz-bad.cedar:2") || !strings.Contains(got.stderr, "no_such") {
		t.Errorf("policy validate with a bad policy = %d, %q; want exit 1 naming zz-bad.cedar:2 and the attribute", got.code, got.stderr)
	}

	// A policy that validates but changes a decision: the case that covers it fails,
	// and the report says which and why.
	write(t, bad, "@id(\"tax-closed\")\n@reason(\"closed\")\nforbid (principal, action, resource in Area::\"tax\");\n")
	got = fullmakt(t, nil, "", "policy", "test", dir)
	if got.code != exitError || !strings.Contains(got.stdout, "FAIL") || !strings.Contains(got.stdout, "decision deny, want allow") {
		t.Errorf("policy test with a closing policy = %d; want failures; stdout:\n%s", got.code, got.stdout)
	}

	// Cases of one's own, in another folder.
	cases := t.TempDir()
	write(t, filepath.Join(cases, "mine.json"), `{"cases": [{"name": "nobody for nobody", "now": "2026-11-23T12:00:00+01:00",
	  "actor": "01019012345", "party": "02028012345", "service": "skatteetaten.skattemelding", "action": "read",
	  "acr": "idporten-loa-high", "expect": {"decision": "deny", "reasons": ["unknown_party"]}}]}`)
	if got := fullmakt(t, nil, "", "policy", "test", dir, "--cases", cases, "-v"); got.code != exitOK || !strings.Contains(got.stdout, "PASS  mine.json: nobody for nobody") {
		t.Errorf("policy test --cases = %d; stdout:\n%s\nstderr:\n%s", got.code, got.stdout, got.stderr)
	}
	if got := fullmakt(t, nil, "", "policy", "frob"); got.code != exitUsage || !strings.Contains(got.stderr, `unknown subcommand "frob"`) {
		t.Errorf("policy frob = %d, %q; want usage", got.code, got.stderr)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path+".tmp", []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
}

// evaluation is the decision API's answer, as much as these tests read.
type evaluation struct {
	Decision bool `json:"decision"`
	Context  struct {
		PolicyVersion string `json:"policy_version"`
	} `json:"context"`
}

func evaluate(t *testing.T, base, key string, body any) (int, evaluation) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, base+"/access/v1/evaluation", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var e evaluation
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatalf("decode %s: %v", raw, err)
		}
	}
	return resp.StatusCode, e
}

// TestServeReloadsPolicies follows policies/README.md: export the pack, serve it,
// change it, and see the running server pick the change up, or keep the running
// pack when the change is invalid.
func TestServeReloadsPolicies(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pack")
	if got := fullmakt(t, nil, "", "policy", "export", dir); got.code != exitOK {
		t.Fatalf("policy export = %d; stderr:\n%s", got.code, got.stderr)
	}
	base, stderr, _ := startServe(t, "--data", t.TempDir(), "--demo", "--policies", dir)
	who := map[string]string{}
	for _, c := range demo.Cast(time.Now()) {
		who[strings.Fields(c.Name)[0]] = string(c.ID)
	}
	body := map[string]any{
		"subject":  map[string]any{"type": "person", "id": who["Kari"], "properties": map[string]any{"acr": "idporten-loa-high"}},
		"action":   map[string]any{"name": "read"},
		"resource": map[string]any{"type": "service", "id": "skatteetaten.skattemelding"},
		"context":  map[string]any{"party": map[string]any{"type": "person", "id": who["Emma"]}},
	}
	if code, _ := evaluate(t, base, "wrong-key", body); code != http.StatusUnauthorized {
		t.Errorf("evaluation with a wrong key = %d, want 401", code)
	}
	code, first := evaluate(t, base, demoAPIKey, body)
	if code != http.StatusOK || !first.Decision || first.Context.PolicyVersion == "" {
		t.Fatalf("Kari for Emma = %d %+v, want 200 and allowed with a policy version", code, first)
	}

	write(t, filepath.Join(dir, "zz-new.cedar"), "@id(\"broken\")\npermit (principal, action, resource) when { context.nope };\n")
	rejected := regexp.MustCompile(`policy pack change rejected; keeping the running pack.*zz-new.cedar:1`)
	waitFor(t, stderr, rejected, nil, 15*time.Second)
	if code, got := evaluate(t, base, demoAPIKey, body); code != http.StatusOK || !got.Decision || got.Context.PolicyVersion != first.Context.PolicyVersion {
		t.Errorf("after an invalid change: %d %+v, want the running pack %s still allowing", code, got, first.Context.PolicyVersion)
	}

	if err := os.Remove(filepath.Join(dir, "zz-new.cedar")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, stderr, regexp.MustCompile(`msg="policy pack loaded" dir=\S+ version=`+first.Context.PolicyVersion), nil, 15*time.Second)
	// A new service in services.json, as policies/README.md describes: unknown
	// until the pack reloads, then decided like any other.
	parking := map[string]any{
		"subject":  map[string]any{"type": "person", "id": who["Kari"], "properties": map[string]any{"acr": "idporten-loa-high"}},
		"action":   map[string]any{"name": "read"},
		"resource": map[string]any{"type": "service", "id": "oslo.parkering"},
	}
	if code, _ := evaluate(t, base, demoAPIKey, parking); code != http.StatusBadRequest {
		t.Errorf("evaluation for a service not in the catalogue = %d, want 400", code)
	}
	catalogue, err := os.ReadFile(filepath.Join(dir, "services.json"))
	if err != nil {
		t.Fatal(err)
	}
	service := `"services": [
    {"id": "oslo.parkering", "name": {"nb": "Beboerparkering", "en": "Residents' parking"}, "areas": ["transport"],
     "actions": ["read", "submit"], "provider": "974778807", "guardianship_scopes": ["economic"]},`
	write(t, filepath.Join(dir, "services.json"), strings.Replace(string(catalogue), `"services": [`, service, 1))
	waitFor(t, stderr, regexp.MustCompile(`msg="policy pack loaded" dir=\S+ version=sha256:\w+ policies=\d+ services=28`), nil, 15*time.Second)
	if code, got := evaluate(t, base, demoAPIKey, parking); code != http.StatusOK || !got.Decision {
		t.Errorf("Kari reading the new service herself = %d %+v, want allowed", code, got)
	}

	write(t, filepath.Join(dir, "zz-new.cedar"), "@id(\"tax-closed\")\n@reason(\"closed\")\nforbid (principal, action, resource in Area::\"tax\");\n")
	waitFor(t, stderr, regexp.MustCompile(`msg="policy pack loaded" dir=\S+ version=sha256:\w+ policies=42`), nil, 15*time.Second)
	code, last := evaluate(t, base, demoAPIKey, body)
	if code != http.StatusOK || last.Decision || last.Context.PolicyVersion == first.Context.PolicyVersion {
		t.Errorf("after a valid change: %d %+v, want denied by a new pack version", code, last)
	}

	// The metrics tell an operator what happened.
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`fullmakt_decisions_total{relation="parent",result="allow"} 2`,
		`fullmakt_decisions_total{relation="self",result="allow"} 1`,
		`fullmakt_decisions_total{relation="",result="deny"} 1`,
		`fullmakt_policy_pack_reloads_total{result="rejected"} 1`,
		`fullmakt_policy_pack_reloads_total{result="loaded"} 3`,
		`fullmakt_policy_pack_info{version="` + last.Context.PolicyVersion + `"} 1`,
		`fullmakt_decision_log_queue 0`,
		`fullmakt_decision_duration_seconds_count 4`,
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("GET /metrics lacks %s; it has:\n%s", want, grepLines(string(metrics), "fullmakt_"))
		}
	}
}

func TestDemoDataCast(t *testing.T) {
	got := fullmakt(t, nil, "", "demo-data", "--cast")
	if got.code != exitOK {
		t.Fatalf("demo-data --cast = %d; stderr:\n%s", got.code, got.stderr)
	}
	for _, c := range demo.Cast(time.Now()) {
		if !strings.Contains(got.stdout, `"id":"`+string(c.ID)+`","name":"`+c.Name+`"`) {
			t.Errorf("demo-data --cast does not write %s with the identity number serve --demo loads", c.Name)
		}
	}
}

// grepLines returns the lines of s that start with prefix.
func grepLines(s, prefix string) string {
	var out []string
	for line := range strings.Lines(s) {
		if strings.HasPrefix(line, prefix) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "")
}
