package authz

import (
	"fmt"
	"strings"
)

// Level is an eID level of assurance, numbered as ID-porten numbers them, so that
// policies read `context.actor.level >= 4` for "high".
type Level int

// The levels, ordered.
const (
	LevelLow         Level = 2
	LevelSubstantial Level = 3
	LevelHigh        Level = 4
)

// Levels lists the levels from lowest to highest.
var levels = [...]Level{LevelLow, LevelSubstantial, LevelHigh}

// String returns low, substantial or high.
func (l Level) String() string {
	switch l {
	case LevelLow:
		return "low"
	case LevelSubstantial:
		return "substantial"
	case LevelHigh:
		return "high"
	}
	return fmt.Sprintf("level(%d)", int(l))
}

// ACR returns the eIDAS acr URI of the level.
func (l Level) ACR() string { return "http://eidas.europa.eu/LoA/" + l.String() }

// ACRs maps acr values to levels: the eIDAS URIs and aliases such as ID-porten's
// idporten-loa-high. The zero value knows only the eIDAS URIs.
type ACRs map[string]Level

// DefaultACRs returns the eIDAS URIs and the ID-porten aliases, current and legacy.
func DefaultACRs() ACRs {
	return ACRs{
		"idporten-loa-low":         LevelLow,
		"idporten-loa-substantial": LevelSubstantial,
		"idporten-loa-high":        LevelHigh,
		"Level3":                   LevelSubstantial,
		"Level4":                   LevelHigh,
	}
}

// Level returns the level of an acr value; false if it is unknown. The eIDAS URIs
// and the bare names low, substantial and high are always known.
func (a ACRs) Level(acr string) (Level, bool) {
	if l, ok := a[acr]; ok {
		return l, true
	}
	name := strings.TrimPrefix(acr, "http://eidas.europa.eu/LoA/")
	for _, l := range levels {
		if name == l.String() {
			return l, true
		}
	}
	return 0, false
}

// ACRs returns the acr values the pack understands.
func (p *Pack) ACRs() ACRs { return p.acrs }
