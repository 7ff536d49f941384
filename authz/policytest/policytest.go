// Package policytest runs policy decision cases kept as data: JSON files with a
// world of facts (persons, organisations, register relations, fullmakter, consents)
// and cases (a request and the expected decision, relation and step-up). Security
// teams add cases without writing Go; `fullmakt policy test DIR` and the policies
// package's tests run them.
package policytest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/delegation"
)

// File is one case file.
type File struct {
	Name        string `json:"-"`
	Description string `json:"description,omitempty"`
	World       World  `json:"world"`
	Cases       []Case `json:"cases"`
}

// World is every fact the cases of a file may use.
type World struct {
	Persons       []delegation.Person                 `json:"persons,omitempty"`
	Organizations []delegation.Organization           `json:"organizations,omitempty"`
	Parental      []delegation.ParentalResponsibility `json:"parental,omitempty"`
	Guardianships []delegation.Guardianship           `json:"guardianships,omitempty"`
	Roles         []delegation.Role                   `json:"roles,omitempty"`
	Fullmakter    []delegation.Fullmakt               `json:"fullmakter,omitempty"`
	Consents      []delegation.Consent                `json:"consents,omitempty"`
}

// Case is one request and what the pack must answer.
type Case struct {
	Name    string             `json:"name"`
	Now     time.Time          `json:"now"`
	Actor   delegation.PartyID `json:"actor"`
	Party   delegation.PartyID `json:"party,omitempty"`
	Service string             `json:"service"`
	Action  string             `json:"action"`
	ACR     string             `json:"acr"`
	// AuthAge is the seconds since the actor authenticated; absent means unknown.
	AuthAge *int64 `json:"auth_age,omitempty"`
	Expect  Expect `json:"expect"`
}

// Expect is the expected decision. Decision is required; Relation, when set, must
// be the relation used; StepUp absent means no step-up is expected; every listed
// reason code and policy id must be among the decision's.
type Expect struct {
	Decision string        `json:"decision"` // allow | deny
	Relation string        `json:"relation,omitempty"`
	StepUp   *ExpectStepUp `json:"step_up,omitempty"`
	Reasons  []string      `json:"reasons,omitempty"`
	Policies []string      `json:"policies,omitempty"`
	Error    string        `json:"error,omitempty"` // a request error on this field (service, action, acr)
}

// ExpectStepUp is the expected step-up: the acr value and, when set, max_age in
// seconds.
type ExpectStepUp struct {
	ACR    string `json:"acr"`
	MaxAge int64  `json:"max_age,omitempty"`
}

// Load reads every *.json case file in fsys (recursively), in lexical order.
func Load(fsys fs.FS) ([]File, error) {
	var files []File
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(name) != ".json" {
			return err
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		f, err := Parse(name, b)
		if err != nil {
			return err
		}
		files = append(files, f)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("policytest: %w", err)
	}
	return files, nil
}

// Parse decodes one case file; errors name the file and line.
func Parse(name string, data []byte) (File, error) {
	f := File{Name: name}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return f, fmt.Errorf("%s:%d: %w", name, authz.JSONErrorLine(data, dec.InputOffset(), err), err)
	}
	var errs []error
	for i, c := range f.Cases {
		where := fmt.Sprintf("%s: case %d %q", name, i+1, c.Name)
		switch {
		case c.Name == "":
			errs = append(errs, fmt.Errorf("%s: has no name", where))
		case c.Now.IsZero():
			errs = append(errs, fmt.Errorf("%s: has no now", where))
		case c.Expect.Decision != "allow" && c.Expect.Decision != "deny":
			errs = append(errs, fmt.Errorf("%s: expect.decision is %q, want allow or deny", where, c.Expect.Decision))
		}
	}
	return f, errors.Join(errs...)
}

// Facts gathers from the world what a store would return for the request: the
// party, the relations between actor and party, and the ancestors of every
// sub-delegated fullmakt.
func (w World) Facts(actor, party delegation.PartyID) authz.Facts {
	var f authz.Facts
	for i := range w.Persons {
		if w.Persons[i].ID == party {
			f.Person = &w.Persons[i]
		}
	}
	for i := range w.Organizations {
		if w.Organizations[i].ID == party {
			f.Organization = &w.Organizations[i]
		}
	}
	for _, r := range w.Parental {
		if r.Parent == actor && r.Child == party {
			f.Relations.Parental = append(f.Relations.Parental, r)
		}
	}
	for _, g := range w.Guardianships {
		if g.Guardian == actor && g.Ward == party {
			f.Relations.Guardianships = append(f.Relations.Guardianships, g)
		}
	}
	for _, r := range w.Roles {
		if r.Person == actor && r.Organization == party {
			f.Relations.Roles = append(f.Relations.Roles, r)
		}
	}
	byID := map[string]delegation.Fullmakt{}
	for _, fm := range w.Fullmakter {
		byID[fm.ID] = fm
	}
	for _, fm := range w.Fullmakter {
		if fm.Proxy != actor || fm.Grantor != party {
			continue
		}
		f.Relations.Fullmakter = append(f.Relations.Fullmakter, fm)
		for p, n := fm.Parent, 0; p != "" && n < 32; n++ {
			parent, ok := byID[p]
			if !ok {
				break
			}
			if f.Chain == nil {
				f.Chain = map[string]delegation.Fullmakt{}
			}
			f.Chain[p] = parent
			p = parent.Parent
		}
	}
	for _, c := range w.Consents {
		if c.Recipient == actor && c.Party == party {
			f.Relations.Consents = append(f.Relations.Consents, c)
		}
	}
	return f
}

// Result is the outcome of one case.
type Result struct {
	File     string
	Case     Case
	Decision authz.Decision
	Err      error    // a request error, when the pack returned one
	Failures []string // why the case failed; empty when it passed
}

// Passed reports whether the case passed.
func (r Result) Passed() bool { return len(r.Failures) == 0 }

// Run decides every case with the pack.
func Run(pack *authz.Pack, files []File) []Result {
	var out []Result
	for _, f := range files {
		for _, c := range f.Cases {
			out = append(out, runCase(pack, f, c))
		}
	}
	return out
}

func runCase(pack *authz.Pack, f File, c Case) Result {
	req := authz.Request{Actor: c.Actor, Party: c.Party, Service: c.Service, Action: c.Action, ACR: c.ACR, Now: c.Now}
	if c.AuthAge != nil {
		req.AuthTime = c.Now.Add(-time.Duration(*c.AuthAge) * time.Second)
	}
	d, err := pack.Decide(req, f.World.Facts(req.Actor, req.For()))
	r := Result{File: f.Name, Case: c, Decision: d, Err: err}
	fail := func(format string, args ...any) { r.Failures = append(r.Failures, fmt.Sprintf(format, args...)) }
	want := c.Expect
	if err != nil {
		re, ok := authz.IsRequestError(err)
		if !ok || want.Error == "" || re.Field != want.Error {
			fail("error: %v", err)
		}
		return r
	}
	if want.Error != "" {
		fail("want a request error on %q, got a decision", want.Error)
	}
	if got := verdict(d.Allow); got != want.Decision {
		fail("decision %s, want %s", got, want.Decision)
	}
	if want.Relation != "" {
		got := ""
		if d.Relation != nil {
			got = string(d.Relation.Kind)
		}
		if got != want.Relation {
			fail("relation %q, want %q", got, want.Relation)
		}
	}
	switch {
	case want.StepUp == nil && d.StepUp != nil:
		fail("step-up to %s (max_age %v), want none", d.StepUp.ACR, d.StepUp.MaxAge)
	case want.StepUp != nil && d.StepUp == nil:
		fail("no step-up, want %s", want.StepUp.ACR)
	case want.StepUp != nil:
		acr, _ := pack.ACRs().Level(want.StepUp.ACR)
		if acr != d.StepUp.Level {
			fail("step-up to %s, want %s", d.StepUp.ACR, want.StepUp.ACR)
		}
		if got := int64(d.StepUp.MaxAge / time.Second); got != want.StepUp.MaxAge {
			fail("step-up max_age %d, want %d", got, want.StepUp.MaxAge)
		}
	}
	codes := make([]string, len(d.Reasons))
	for i, rs := range d.Reasons {
		codes[i] = rs.Code
	}
	for _, code := range want.Reasons {
		if !slices.Contains(codes, code) {
			fail("reason %q missing (got %s)", code, strings.Join(codes, ", "))
		}
	}
	for _, id := range want.Policies {
		if !slices.Contains(d.Policies, id) {
			fail("policy %q did not decide (got %s)", id, strings.Join(d.Policies, ", "))
		}
	}
	return r
}

func verdict(allow bool) string {
	if allow {
		return "allow"
	}
	return "deny"
}

// Report writes one line per case (PASS or FAIL with its reasons) and a summary,
// and returns the number of failures.
func Report(w io.Writer, results []Result, verbose bool) int {
	failed := 0
	for _, r := range results {
		if r.Passed() {
			if verbose {
				fmt.Fprintf(w, "PASS  %s: %s\n", r.File, r.Case.Name)
			}
			continue
		}
		failed++
		fmt.Fprintf(w, "FAIL  %s: %s\n", r.File, r.Case.Name)
		for _, f := range r.Failures {
			fmt.Fprintf(w, "        %s\n", f)
		}
		if len(r.Decision.Policies) > 0 {
			fmt.Fprintf(w, "        deciding policies: %s\n", strings.Join(r.Decision.Policies, ", "))
		}
	}
	fmt.Fprintf(w, "%d cases, %d passed, %d failed\n", len(results), len(results)-failed, failed)
	return failed
}
