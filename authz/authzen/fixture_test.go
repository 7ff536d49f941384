package authzen_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/authz/authzen"
	"github.com/fullmakt/fullmakt/authz/pdp"
	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/delegation/bolt"
)

// The API keys of the test clients: one sees coarse reasons, one detailed ones.
const (
	keyNormal   = "normal-5b0f6c1e9d2a4f7e8c3b"
	keyDetailed = "detailed-0a9e8d7c6b5a4f3e2d1c"
	clientNorm  = "agency-normal"
	clientDet   = "agency-detailed"
)

// Acr values.
const (
	acrLow         = "http://eidas.europa.eu/LoA/low"
	acrSubstantial = "http://eidas.europa.eu/LoA/substantial"
	acrHigh        = "http://eidas.europa.eu/LoA/high"
)

// Services of the test pack.
const (
	svcTax     = "skatteetaten.skattemelding" // read, submit
	svcStudy   = "lanekassen.studiestotte"    // read, submit, sign
	svcHealth  = "helsenorge.timebestilling"  // read, book
	svcElction = "valg.stemmegivning"         // vote (highly personal)
)

// fixture is a running AuthZEN server over a real bbolt store and decision point,
// deciding with the test pack in testdata/pack at a fixed time.
type fixture struct {
	t     testing.TB
	ctx   context.Context
	store *bolt.Store
	pdp   *pdp.PDP
	pack  *authz.Pack
	srv   *httptest.Server
	mux   *http.ServeMux // the server's handler, for calls without the network
	now   time.Time
	logs  *syncBuffer
	feed  *authzen.Feed // with withFeed

	// parent has parental responsibility for child (10), child2 (12) and
	// adultChild (24), a fullmakt from stranger for the tax return, and is the
	// CEO of org.
	parent, child, child2, adultChild, stranger, org delegation.PartyID
	fullmaktID                                       string
}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// option changes the fixture's configuration before the server starts.
type option func(*fixture, *authzen.Config, *decider)

// decider lets a test replace the decision point (to make it fail).
type decider struct{ authzen.Decider }

func newFixture(t testing.TB, opts ...option) *fixture {
	t.Helper()
	f := &fixture{
		t: t, ctx: context.Background(), logs: &syncBuffer{},
		now: time.Date(2025, time.June, 2, 12, 0, 0, 0, delegation.Oslo()),
	}
	now := func() time.Time { return f.now }
	today := delegation.Today(f.now)

	store, err := bolt.Open(filepath.Join(t.TempDir(), "fullmakt.db"), bolt.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	f.store = store

	f.pack, err = authz.Load(os.DirFS("testdata/pack"))
	if err != nil {
		t.Fatal(err)
	}

	ind := 0
	person := func(name string, birth delegation.Date) delegation.Person {
		century := 0
		if birth.Year >= 2000 {
			century = 500
		}
		for ; ind < 500; ind++ {
			if id, ok := delegation.NorwegianPersonID(birth, century+ind, false, true); ok {
				ind++
				return delegation.Person{ID: id, Name: name, BirthDate: birth}
			}
		}
		t.Fatalf("no identity number for a person born %s", birth)
		return delegation.Person{}
	}
	parent := person("Kari Nordmann", delegation.NewDate(1980, time.May, 17))
	child := person("Ola Nordmann", delegation.NewDate(2015, time.March, 1))
	child2 := person("Ingrid Nordmann", delegation.NewDate(2012, time.August, 9))
	adult := person("Per Nordmann", delegation.NewDate(2001, time.January, 15))
	stranger := person("Anne Hansen", delegation.NewDate(1950, time.February, 2))
	orgID, ok := delegation.OrganizationNumber(91234567)
	for base := 91234567; !ok; base++ {
		orgID, ok = delegation.OrganizationNumber(base + 1)
	}
	org := delegation.Organization{ID: orgID, Name: "Nordmann Bakeri AS"}
	fm := delegation.MigratedFullmakt(stranger.ID, parent.ID, delegation.Scope{Services: []string{svcTax}},
		delegation.Period{From: delegation.NewDate(2024, time.January, 1)}, false, "test-1")
	records := []delegation.Record{
		parent, child, child2, adult, stranger, org,
		delegation.ParentalResponsibility{Parent: parent.ID, Child: child.ID, Kind: delegation.CustodyJoint},
		delegation.ParentalResponsibility{Parent: parent.ID, Child: child2.ID, Kind: delegation.CustodySole},
		delegation.ParentalResponsibility{Parent: parent.ID, Child: adult.ID, Kind: delegation.CustodyJoint},
		delegation.Role{Person: parent.ID, Organization: org.ID, Role: "ceo"},
		fm,
	}
	err = store.UpdateRegister(f.ctx, func(tx delegation.RegisterTx) error {
		for _, rec := range records {
			if _, err := delegation.ApplyRecord(tx, rec, today); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	f.parent, f.child, f.child2, f.adultChild, f.stranger, f.org = parent.ID, child.ID, child2.ID, adult.ID, stranger.ID, org.ID
	f.fullmaktID = fm.ID

	log := slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f.pdp = pdp.New(store, f.pack, pdp.Options{Access: store, Now: now, Log: log})
	t.Cleanup(func() { f.pdp.Close(context.Background()) })

	keys, err := authzen.ParseAPIKeys(strings.NewReader("# test clients\n" +
		clientNorm + " " + authzen.HashAPIKey(keyNormal) + "\n\n" +
		clientDet + " " + authzen.HashAPIKey(keyDetailed) + " detailed-reasons\n"))
	if err != nil {
		t.Fatal(err)
	}

	mux := http.NewServeMux()
	f.mux = mux
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	cfg := authzen.Config{PDPURL: f.srv.URL, IDRules: delegation.IDRules{AllowSynthetic: true}, Log: log, Now: now}
	d := &decider{f.pdp}
	for _, o := range opts {
		o(f, &cfg, d)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	authzen.New(d.Decider, keys, cfg).Routes(mux)
	return f
}

// response is a decoded response.
type response struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into a generic value, for comparison with go-cmp.
func (r response) json(t testing.TB) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("response body %q is not JSON: %v", r.body, err)
	}
	return v
}

// do sends a request to the test server.
func (f *fixture) do(req *http.Request) response {
	f.t.Helper()
	res, err := f.srv.Client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// post sends body as application/json with the API key (none when key is "").
func (f *fixture) post(path, key, body string) response {
	f.t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	return f.do(req)
}

// postJSON marshals v and posts it.
func (f *fixture) postJSON(path, key string, v any) response {
	f.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		f.t.Fatal(err)
	}
	return f.post(path, key, string(b))
}

// obj is a JSON object in a test.
type obj = map[string]any

// arr is a JSON array in a test.
type arr = []any

func subject(id delegation.PartyID, acr string) obj {
	return obj{"type": "person", "id": id.String(), "properties": obj{"acr": acr}}
}

func service(id string) obj { return obj{"type": "service", "id": id} }

func action(name string) obj { return obj{"name": name} }

func forParty(id delegation.PartyID) obj {
	typ := "person"
	if id.Kind() == delegation.KindOrganization {
		typ = "organization"
	}
	return obj{"party": obj{"type": typ, "id": id.String()}}
}

// evaluation returns an Access Evaluation request; party may be "".
func evaluation(actor, party delegation.PartyID, acr, svc, act string) obj {
	e := obj{"subject": subject(actor, acr), "action": action(act), "resource": service(svc)}
	if party != "" {
		e["context"] = forParty(party)
	}
	return e
}

// Paths of the endpoints.
const (
	pathEvaluation     = "/access/v1/evaluation"
	pathEvaluations    = "/access/v1/evaluations"
	pathSearchResource = "/access/v1/search/resource"
	pathSearchAction   = "/access/v1/search/action"
	pathSearchParty    = "/access/v1/search/party"
)
