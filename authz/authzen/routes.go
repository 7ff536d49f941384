package authzen

import "net/http"

// The default paths of the endpoints (§10.1), below the PDP URL's path.
const (
	pathEvaluation     = "/access/v1/evaluation"
	pathEvaluations    = "/access/v1/evaluations"
	pathSearchResource = "/access/v1/search/resource"
	pathSearchAction   = "/access/v1/search/action"
	pathSearchParty    = "/access/v1/search/party"
	pathChanges        = "/access/v1/changes"
	// pathMetadata goes between the host and the PDP URL's path (§9.2).
	pathMetadata = "/.well-known/authzen-configuration"
)

// Routes registers every endpoint on mux. The POST endpoints authenticate the
// client and take only application/json (api); other methods on their paths get
// a 405. The metadata is public. The change feed (GET, authenticated) is there
// only when the configuration has a Feed.
func (a *API) Routes(mux *http.ServeMux) {
	p := a.prefix
	mux.Handle("GET "+pathMetadata+p, a.handleMetadata())
	mux.Handle("POST "+p+pathEvaluation, a.api(a.handleEvaluation()))
	mux.Handle("POST "+p+pathEvaluations, a.api(a.handleEvaluations()))
	mux.Handle("POST "+p+pathSearchResource, a.api(a.handleSearchResource()))
	mux.Handle("POST "+p+pathSearchAction, a.api(a.handleSearchAction()))
	mux.Handle("POST "+p+pathSearchParty, a.api(a.handleSearchParty()))
	for _, path := range []string{pathEvaluation, pathEvaluations, pathSearchResource, pathSearchAction, pathSearchParty} {
		mux.Handle(p+path, a.methodNotAllowed(http.MethodPost))
	}
	if a.cfg.Feed != nil {
		mux.Handle("GET "+p+pathChanges, a.handleChanges(a.cfg.Feed))
		mux.Handle(p+pathChanges, a.methodNotAllowed(http.MethodGet))
	}
}
