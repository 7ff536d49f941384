package authzen

import (
	"encoding/json"
	"net/http"
)

// metadata is the PDP metadata (§9.1). search_party_endpoint, changes_endpoint
// and receipt_signing_alg_values_supported are Fullmakt's extensions, the last
// two only when the server offers the change feed and signs receipts; the
// subject search is not offered, so its endpoint is left out.
type metadata struct {
	PolicyDecisionPoint       string   `json:"policy_decision_point"`
	AccessEvaluationEndpoint  string   `json:"access_evaluation_endpoint"`
	AccessEvaluationsEndpoint string   `json:"access_evaluations_endpoint"`
	SearchResourceEndpoint    string   `json:"search_resource_endpoint"`
	SearchActionEndpoint      string   `json:"search_action_endpoint"`
	SearchPartyEndpoint       string   `json:"search_party_endpoint"`
	ChangesEndpoint           string   `json:"changes_endpoint,omitempty"`
	ReceiptSigningAlgs        []string `json:"receipt_signing_alg_values_supported,omitempty"`
}

// handleMetadata serves /.well-known/authzen-configuration (§9.2). It is public
// and cacheable (§11.9).
func (a *API) handleMetadata() http.Handler {
	m := metadata{
		PolicyDecisionPoint:       a.base,
		AccessEvaluationEndpoint:  a.base + pathEvaluation,
		AccessEvaluationsEndpoint: a.base + pathEvaluations,
		SearchResourceEndpoint:    a.base + pathSearchResource,
		SearchActionEndpoint:      a.base + pathSearchAction,
		SearchPartyEndpoint:       a.base + pathSearchParty,
	}
	if a.cfg.Feed != nil {
		m.ChangesEndpoint = a.base + pathChanges
	}
	if a.cfg.Receipts != nil {
		m.ReceiptSigningAlgs = []string{ReceiptAlg}
	}
	b, _ := json.Marshal(m)
	b = append(b, '\n')
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		echoRequestID(w, r)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Write(b)
	})
}
