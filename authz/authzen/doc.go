// Package authzen is the OpenID AuthZEN Authorization API 1.0 binding of the
// policy decision point: the HTTPS + JSON endpoints an agency's policy enforcement
// point calls to ask "may this actor do this action in this service for this party?".
//
// Endpoints (paths relative to Config.PDPURL):
//
//	POST /access/v1/evaluation        Access Evaluation (§6)
//	POST /access/v1/evaluations       Access Evaluations, batch (§7)
//	POST /access/v1/search/resource   Resource Search (§8.5): services the subject may use
//	POST /access/v1/search/action     Action Search (§8.6): actions the subject may take
//	POST /access/v1/search/party      Party Search: parties the subject may act for (an extension)
//	GET  /access/v1/changes           Change feed: whose relations changed (an extension; with Config.Feed)
//	GET  /.well-known/authzen-configuration   PDP metadata (§9)
//
// # Information model
//
// The subject is the logged-in actor: {"type": "person"|"organization", "id": an
// identity or organisation number, "properties": {"acr": the acr value of the
// actor's authentication (required), "auth_time": when they authenticated, in Unix
// seconds (optional)}}. The resource is a service of the catalogue: {"type":
// "service", "id": "agency.service"}. The action is {"name": "read"|"submit"|…}.
// The party acted for, when it is not the actor, is context.party: {"type":
// "person"|"organization", "id": …}. A subject or party whose type does not match
// its number (nine digits is an organisation) is refused.
//
// A decision's context carries "reasons" (codes; a client without detailed
// reasons sees only the codes marked @disclose("true") in the policy pack, and
// "not_permitted" in place of every other), on allow "relation" (the kind of
// relation that permitted), on a deny that a higher or fresher authentication
// would turn into an allow "step_up" ({"acr_values", "max_age"}, RFC 9470's
// parameters), and "policy_version". When the subject's auth_time is given and
// the decision may turn as the authentication ages (an auth_age threshold of the
// pack lies ahead), "valid_for" is how many whole seconds, at least 1, it holds;
// without it the decision holds until the facts change.
//
// # Decision receipts (extension)
//
// context.receipt: true (on an evaluation, a batch item, or a batch's top-level
// context) asks for a signed receipt, returned as context.receipt: a compact JWS
// signed by Config.Receipts (the OAuth server, with the keys of its jwks_uri;
// header typ "fullmakt-receipt+jwt"). Its claims are iss, iat, jti, client_id,
// decision, actor and party ({"type", "id"}; the party is the actor when acting
// for self), service, action, acr, auth_time (when given), relation ({"kind",
// "id"?}, the id for detailed-reasons clients; absent on deny), reasons (the
// codes as the client sees them) and policy_version. It has no exp: it is
// evidence of a decision at iat. A receipt asked of a server without a signer is
// a 400 naming context.receipt; a signature that fails is a 500, never a decision
// without its receipt. The metadata publishes
// "receipt_signing_alg_values_supported": ["ES256"].
//
// # Change feed (extension)
//
// GET /access/v1/changes, authenticated as the other endpoints, streams
// server-sent events so that an enforcement point can drop the decisions it
// caches as soon as a relation changes. It starts with "retry: 1000" and an
// event hello ({"seq"}); then one event changes ({"seq", "parties"}) per read of
// up to 1000 changes of the store, and a reset ({"seq", "reason"}) when every
// decision must go: "policy" (the pack was reloaded), "day" (midnight in Oslo:
// ages and fullmakt periods turn), "gap" (a resume point beyond the store's last
// change, after a restore), "bulk" (a read naming more than 4096 tags). Each
// event's id is the last change sequence number it covers; a client resumes
// with Last-Event-ID (or ?after=N), and without either starts from now. A
// comment line ": keep-alive" comes every 15 s. Parties are named by party tags,
// never by number: the first two bytes of the SHA-256 of the identity or
// organisation number, in lowercase hex (PartyTag), which some 85 Norwegians
// share each. The metadata publishes the endpoint as "changes_endpoint".
//
// # Party Search (extension)
//
// POST /access/v1/search/party answers "for which parties may the subject do the
// action in the service?", in the style of §8: the request is {subject, action,
// resource, page?}; the response is {page, results}, each result
// {"type": "person"|"organization", "id", "properties": {"name", "relation":
// {"kind"}, "step_up"?}}. Parties the subject could act for only after a step-up
// are included, with "step_up". The actor themself comes first. The metadata
// publishes the endpoint as "search_party_endpoint".
//
// # Choices where the specification leaves room
//
//   - Batch (§7): an item's subject, action, resource or context replaces the
//     top-level one whole (no deep merge). An item that cannot be answered (a
//     missing or malformed key, a bad identity number, an unknown service or
//     action) is {"decision": false, "context": {"error": {"status": 400,
//     "message": …}}} and counts as a deny for the short-circuit semantics; a
//     malformed top level (syntax, a default of the wrong shape, an item that is
//     not an object, an unknown evaluations_semantic) is a 400 for the call.
//     Absent or empty evaluations answer as a single evaluation, in its shape.
//     Short-circuit semantics return the items evaluated so far, as in the
//     specification's examples.
//   - Search pagination (§8.2): tokens are opaque base64url, carry the position and
//     the limit, and are bound by a hash to the request's subject, action, resource
//     and context; a token sent with anything changed is a 400. A request with a
//     token may leave out page.limit (the token's is used). Limits above 1000 are
//     lowered to 1000; 0 or absent means 50.
//   - Errors are RFC 9457 problem details (application/problem+json) naming the
//     offending member as a JSON path in "field". Identity numbers are never
//     echoed in errors, nor logged.
//   - Bodies must be valid UTF-8 JSON objects without duplicate member names and
//     nested at most 32 deep (I-JSON, §11.5).
//
// Searches act for nobody and are not written to the decision log; evaluations
// for a party other than the subject are, with the client's id.
//
// The package imports the decision point (authz, authz/pdp) and the domain types
// (delegation); it must not import a store adapter, an identity provider or cmd.
package authzen
