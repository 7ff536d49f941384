package authz

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"math"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	cedar "github.com/cedar-policy/cedar-go"
	xast "github.com/cedar-policy/cedar-go/x/exp/ast"
	"github.com/cedar-policy/cedar-go/x/exp/schema"
	"github.com/cedar-policy/cedar-go/x/exp/schema/resolved"
	"github.com/cedar-policy/cedar-go/x/exp/schema/validate"

	"github.com/fullmakt/fullmakt/delegation"
)

// The files of a pack, at the top of its folder. Every *.cedar file in the folder
// and its subfolders (except testdata) is a policy file.
const (
	SchemaFile    = "schema.cedarschema"
	CatalogueFile = "services.json"
)

// Policy is one Cedar policy of a pack.
type Policy struct {
	ID       string // from its @id annotation
	File     string
	Line     int
	Forbid   bool
	Reason   string // from its @reason annotation; the id when absent
	Disclose bool   // @disclose("true"): the reason may be shown to any client
	cedar    *cedar.Policy
}

// Pack is a loaded and validated policy pack. It is immutable and safe for
// concurrent use; to change policies, load a new pack and swap it in.
type Pack struct {
	// Version is a hash of every file's name and content.
	Version   string
	Catalogue *Catalogue
	Policies  []Policy

	acrs     ACRs
	byID     map[string]int // index into Policies
	entities cedar.EntityMap
	// index holds, per service, action and relation kind, only the policies whose
	// scope and conditions can match.
	index map[string]map[string]kindIndex
	// records caches the Cedar records of register relations, which come in few
	// shapes (kind, status, custody, scope, role): building one costs more than
	// the evaluation that reads it.
	records     sync.Map // string → cedar.Record
	recordCount atomic.Int64
	// ageThresholds are the numbers policies compare context.actor.auth_age
	// with; ageOpaque is set when some policy compares it with anything else.
	ageThresholds []int64
	ageOpaque     bool
	// actionGroups lists the groups each action belongs to, for the index.
	actionGroups map[cedar.EntityUID][]cedar.EntityUID
	// validator checks requests in tests; nil after load is fine for deciding.
	validator *validate.Validator
}

// Option configures Load.
type Option func(*Pack)

// WithACRs sets the acr values the pack understands (DefaultACRs by default).
func WithACRs(a ACRs) Option { return func(p *Pack) { p.acrs = a } }

// Load reads a pack from fsys: schema.cedarschema, services.json and every *.cedar
// file. It validates the catalogue, every policy against the schema (strict mode)
// and the service entities, and reports every problem at once as "file:line: …".
func Load(fsys fs.FS, opts ...Option) (*Pack, error) {
	p := &Pack{acrs: DefaultACRs(), byID: map[string]int{}}
	for _, o := range opts {
		o(p)
	}
	hash := sha256.New()
	read := func(name string) ([]byte, error) {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("authz: %w", err)
		}
		fmt.Fprintf(hash, "%s\x00%d\x00", name, len(b))
		hash.Write(b)
		return b, nil
	}

	schemaSrc, err := read(SchemaFile)
	if err != nil {
		return nil, err
	}
	var s schema.Schema
	s.SetFilename(SchemaFile)
	if err := s.UnmarshalCedar(schemaSrc); err != nil {
		return nil, fmt.Errorf("authz: %w", err)
	}
	rs, err := s.Resolve()
	if err != nil {
		return nil, fmt.Errorf("authz: %s: %w", SchemaFile, err)
	}
	p.validator = validate.New(rs)
	p.actionGroups = groupsOf(rs)

	catSrc, err := read(CatalogueFile)
	if err != nil {
		return nil, err
	}
	if p.Catalogue, err = parseCatalogue(CatalogueFile, catSrc); err != nil {
		return nil, fmt.Errorf("authz: %w", err)
	}

	files, err := policyFiles(fsys)
	if err != nil {
		return nil, err
	}
	var errs []error
	if err := checkSchemaActions(p.Catalogue, rs); err != nil {
		errs = append(errs, err)
	}
	for _, name := range files {
		src, err := read(name)
		if err != nil {
			return nil, err
		}
		list, err := cedar.NewPolicyListFromBytes(name, src)
		if err != nil {
			// The parser names the file "<input>"; give the real name.
			errs = append(errs, fmt.Errorf("%s", strings.ReplaceAll(err.Error(), "<input>", name)))
			continue
		}
		for _, cp := range list {
			if err := p.addPolicy(name, cp); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(files) == 0 {
		errs = append(errs, errors.New("no *.cedar policy files"))
	}
	p.entities = catalogueEntities(p.Catalogue)
	// Actions with their groups, so `action in Action::"group"` holds.
	for uid, a := range rs.Actions {
		p.entities[uid] = a.Entity
	}
	if err := p.validator.Entities(p.entities); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", CatalogueFile, err))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("authz: invalid policy pack:\n%w", err)
	}
	p.Version = "sha256:" + hex.EncodeToString(hash.Sum(nil))[:16]
	p.buildIndex()
	p.ageThresholds, p.ageOpaque = ageThresholds(p.Policies)
	return p, nil
}

// PackFiles lists the files a pack in fsys is made of: the schema, the catalogue
// and the policy files. A change to any of them is a new pack.
func PackFiles(fsys fs.FS) ([]string, error) {
	files, err := policyFiles(fsys)
	return append([]string{SchemaFile, CatalogueFile}, files...), err
}

// policyFiles lists the *.cedar files of fsys in lexical order, skipping testdata.
func policyFiles(fsys fs.FS) ([]string, error) {
	var files []string
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && name != "." && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")):
			return fs.SkipDir
		case !d.IsDir() && path.Ext(name) == ".cedar":
			files = append(files, name)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("authz: list policy files: %w", err)
	}
	return files, nil
}

func (p *Pack) addPolicy(file string, cp *cedar.Policy) error {
	pos := cp.Position()
	at := fmt.Sprintf("%s:%d", file, pos.Line)
	ann := cp.Annotations()
	id := string(ann["id"])
	if id == "" {
		return fmt.Errorf("%s: policy has no @id(\"…\") annotation", at)
	}
	if i, dup := p.byID[id]; dup {
		prev := p.Policies[i]
		return fmt.Errorf("%s: policy id %q is already used at %s:%d", at, id, prev.File, prev.Line)
	}
	if err := p.validator.Policy(id, (*xast.Policy)(cp.AST())); err != nil {
		return fmt.Errorf("%s: policy %q: %s", at, id, tidyErrors(err))
	}
	pol := Policy{
		ID: id, File: file, Line: pos.Line,
		Forbid:   cp.Effect() == cedar.Forbid,
		Reason:   string(ann["reason"]),
		Disclose: ann["disclose"] == "true",
		cedar:    cp,
	}
	if pol.Reason == "" {
		pol.Reason = id
	}
	p.byID[id] = len(p.Policies)
	p.Policies = append(p.Policies, pol)
	return nil
}

// perAction is the part of a validator message that names the action checked.
var perAction = regexp.MustCompile(` for Action::"[^"]*"`)

// tidyErrors sorts the validator's messages and drops repeats: it reports a
// problem once per action the policy may apply to, in no fixed order.
func tidyErrors(err error) string {
	lines := strings.Split(err.Error(), "\n")
	for i, l := range lines {
		lines[i] = perAction.ReplaceAllString(strings.TrimSpace(l), "")
	}
	slices.Sort(lines)
	return strings.Join(slices.Compact(lines), "; ")
}

// Policy returns the policy with the id.
func (p *Pack) Policy(id string) (Policy, bool) {
	i, ok := p.byID[id]
	if !ok {
		return Policy{}, false
	}
	return p.Policies[i], true
}

// checkSchemaActions reports catalogue actions the schema does not declare.
func checkSchemaActions(c *Catalogue, rs *resolved.Schema) error {
	var errs []error
	for _, a := range c.Actions {
		if _, ok := rs.Actions[cedar.NewEntityUID("Action", cedar.String(a.ID))]; !ok {
			errs = append(errs, fmt.Errorf("%s: action %q is not declared in %s", CatalogueFile, a.ID, SchemaFile))
		}
	}
	return errors.Join(errs...)
}

// catalogueEntities builds the Area and Service entities once per pack.
func catalogueEntities(c *Catalogue) cedar.EntityMap {
	em := make(cedar.EntityMap, len(c.Areas)+len(c.Services))
	for _, a := range c.Areas {
		uid := areaUID(a.ID)
		em[uid] = cedar.Entity{UID: uid, Attributes: cedar.NewRecord(nil)}
	}
	for _, s := range c.Services {
		uid := serviceUID(s.ID)
		parents := make([]cedar.EntityUID, len(s.Areas))
		for i, a := range s.Areas {
			parents[i] = areaUID(a)
		}
		em[uid] = cedar.Entity{
			UID:     uid,
			Parents: cedar.NewEntityUIDSet(parents...),
			Attributes: cedar.NewRecord(cedar.RecordMap{
				"highly_personal":     cedar.Boolean(s.HighlyPersonal),
				"guardianship_scopes": stringSet(s.GuardianshipScopes),
				"provider":            cedar.String(s.Provider),
				"labels":              stringSet(s.Labels),
			}),
		}
	}
	return em
}

// policyList is a PolicyIterator over a slice: cheaper to walk than a map.
type policyList []*Policy

func (l policyList) All() iter.Seq2[cedar.PolicyID, *cedar.Policy] {
	return func(yield func(cedar.PolicyID, *cedar.Policy) bool) {
		for _, p := range l {
			if !yield(cedar.PolicyID(p.ID), p.cedar) {
				return
			}
		}
	}
}

// kindIndex holds the policies for each relation kind.
type kindIndex map[delegation.RelationKind]policyList

// relationKinds are the kinds a candidate relation can have.
var relationKinds = []delegation.RelationKind{
	delegation.RelSelf, delegation.RelParent, delegation.RelGuardian,
	delegation.RelFullmakt, delegation.RelRole, delegation.RelConsent,
}

// buildIndex keeps, for every service, action it offers and relation kind, the
// policies whose action and resource scopes and whose `context.relation.kind ==`
// conditions can match. A policy the index cannot read is kept everywhere: the
// index may only ever include too much.
func (p *Pack) buildIndex() {
	p.index = make(map[string]map[string]kindIndex, len(p.Catalogue.Services))
	for _, s := range p.Catalogue.Services {
		byAction := make(map[string]kindIndex, len(s.Actions))
		for _, a := range s.Actions {
			byKind := make(kindIndex, len(relationKinds))
			for i := range p.Policies {
				pol := &p.Policies[i]
				ast := (*xast.Policy)(pol.cedar.AST())
				if !p.actionMayMatch(ast.Action, a) || !resourceMayMatch(ast.Resource, s) {
					continue
				}
				only, restricted := requiredKind(ast)
				for _, k := range relationKinds {
					if !restricted || k == only {
						byKind[k] = append(byKind[k], pol)
					}
				}
			}
			byAction[a] = byKind
		}
		p.index[s.ID] = byAction
	}
}

// authAgeUse finds comparisons of context.actor.auth_age with a number, on either
// side, in a policy's canonical text.
var (
	authAgeUse     = regexp.MustCompile(`context\.actor\.auth_age`)
	authAgeLiteral = regexp.MustCompile(`context\.actor\.auth_age\s*(?:<=|>=|==|!=|<|>)\s*(\d+)|(\d+)\s*(?:<=|>=|==|!=|<|>)\s*context\.actor\.auth_age`)
)

// ageThresholds collects the numbers auth_age is compared with: the only ages at
// which a decision can change, which is what step-up's max_age search tries.
func ageThresholds(pols []Policy) (ks []int64, opaque bool) {
	for _, p := range pols {
		src := string(p.cedar.MarshalCedar())
		matches := authAgeLiteral.FindAllStringSubmatch(src, -1)
		if len(matches) != len(authAgeUse.FindAllStringIndex(src, -1)) {
			opaque = true
		}
		for _, m := range matches {
			n, err := strconv.ParseInt(m[1]+m[2], 10, 64)
			if err != nil {
				opaque = true
				continue
			}
			ks = append(ks, n)
		}
	}
	slices.Sort(ks)
	return slices.Compact(ks), opaque
}

// HoldsFor returns how much longer a decision made when the actor's
// authentication was authAge old stays the same as the authentication keeps
// aging: the time until auth_age, in whole seconds, next reaches a number some
// policy compares it with, or one past it (a comparison with > or <= turns
// there). False when no such number lies ahead: the decision no longer depends on
// the age. When a policy compares auth_age with anything but a number, every
// second may turn it: the time until the next whole second.
//
// Thresholds are the pack's, not the request's service and action: a decision
// may be held for less than it could, never for more.
func (p *Pack) HoldsFor(authAge time.Duration) (time.Duration, bool) {
	authAge = max(authAge, 0)
	if p.ageOpaque {
		return time.Second - authAge%time.Second, true
	}
	secs := int64(authAge / time.Second)
	for _, k := range p.ageThresholds {
		for _, turn := range [2]int64{k, k + 1} {
			if turn <= secs {
				continue
			}
			if turn > maxHoldSeconds {
				return 0, false // centuries away: the age will not get there
			}
			return time.Duration(turn)*time.Second - authAge, true
		}
	}
	return 0, false
}

// maxHoldSeconds is the largest age in seconds a time.Duration holds.
const maxHoldSeconds = int64(math.MaxInt64 / time.Second)

// requiredKind finds a `context.relation.kind == "…"` among the top-level
// conjuncts of a policy's when clauses: the policy can match only that kind.
func requiredKind(p *xast.Policy) (delegation.RelationKind, bool) {
	for _, c := range p.Conditions {
		if c.Condition != xast.ConditionWhen {
			continue
		}
		for _, n := range conjuncts(c.Body, nil) {
			eq, ok := n.(xast.NodeTypeEquals)
			if !ok {
				continue
			}
			if k, ok := kindLiteral(eq.Left, eq.Right); ok {
				return k, true
			}
			if k, ok := kindLiteral(eq.Right, eq.Left); ok {
				return k, true
			}
		}
	}
	return "", false
}

func conjuncts(n xast.IsNode, out []xast.IsNode) []xast.IsNode {
	if and, ok := n.(xast.NodeTypeAnd); ok {
		return conjuncts(and.Right, conjuncts(and.Left, out))
	}
	return append(out, n)
}

// kindLiteral matches context.relation.kind on one side and a string on the other.
func kindLiteral(access, value xast.IsNode) (delegation.RelationKind, bool) {
	kind, ok := access.(xast.NodeTypeAccess)
	if !ok || kind.Value != "kind" {
		return "", false
	}
	rel, ok := kind.Arg.(xast.NodeTypeAccess)
	if !ok || rel.Value != "relation" {
		return "", false
	}
	if v, ok := rel.Arg.(xast.NodeTypeVariable); !ok || v.Name != "context" {
		return "", false
	}
	lit, ok := value.(xast.NodeValue)
	if !ok {
		return "", false
	}
	s, ok := lit.Value.(cedar.String)
	return delegation.RelationKind(s), ok
}

// actionMayMatch reports whether an action scope can match the action: the
// action itself, or an action group it belongs to (from the schema).
func (p *Pack) actionMayMatch(scope xast.IsActionScopeNode, action string) bool {
	uid := cedar.NewEntityUID("Action", cedar.String(action))
	in := func(e cedar.EntityUID) bool { return e == uid || slices.Contains(p.actionGroups[uid], e) }
	switch sc := scope.(type) {
	case xast.ScopeTypeAll:
		return true
	case xast.ScopeTypeEq:
		return sc.Entity == uid
	case xast.ScopeTypeIn:
		return in(sc.Entity)
	case xast.ScopeTypeInSet:
		return slices.ContainsFunc(sc.Entities, in)
	}
	return true
}

// groupsOf returns, for every action of the schema, the action groups it is in,
// directly or through other groups.
func groupsOf(rs *resolved.Schema) map[cedar.EntityUID][]cedar.EntityUID {
	out := map[cedar.EntityUID][]cedar.EntityUID{}
	for uid := range rs.Actions {
		seen := map[cedar.EntityUID]bool{}
		var walk func(cedar.EntityUID)
		walk = func(u cedar.EntityUID) {
			for parent := range rs.Actions[u].Entity.Parents.All() {
				if !seen[parent] {
					seen[parent] = true
					out[uid] = append(out[uid], parent)
					walk(parent)
				}
			}
		}
		walk(uid)
	}
	return out
}

func resourceMayMatch(scope xast.IsResourceScopeNode, s Service) bool {
	uid := serviceUID(s.ID)
	in := func(e cedar.EntityUID) bool {
		return e == uid || e.Type == "Area" && slices.Contains(s.Areas, string(e.ID))
	}
	switch sc := scope.(type) {
	case xast.ScopeTypeAll:
		return true
	case xast.ScopeTypeEq:
		return sc.Entity == uid
	case xast.ScopeTypeIn:
		return in(sc.Entity)
	case xast.ScopeTypeIs:
		return sc.Type == "Service"
	case xast.ScopeTypeIsIn:
		return sc.Type == "Service" && in(sc.Entity)
	}
	return true
}

func areaUID(id string) cedar.EntityUID    { return cedar.NewEntityUID("Area", cedar.String(id)) }
func serviceUID(id string) cedar.EntityUID { return cedar.NewEntityUID("Service", cedar.String(id)) }

func stringSet(ss []string) cedar.Set {
	vs := make([]cedar.Value, len(ss))
	for i, s := range ss {
		vs[i] = cedar.String(s)
	}
	return cedar.NewSet(vs...)
}
