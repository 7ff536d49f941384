package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"

	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/delegation/registers/demo"
)

// query is one evaluation: a relation from the feed, or a stranger, or oneself.
type query struct {
	Subject  map[string]any `json:"subject"`
	Action   map[string]any `json:"action"`
	Resource map[string]any `json:"resource"`
	Context  map[string]any `json:"context,omitempty"`
}

// requestBodies samples the feed and builds the request bodies: a mix of parents,
// guardians, role holders, fullmakt holders, people acting for themselves, and
// strangers (a random person asking about another), in equal shares.
func requestBodies(cfg config) ([][]byte, error) {
	f, err := os.Open(cfg.feed)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	pairs, persons, err := demo.Sample(f, cfg.samples, 1)
	if err != nil {
		return nil, err
	}
	if len(persons) < 2 {
		return nil, errors.New("the feed has fewer than two persons")
	}
	service := map[delegation.RelationKind]string{
		delegation.RelParent: "skatteetaten.skattemelding", delegation.RelGuardian: "skatteetaten.skattemelding",
		delegation.RelRole: "brreg.arsregnskap", delegation.RelFullmakt: "skatteetaten.skattemelding",
	}
	rng := rand.New(rand.NewPCG(2, 3))
	var qs []query
	q := func(actor, party delegation.PartyID, svc string) query {
		qu := query{
			Subject:  map[string]any{"type": "person", "id": actor, "properties": map[string]any{"acr": "http://eidas.europa.eu/LoA/high"}},
			Action:   map[string]any{"name": "read"},
			Resource: map[string]any{"type": "service", "id": svc},
		}
		if party != "" {
			kind := "person"
			if party.Kind() == delegation.KindOrganization {
				kind = "organization"
			}
			qu.Context = map[string]any{"party": map[string]any{"type": kind, "id": party}}
		}
		return qu
	}
	for k, ps := range pairs {
		for _, p := range ps {
			qs = append(qs, q(p.Actor, p.Party, service[k]))
		}
	}
	for range cfg.samples {
		a, b := persons[rng.IntN(len(persons))], persons[rng.IntN(len(persons))]
		qs = append(qs, q(a, b, "skatteetaten.skattemelding"), q(a, "", "skatteetaten.skattemelding"))
	}
	rng.Shuffle(len(qs), func(i, j int) { qs[i], qs[j] = qs[j], qs[i] })
	var bodies [][]byte
	for i := 0; i+cfg.batch <= len(qs); i += cfg.batch {
		var v any = qs[i]
		if cfg.batch > 1 {
			v = map[string]any{"evaluations": qs[i : i+cfg.batch]}
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		bodies = append(bodies, b)
	}
	return bodies, nil
}

// decide posts one body and counts the permitted decisions in the answer.
func decide(client *http.Client, url, key string, body []byte) (allowed, decisions int, err error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("status %d: %.200s", resp.StatusCode, b)
	}
	var answer struct {
		Decision    *bool `json:"decision"`
		Evaluations []struct {
			Decision bool `json:"decision"`
		} `json:"evaluations"`
	}
	if err := json.Unmarshal(b, &answer); err != nil {
		return 0, 0, err
	}
	if answer.Decision != nil {
		if *answer.Decision {
			allowed = 1
		}
		return allowed, 1, nil
	}
	for _, e := range answer.Evaluations {
		if e.Decision {
			allowed++
		}
	}
	return allowed, len(answer.Evaluations), nil
}
