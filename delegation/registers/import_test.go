package registers_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/delegation/bolt"
	"github.com/fullmakt/fullmakt/delegation/registers"
)

// TestImportBadLines inserts one bad line into a clean feed and checks that it is
// reported with its line number, that every good line around it is stored, and that
// the bad line changes nothing: the state and the change sequence are those of the
// clean feed, and importing the file again reports the same line and writes nothing.
func TestImportBadLines(t *testing.T) {
	c := newCast(t)
	ref := openStore(t)
	if _, bad, err := importFeed(t, ref, c.feed(baseLines, "\n"), registers.Options{}); err != nil || len(bad) > 0 {
		t.Fatalf("clean feed: bad lines %q, error %v", bad, err)
	}
	want := dump(t, ref, c.ids())
	fullmaktID := migratedID("legacy-1")

	tests := []struct {
		name string
		at   int    // the line number the bad line gets
		line string // the bad line ({A}… are the cast)
		want string // the message, after "test.jsonl:AT: "
		is   error  // an error the LineError wraps, when set
	}{
		// The line itself.
		{"malformed JSON", 3, `{"type":"person","id":`,
			`malformed JSON: the line ends inside the object`, nil},
		{"JSON syntax error", 3, `{"type":"person",}`,
			`malformed JSON at column 18: invalid character '}' looking for beginning of object key string`, nil},
		{"not an object", 1, `["person"]`,
			`a line must be a JSON object, not an array`, nil},
		{"text after the object", 11, `{"type":"organization","id":"{O2}","name":"X"} {}`,
			`text after the JSON object`, nil},
		{"unknown type", 6, `{"type":"persn","id":"{E}","name":"Siri","birth_date":"1990-07-07"}`,
			`unknown record type "persn"`, nil},
		{"missing type", 6, `{"id":"{E}","name":"Siri","birth_date":"1990-07-07"}`,
			`missing "type"`, nil},
		{"unknown field", 7, `{"type":"organization","id":"{O2}","name":"X","nmae":"Y"}`,
			`unknown field "nmae"`, nil},
		{"field of another record type", 7, `{"type":"organization","id":"{O2}","name":"X","birth_date":"2000-01-01"}`,
			`organization: unknown field "birth_date"`, nil},
		{"missing field", 2, `{"type":"person","id":"{E}","name":"Siri"}`,
			`person: missing "birth_date"`, nil},
		{"wrong JSON type", 9, `{"type":"guardianship","guardian":"{C}","ward":"{B}","scope":"economic"}`,
			`"scope" must be a list of strings, not a string`, nil},
		{"wrong JSON type for a flag", 5, `{"type":"person","id":"{E}","name":"Siri","birth_date":"1990-07-07","confidential_address":"yes"}`,
			`"confidential_address" must be true or false, not a string`, nil},

		// Identifiers and dates.
		{"bad checksum", 4, `{"type":"person","id":"` + badChecksum(c.E) + `","name":"Siri","birth_date":"1990-07-07"}`,
			`person: id: invalid identifier: second control digit of the identity number does not match`, delegation.ErrInvalidID},
		{"organisation number for a person", 9, `{"type":"parental_responsibility","parent":"{O}","child":"{B}","kind":"sole"}`,
			`parental_responsibility: parent: invalid identifier: an organisation number where a person's identity number was expected`, delegation.ErrInvalidID},
		{"person number for an organisation", 10, `{"type":"role","person":"{A}","organization":"{B}","role":"chair"}`,
			`role: organization: invalid identifier: a person's identity number where an organisation number was expected`, delegation.ErrInvalidID},
		{"date that does not exist", 2, `{"type":"person","id":"{E}","name":"Siri","birth_date":"1990-02-30"}`,
			`person: birth_date: "1990-02-30" is not a date of the form YYYY-MM-DD`, nil},
		{"birth date not that of the number", 2, `{"type":"person","id":"{E}","name":"Siri","birth_date":"1990-07-08"}`,
			`person: invalid: birth_date 1990-07-08 does not match the identity number`, delegation.ErrInvalid},
		{"birth date in the future", 2, `{"type":"person","id":"` + string(personID(t, "2030-01-01", 0)) + `","name":"Snart","birth_date":"2030-01-01"}`,
			`person: invalid: birth_date 2030-01-01 is in the future`, delegation.ErrInvalid},
		{"correction that breaks a rule", 11, `{"type":"person","id":"{A}","name":"Kari Nordmann","birth_date":"1980-03-14","death_date":"2030-01-01"}`,
			`person: invalid: death_date 2030-01-01 is in the future`, delegation.ErrInvalid},

		// Rules that need the stored registers.
		{"unknown person", 9, `{"type":"parental_responsibility","parent":"{A}","child":"{E}","kind":"joint"}`,
			`parental_responsibility: not found: unknown child (import persons before their relations)`, delegation.ErrNotFound},
		{"unknown organisation", 11, `{"type":"role","person":"{A}","organization":"{O2}","role":"chair"}`,
			`role: not found: unknown organization ` + string(c.O2) + ` (import it before its roles)`, delegation.ErrNotFound},
		{"child older than the parent", 9, `{"type":"parental_responsibility","parent":"{B}","child":"{A}","kind":"sole"}`,
			`parental_responsibility: invalid: the child (born 1980-03-14) is older than the parent (born 2015-09-01)`, delegation.ErrInvalid},
		{"overlapping parental responsibility", 9, `{"type":"parental_responsibility","parent":"{A}","child":"{B}","kind":"sole","valid_from":"2020-01-01"}`,
			`parental_responsibility: conflict: overlaps the parental responsibility registered from the start`, delegation.ErrConflict},
		{"overlapping guardianship", 10, `{"type":"guardianship","guardian":"{C}","ward":"{D}","scope":["personal"],"valid_from":"2021-01-01"}`,
			`guardianship: conflict: overlaps the guardianship registered from 2020-01-01`, delegation.ErrConflict},
		{"duplicate fullmakt", 11, `{"type":"fullmakt","id":"legacy-2","grantor":"{D}","proxy":"{A}","scope":["lanekassen.studiestotte","health"],"actions":["read"],"valid_from":"2025-01-01"}`,
			`fullmakt: conflict: duplicates fullmakt ` + fullmaktID + ` for the same scope and an overlapping period`, delegation.ErrConflict},
		{"period ends before it starts", 10, `{"type":"guardianship","guardian":"{C}","ward":"{B}","scope":["economic"],"valid_from":"2024-01-01","valid_to":"2023-12-31"}`,
			`guardianship: invalid: period ends (2023-12-31) before it starts (2024-01-01)`, delegation.ErrInvalid},
		{"ceased before it began", 9, `{"type":"parental_responsibility","parent":"{C}","child":"{B}","kind":"joint","valid_from":"2020-01-01","ceased_at":"2019-01-01"}`,
			`parental_responsibility: invalid: ceased_at 2019-01-01 is not after valid_from 2020-01-01`, delegation.ErrInvalid},
		{"fullmakt period out of order", 11, `{"type":"fullmakt","grantor":"{A}","proxy":"{C}","scope":["tax"],"valid_from":"2025-02-01","valid_to":"2025-01-01"}`,
			`fullmakt: invalid: period ends (2025-01-01) before it starts (2025-02-01)`, delegation.ErrInvalid},
		{"custody kind", 9, `{"type":"parental_responsibility","parent":"{C}","child":"{B}","kind":"shared"}`,
			`parental_responsibility: invalid: kind "shared" is not joint or sole`, delegation.ErrInvalid},
		{"scope not a lowercase word", 11, `{"type":"fullmakt","grantor":"{A}","proxy":"{C}","scope":["Health"]}`,
			`fullmakt: invalid: area "Health" is not a lowercase word`, delegation.ErrInvalid},
		{"a person's number where a scope belongs", 10, `{"type":"guardianship","guardian":"{C}","ward":"{B}","scope":["{B}"]}`,
			`guardianship: invalid: guardianship scope "[number hidden]" is not a lowercase word`, delegation.ErrInvalid},
	}
	for _, batchSize := range []int{0, 2} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("batch=%d/%s", batchSize, tt.name), func(t *testing.T) {
				input := c.feed(insert(baseLines, tt.at, tt.line), "\n")
				wantErr := fmt.Sprintf("test.jsonl:%d: %s", tt.at, tt.want)
				s := openStore(t)
				for round := 1; round <= 2; round++ {
					var lineErrs []registers.LineError
					opts := registers.Options{BatchSize: batchSize, Now: clock, Name: "test.jsonl",
						OnError: func(e registers.LineError) { lineErrs = append(lineErrs, e) }}
					sum, err := registers.Import(context.Background(), s, strings.NewReader(input), opts)
					if err != nil {
						t.Fatalf("round %d: Import() error = %v, want nil (bad lines are not errors)", round, err)
					}
					if len(lineErrs) != 1 || lineErrs[0].Error() != wantErr {
						t.Fatalf("round %d: bad lines = %v, want [%s]", round, lineErrs, wantErr)
					}
					if lineErrs[0].Line != tt.at {
						t.Errorf("round %d: LineError.Line = %d, want %d", round, lineErrs[0].Line, tt.at)
					}
					if tt.is != nil && !errors.Is(lineErrs[0], tt.is) {
						t.Errorf("round %d: errors.Is(%v, %v) = false, want true", round, lineErrs[0], tt.is)
					}
					if strings.Contains(lineErrs[0].Error(), string(c.E)) || strings.Contains(lineErrs[0].Error(), string(c.B)) {
						t.Errorf("round %d: %q shows a person's identity number", round, lineErrs[0])
					}
					wantSum := registers.Summary{Lines: int64(len(baseLines) + 1), Records: baseRecords + 1, Changed: baseRecords, Failed: 1}
					if round == 2 {
						wantSum.Changed, wantSum.Unchanged = 0, baseRecords
					}
					if diff := cmp.Diff(wantSum, sum); diff != "" {
						t.Errorf("round %d: Summary mismatch (-want +got):\n%s", round, diff)
					}
					if diff := cmp.Diff(want, dump(t, s, c.ids())); diff != "" {
						t.Errorf("round %d: state differs from the clean feed's (-want +got):\n%s", round, diff)
					}
				}
			})
		}
	}
}

// badChecksum returns id with its last control digit changed.
func badChecksum(id delegation.PartyID) string {
	s := string(id)
	last := s[len(s)-1]
	return s[:len(s)-1] + string(rune('0'+(last-'0'+1)%10))
}

// TestImportTwice: a feed imported again changes nothing and records no change; a
// corrected record replaces the stored one, and only it is recorded.
func TestImportTwice(t *testing.T) {
	c := newCast(t)
	s := openStore(t)
	input := c.feed(baseLines, "\n")
	if sum, bad, err := importFeed(t, s, input, registers.Options{}); err != nil || len(bad) > 0 || sum.Changed != baseRecords {
		t.Fatalf("first import: %+v, bad lines %q, error %v; want %d changed", sum, bad, err, baseRecords)
	}
	before, seq := dump(t, s, c.ids()), lastChange(t, s)
	if seq != baseRecords {
		t.Errorf("LastChange() after the first import = %d, want %d", seq, baseRecords)
	}

	sum, bad, err := importFeed(t, s, input, registers.Options{})
	if err != nil || len(bad) > 0 {
		t.Fatalf("second import: bad lines %q, error %v", bad, err)
	}
	if sum.Changed != 0 || sum.Unchanged != baseRecords {
		t.Errorf("second import: Changed, Unchanged = %d, %d; want 0, %d", sum.Changed, sum.Unchanged, baseRecords)
	}
	if got := lastChange(t, s); got != seq {
		t.Errorf("LastChange() after the same feed again = %d, want %d (unchanged)", got, seq)
	}
	if diff := cmp.Diff(before, dump(t, s, c.ids())); diff != "" {
		t.Errorf("state changed by the same feed (-before +after):\n%s", diff)
	}

	corrected := append([]string(nil), baseLines...)
	corrected[0] = `{"type":"person","id":"{A}","name":"Kari Nordmann Berg","birth_date":"1980-03-14"}`
	sum, bad, err = importFeed(t, s, c.feed(corrected, "\n"), registers.Options{})
	if err != nil || len(bad) > 0 || sum.Changed != 1 || sum.Unchanged != baseRecords-1 {
		t.Fatalf("corrected feed: %+v, bad lines %q, error %v; want 1 changed", sum, bad, err)
	}
	changes, err := s.Changes(context.Background(), seq, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 1 || changes[0].Kind != delegation.ChangePerson || changes[0].Ref != string(c.A) {
		t.Errorf("changes after the correction = %+v, want one person change for Kari", changes)
	}
	if p, err := s.Person(context.Background(), c.A); err != nil || p.Name != "Kari Nordmann Berg" {
		t.Errorf("Person(Kari) = %+v, %v; want the corrected name", p, err)
	}
}

// TestImportStrict: a strict import stores a clean feed whole, and stores nothing of
// a feed with a bad line, after reporting every bad line.
func TestImportStrict(t *testing.T) {
	c := newCast(t)
	ref := openStore(t)
	if _, _, err := importFeed(t, ref, c.feed(baseLines, "\n"), registers.Options{}); err != nil {
		t.Fatal(err)
	}
	clean := dump(t, ref, c.ids())

	tests := []struct {
		name    string
		lines   []string
		wantBad []string
		want    registers.Summary
	}{
		{"clean feed", baseLines, nil,
			registers.Summary{Lines: 10, Records: baseRecords, Changed: baseRecords}},
		{"one bad line", insert(baseLines, 8, `{"type":"parental_responsibility","parent":"{A}","child":"{E}","kind":"joint"}`),
			[]string{"test.jsonl:8: parental_responsibility: not found: unknown child (import persons before their relations)"},
			registers.Summary{Lines: 11, Records: baseRecords + 1, Failed: 1}},
		{"bad lines first and last", append(insert(baseLines, 1, `{"type":"persn"}`), `{"type":"role"`),
			[]string{`test.jsonl:1: unknown record type "persn"`, "test.jsonl:12: malformed JSON: the line ends inside the object"},
			registers.Summary{Lines: 12, Records: baseRecords + 2, Failed: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t)
			sum, bad, err := importFeed(t, s, c.feed(tt.lines, "\n"), registers.Options{Strict: true, BatchSize: 2})
			if diff := cmp.Diff(tt.wantBad, bad); diff != "" {
				t.Errorf("bad lines mismatch (-want +got):\n%s", diff)
			}
			sum.Elapsed = 0
			if diff := cmp.Diff(tt.want, sum); diff != "" {
				t.Errorf("Summary mismatch (-want +got):\n%s", diff)
			}
			if len(tt.wantBad) == 0 {
				if err != nil {
					t.Fatalf("Import() error = %v, want nil", err)
				}
				if diff := cmp.Diff(clean, dump(t, s, c.ids())); diff != "" {
					t.Errorf("state differs from a batched import's (-want +got):\n%s", diff)
				}
				return
			}
			if !errors.Is(err, registers.ErrRejected) {
				t.Fatalf("Import() error = %v, want ErrRejected", err)
			}
			if got := lastChange(t, s); got != 0 {
				t.Errorf("LastChange() = %d, want 0 (nothing stored)", got)
			}
			if _, err := s.Person(context.Background(), c.A); !errors.Is(err, delegation.ErrNotFound) {
				t.Errorf("Person(Kari) error = %v, want ErrNotFound", err)
			}
		})
	}
}

// TestImportLongLines: a line longer than MaxLineLength is a bad line, and reading
// goes on with the next; a line of exactly MaxLineLength is read.
func TestImportLongLines(t *testing.T) {
	c := newCast(t)
	// pad makes a JSON line exactly n bytes long with spaces before its closing brace.
	pad := func(line string, n int) string {
		line = c.expand(line)
		return line[:len(line)-1] + strings.Repeat(" ", n-len(line)) + "}"
	}
	kari, ola := baseLines[0], baseLines[1]
	tests := []struct {
		name    string
		lines   []string
		eol     string
		wantBad []string
		changed int64
	}{
		{"exactly the limit", []string{pad(kari, registers.MaxLineLength), ola}, "\n", nil, 2},
		{"exactly the limit with CRLF", []string{pad(kari, registers.MaxLineLength), ola}, "\r\n", nil, 2},
		{"one byte over", []string{pad(kari, registers.MaxLineLength+1), ola}, "\n",
			[]string{"test.jsonl:1: the line is longer than 1 MiB"}, 1},
		{"one byte over with CRLF", []string{ola, pad(kari, registers.MaxLineLength+1)}, "\r\n",
			[]string{"test.jsonl:2: the line is longer than 1 MiB"}, 1},
		{"far over, between good lines", []string{kari, strings.Repeat("x", 3*registers.MaxLineLength), ola}, "\n",
			[]string{"test.jsonl:2: the line is longer than 1 MiB"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t)
			input := c.expand(strings.Join(tt.lines, tt.eol)) // no line ending after the last line
			sum, bad, err := importFeed(t, s, input, registers.Options{Size: int64(len(input))})
			if err != nil {
				t.Fatalf("Import() error = %v", err)
			}
			if diff := cmp.Diff(tt.wantBad, bad); diff != "" {
				t.Errorf("bad lines mismatch (-want +got):\n%s", diff)
			}
			want := registers.Summary{Lines: int64(len(tt.lines)), Records: int64(len(tt.lines)), Changed: tt.changed, Failed: int64(len(tt.wantBad))}
			if diff := cmp.Diff(want, sum); diff != "" {
				t.Errorf("Summary mismatch (-want +got):\n%s", diff)
			}
			if _, err := s.Person(context.Background(), c.B); err != nil {
				t.Errorf("Person(Ola), the line after: %v", err)
			}
		})
	}
}

// TestImportLineEndings: CRLF, a missing final line ending, blank lines of spaces and
// a byte order mark all give the state of a plain LF feed.
func TestImportLineEndings(t *testing.T) {
	c := newCast(t)
	ref := openStore(t)
	if _, _, err := importFeed(t, ref, c.feed(baseLines, "\n"), registers.Options{}); err != nil {
		t.Fatal(err)
	}
	want := dump(t, ref, c.ids())
	lf := c.feed(baseLines, "\n")
	crlf := c.feed(baseLines, "\r\n")
	tests := []struct {
		name  string
		input string
		lines int64
	}{
		{"CRLF", crlf, 10},
		{"CRLF without the last line ending", strings.TrimSuffix(crlf, "\r\n"), 10},
		{"LF without the last line ending", strings.TrimSuffix(lf, "\n"), 10},
		{"byte order mark", "\uFEFF" + crlf, 10},
		{"blank lines of spaces and tabs", " \t\r\n" + crlf + "\n  \n", 13},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t)
			sum, bad, err := importFeed(t, s, tt.input, registers.Options{})
			if err != nil || len(bad) > 0 {
				t.Fatalf("Import(): bad lines %q, error %v", bad, err)
			}
			if sum.Lines != tt.lines || sum.Records != baseRecords || sum.Changed != baseRecords {
				t.Errorf("Summary = %+v, want %d lines, %d records, all changed", sum, tt.lines, baseRecords)
			}
			if diff := cmp.Diff(want, dump(t, s, c.ids())); diff != "" {
				t.Errorf("state differs from the LF feed's (-want +got):\n%s", diff)
			}
		})
	}
}

// TestImportProgress: with a clock that moves 400ms per reading, progress is reported
// about once a second, and the last report has the final count and the whole size.
func TestImportProgress(t *testing.T) {
	c := newCast(t)
	input := c.feed(baseLines, "\n")
	at := now
	tick := func() time.Time { at = at.Add(400 * time.Millisecond); return at }
	var reports []registers.Progress
	opts := registers.Options{Now: tick, Size: int64(len(input)), Progress: func(p registers.Progress) { reports = append(reports, p) }}
	sum, _, err := importFeed(t, openStore(t), input, opts)
	if err != nil {
		t.Fatal(err)
	}
	// One reading at the start, one per record, one at the end: 10 steps of 400ms, a
	// report at the 3rd, 6th and 9th record (1.2s after the one before), and the final
	// one.
	if len(reports) != 4 {
		t.Fatalf("Progress called %d times (%+v), want 4", len(reports), reports)
	}
	for i := 1; i < len(reports); i++ {
		if reports[i].Records < reports[i-1].Records || reports[i].Bytes < reports[i-1].Bytes || reports[i].Elapsed < reports[i-1].Elapsed {
			t.Errorf("report %d (%+v) goes back from %+v", i, reports[i], reports[i-1])
		}
	}
	last := reports[len(reports)-1]
	want := registers.Progress{Records: sum.Records, Bytes: int64(len(input)), Size: int64(len(input)), Elapsed: sum.Elapsed}
	if last != want {
		t.Errorf("last Progress = %+v, want %+v", last, want)
	}
	if want.Elapsed != 4*time.Second {
		t.Errorf("Summary.Elapsed = %v, want 4s", want.Elapsed)
	}
	if eta, ok := last.ETA(); !ok || eta != 0 {
		t.Errorf("last ETA() = %v, %v; want 0, true", eta, ok)
	}
}

// cancelAfter cancels ctx once n transactions have committed.
type cancelAfter struct {
	registers.Updater
	n      int
	cancel context.CancelFunc
}

func (u *cancelAfter) UpdateRegister(ctx context.Context, fn func(delegation.RegisterTx) error) error {
	err := u.Updater.UpdateRegister(ctx, fn)
	if u.n--; u.n == 0 {
		u.cancel()
	}
	return err
}

// TestImportCancel: cancelling stops the import between batches; the batches
// committed before stay, and a strict import stores nothing.
func TestImportCancel(t *testing.T) {
	c := newCast(t)
	input := c.feed(baseLines, "\n")
	tests := []struct {
		name        string
		strict      bool
		cancelAfter int // transactions; 0 = cancelled before the start
		wantChanged int64
		wantSeq     uint64
	}{
		{"before the start", false, 0, 0, 0},
		{"after the first batch", false, 1, 2, 2},
		{"after the second batch", false, 2, 4, 4},
		{"strict, before the start", true, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			u := &cancelAfter{Updater: s, n: tt.cancelAfter, cancel: cancel}
			if tt.cancelAfter == 0 {
				cancel()
			}
			sum, err := registers.Import(ctx, u, strings.NewReader(input), registers.Options{BatchSize: 2, Strict: tt.strict, Now: clock})
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Import() error = %v, want context.Canceled", err)
			}
			if sum.Changed != tt.wantChanged {
				t.Errorf("Summary.Changed = %d, want %d", sum.Changed, tt.wantChanged)
			}
			if got := lastChange(t, s); got != tt.wantSeq {
				t.Errorf("LastChange() = %d, want %d", got, tt.wantSeq)
			}
		})
	}
}

var errDiskFull = errors.New("disk full")

// failingStore fails the nth PutPerson of its transactions with errDiskFull.
type failingStore struct {
	registers.Updater
	n int
}

func (f *failingStore) UpdateRegister(ctx context.Context, fn func(delegation.RegisterTx) error) error {
	return f.Updater.UpdateRegister(ctx, func(tx delegation.RegisterTx) error { return fn(failingTx{tx, f}) })
}

type failingTx struct {
	delegation.RegisterTx
	f *failingStore
}

func (tx failingTx) PutPerson(p delegation.Person) error {
	if tx.f.n--; tx.f.n == 0 {
		return errDiskFull
	}
	return tx.RegisterTx.PutPerson(p)
}

// failingReader returns its text, then err.
type failingReader struct {
	text string
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.text == "" {
		return 0, r.err
	}
	n := copy(p, r.text)
	r.text = r.text[n:]
	return n, nil
}

// TestImportFailures: a store or read failure stops the import with an error, not a
// bad line, and rolls back the batch it happened in.
func TestImportFailures(t *testing.T) {
	c := newCast(t)
	input := c.feed(baseLines, "\n")
	errRead := errors.New("connection reset")
	failThirdPut := func(s *bolt.Store) registers.Updater { return &failingStore{s, 3} }
	asIs := func(s *bolt.Store) registers.Updater { return s }
	tests := []struct {
		name    string
		wrap    func(*bolt.Store) registers.Updater
		r       io.Reader
		strict  bool
		wantErr error
		wantSeq uint64
	}{
		{"store fails in the second batch", failThirdPut, strings.NewReader(input), false, errDiskFull, 2},
		{"store fails in a strict import", failThirdPut, strings.NewReader(input), true, errDiskFull, 0},
		{"reading fails within a batch", asIs, &failingReader{c.expand(baseLines[0] + "\n"), errRead}, false, errRead, 0},
		{"reading fails after a batch", asIs, &failingReader{c.expand(baseLines[0] + "\n" + baseLines[1] + "\n"), errRead}, false, errRead, 2},
		{"reading fails in a strict import", asIs, &failingReader{c.expand(baseLines[0] + "\n" + baseLines[1] + "\n"), errRead}, true, errRead, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t)
			var lineErrs []registers.LineError
			_, err := registers.Import(context.Background(), tt.wrap(s), tt.r, registers.Options{BatchSize: 2, Strict: tt.strict, Now: clock,
				OnError: func(e registers.LineError) { lineErrs = append(lineErrs, e) }})
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Import() error = %v, want %v", err, tt.wantErr)
			}
			if len(lineErrs) > 0 {
				t.Errorf("bad lines = %v, want none", lineErrs)
			}
			if got := lastChange(t, s); got != tt.wantSeq {
				t.Errorf("LastChange() = %d, want %d", got, tt.wantSeq)
			}
		})
	}
}
