package authz

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Text is a name in several languages, keyed by BCP 47 tag ("nb", "en").
type Text map[string]string

// Area is a plain-language group of services.
type Area struct {
	ID   string `json:"id"`
	Name Text   `json:"name"`
}

// Action is something a service lets a person do.
type Action struct {
	ID   string `json:"id"`
	Name Text   `json:"name"`
}

// Service is one public service in the catalogue.
type Service struct {
	ID       string   `json:"id"`
	Name     Text     `json:"name"`
	Areas    []string `json:"areas"`
	Actions  []string `json:"actions"`
	Provider string   `json:"provider"`
	// HighlyPersonal marks acts never done by fullmakt or guardianship.
	HighlyPersonal     bool     `json:"highly_personal,omitempty"`
	GuardianshipScopes []string `json:"guardianship_scopes,omitempty"`
	Labels             []string `json:"labels,omitempty"`
}

// Offers reports whether the service offers the action.
func (s Service) Offers(action string) bool { return slices.Contains(s.Actions, action) }

// Catalogue is the list of services with their areas and actions (services.json).
type Catalogue struct {
	Areas    []Area    `json:"areas"`
	Actions  []Action  `json:"actions"`
	Services []Service `json:"services"`

	byID map[string]int
}

// Service returns the service with the id.
func (c *Catalogue) Service(id string) (Service, bool) {
	i, ok := c.byID[id]
	if !ok {
		return Service{}, false
	}
	return c.Services[i], true
}

// ServiceAreas returns the areas of a service; nil if it is unknown. It makes the
// catalogue a delegation.Catalogue.
func (c *Catalogue) ServiceAreas(service string) []string {
	s, _ := c.Service(service)
	return s.Areas
}

// parseCatalogue decodes and checks services.json, reporting every problem at once.
func parseCatalogue(name string, data []byte) (*Catalogue, error) {
	var c Catalogue
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, JSONErrorLine(data, dec.InputOffset(), err), err)
	}
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{name}, args...)...))
	}
	areas := map[string]bool{}
	for _, a := range c.Areas {
		if a.ID == "" || strings.Contains(a.ID, ".") {
			bad("area %q: an area id is a word without dots", a.ID)
		}
		if areas[a.ID] {
			bad("area %q is listed twice", a.ID)
		}
		areas[a.ID] = true
		checkNames(bad, "area "+a.ID, a.Name)
	}
	actions := map[string]bool{}
	for _, a := range c.Actions {
		if actions[a.ID] {
			bad("action %q is listed twice", a.ID)
		}
		actions[a.ID] = true
		checkNames(bad, "action "+a.ID, a.Name)
	}
	c.byID = make(map[string]int, len(c.Services))
	for i, s := range c.Services {
		if s.ID == "" || !strings.Contains(s.ID, ".") {
			bad("service %q: a service id is agency.service, with a dot", s.ID)
		}
		if _, dup := c.byID[s.ID]; dup {
			bad("service %q is listed twice", s.ID)
		}
		c.byID[s.ID] = i
		checkNames(bad, "service "+s.ID, s.Name)
		if len(s.Areas) == 0 {
			bad("service %q belongs to no area", s.ID)
		}
		for _, a := range s.Areas {
			if !areas[a] {
				bad("service %q: unknown area %q", s.ID, a)
			}
		}
		if len(s.Actions) == 0 {
			bad("service %q offers no action", s.ID)
		}
		for _, a := range s.Actions {
			if !actions[a] {
				bad("service %q: unknown action %q", s.ID, a)
			}
		}
		if s.Provider == "" {
			bad("service %q has no provider organisation number", s.ID)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &c, nil
}

func checkNames(bad func(string, ...any), what string, t Text) {
	for _, lang := range []string{"nb", "en"} {
		if t[lang] == "" {
			bad("%s has no name in %q", what, lang)
		}
	}
}

// JSONErrorLine returns the 1-based line of data at which decoding failed with
// err: the syntax or type error's offset when there is one, else offset (the
// decoder's position). Pack files and decision-case files report errors by line.
func JSONErrorLine(data []byte, offset int64, err error) int {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		offset = syn.Offset
	case errors.As(err, &typ):
		offset = typ.Offset
	}
	offset = min(max(offset, 0), int64(len(data)))
	return 1 + bytes.Count(data[:offset], []byte("\n"))
}
