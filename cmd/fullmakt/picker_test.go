package main

import (
	"bytes"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/policies"
)

// pickerChoice is a radio button of the party picker: its label and the
// identity number it shows (the hint's, spaces removed).
var pickerChoice = regexp.MustCompile(`<label for="party-(\d+)">([^<]*)</label>\s*<p id="party-\d+-id" class="hint">([^<]*)</p>`)

// pickerParties returns the choices of the party picker on page, in order, each
// as "name number" (number as shown, without spaces; for the first, the person
// themself, the label and the hint as they are).
func pickerParties(t *testing.T, page string) []string {
	t.Helper()
	var out []string
	for i, m := range pickerChoice.FindAllStringSubmatch(page, -1) {
		if m[1] != strconv.Itoa(i) {
			t.Fatalf("the picker's choice %d is party-%s", i, m[1])
		}
		label, hint := html.UnescapeString(m[2]), html.UnescapeString(m[3])
		if i == 0 {
			out = append(out, label+" / "+hint)
			continue
		}
		_, number, ok := strings.Cut(hint, "number ")
		if !ok {
			t.Fatalf("the picker's choice %q has the hint %q, without an identity number", label, hint)
		}
		out = append(out, label+" "+strings.ReplaceAll(number, " ", ""))
	}
	if len(out) == 0 {
		t.Fatalf("no choices in the party picker:\n%s", page)
	}
	return out
}

// searchParties asks the decision API's Party Search at base for whom actor,
// logged in at high at authTime, may do action in service now (not after a
// step-up), and returns them as "name masked-number". It fails unless the actor,
// when listed, comes first.
func searchParties(t *testing.T, base string, actor delegation.PartyID, authTime time.Time, service, action string) []string {
	t.Helper()
	body, err := json.Marshal(map[string]any{
		"subject":  map[string]any{"type": "person", "id": actor, "properties": map[string]any{"acr": eidasHigh, "auth_time": authTime.Unix()}},
		"action":   map[string]any{"name": action},
		"resource": map[string]any{"type": "service", "id": service},
		"page":     map[string]any{"limit": 1000},
	})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/access/v1/search/party", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+demoAPIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var res struct {
		Page struct {
			NextToken string `json:"next_token"`
		} `json:"page"`
		Results []struct {
			Type       string             `json:"type"`
			ID         delegation.PartyID `json:"id"`
			Properties struct {
				Name   string          `json:"name"`
				StepUp json.RawMessage `json:"step_up"`
			} `json:"properties"`
		} `json:"results"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &res) != nil || res.Page.NextToken != "" {
		t.Fatalf("party search for %s %s = %d:\n%s", service, action, resp.StatusCode, raw)
	}
	var out []string
	for i, r := range res.Results {
		if r.ID == actor {
			if i != 0 {
				t.Errorf("party search for %s %s: the actor is result %d, want the first", service, action, i)
			}
			continue
		}
		if r.Properties.StepUp != nil {
			continue // allowed only after a step-up: the picker leaves it out
		}
		out = append(out, r.Properties.Name+" "+r.ID.Masked())
	}
	return out
}

// TestPickerListsWhatTheDecisionEngineAllows compares, for people of the demo
// cast, the party picker demo-agency's login shows with the decision API's
// answer: the parties the Party Search permits (now, at the login's level) for
// the first action of each service demo-agency may ask about, together. The
// person themself comes first.
func TestPickerListsWhatTheDecisionEngineAllows(t *testing.T) {
	base, _, _ := startServe(t, "--data", t.TempDir(), "--demo")
	pack, err := policies.Load()
	if err != nil {
		t.Fatal(err)
	}
	agency := demoOAuthClient()
	// Kari and Per (parents), Mari (of a 16-year-old), Hanne (of a child with a
	// confidential address), Jon (a guardian), Ingrid (holds a fullmakt), Terje
	// (held one; it ended), Sofie and Erik (roles in an organisation), Ola (a
	// child himself).
	for _, first := range []string{"Kari", "Per", "Mari", "Hanne", "Jon", "Ingrid", "Terje", "Sofie", "Erik", "Ola"} {
		t.Run(first, func(t *testing.T) {
			_, person := castIndex(t, first)
			loggedIn := time.Now().Truncate(time.Second)
			client := browser(t, base)
			state := "picker-" + strings.ToLower(first) + "-state"
			resp, page := demoLogin(t, client, base, authorizeURL(base, "openid represent", state), first, "high")

			var got []string
			if landedOn(resp, "/login/party") {
				got = pickerParties(t, page)
			} else {
				// Nobody but themself: the picker is skipped.
				codeFrom(t, resp, page, state)
				got = []string{"Myself / " + person.Name + ", identity number " + shownPersonNumber(person.ID)}
			}
			if want := "Myself / " + person.Name + ", identity number " + shownPersonNumber(person.ID); got[0] != want {
				t.Errorf("the picker's first choice = %q, want %q", got[0], want)
			}

			var want []string
			asked := 0
			for _, svc := range pack.Catalogue.Services {
				if !agency.MayAskAbout(svc.ID) || len(svc.Actions) == 0 {
					continue
				}
				asked++
				for _, p := range searchParties(t, base, person.ID, loggedIn, svc.ID, svc.Actions[0]) {
					if !slices.Contains(want, p) {
						want = append(want, p)
					}
				}
			}
			if asked == 0 {
				t.Fatal("demo-agency may ask about no service")
			}
			others := slices.Clone(got[1:])
			slices.Sort(others)
			slices.Sort(want)
			if !slices.Equal(others, want) {
				t.Errorf("%s's picker lists %q; the decision API permits %q", first, others, want)
			}
			for _, o := range others {
				if strings.HasPrefix(o, person.Name+" ") {
					t.Errorf("the picker lists %s twice", person.Name)
				}
			}
			t.Logf("%s may act for %q", first, others)
		})
	}
}

// shownPersonNumber is a person's identity number as the pages show it: the
// birth date, then the masked rest.
func shownPersonNumber(id delegation.PartyID) string {
	m := id.Masked()
	if i := strings.IndexByte(m, '*'); i > 0 {
		return m[:i] + " " + m[i:]
	}
	return m
}
