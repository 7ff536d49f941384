package web

import (
	"io/fs"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// files makes a message fsys from path → content.
func files(m map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, content := range m {
		fsys[name] = &fstest.MapFile{Data: []byte(content)}
	}
	return fsys
}

func TestLoadCatalogueErrors(t *testing.T) {
	tests := []struct {
		name  string
		fsyss []fs.FS
		want  []string // each must be in the error; none: no error
	}{
		{
			name: "complete en and nb",
			fsyss: []fs.FS{files(map[string]string{
				"en/a.json": `{"x.a": "A", "x.b": "Wait %d minutes"}`,
				"nb/a.json": `{"x.a": "A", "x.b": "Vent %d minutter"}`,
				"sv/a.json": `{"x.a": "A"}`,
			})},
		},
		{
			name: "reordered arguments",
			fsyss: []fs.FS{files(map[string]string{
				"en/a.json": `{"x.a": "%s has %d"}`,
				"nb/a.json": `{"x.a": "%[2]d har %[1]s"}`,
			})},
		},
		{
			name: "a key twice in one file",
			fsyss: []fs.FS{files(map[string]string{
				"en/a.json": `{"x.a": "A", "x.a": "B"}`,
				"nb/a.json": `{"x.a": "A"}`,
			})},
			want: []string{`en/a.json: key "x.a" is defined twice`},
		},
		{
			name: "a key in two files",
			fsyss: []fs.FS{files(map[string]string{
				"en/a.json": `{"x.a": "A"}`,
				"en/b.json": `{"x.a": "B"}`,
				"nb/a.json": `{"x.a": "A"}`,
			})},
			want: []string{`en/b.json: key "x.a" is defined twice: also in en/a.json`},
		},
		{
			name: "a key in two fsyses",
			fsyss: []fs.FS{
				files(map[string]string{"en/a.json": `{"x.a": "A"}`, "nb/a.json": `{"x.a": "A"}`}),
				files(map[string]string{"en/b.json": `{"x.a": "B"}`, "nb/b.json": `{"x.a": "B"}`}),
			},
			want: []string{`en/b.json: key "x.a" is defined twice: also in en/a.json`, `nb/b.json: key "x.a" is defined twice: also in nb/a.json`},
		},
		{
			name: "one of web's own keys",
			fsyss: []fs.FS{Messages(), files(map[string]string{
				"en/a.json": `{"common.back": "Back"}`,
				"nb/a.json": `{"common.back": "Tilbake"}`,
			})},
			want: []string{`en/a.json: key "common.back" is defined twice: also in en/layout.json`},
		},
		{
			name: "nb lacks a key",
			fsyss: []fs.FS{files(map[string]string{
				"en/a.json": `{"x.a": "A", "x.b": "B"}`,
				"nb/a.json": `{"x.a": "A"}`,
			})},
			want: []string{`en/a.json: key "x.b" has no nb text`},
		},
		{
			name: "en lacks a key",
			fsyss: []fs.FS{files(map[string]string{
				"en/a.json": `{"x.a": "A"}`,
				"nb/a.json": `{"x.a": "A", "x.b": "B"}`,
			})},
			want: []string{`nb/a.json: key "x.b" has no en text`},
		},
		{
			name: "a translation has a key en lacks",
			fsyss: []fs.FS{files(map[string]string{
				"en/a.json": `{"x.a": "A"}`,
				"nb/a.json": `{"x.a": "A"}`,
				"fi/a.json": `{"x.a": "A", "x.typo": "B"}`,
			})},
			want: []string{`fi/a.json: key "x.typo" is not in en`},
		},
		{
			name: "a verb too few",
			fsyss: []fs.FS{files(map[string]string{
				"en/a.json": `{"x.a": "Wait %d minutes"}`,
				"nb/a.json": `{"x.a": "Vent noen minutter"}`,
			})},
			want: []string{`nb/a.json: key "x.a": the verbs [] differ from en's [%[1]d]`},
		},
		{
			name: "a verb of another kind",
			fsyss: []fs.FS{files(map[string]string{
				"en/a.json": `{"x.a": "Wait %d minutes"}`,
				"nb/a.json": `{"x.a": "Vent %s minutter"}`,
				"da/a.json": `{"x.a": "Vent %d minutter %s"}`,
			})},
			want: []string{
				`nb/a.json: key "x.a": the verbs [%[1]s] differ from en's [%[1]d]`,
				`da/a.json: key "x.a": the verbs [%[1]d %[2]s] differ from en's [%[1]d]`,
			},
		},
		{
			name: "a malformed format",
			fsyss: []fs.FS{files(map[string]string{
				"en/a.json": `{"x.a": "100%", "x.b": "%[0]s", "x.c": "%!"}`,
				"nb/a.json": `{"x.a": "100 %%", "x.b": "%s", "x.c": "%s"}`,
			})},
			want: []string{`en/a.json: key "x.a": unfinished verb`, `en/a.json: key "x.b": bad argument index`, `en/a.json: key "x.c": bad verb`},
		},
		{
			name: "malformed JSON",
			fsyss: []fs.FS{files(map[string]string{
				"en/a.json": "{\n  \"x.a\": \"A\",\n  \"x.b\" \"B\"\n}\n",
				"nb/a.json": `{"x.a": "A"}`,
			})},
			want: []string{`en/a.json:3:9: invalid character '"' after object key`},
		},
		{
			name: "trailing data",
			fsyss: []fs.FS{files(map[string]string{
				"en/a.json": `{"x.a": "A"} {}`,
				"nb/a.json": `{"x.a": "A"}`,
			})},
			want: []string{`en/a.json:1:`},
		},
		{
			name: "not an object",
			fsyss: []fs.FS{files(map[string]string{
				"en/a.json": `["x.a"]`,
				"nb/a.json": `{}`,
			})},
			want: []string{`en/a.json:1:2: want a JSON object of texts`},
		},
		{
			name: "a text that is not a string",
			fsyss: []fs.FS{files(map[string]string{
				"en/a.json": `{"x.a": {"nested": "A"}}`,
				"nb/a.json": `{}`,
			})},
			want: []string{`en/a.json:1:9: key "x.a": the text is not a string`},
		},
		{
			name: "an unknown language",
			fsyss: []fs.FS{files(map[string]string{
				"en/a.json": `{"x.a": "A"}`,
				"nb/a.json": `{"x.a": "A"}`,
				"de/a.json": `{"x.a": "A"}`,
			})},
			want: []string{`messages #1: de/: unknown language directory`},
		},
		{
			name: "the problem is named by its fsys",
			fsyss: []fs.FS{Messages(), files(map[string]string{
				"en/a.json": `{"x.a": "A"}`,
				"nb/a.json": `{"x.a": "A"}`,
				"de/a.json": `{"x.a": "A"}`,
			})},
			want: []string{`messages #2: de/: unknown language directory`},
		},
		{
			name: "a file outside the language directories",
			fsyss: []fs.FS{files(map[string]string{
				"a.json": `{"x.a": "A"}`,
			})},
			want: []string{`messages #1: a.json is not in a language directory`},
		},
		{
			name: "every problem at once",
			fsyss: []fs.FS{files(map[string]string{
				"en/a.json": `{"x.a": "A %s", "x.b": "B"}`,
				"nb/a.json": `{"x.a": "A"}`,
				"sv/a.json": `{"x.c": "C"`,
				"xx/a.json": `{}`,
			})},
			want: []string{`key "x.b" has no nb text`, `nb/a.json: key "x.a": the verbs`, `sv/a.json:1:`, `xx/: unknown language directory`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cat, err := LoadCatalogue(tt.fsyss...)
			if len(tt.want) == 0 {
				if err != nil || cat == nil {
					t.Fatalf("LoadCatalogue() = %v, %v; want a catalogue", cat, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("LoadCatalogue() = nil error; want %q", tt.want)
			}
			if cat != nil {
				t.Errorf("LoadCatalogue() returned a catalogue with the error %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("LoadCatalogue() error =\n%v\nwant it to contain %q", err, w)
				}
			}
			for line := range strings.SplitSeq(err.Error(), "\n") {
				if !strings.HasPrefix(line, "web: ") {
					t.Errorf("error line %q lacks the package prefix", line)
				}
			}
		})
	}
}

func TestCatalogueText(t *testing.T) {
	cat, err := LoadCatalogue(Messages(), files(map[string]string{
		"en/a.json": `{"x.plain": "Hello", "x.args": "%s has %d passkeys", "x.percent": "100 %%"}`,
		"nb/a.json": `{"x.plain": "Hei", "x.args": "%[2]d passnøkler har %[1]s", "x.percent": "100 %%"}`,
		"sv/a.json": `{"x.plain": "Hej"}`,
	}))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		lang Lang
		key  string
		args []any
		want string
		has  bool
	}{
		{EN, "x.plain", nil, "Hello", true},
		{NB, "x.plain", nil, "Hei", true},
		{SV, "x.plain", nil, "Hej", true},
		{DA, "x.plain", nil, "Hello", false}, // no Danish text: English
		{SV, "x.args", []any{"Kari", 2}, "Kari has 2 passkeys", false},
		{NB, "x.args", []any{"Kari", 2}, "2 passnøkler har Kari", true},
		{NB, "x.percent", nil, "100 %", true},
		{Lang("de"), "x.plain", nil, "Hello", false},
		{NB, "x.missing", nil, "⟦x.missing⟧", false},
		{EN, "x.missing", []any{1}, "⟦x.missing⟧", false},
		{NB, "common.back", nil, "Tilbake", true}, // web's own
	}
	for _, tt := range tests {
		if got := cat.Text(tt.lang, tt.key, tt.args...); got != tt.want {
			t.Errorf("Text(%s, %s, %v) = %q, want %q", tt.lang, tt.key, tt.args, got, tt.want)
		}
		if got := cat.Has(tt.lang, tt.key); got != tt.has {
			t.Errorf("Has(%s, %s) = %v, want %v", tt.lang, tt.key, got, tt.has)
		}
	}
	keys := cat.Keys()
	if !slices.IsSorted(keys) {
		t.Errorf("Keys() is not sorted: %v", keys)
	}
	for _, k := range []string{"x.plain", "x.args", "x.percent", "layout.logout", "error.expired"} {
		if !slices.Contains(keys, k) {
			t.Errorf("Keys() lacks %q", k)
		}
	}
}

// TestOwnMessages checks web's own message files: they load, every language has
// every key (they are fully translated), every key the layout uses exists, and the
// keys are in web's namespaces.
func TestOwnMessages(t *testing.T) {
	cat, err := LoadCatalogue(Messages())
	if err != nil {
		t.Fatalf("LoadCatalogue(Messages()) = %v", err)
	}
	keys := cat.Keys()
	if len(keys) == 0 {
		t.Fatal("web has no messages")
	}
	for _, key := range keys {
		if !strings.HasPrefix(key, "layout.") && !strings.HasPrefix(key, "common.") && !strings.HasPrefix(key, "error.") {
			t.Errorf("key %q is outside web's namespaces layout., common., error.", key)
		}
		for _, lang := range Languages() {
			if !cat.Has(lang, key) {
				t.Errorf("%s has no text for %q", lang, key)
			}
		}
	}
	// The keys the layout and the Go code use.
	layout, err := os.ReadFile("templates/layout.html")
	if err != nil {
		t.Fatal(err)
	}
	used := []string{"layout.level_low", "layout.level_substantial", "layout.level_high", "error.title", "error.generic"}
	for _, m := range regexp.MustCompile(`\.T "([^"]+)"`).FindAllStringSubmatch(string(layout), -1) {
		used = append(used, m[1])
	}
	if len(used) < 15 {
		t.Fatalf("found only %d keys in the layout: %v", len(used), used)
	}
	for _, key := range used {
		if !slices.Contains(keys, key) {
			t.Errorf("the layout uses %q, which is not in the messages", key)
		}
	}
	for _, key := range []string{"common.continue", "common.cancel", "common.back", "common.error_summary_title", "common.error_title_prefix", "error.expired", "error.rate_limited"} {
		if !slices.Contains(keys, key) {
			t.Errorf("the shared key %q is missing", key)
		}
	}
	if got, want := cat.Text(EN, "error.rate_limited", 5), "Wait 5 minutes"; !strings.Contains(got, want) {
		t.Errorf("Text(en, error.rate_limited, 5) = %q, want it to contain %q", got, want)
	}
}

func TestVerbs(t *testing.T) {
	tests := []struct {
		format  string
		want    []verb
		wantErr bool
	}{
		{format: "plain"},
		{format: "100 %% sure"},
		{format: "%s and %d", want: []verb{{0, 's'}, {1, 'd'}}},
		{format: "%[2]d and %[1]s", want: []verb{{0, 's'}, {1, 'd'}}},
		{format: "%-10s|%05.2f|%+v|%#x", want: []verb{{0, 's'}, {1, 'f'}, {2, 'v'}, {3, 'x'}}},
		{format: "%*d", want: []verb{{0, '*'}, {1, 'd'}}},
		{format: "%[1]s %[1]s", want: []verb{{0, 's'}, {0, 's'}}},
		{format: "ends with %", wantErr: true},
		{format: "%5", wantErr: true},
		{format: "%[x]s", wantErr: true},
		{format: "%[1s", wantErr: true},
		{format: "%!", wantErr: true},
	}
	for _, tt := range tests {
		got, err := verbs(tt.format)
		if (err != nil) != tt.wantErr {
			t.Errorf("verbs(%q) error = %v, want error %v", tt.format, err, tt.wantErr)
			continue
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("verbs(%q) = %v, want %v", tt.format, got, tt.want)
		}
	}
}
