package authzen

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// fieldError is a request the binding cannot answer: field is the JSON path of
// the member at fault ("subject.id", "evaluations[2].resource"), empty for the
// body as a whole. msg never holds an identity number.
type fieldError struct {
	field, msg string
}

func (e *fieldError) Error() string { return e.msg }

// badField returns the error "<field> <what>".
func badField(field, what string) *fieldError {
	return &fieldError{field: field, msg: field + " " + what}
}

// maxDepth bounds the nesting of a body (§11: deep nesting is a denial of service).
const maxDepth = 32

// object is a JSON object, decoded: its values are string, json.Number, bool,
// nil, []any or object.
type object map[string]any

// parseBody decodes b, which must be one JSON object in UTF-8, nested at most
// maxDepth deep, with no member name twice in an object (I-JSON, §11.5: a
// duplicate would let the enforcement point and the decision point read
// different requests). It reads b once, token by token.
func parseBody(b []byte) (object, *fieldError) {
	if !utf8.Valid(b) {
		return nil, &fieldError{msg: "the body is not valid UTF-8"}
	}
	// jsontext reads tokens without allocating for anything but strings; the
	// duplicate check is ours, to name the member in the error.
	dec := jsontext.NewDecoder(bytes.NewReader(b), jsontext.AllowDuplicateNames(true))
	tok, err := dec.ReadToken()
	if err != nil || tok.Kind() != '{' {
		return nil, &fieldError{msg: "the body must be a JSON object"}
	}
	top := object{}
	stack := []frame{{obj: top, expect: true}}
	for len(stack) > 0 {
		tok, err := dec.ReadToken()
		if err != nil {
			return nil, &fieldError{msg: "the body is not valid JSON (near byte " + strconv.FormatInt(dec.InputOffset(), 10) + ")"}
		}
		kind := tok.Kind()
		f := &stack[len(stack)-1]
		if f.obj != nil && f.expect {
			if kind == '}' {
				stack = stack[:len(stack)-1]
				if len(stack) > 0 {
					stack[len(stack)-1].add(f.obj)
				}
				continue
			}
			k := tok.String() // the decoder returns only names here
			if _, dup := f.obj[k]; dup {
				if p := safePath(f.path); p != "" {
					return nil, badField(p, "has a member name twice")
				}
				return nil, &fieldError{msg: "the body has a member name twice"}
			}
			f.key, f.expect = k, false
			continue
		}
		switch kind {
		case ']':
			stack = stack[:len(stack)-1]
			stack[len(stack)-1].add(f.arr) // the top level is an object: an array has a parent
		case '{', '[':
			path := f.child()
			if len(stack) >= maxDepth {
				tooDeep := "nested too deep (at most " + strconv.Itoa(maxDepth) + " levels)"
				if p := safePath(path); p != "" {
					return nil, badField(p, "is "+tooDeep)
				}
				return nil, &fieldError{msg: "the body is " + tooDeep}
			}
			next := frame{path: path, arr: []any{}}
			if kind == '{' {
				next = frame{path: path, obj: object{}, expect: true}
			}
			stack = append(stack, next)
		case '"':
			f.add(tok.String())
		case '0':
			f.add(json.Number(tok.String())) // the number as written
		case 't', 'f':
			f.add(tok.Bool())
		default: // 'n'
			f.add(nil)
		}
	}
	if _, err := dec.ReadToken(); !errors.Is(err, io.EOF) {
		return nil, &fieldError{msg: "the body must hold one JSON object and nothing after it"}
	}
	return top, nil
}

// isName reports whether s is a member name the binding reads.
func isName(s string) bool {
	switch s {
	case "subject", "action", "resource", "context", "party", "properties", "type", "id", "name", "acr",
		"auth_time", "receipt", "evaluations", "options", "evaluations_semantic", "page", "token", "limit":
		return true
	}
	return false
}

// safePath returns path up to the first member name the binding does not read:
// the others are the client's text and could be anything, an identity number
// included, and errors must not echo identity numbers.
func safePath(path string) string {
	end := 0
	for seg := range strings.SplitSeq(path, ".") {
		name, index, _ := strings.Cut(seg, "[")
		if !isName(name) || strings.Trim(index, "0123456789[]") != "" {
			break
		}
		end += len(seg) + 1
	}
	return strings.TrimSuffix(path[:min(end, len(path))], ".")
}

// frame is an object or array parseBody is inside.
type frame struct {
	path   string
	obj    object // nil for an array
	arr    []any
	key    string // object: the member whose value comes next
	expect bool   // object: a member name comes next
}

// child returns the path of the value that comes next in f.
func (f *frame) child() string {
	if f.obj == nil {
		return f.path + "[" + strconv.Itoa(len(f.arr)) + "]"
	}
	return join(f.path, f.key)
}

// add adds a value that ended to f.
func (f *frame) add(v any) {
	if f.obj != nil {
		f.obj[f.key], f.expect = v, true
	} else {
		f.arr = append(f.arr, v)
	}
}

// member returns the member key of o, reporting false when it is absent or null
// (§11.5: null-valued members are treated as absent).
func (o object) member(key string) (any, bool) {
	v, ok := o[key]
	return v, ok && v != nil
}

// asObject returns v, the value at path, as an object.
func asObject(v any, path string) (object, *fieldError) {
	o, ok := v.(object)
	if !ok {
		return nil, badField(path, "must be an object")
	}
	return o, nil
}

// str returns the string member key of o (at path); an absent member is "" when
// not required, an empty string counts as absent.
func (o object) str(key, path string, required bool) (string, *fieldError) {
	at := join(path, key)
	v, ok := o.member(key)
	if !ok {
		if required {
			return "", badField(at, "is required")
		}
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", badField(at, "must be a string")
	}
	if s == "" && required {
		return "", badField(at, "must not be empty")
	}
	return s, nil
}

// oneOf checks that the string member key is one of values.
func (o object) oneOf(key, path string, values ...string) (string, *fieldError) {
	s, fe := o.str(key, path, true)
	if fe != nil {
		return "", fe
	}
	for _, v := range values {
		if s == v {
			return s, nil
		}
	}
	return "", badField(join(path, key), "must be "+quoteList(values))
}

func quoteList(values []string) string {
	s := ""
	for i, v := range values {
		switch {
		case i == 0:
		case i == len(values)-1:
			s += " or "
		default:
			s += ", "
		}
		s += strconv.Quote(v)
	}
	return s
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// The entities of the information model (§5), as Fullmakt reads them.
type (
	subjectIn struct {
		typ, id, acr string
		authTime     time.Time
	}
	actionIn   struct{ name string }
	resourceIn struct{ typ, id string }
	// partyIn is context.party, the party acted for.
	partyIn struct{ typ, id string }
	// contextIn is the context: the party and whether a receipt is asked for.
	contextIn struct {
		party   *partyIn
		receipt bool
	}
)

// Subject and party types.
const (
	typePerson       = "person"
	typeOrganization = "organization"
	typeService      = "service"
)

// maxAuthTime is the largest auth_time accepted (in the year 5138): beyond it
// time.Unix would overflow the arithmetic of ages.
const maxAuthTime = 1e11

func parseSubject(raw any, path string) (subjectIn, *fieldError) {
	var s subjectIn
	o, fe := asObject(raw, path)
	if fe != nil {
		return s, fe
	}
	if s.typ, fe = o.oneOf("type", path, typePerson, typeOrganization); fe != nil {
		return s, fe
	}
	if s.id, fe = o.str("id", path, true); fe != nil {
		return s, fe
	}
	propsPath := join(path, "properties")
	praw, ok := o.member("properties")
	if !ok {
		return s, badField(join(propsPath, "acr"), "is required")
	}
	props, fe := asObject(praw, propsPath)
	if fe != nil {
		return s, fe
	}
	if s.acr, fe = props.str("acr", propsPath, true); fe != nil {
		return s, fe
	}
	if raw, ok := props.member("auth_time"); ok {
		n, _ := raw.(json.Number)
		t, err := n.Float64()
		if err != nil || t < 0 || t > maxAuthTime {
			return s, badField(join(propsPath, "auth_time"), "must be a time in seconds since 1970-01-01T00:00:00Z")
		}
		sec, frac := math.Modf(t)
		s.authTime = time.Unix(int64(sec), int64(frac*1e9))
	}
	return s, nil
}

func parseAction(raw any, path string) (actionIn, *fieldError) {
	o, fe := asObject(raw, path)
	if fe != nil {
		return actionIn{}, fe
	}
	name, fe := o.str("name", path, true)
	return actionIn{name}, fe
}

// parseResource reads a resource; the id is ignored unless needID (§8: the
// searched entity's id MUST be ignored).
func parseResource(raw any, path string, needID bool) (resourceIn, *fieldError) {
	var r resourceIn
	o, fe := asObject(raw, path)
	if fe != nil {
		return r, fe
	}
	if r.typ, fe = o.oneOf("type", path, typeService); fe != nil {
		return r, fe
	}
	if needID {
		r.id, fe = o.str("id", path, true)
	}
	return r, fe
}

// parseContext reads the context: the party acted for, nil when there is none,
// and whether a signed receipt is asked for (receipt: true).
func parseContext(raw any, path string) (contextIn, *fieldError) {
	var c contextIn
	o, fe := asObject(raw, path)
	if fe != nil {
		return c, fe
	}
	if v, ok := o.member("receipt"); ok {
		b, isBool := v.(bool)
		if !isBool {
			return c, badField(join(path, "receipt"), "must be true or false")
		}
		c.receipt = b
	}
	praw, ok := o.member("party")
	if !ok {
		return c, nil
	}
	partyPath := join(path, "party")
	po, fe := asObject(praw, partyPath)
	if fe != nil {
		return c, fe
	}
	var p partyIn
	if p.typ, fe = po.oneOf("type", partyPath, typePerson, typeOrganization); fe != nil {
		return c, fe
	}
	if p.id, fe = po.str("id", partyPath, true); fe != nil {
		return c, fe
	}
	c.party = &p
	return c, nil
}
