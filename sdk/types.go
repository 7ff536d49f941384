package sdk

import (
	"encoding/json"
	"time"
)

// PartyType is the kind of a party: a person or an organisation.
type PartyType string

// The party types of the decision API.
const (
	TypePerson       PartyType = "person"
	TypeOrganization PartyType = "organization"
)

// Party is someone acted for, or acting: a person (national identity number) or an
// organisation (organisation number).
type Party struct {
	Type PartyType `json:"type"`
	ID   string    `json:"id"`
}

// Person returns the person with the identity number id.
func Person(id string) Party { return Party{Type: TypePerson, ID: id} }

// Organization returns the organisation with the organisation number id.
func Organization(id string) Party { return Party{Type: TypeOrganization, ID: id} }

// IsZero reports whether p names nobody.
func (p Party) IsZero() bool { return p.ID == "" }

// Actor is who acts: the person logged in (or an organisation, for consent checks),
// with how and when they authenticated.
type Actor struct {
	Party
	// ACR is the level of assurance of the authentication, an acr value Fullmakt
	// knows (an eIDAS URI or an alias such as idporten-loa-high).
	ACR string
	// AuthTime is when the actor authenticated; zero when unknown.
	AuthTime time.Time
}

// Relation is why an actor may act for a party: its kind (self, parent, guardian,
// fullmakt, role, consent) and, for clients allowed detailed reasons, its id.
type Relation struct {
	Kind string `json:"kind"`
	ID   string `json:"id,omitempty"`
}

// AuthorizationDetail is one RFC 9396 authorization detail of a token: type
// representation (Party, Services, Actions) or consent (Provider, DataSet, Purpose,
// ValidTo). Raw is the detail as the token carries it.
type AuthorizationDetail struct {
	Type     string
	Party    Party
	Services []string
	Actions  []string
	Provider string
	DataSet  string
	Purpose  string
	ValidTo  string
	Raw      json.RawMessage
}

// Token is a verified access token of Fullmakt.
type Token struct {
	// Raw is the token as received, to pass on (token exchange) and never to log.
	Raw string
	// Subject is the token's sub: the party's opaque, stable identifier.
	Subject string
	// Actor is the person acting, with the token's acr and auth_time. When the
	// token acts for the person themself, Actor and Party name the same person.
	// Actor.ID (an identity number) is empty unless the client may see identity
	// numbers (a client registered with "pid": true).
	Actor Actor
	// ActorSubject is the actor's opaque identifier (act.sub, or sub when the
	// token acts for the actor themself).
	ActorSubject string
	// Party is whom the token acts for.
	Party Party
	// Via lists the clients that exchanged the token on the actor's behalf,
	// outermost (the latest) first: an agency back end calling another agency's API
	// with the person's token appears here. Empty for a token a person got directly.
	Via []string
	// Relation is the relation that permitted acting for Party; nil when the token
	// acts for the actor themself.
	Relation *Relation
	// AuthorizationDetails are the token's RFC 9396 details.
	AuthorizationDetails []AuthorizationDetail
	// ClientID is the client the token was issued to.
	ClientID  string
	Scopes    []string
	Audience  []string
	IssuedAt  time.Time
	NotBefore time.Time
	Expiry    time.Time
	ID        string // jti
}

// OnBehalf reports whether the token acts for someone other than the actor.
func (t *Token) OnBehalf() bool { return t.ActorSubject != t.Subject }

// Request is one question to the decision API: may Actor do Action in Service for
// Party? A zero Party means the actor themself.
type Request struct {
	Actor   Actor
	Party   Party
	Service string
	Action  string
}

// Reason is a machine-readable reason of a decision. Clients without detailed
// reasons see only the codes Fullmakt discloses, and "not_permitted" for the rest.
type Reason struct {
	Code     string `json:"code"`
	Relation string `json:"relation,omitempty"`
	Policy   string `json:"policy,omitempty"`
}

// StepUp is what a higher or fresher authentication needs: the acr values to ask
// the login for and, when not zero, the longest age of the authentication (RFC 9470
// acr_values and max_age).
type StepUp struct {
	ACRValues string
	MaxAge    time.Duration
}

// Decision is the decision API's answer.
type Decision struct {
	Allowed bool
	// Relation is the relation that permitted; nil on deny.
	Relation *Relation
	Reasons  []Reason
	// StepUp is set on a deny that a higher level of assurance, or a fresher
	// authentication, would turn into an allow.
	StepUp *StepUp
	// PolicyVersion is the version of the policy pack that decided.
	PolicyVersion string
	// Receipt is the signed receipt of the decision (a compact JWS) when one was
	// asked for: archive it with the case, verify it with VerifyReceipt.
	Receipt string
	// Cached reports whether the decision came from the SDK's cache.
	Cached bool
}

// Choice is one party an actor may act for, from Parties.
type Choice struct {
	Party
	Name string
	// Relation is the kind of relation (self, parent, guardian, fullmakt, role).
	Relation *Relation
	// StepUp is set when the actor may act for the party only after a step-up.
	StepUp *StepUp
}

// Receipt is a verified decision receipt.
type Receipt struct {
	Issuer        string
	IssuedAt      time.Time
	ID            string
	ClientID      string
	Allowed       bool
	Actor         Party
	Party         Party
	Service       string
	Action        string
	ACR           string
	AuthTime      time.Time
	Relation      *Relation
	Reasons       []string
	PolicyVersion string
	// KeyID is the kid of the key that signed it; Key is that public key as a JWK,
	// to archive with the receipt so that VerifyReceiptWithKey can verify it after
	// Fullmakt has retired the key.
	KeyID string
	Key   json.RawMessage
	// Raw is the compact JWS.
	Raw string
}

// Exchanged is the token a token exchange returned.
type Exchanged struct {
	AccessToken string
	TokenType   string
	Expiry      time.Time
	Scopes      []string
}
