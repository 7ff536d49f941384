package authzen

import (
	"encoding/json"
	"net/http"
)

// metadata is the PDP metadata (§9.1). search_party_endpoint is Fullmakt's
// extension; the subject search is not offered, so its endpoint is left out.
type metadata struct {
	PolicyDecisionPoint       string `json:"policy_decision_point"`
	AccessEvaluationEndpoint  string `json:"access_evaluation_endpoint"`
	AccessEvaluationsEndpoint string `json:"access_evaluations_endpoint"`
	SearchResourceEndpoint    string `json:"search_resource_endpoint"`
	SearchActionEndpoint      string `json:"search_action_endpoint"`
	SearchPartyEndpoint       string `json:"search_party_endpoint"`
}

// handleMetadata serves /.well-known/authzen-configuration (§9.2). It is public
// and cacheable (§11.9).
func (a *API) handleMetadata() http.Handler {
	b, _ := json.Marshal(metadata{
		PolicyDecisionPoint:       a.base,
		AccessEvaluationEndpoint:  a.base + pathEvaluation,
		AccessEvaluationsEndpoint: a.base + pathEvaluations,
		SearchResourceEndpoint:    a.base + pathSearchResource,
		SearchActionEndpoint:      a.base + pathSearchAction,
		SearchPartyEndpoint:       a.base + pathSearchParty,
	})
	b = append(b, '\n')
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		echoRequestID(w, r)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Write(b)
	})
}
