package web

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Catalogue holds message texts per language. It is read-only once loaded, so it
// is safe for concurrent use.
type Catalogue struct {
	texts map[Lang]map[string]string
}

// Messages returns web's own message files: the keys "layout.*", "common.*" and
// "error.*" that the layout and every page share. Pass it to LoadCatalogue with
// the pages' own messages; NewPages refuses a catalogue without them.
func Messages() fs.FS {
	m, err := fs.Sub(own, "messages")
	if err != nil {
		// fs.Sub fails only on an invalid path, and "messages" is valid.
		panic("web: messages: " + err.Error())
	}
	return m
}

// LoadCatalogue reads the message files of each fsys (usually Messages() and the
// pages' own): files "<lang>/*.json" (lang one of Languages()), each a flat JSON
// object {"key": "text"}. Texts are fmt formats (%s, %d, %[1]s to reorder, %% for
// a percent sign).
//
// It reports every problem at once (errors.Join), each naming the file and key:
// a key defined twice (in one file, across files or across fsyses); en or nb
// missing a key the other has (both must be complete); nn, sv, da or fi having a
// key en lacks; a text whose fmt verbs differ in number or kind from en's (the
// order may differ, with explicit argument indexes); a malformed format; malformed
// JSON (with line:column); a directory that is not a supported language.
func LoadCatalogue(fsyss ...fs.FS) (*Catalogue, error) {
	l := loader{
		texts: make(map[Lang]map[string]string),
		from:  make(map[Lang]map[string]string),
	}
	for _, lang := range Languages() {
		l.texts[lang] = make(map[string]string)
		l.from[lang] = make(map[string]string)
	}
	for i, fsys := range fsyss {
		l.load(fsys, fmt.Sprintf("messages #%d", i+1))
	}
	l.check()
	if len(l.errs) > 0 {
		return nil, errors.Join(l.errs...)
	}
	return &Catalogue{texts: l.texts}, nil
}

// loader gathers texts and problems while a catalogue is loaded.
type loader struct {
	texts map[Lang]map[string]string // language → key → text
	from  map[Lang]map[string]string // language → key → file it was read from
	errs  []error
}

// fail records a problem.
func (l *loader) fail(format string, args ...any) {
	l.errs = append(l.errs, fmt.Errorf("web: "+format, args...))
}

// load reads the language directories of fsys; source names fsys in errors about
// fsys itself.
func (l *loader) load(fsys fs.FS, source string) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		l.fail("%s: %v", source, err)
		return
	}
	for _, e := range entries {
		if !e.IsDir() {
			if path.Ext(e.Name()) == ".json" {
				l.fail("%s: %s is not in a language directory (%s)", source, e.Name(), languageList())
			}
			continue
		}
		lang := Lang(e.Name())
		if !lang.valid() {
			l.fail("%s: %s/: unknown language directory (want one of %s)", source, e.Name(), languageList())
			continue
		}
		files, err := fs.ReadDir(fsys, e.Name())
		if err != nil {
			l.fail("%s: %v", source, err)
			continue
		}
		for _, f := range files {
			if f.IsDir() || path.Ext(f.Name()) != ".json" {
				continue
			}
			name := path.Join(e.Name(), f.Name())
			b, err := fs.ReadFile(fsys, name)
			if err != nil {
				l.fail("%s: %v", name, err)
				continue
			}
			l.file(lang, name, b)
		}
	}
}

// file reads one message file: a flat JSON object of strings.
func (l *loader) file(lang Lang, name string, b []byte) {
	dec := json.NewDecoder(bytes.NewReader(b))
	bad := func(err error) {
		offset := dec.InputOffset()
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			offset = syntax.Offset
		}
		line, col := position(b, offset)
		l.fail("%s:%d:%d: %v", name, line, col, err)
	}
	if tok, err := dec.Token(); err != nil {
		bad(err)
		return
	} else if tok != json.Delim('{') {
		bad(errors.New("want a JSON object of texts"))
		return
	}
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			bad(err)
			return
		}
		key, _ := tok.(string) // object keys are always strings
		start := dec.InputOffset()
		for start < int64(len(b)) && strings.IndexByte(": \t\r\n", b[start]) >= 0 {
			start++ // to the value, for the error below
		}
		tok, err = dec.Token()
		if err != nil {
			bad(err)
			return
		}
		text, ok := tok.(string)
		if !ok {
			line, col := position(b, start)
			l.fail("%s:%d:%d: key %q: the text is not a string", name, line, col, key)
			return
		}
		switch {
		case key == "":
			l.fail("%s: an empty key", name)
		case seen[key]:
			l.fail("%s: key %q is defined twice in the file", name, key)
		case l.from[lang][key] != "":
			l.fail("%s: key %q is defined twice: also in %s", name, key, l.from[lang][key])
		default:
			l.texts[lang][key] = text
			l.from[lang][key] = name
		}
		seen[key] = true
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		bad(err)
		return
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			err = errors.New("more after the object")
		}
		bad(err)
	}
}

// check applies the rules between languages.
func (l *loader) check() {
	en, nb := l.texts[EN], l.texts[NB]
	for _, key := range sortedKeys(en) {
		if _, ok := nb[key]; !ok {
			l.fail("%s: key %q has no nb text (nb must be complete)", l.from[EN][key], key)
		}
	}
	for _, key := range sortedKeys(nb) {
		if _, ok := en[key]; !ok {
			l.fail("%s: key %q has no en text (en must be complete)", l.from[NB][key], key)
		}
	}
	enVerbs := make(map[string][]verb, len(en))
	for _, key := range sortedKeys(en) {
		vs, err := verbs(en[key])
		if err != nil {
			l.fail("%s: key %q: %v", l.from[EN][key], key, err)
			continue
		}
		enVerbs[key] = vs
	}
	for _, lang := range Languages() {
		if lang == EN {
			continue
		}
		for _, key := range sortedKeys(l.texts[lang]) {
			file := l.from[lang][key]
			want, inEN := enVerbs[key]
			if _, ok := en[key]; !ok {
				if lang != NB { // nb's extra keys are reported above
					l.fail("%s: key %q is not in en", file, key)
				}
				continue
			}
			got, err := verbs(l.texts[lang][key])
			if err != nil {
				l.fail("%s: key %q: %v", file, key, err)
				continue
			}
			if inEN && !slices.Equal(got, want) {
				l.fail("%s: key %q: the verbs %s differ from en's %s", file, key, verbList(got), verbList(want))
			}
		}
	}
}

// Text returns key's text in lang formatted with args (fmt.Sprintf), falling back
// to English; a key missing everywhere returns "⟦key⟧", which a test can find.
func (c *Catalogue) Text(lang Lang, key string, args ...any) string {
	text, ok := c.texts[lang][key]
	if !ok {
		text, ok = c.texts[EN][key]
	}
	if !ok {
		return "⟦" + key + "⟧"
	}
	return fmt.Sprintf(text, args...)
}

// Has reports whether lang has its own text for key (not the English fallback).
func (c *Catalogue) Has(lang Lang, key string) bool {
	_, ok := c.texts[lang][key]
	return ok
}

// Keys returns every key (those of en, which has them all), sorted.
func (c *Catalogue) Keys() []string { return sortedKeys(c.texts[EN]) }

// sortedKeys returns m's keys in order.
func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }

// languageList names the supported languages for an error message.
func languageList() string {
	var names []string
	for _, l := range Languages() {
		names = append(names, string(l))
	}
	return strings.Join(names, ", ")
}

// position turns a byte offset in b into a 1-based line and column (in runes).
func position(b []byte, offset int64) (line, col int) {
	offset = min(max(offset, 0), int64(len(b)))
	before := b[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	lineStart := bytes.LastIndexByte(before, '\n') + 1
	return line, utf8.RuneCount(before[lineStart:]) + 1
}

// verb is one fmt verb of a text: the argument it formats (0-based) and its kind,
// the verb letter ('*' for a width or precision taken from an argument).
type verb struct {
	arg  int
	kind rune
}

// verbs lists the verbs of a fmt format, sorted by argument, so that two texts
// which format the same arguments the same way compare equal whatever the order of
// their words. It reports a format fmt would mangle: a lone % at the end, an
// unfinished verb, a bad argument index, or a verb that is not a letter.
func verbs(format string) ([]verb, error) {
	var out []verb
	arg := 0 // the next argument when no index is given
	for i := 0; i < len(format); {
		if format[i] != '%' {
			i++
			continue
		}
		start := i
		i++
		if i < len(format) && format[i] == '%' {
			i++
			continue
		}
		done := false
		for i < len(format) && !done {
			c := format[i]
			switch {
			case c == '[':
				end := strings.IndexByte(format[i:], ']')
				if end < 0 {
					return nil, fmt.Errorf("unclosed argument index in %q", format[start:])
				}
				n, err := strconv.Atoi(format[i+1 : i+end])
				if err != nil || n < 1 {
					return nil, fmt.Errorf("bad argument index %q", format[i:i+end+1])
				}
				arg = n - 1
				i += end + 1
			case c == '*':
				out = append(out, verb{arg, '*'})
				arg++
				i++
			case c >= '0' && c <= '9', c == '.', c == '+', c == '-', c == '#', c == ' ':
				i++
			default:
				r, size := utf8.DecodeRuneInString(format[i:])
				if !unicode.IsLetter(r) {
					return nil, fmt.Errorf("bad verb %q", format[start:i+size])
				}
				out = append(out, verb{arg, r})
				arg++
				i += size
				done = true
			}
		}
		if !done {
			return nil, fmt.Errorf("unfinished verb %q at the end", format[start:])
		}
	}
	slices.SortFunc(out, func(a, b verb) int {
		return cmp.Or(cmp.Compare(a.arg, b.arg), cmp.Compare(a.kind, b.kind))
	})
	return out, nil
}

// verbList shows verbs for an error message: "[%[1]s %[2]d]", "[]" for none.
func verbList(vs []verb) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = fmt.Sprintf("%%[%d]%c", v.arg+1, v.kind)
	}
	return "[" + strings.Join(parts, " ") + "]"
}
