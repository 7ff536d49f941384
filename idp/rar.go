package idp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ory/fosite"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/delegation"
)

// DetailType is the type of an RFC 9396 authorization detail.
type DetailType string

// The authorization detail types the server understands.
const (
	// DetailRepresentation asks that the person act for another party: a named one,
	// or one they pick at login; for some services and actions, or any.
	DetailRepresentation DetailType = "representation"
	// DetailConsent asks the person to consent that a provider shares a data set
	// about them with the client's organisation, for a purpose, until a date.
	DetailConsent DetailType = "consent"
)

// Limits of the authorization_details parameter.
const (
	// MaxAuthorizationDetailsSize is the largest authorization_details accepted, in
	// bytes.
	MaxAuthorizationDetailsSize = 8 << 10
	// MaxAuthorizationDetails is the most entries authorization_details may have.
	MaxAuthorizationDetails = 10
	// MaxConsentPurpose is the longest purpose of a consent detail, in characters.
	MaxConsentPurpose = 200
)

// consentDataSetLabel marks the catalogue services that are data sets a person can
// consent to share.
const consentDataSetLabel = "consent-data-set"

// ErrInvalidAuthorizationDetails is RFC 9396 §5's error for an authorization_details
// parameter the server does not accept. ParseAuthorizationDetails returns it with a
// description that names the entry and the field; match it with errors.Is.
var ErrInvalidAuthorizationDetails = &fosite.RFC6749Error{
	ErrorField:       "invalid_authorization_details",
	DescriptionField: "The authorization_details parameter is not valid.",
	CodeField:        http.StatusBadRequest,
}

// AuthorizationDetail is one entry of an RFC 9396 authorization_details array, of
// one of the types above; the fields of the other type are zero. It marshals to the
// JSON it was parsed from (in canonical form), for the session, the access token's
// authorization_details claim and introspection.
type AuthorizationDetail struct {
	Type DetailType

	// Representation.

	// Party is the party to act for; empty when the person picks at login. JSON:
	// "party": {"type": "person" or "organization", "id": "…"}.
	Party delegation.PartyID
	// Services are catalogue service ids; nil means every service.
	Services []string
	// Actions are action names each service offers; nil means every action.
	Actions []string

	// Consent.

	// Provider is the organisation number of the organisation that holds the data.
	Provider delegation.PartyID
	// DataSet is the catalogue service id of the data set (labelled consent-data-set).
	DataSet string
	// Purpose is why the client's organisation wants the data, in plain text.
	Purpose string
	// ValidTo is the last day the consent may be used.
	ValidTo delegation.Date
	// OneTime consents may be used once.
	OneTime bool
	// ConsentID is the id of the consent record the person's answer created. The
	// server sets it in what it grants; a client may not send one.
	ConsentID string
}

// detailError is what is wrong with an authorization detail, at a path such as
// authorization_details[1].services[0].
type detailError struct {
	at  string
	msg string
}

func (e *detailError) Error() string { return e.at + ": " + e.msg }

func detailErrorf(at, format string, args ...any) *detailError {
	return &detailError{at: at, msg: fmt.Sprintf(format, args...)}
}

// invalidDetails returns ErrInvalidAuthorizationDetails with the description msg,
// in the characters RFC 6749 §4.1.2.1 allows in error_description (printable ASCII
// but " and \); any other becomes '?'.
func invalidDetails(msg string) *fosite.RFC6749Error {
	return ErrInvalidAuthorizationDetails.WithDescription(strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return '?'
		}
		return r
	}, msg))
}

// quote returns a value from the request in single quotes for an error
// description, cut to 64 characters.
func quote(s string) string {
	const limit = 64
	if utf8.RuneCountInString(s) > limit {
		s = string([]rune(s)[:limit-3]) + "..."
	}
	return "'" + s + "'"
}

// ParseAuthorizationDetails parses and checks the authorization_details request
// parameter (RFC 9396 §2): a JSON array of 1 to 10 objects, at most 8 KiB, each of
// a type in allowedTypes (the client's authorization_details_types), with no field
// its type does not define. Services and actions must be in cat, a consent's data
// set must be a data set of its provider, and its valid_to must be from today to a
// year ahead. Party ids are checked as identity or organisation numbers.
//
// Every error is ErrInvalidAuthorizationDetails with a description that names the
// entry and the field; it never echoes an identity number.
//
// Synthetic test numbers are accepted as party ids: a party id here is only what
// the client asks for, and whether the person may act for it is decided against
// the registers, which hold no synthetic numbers in production.
func ParseAuthorizationDetails(raw string, allowedTypes []string, cat *authz.Catalogue, today delegation.Date) ([]AuthorizationDetail, error) {
	if len(raw) > MaxAuthorizationDetailsSize {
		return nil, invalidDetails(fmt.Sprintf("authorization_details: longer than %d bytes", MaxAuthorizationDetailsSize))
	}
	details, err := parseAuthorizationDetails([]byte(raw), allowedTypes, cat, today)
	if err != nil {
		return nil, invalidDetails(err.Error())
	}
	return details, nil
}

// parseAuthorizationDetails is ParseAuthorizationDetails without the size limit.
func parseAuthorizationDetails(raw []byte, allowedTypes []string, cat *authz.Catalogue, today delegation.Date) ([]AuthorizationDetail, error) {
	const at = "authorization_details"
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '[' {
		return nil, detailErrorf(at, "not a JSON array of objects")
	}
	var entries []json.RawMessage
	if err := json.Unmarshal(raw, &entries); err != nil {
		return nil, detailErrorf(at, "not valid JSON: %v", err)
	}
	switch {
	case len(entries) == 0:
		return nil, detailErrorf(at, "an empty array; leave the parameter out instead")
	case len(entries) > MaxAuthorizationDetails:
		return nil, detailErrorf(at, "%d entries, more than %d", len(entries), MaxAuthorizationDetails)
	}
	if cat == nil {
		cat = &authz.Catalogue{}
	}
	details := make([]AuthorizationDetail, len(entries))
	for i, entry := range entries {
		at := fmt.Sprintf("%s[%d]", at, i)
		d, err := decodeDetail(entry, at)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(allowedTypes, string(d.Type)) {
			return nil, detailErrorf(at+".type", "the client may not request type %s", quote(string(d.Type)))
		}
		if err := d.check(at, cat, today); err != nil {
			return nil, err
		}
		details[i] = d
	}
	return details, nil
}

// check applies the rules that need the catalogue and the date.
func (d *AuthorizationDetail) check(at string, cat *authz.Catalogue, today delegation.Date) error {
	switch d.Type {
	case DetailRepresentation:
		services := make([]authz.Service, len(d.Services))
		for i, id := range d.Services {
			s, ok := cat.Service(id)
			if !ok {
				return detailErrorf(fmt.Sprintf("%s.services[%d]", at, i), "%s is not a service in the catalogue", quote(id))
			}
			services[i] = s
		}
		for i, action := range d.Actions {
			at := fmt.Sprintf("%s.actions[%d]", at, i)
			if !slices.ContainsFunc(cat.Actions, func(a authz.Action) bool { return a.ID == action }) {
				return detailErrorf(at, "%s is not an action in the catalogue", quote(action))
			}
			for _, s := range services {
				if !s.Offers(action) {
					return detailErrorf(at, "service %s does not offer %s", quote(s.ID), quote(action))
				}
			}
		}
	case DetailConsent:
		s, ok := cat.Service(d.DataSet)
		switch {
		case d.ConsentID != "":
			return detailErrorf(at+".consent_id", "is set by the server, not by the client")
		case !ok:
			return detailErrorf(at+".data_set", "%s is not a service in the catalogue", quote(d.DataSet))
		case !slices.Contains(s.Labels, consentDataSetLabel):
			return detailErrorf(at+".data_set", "%s is not a data set one can consent to share", quote(d.DataSet))
		case s.Provider != string(d.Provider):
			return detailErrorf(at+".provider", "%s is not the provider of data set %s", quote(string(d.Provider)), quote(d.DataSet))
		}
		switch {
		case d.ValidTo.Before(today):
			return detailErrorf(at+".valid_to", "%s has passed", d.ValidTo)
		case d.ValidTo.After(today.AddYears(1)):
			return detailErrorf(at+".valid_to", "%s is more than a year ahead", d.ValidTo)
		}
	}
	return nil
}

// MarshalJSON encodes d as the RFC 9396 object of its type.
func (d AuthorizationDetail) MarshalJSON() ([]byte, error) {
	switch d.Type {
	case DetailRepresentation:
		type party struct {
			Type string             `json:"type"`
			ID   delegation.PartyID `json:"id"`
		}
		v := struct {
			Type     DetailType `json:"type"`
			Party    *party     `json:"party,omitempty"`
			Services []string   `json:"services,omitempty"`
			Actions  []string   `json:"actions,omitempty"`
		}{Type: d.Type, Services: d.Services, Actions: d.Actions}
		if d.Party != "" {
			v.Party = &party{Type: d.Party.Kind().String(), ID: d.Party}
		}
		return json.Marshal(v)
	case DetailConsent:
		return json.Marshal(struct {
			Type     DetailType         `json:"type"`
			Provider delegation.PartyID `json:"provider"`
			DataSet  string             `json:"data_set"`
			Purpose  string             `json:"purpose"`
			ValidTo  delegation.Date    `json:"valid_to"`
			OneTime  bool               `json:"one_time,omitempty"`
			ID       string             `json:"consent_id,omitempty"`
		}{d.Type, d.Provider, d.DataSet, d.Purpose, d.ValidTo, d.OneTime, d.ConsentID})
	}
	return nil, fmt.Errorf("idp: marshal authorization detail: unknown type %q", d.Type)
}

// UnmarshalJSON decodes an authorization detail and checks its shape: the type, the
// fields it defines and their syntax (party ids, dates, the purpose). It does not
// consult the catalogue or the date: a stored detail decodes whatever the day.
func (d *AuthorizationDetail) UnmarshalJSON(b []byte) error {
	v, err := decodeDetail(b, "authorization detail")
	if err != nil {
		return fmt.Errorf("idp: %w", err)
	}
	*d = v
	return nil
}

// decodeDetail decodes one entry at the path at and checks its shape.
func decodeDetail(raw []byte, at string) (AuthorizationDetail, error) {
	var d AuthorizationDetail
	fields, err := objectFields(raw, at)
	if err != nil {
		return d, err
	}
	typ, ok := fields.values["type"]
	if !ok {
		return d, detailErrorf(at, "no type")
	}
	t, err := stringValue(typ, at+".type")
	if err != nil {
		return d, err
	}
	d.Type = DetailType(t)
	var known []string
	switch d.Type {
	case DetailRepresentation:
		known = []string{"type", "party", "services", "actions"}
	case DetailConsent:
		known = []string{"type", "provider", "data_set", "purpose", "valid_to", "one_time", "consent_id"}
	default:
		return d, detailErrorf(at+".type", "unknown type %s (want representation or consent)", quote(t))
	}
	for _, name := range fields.names {
		if !slices.Contains(known, name) {
			return d, detailErrorf(at, "unknown field %s for type %s", quote(name), d.Type)
		}
	}
	if d.Type == DetailRepresentation {
		err = d.decodeRepresentation(fields, at)
	} else {
		err = d.decodeConsent(fields, at)
	}
	return d, err
}

func (d *AuthorizationDetail) decodeRepresentation(fields objectValues, at string) error {
	if raw, ok := fields.values["party"]; ok {
		party, err := decodeParty(raw, at+".party")
		if err != nil {
			return err
		}
		d.Party = party
	}
	var err error
	if raw, ok := fields.values["services"]; ok {
		if d.Services, err = stringList(raw, at+".services"); err != nil {
			return err
		}
	}
	if raw, ok := fields.values["actions"]; ok {
		if d.Actions, err = stringList(raw, at+".actions"); err != nil {
			return err
		}
	}
	return nil
}

// decodeParty decodes {"type": "person"|"organization", "id": "…"}.
func decodeParty(raw json.RawMessage, at string) (delegation.PartyID, error) {
	fields, err := objectFields(raw, at)
	if err != nil {
		return "", err
	}
	for _, name := range fields.names {
		if name != "type" && name != "id" {
			return "", detailErrorf(at, "unknown field %s", quote(name))
		}
	}
	rawType, ok := fields.values["type"]
	if !ok {
		return "", detailErrorf(at, "no type (person or organization)")
	}
	typ, err := stringValue(rawType, at+".type")
	if err != nil {
		return "", err
	}
	var kind delegation.PartyKind
	switch typ {
	case "person":
		kind = delegation.KindPerson
	case "organization":
		kind = delegation.KindOrganization
	default:
		return "", detailErrorf(at+".type", "%s is not person or organization", quote(typ))
	}
	rawID, ok := fields.values["id"]
	if !ok {
		return "", detailErrorf(at, "no id")
	}
	s, err := stringValue(rawID, at+".id")
	if err != nil {
		return "", err
	}
	rules := delegation.IDRules{AllowSynthetic: true}
	var id delegation.PartyID
	if kind == delegation.KindPerson {
		id, err = rules.ParsePerson(s)
	} else {
		id, err = rules.ParseOrganization(s)
	}
	if err != nil {
		// The delegation error says why without echoing the number.
		return "", detailErrorf(at+".id", "%v", err)
	}
	return id, nil
}

func (d *AuthorizationDetail) decodeConsent(fields objectValues, at string) error {
	for _, name := range []string{"provider", "data_set", "purpose", "valid_to"} {
		if _, ok := fields.values[name]; !ok {
			return detailErrorf(at, "no %s", name)
		}
	}
	provider, err := stringValue(fields.values["provider"], at+".provider")
	if err != nil {
		return err
	}
	if d.Provider, err = (delegation.IDRules{}).ParseOrganization(provider); err != nil {
		return detailErrorf(at+".provider", "%v", err)
	}
	if d.DataSet, err = stringValue(fields.values["data_set"], at+".data_set"); err != nil {
		return err
	}
	if d.DataSet == "" {
		return detailErrorf(at+".data_set", "empty")
	}
	purpose, err := stringValue(fields.values["purpose"], at+".purpose")
	if err != nil {
		return err
	}
	if d.Purpose, err = checkPurpose(purpose, at+".purpose"); err != nil {
		return err
	}
	validTo, err := stringValue(fields.values["valid_to"], at+".valid_to")
	if err != nil {
		return err
	}
	if d.ValidTo, err = delegation.ParseDate(validTo); err != nil {
		return detailErrorf(at+".valid_to", "not a date of the form YYYY-MM-DD")
	}
	if raw, ok := fields.values["consent_id"]; ok {
		if d.ConsentID, err = stringValue(raw, at+".consent_id"); err != nil {
			return err
		}
	}
	if raw, ok := fields.values["one_time"]; ok {
		switch string(raw) {
		case "true":
			d.OneTime = true
		case "false":
		default:
			return detailErrorf(at+".one_time", "not true or false")
		}
	}
	return nil
}

// checkPurpose returns the purpose without surrounding space, if it is 1 to 200
// characters of plain text: no control characters, and no bidirectional formatting
// characters, which could make the text the person reads differ from the text sent.
func checkPurpose(s, at string) (string, error) {
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	switch {
	case n == 0:
		return "", detailErrorf(at, "empty")
	case n > MaxConsentPurpose:
		return "", detailErrorf(at, "%d characters, more than %d", n, MaxConsentPurpose)
	}
	for _, r := range s {
		if unicode.IsControl(r) || isBidiControl(r) {
			return "", detailErrorf(at, "contains the control character %U", r)
		}
	}
	return s, nil
}

// isBidiControl reports whether r is a Unicode bidirectional formatting character.
func isBidiControl(r rune) bool {
	return r == 0x061C || r == 0x200E || r == 0x200F || (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069)
}

// objectValues are the members of a JSON object, by name, and the names in order.
type objectValues struct {
	values map[string]json.RawMessage
	names  []string
}

// objectFields decodes a JSON object's members, rejecting duplicate names (which
// parsers resolve differently). Names match exactly, unlike encoding/json's
// case-insensitive struct fields.
func objectFields(raw []byte, at string) (objectValues, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return objectValues{}, detailErrorf(at, "not a JSON object")
	}
	fields := objectValues{values: map[string]json.RawMessage{}}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return objectValues{}, detailErrorf(at, "not valid JSON")
		}
		name, _ := tok.(string)
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return objectValues{}, detailErrorf(at, "not valid JSON")
		}
		if _, dup := fields.values[name]; dup {
			return objectValues{}, detailErrorf(at, "field %s appears twice", quote(name))
		}
		fields.values[name] = value
		fields.names = append(fields.names, name)
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return objectValues{}, detailErrorf(at, "not valid JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return objectValues{}, detailErrorf(at, "not valid JSON")
	}
	return fields, nil
}

// stringValue decodes a JSON string; null and other types are refused.
func stringValue(raw json.RawMessage, at string) (string, error) {
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", detailErrorf(at, "not a string")
	}
	return s, nil
}

// stringList decodes a non-empty JSON array of distinct, non-empty strings.
func stringList(raw json.RawMessage, at string) ([]string, error) {
	var items []json.RawMessage
	if len(raw) == 0 || raw[0] != '[' || json.Unmarshal(raw, &items) != nil {
		return nil, detailErrorf(at, "not an array of strings")
	}
	if len(items) == 0 {
		return nil, detailErrorf(at, "an empty array; leave the field out instead")
	}
	list := make([]string, len(items))
	for i, item := range items {
		at := fmt.Sprintf("%s[%d]", at, i)
		s, err := stringValue(item, at)
		if err != nil {
			return nil, err
		}
		if s == "" {
			return nil, detailErrorf(at, "empty")
		}
		if slices.Contains(list[:i], s) {
			return nil, detailErrorf(at, "%s is listed twice", quote(s))
		}
		list[i] = s
	}
	return list, nil
}
