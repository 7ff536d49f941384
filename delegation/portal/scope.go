package portal

import (
	"slices"
	"strings"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/delegation"
)

// What a fullmakt may cover, from the service catalogue: highly personal
// services (voting, marriage, wills) are never offered, and an area is offered
// when at least one of its services may be delegated. Pages that show a scope
// show every service it unlocks, so nobody gives (or receives) more than they
// can see.

// grantable reports whether a service may be named in a fullmakt: it is in the
// catalogue and not highly personal.
func grantable(cat *authz.Catalogue, id string) bool {
	svc, ok := cat.Service(id)
	return ok && !svc.HighlyPersonal
}

// areaServices returns the services of area a that a fullmakt covers, and
// those it never covers (the highly personal ones), in catalogue order.
func areaServices(cat *authz.Catalogue, area string) (covered, never []authz.Service) {
	for _, svc := range cat.Services {
		if !slices.Contains(svc.Areas, area) {
			continue
		}
		if svc.HighlyPersonal {
			never = append(never, svc)
		} else {
			covered = append(covered, svc)
		}
	}
	return covered, never
}

// offeredArea reports whether area a may be chosen: it is in the catalogue and
// has a service that may be delegated.
func offeredArea(cat *authz.Catalogue, a string) bool {
	if !slices.ContainsFunc(cat.Areas, func(x authz.Area) bool { return x.ID == a }) {
		return false
	}
	covered, _ := areaServices(cat, a)
	return len(covered) > 0
}

// scopeServices returns every service the scope covers that a fullmakt can
// reach (its areas expanded, highly personal services left out), in catalogue
// order.
func scopeServices(cat *authz.Catalogue, sc delegation.Scope) []authz.Service {
	var out []authz.Service
	for _, svc := range cat.Services {
		if svc.HighlyPersonal {
			continue
		}
		if slices.Contains(sc.Services, svc.ID) || slices.ContainsFunc(svc.Areas, func(a string) bool { return slices.Contains(sc.Areas, a) }) {
			out = append(out, svc)
		}
	}
	return out
}

// guardianReach is what a guardian's say over a fullmakt with scope sc is
// judged on (delegation.GuardianMayEnd): each service the scope reaches, with
// the matters (guardianship scopes) the catalogue gives it. A service the
// catalogue does not know is in it with no matters, so that no guardian has a
// say over it.
func guardianReach(cat *authz.Catalogue, sc delegation.Scope) map[string][]string {
	reach := map[string][]string{}
	for _, svc := range scopeServices(cat, sc) {
		reach[svc.ID] = svc.GuardianshipScopes
	}
	for _, id := range sc.Services {
		if _, ok := cat.Service(id); !ok {
			reach[id] = nil
		}
	}
	return reach
}

// offeredActions returns the actions the services of the scope offer, in the
// catalogue's order of actions.
func offeredActions(cat *authz.Catalogue, sc delegation.Scope) []string {
	svcs := scopeServices(cat, sc)
	var out []string
	for _, a := range cat.Actions {
		if slices.ContainsFunc(svcs, func(s authz.Service) bool { return s.Offers(a.ID) }) {
			out = append(out, a.ID)
		}
	}
	return out
}

// scopeView is a scope as the review, fullmakt and request pages show it:
// each area with every service it unlocks, the single services, and the
// actions (none listed: all of them).
type scopeView struct {
	Areas    []areaView
	Services []string
	Actions  []string
}

// areaView is an area with the names of the services it unlocks, and of those
// it never includes (in one line).
type areaView struct {
	Name     string
	Services []string
	Never    string
}

// scopeView names everything sc covers in the page's language.
func (p *page) scopeView(sc delegation.Scope) scopeView {
	cat := p.pack.Catalogue
	var v scopeView
	for _, a := range sc.Areas {
		covered, never := areaServices(cat, a)
		av := areaView{Name: p.areaName(a)}
		for _, svc := range covered {
			av.Services = append(av.Services, p.text(svc.Name, svc.ID))
		}
		var names []string
		for _, svc := range never {
			names = append(names, p.text(svc.Name, svc.ID))
		}
		av.Never = strings.Join(names, ", ")
		v.Areas = append(v.Areas, av)
	}
	for _, s := range sc.Services {
		v.Services = append(v.Services, p.serviceName(s))
	}
	for _, a := range sc.Actions {
		v.Actions = append(v.Actions, p.actionName(a))
	}
	return v
}
