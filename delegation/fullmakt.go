package delegation

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Scope is what a fullmakt (or a request for one) covers: whole areas ("health"),
// single services ("lanekassen.studiestotte"), and optionally only some actions.
// Service identifiers always contain a dot (owner.service); area names never do.
type Scope struct {
	Areas    []string `json:"areas,omitempty"`
	Services []string `json:"services,omitempty"`
	// Actions limits the fullmakt to these actions; empty means every action.
	Actions []string `json:"actions,omitempty"`
}

// ParseScope sorts a flat list of areas and services (the import format's scope[])
// into a Scope: entries with a dot are services, the others areas.
func ParseScope(entries, actions []string) (Scope, error) {
	var s Scope
	for _, e := range entries {
		if strings.Contains(e, ".") {
			s.Services = append(s.Services, e)
		} else {
			s.Areas = append(s.Areas, e)
		}
	}
	s.Actions = append(s.Actions, actions...)
	s = s.normalized()
	return s, s.Validate()
}

// normalized returns the scope with each list sorted and without repeats, so that
// equal scopes compare equal.
func (s Scope) normalized() Scope {
	norm := func(l []string) []string {
		if len(l) == 0 {
			return nil
		}
		l = slices.Clone(l)
		slices.Sort(l)
		return slices.Compact(l)
	}
	return Scope{Areas: norm(s.Areas), Services: norm(s.Services), Actions: norm(s.Actions)}
}

// Validate checks the shape of every entry; whether the areas and services exist is
// the service catalogue's business.
func (s Scope) Validate() error {
	if len(s.Areas) == 0 && len(s.Services) == 0 {
		return fmt.Errorf("%w: scope names no area or service", ErrInvalid)
	}
	for _, a := range s.Areas {
		if !isToken(a) {
			return fmt.Errorf("%w: area %q is not a lowercase word", ErrInvalid, a)
		}
	}
	for _, svc := range s.Services {
		owner, name, ok := strings.Cut(svc, ".")
		if !ok || !isToken(owner) || !isToken(strings.ReplaceAll(name, ".", "_")) {
			return fmt.Errorf("%w: service %q is not of the form owner.service", ErrInvalid, svc)
		}
	}
	for _, a := range s.Actions {
		if !isToken(a) {
			return fmt.Errorf("%w: action %q is not a lowercase word", ErrInvalid, a)
		}
	}
	return nil
}

// Catalogue tells which areas a service belongs to. The policies package provides
// the real one; the domain needs only this.
type Catalogue interface {
	ServiceAreas(service string) []string
}

// Covers reports whether s covers the service (directly or through one of its areas)
// and the action.
func (s Scope) Covers(cat Catalogue, service, action string) bool {
	if len(s.Actions) > 0 && !slices.Contains(s.Actions, action) {
		return false
	}
	return s.coversService(cat, service)
}

func (s Scope) coversService(cat Catalogue, service string) bool {
	if slices.Contains(s.Services, service) {
		return true
	}
	return slices.ContainsFunc(cat.ServiceAreas(service), func(a string) bool { return slices.Contains(s.Areas, a) })
}

// Within reports whether s is no wider than outer: each of its areas is one of
// outer's, each of its services is covered by outer, and when outer limits actions, s
// limits them to a subset.
func (s Scope) Within(cat Catalogue, outer Scope) bool {
	for _, a := range s.Areas {
		if !slices.Contains(outer.Areas, a) {
			return false
		}
	}
	for _, svc := range s.Services {
		if !outer.coversService(cat, svc) {
			return false
		}
	}
	if len(outer.Actions) == 0 {
		return true
	}
	return len(s.Actions) > 0 && !slices.ContainsFunc(s.Actions, func(a string) bool { return !slices.Contains(outer.Actions, a) })
}

// FullmaktStatus is the stored state of a fullmakt. Whether an active fullmakt is in
// force on a given day also depends on its period: see Fullmakt.StateOn.
type FullmaktStatus string

const (
	StatusActive    FullmaktStatus = "active"
	StatusRevoked   FullmaktStatus = "revoked"   // ended by the grantor (or a parent of a minor grantor, or a guardian)
	StatusRenounced FullmaktStatus = "renounced" // given up by the proxy
	StatusExpired   FullmaktStatus = "expired"   // derived: active, but the period has ended
	StatusPending   FullmaktStatus = "pending"   // derived: active, but the period has not begun
)

// Origin says how a fullmakt came to be.
type Origin string

const (
	OriginPortal        Origin = "portal"        // given by the grantor in the portal
	OriginRequest       Origin = "request"       // the grantor approved a request
	OriginSubdelegation Origin = "subdelegation" // passed on by a proxy allowed to
	OriginMigration     Origin = "migration"     // imported from an older system
)

// Fullmakt is a power of attorney: Grantor lets Proxy act for them within Scope and
// Period. A sub-delegated fullmakt has the same Grantor (the party acted for), the new
// Proxy, DelegatedBy set to the proxy who passed it on, and Parent naming the
// fullmakt it came from; every link of the chain must hold for it to apply.
type Fullmakt struct {
	ID             string         `json:"id"`
	Grantor        PartyID        `json:"grantor"`
	Proxy          PartyID        `json:"proxy"`
	Scope          Scope          `json:"scope"`
	Period         Period         `json:"period,omitzero"`
	MaySubdelegate bool           `json:"may_subdelegate,omitempty"`
	Status         FullmaktStatus `json:"status"`
	// ConfirmedACR is the level of assurance at which the grantor confirmed it (an
	// acr value); empty for migrated fullmakter.
	ConfirmedACR string  `json:"confirmed_acr,omitempty"`
	Origin       Origin  `json:"origin"`
	Parent       string  `json:"parent,omitempty"`
	DelegatedBy  PartyID `json:"delegated_by,omitempty"`
	// CreatedBy is the person who made it: the grantor, or the delegating proxy.
	CreatedBy PartyID   `json:"created_by,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// EndedAt and EndedBy record a revocation or renunciation.
	EndedAt time.Time `json:"ended_at,omitzero"`
	EndedBy PartyID   `json:"ended_by,omitempty"`
}

// StateOn returns the status a person should see on today: revoked, renounced,
// pending, expired or active.
func (f Fullmakt) StateOn(today Date) FullmaktStatus {
	switch {
	case f.Status != StatusActive:
		return f.Status
	case !f.Period.From.IsZero() && today.Before(f.Period.From):
		return StatusPending
	case f.Period.Ended(today):
		return StatusExpired
	}
	return StatusActive
}

// InForceOn reports whether the fullmakt itself applies on today (not revoked, within
// its period). For a sub-delegated fullmakt the caller must check the chain as well.
func (f Fullmakt) InForceOn(today Date) bool { return f.StateOn(today) == StatusActive }

// Validate checks a fullmakt on its own.
func (f Fullmakt) Validate() error {
	switch {
	case f.ID == "":
		return fmt.Errorf("%w: fullmakt has no id", ErrInvalid)
	case f.Grantor.Kind() != KindPerson || f.Proxy.Kind() != KindPerson:
		return fmt.Errorf("%w: grantor and proxy must be persons", ErrInvalid)
	case f.Grantor == f.Proxy:
		return fmt.Errorf("%w: a person cannot give a fullmakt to themself", ErrInvalid)
	case (f.Parent == "") != (f.DelegatedBy == ""):
		return fmt.Errorf("%w: a sub-delegated fullmakt names both its parent and who delegated it", ErrInvalid)
	}
	if err := f.Scope.Validate(); err != nil {
		return err
	}
	return f.Period.Validate()
}

// NewFullmakt is what a grantor decides when giving a fullmakt.
type NewFullmakt struct {
	Grantor, Proxy Person
	Scope          Scope
	Period         Period
	MaySubdelegate bool
	ConfirmedACR   string
	Origin         Origin
}

// Give checks the rules for giving a fullmakt and returns it, ready to store: the
// grantor may give it (see mayGive), the proxy is alive, and the period has not
// already ended.
func Give(n NewFullmakt, now time.Time) (Fullmakt, error) {
	today := Today(now)
	n.Scope = n.Scope.normalized()
	if err := mayGive(n.Grantor, n.Scope, today); err != nil {
		return Fullmakt{}, err
	}
	switch {
	case n.Proxy.DeceasedOn(today):
		return Fullmakt{}, fmt.Errorf("%w: the proxy is deceased", ErrInvalid)
	case n.Period.Ended(today):
		return Fullmakt{}, fmt.Errorf("%w: the period has already ended", ErrInvalid)
	}
	origin := n.Origin
	if origin == "" {
		origin = OriginPortal
	}
	f := Fullmakt{
		ID: NewID("fm"), Grantor: n.Grantor.ID, Proxy: n.Proxy.ID, Scope: n.Scope,
		Period: n.Period, MaySubdelegate: n.MaySubdelegate, Status: StatusActive,
		ConfirmedACR: n.ConfirmedACR, Origin: origin, CreatedBy: n.Grantor.ID, CreatedAt: now.UTC(),
	}
	if err := f.Validate(); err != nil {
		return Fullmakt{}, err
	}
	return f, nil
}

// HealthArea is the area of health services, and HealthAgeOfMajority the age from
// which a young person decides over their own health matters (Norway, 16): from then
// on they may give a fullmakt for health, and their parents may not revoke it.
const (
	HealthArea          = "health"
	HealthAgeOfMajority = 16
)

// mayGive decides whether grantor may give a fullmakt for scope on today: nobody gives
// one for a deceased person; an adult gives any; a minor of 16 or 17 gives one for
// the health area only; a younger child gives none.
func mayGive(grantor Person, scope Scope, today Date) error {
	switch {
	case grantor.DeceasedOn(today):
		return fmt.Errorf("%w: nobody gives a fullmakt for a deceased person", ErrForbidden)
	case !grantor.MinorOn(today):
		return nil
	case grantor.AgeOn(today) >= HealthAgeOfMajority && scope.healthOnly():
		return nil
	}
	return fmt.Errorf("%w: a minor can give a fullmakt only for health matters, and only from the age of %d", ErrForbidden, HealthAgeOfMajority)
}

// healthOnly reports whether the scope is the health area and nothing else.
func (s Scope) healthOnly() bool {
	return len(s.Services) == 0 && slices.Equal(s.Areas, []string{HealthArea})
}

// Subdelegate checks the rules for passing a fullmakt on and returns the new one: the
// parent allows it, is in force (its whole chain checked by the caller), is held by
// the person passing it on, and the new scope and period are no wider than the
// parent's. The new proxy must not be the grantor, and nobody acts for the dead.
func Subdelegate(parent Fullmakt, by PartyID, to Person, grantor Person, scope Scope, period Period, cat Catalogue, now time.Time) (Fullmakt, error) {
	today := Today(now)
	scope = scope.normalized()
	switch {
	case parent.Proxy != by:
		return Fullmakt{}, fmt.Errorf("%w: only the proxy of a fullmakt may pass it on", ErrForbidden)
	case !parent.MaySubdelegate:
		return Fullmakt{}, fmt.Errorf("%w: this fullmakt may not be passed on", ErrForbidden)
	case !parent.InForceOn(today):
		return Fullmakt{}, fmt.Errorf("%w: the fullmakt is not in force", ErrConflict)
	case grantor.ID != parent.Grantor:
		return Fullmakt{}, fmt.Errorf("%w: grantor does not match the fullmakt", ErrInvalid)
	case grantor.DeceasedOn(today) || to.DeceasedOn(today):
		return Fullmakt{}, fmt.Errorf("%w: nobody acts for or as a deceased person", ErrForbidden)
	case to.ID == parent.Grantor || to.ID == by:
		return Fullmakt{}, fmt.Errorf("%w: a fullmakt cannot be passed on to its grantor or its holder", ErrInvalid)
	case !scope.Within(cat, parent.Scope):
		return Fullmakt{}, fmt.Errorf("%w: the scope is wider than the fullmakt it is passed on from", ErrForbidden)
	case !period.Within(parent.Period):
		return Fullmakt{}, fmt.Errorf("%w: the period is longer than that of the fullmakt it is passed on from", ErrForbidden)
	case period.Ended(today):
		return Fullmakt{}, fmt.Errorf("%w: the period has already ended", ErrInvalid)
	}
	f := Fullmakt{
		ID: NewID("fm"), Grantor: parent.Grantor, Proxy: to.ID, Scope: scope, Period: period,
		Status: StatusActive, Origin: OriginSubdelegation, Parent: parent.ID, DelegatedBy: by,
		ConfirmedACR: parent.ConfirmedACR, CreatedBy: by, CreatedAt: now.UTC(),
	}
	if err := f.Validate(); err != nil {
		return Fullmakt{}, err
	}
	return f, nil
}

// EndFullmakt is a revocation or renunciation, ready for Store.EndFullmakt.
type EndFullmakt struct {
	ID     string
	Status FullmaktStatus // StatusRevoked or StatusRenounced
	By     PartyID
	At     time.Time
}

// MayEnd decides who may end a fullmakt and how: the grantor (or whoever passed it on)
// revokes it; the proxy renounces it; a parent with parental responsibility revokes a
// fullmakt given by their minor child, except a health fullmakt given from the age of
// 16, which is the youth's own business. parental lists the register's parental
// responsibilities between by and the grantor. A guardian's say is GuardianMayEnd's.
func MayEnd(f Fullmakt, by PartyID, grantor Person, parental []ParentalResponsibility, now time.Time) (EndFullmakt, error) {
	today := Today(now)
	end := EndFullmakt{ID: f.ID, By: by, At: now.UTC()}
	switch {
	case f.Status != StatusActive:
		return EndFullmakt{}, fmt.Errorf("%w: the fullmakt is already %s", ErrConflict, f.Status)
	case by == f.Grantor || (f.DelegatedBy != "" && by == f.DelegatedBy):
		end.Status = StatusRevoked
	case by == f.Proxy:
		end.Status = StatusRenounced
	case grantor.ID == f.Grantor && grantor.MinorOn(today) &&
		!(f.Scope.healthOnly() && grantor.AgeOn(today) >= HealthAgeOfMajority) &&
		slices.ContainsFunc(parental, func(r ParentalResponsibility) bool {
			return r.Parent == by && r.Child == f.Grantor && r.ActiveOn(today)
		}):
		end.Status = StatusRevoked
	default:
		return EndFullmakt{}, fmt.Errorf("%w: only the grantor, the proxy or a parent of a minor grantor may end a fullmakt", ErrForbidden)
	}
	return end, nil
}

// GuardianMayEnd decides whether a guardian may revoke a fullmakt their ward gave: the
// guardian acts only within the registered scope and period, so one of by's
// guardianships of the grantor must apply today and cover everything the fullmakt
// reaches (see GuardianMaySee). The fullmakt is then revoked by the guardian.
func GuardianMayEnd(f Fullmakt, by PartyID, grantor Person, guardianships []Guardianship, reach map[string][]string, now time.Time) (EndFullmakt, error) {
	if f.Status != StatusActive {
		return EndFullmakt{}, fmt.Errorf("%w: the fullmakt is already %s", ErrConflict, f.Status)
	}
	if err := guardianOver(f, by, grantor, guardianships, reach, Today(now)); err != nil {
		return EndFullmakt{}, err
	}
	return EndFullmakt{ID: f.ID, Status: StatusRevoked, By: by, At: now.UTC()}, nil
}

// GuardianMaySee reports whether by, as guardian of the grantor, may see f on today,
// whatever its status: one of by's guardianships of the grantor applies today, the
// grantor is alive, and every service f reaches is one of the guardianship's matters.
// reach maps each service the fullmakt reaches (its scope expanded through the
// service catalogue, highly personal services left out) to the catalogue's
// guardianship scopes for it; a guardian for economic matters has no say over a
// fullmakt for health.
func GuardianMaySee(f Fullmakt, by PartyID, grantor Person, guardianships []Guardianship, reach map[string][]string, today Date) bool {
	return guardianOver(f, by, grantor, guardianships, reach, today) == nil
}

// guardianOver returns nil if one of guardianships lets by act for f's grantor on
// today in everything f reaches, and otherwise says why not.
func guardianOver(f Fullmakt, by PartyID, grantor Person, guardianships []Guardianship, reach map[string][]string, today Date) error {
	switch {
	case grantor.ID != f.Grantor:
		return fmt.Errorf("%w: the ward named is not the fullmakt's grantor", ErrForbidden)
	case grantor.DeceasedOn(today):
		return fmt.Errorf("%w: nobody acts for a deceased person through guardianship", ErrForbidden)
	case len(reach) == 0:
		return fmt.Errorf("%w: the fullmakt reaches no service a guardian acts in", ErrForbidden)
	}
	services := slices.Sorted(maps.Keys(reach))
	outside := ""
	for _, g := range guardianships {
		if g.Guardian != by || g.Ward != f.Grantor || !g.ActiveOn(today) {
			continue
		}
		i := slices.IndexFunc(services, func(svc string) bool {
			return !slices.ContainsFunc(reach[svc], func(m string) bool { return slices.Contains(g.Scope, m) })
		})
		if i < 0 {
			return nil
		}
		outside = services[i]
	}
	if outside == "" {
		return fmt.Errorf("%w: no guardianship of the grantor applies today", ErrForbidden)
	}
	return fmt.Errorf("%w: the fullmakt reaches %s, outside the matters of the guardianship", ErrForbidden, outside)
}

// NewID returns a new random identifier with the given prefix ("fm_3k…").
func NewID(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+).
	return prefix + "_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// StableID returns an identifier derived from parts, for records that must get the
// same id every time they are imported (migrated fullmakter).
func StableID(prefix string, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return prefix + "_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(h.Sum(nil)[:16]))
}
