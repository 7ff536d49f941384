package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/delegation/bolt"
	"github.com/fullmakt/fullmakt/delegation/registers/demo"
)

// castFeed returns the demo cast as a register feed, with its characters.
func castFeed(t *testing.T) (feed []string, cast []demo.Character) {
	t.Helper()
	now := time.Now()
	var buf bytes.Buffer
	if err := demo.WriteCast(&buf, now); err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n"), demo.Cast(now)
}

func openTestStore(t *testing.T, dir string) *bolt.Store {
	t.Helper()
	s, err := bolt.Open(filepath.Join(dir, dbFile), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestImportReportsBadLinesAndStoresTheRest(t *testing.T) {
	feed, cast := castFeed(t)
	// A bad checksum and a line that is not JSON, among the good lines; the bad
	// identity number must not be echoed.
	const badID = "01017012346"
	lines := append([]string{}, feed[:3]...)
	lines = append(lines, `{"type":"person","id":"`+badID+`","name":"Ola Feil","birth_date":"1970-01-01"}`)
	lines = append(lines, feed[3:]...)
	lines = append(lines, "this is not JSON")
	dir := t.TempDir()
	file := filepath.Join(dir, "people.jsonl")
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")

	got := fullmakt(t, nil, "", "import", "--data", data, "--allow-synthetic-ids", "--batch", "5", file)
	if got.code != exitError {
		t.Errorf("import with 2 bad lines = %d, want %d; stderr:\n%s", got.code, exitError, got.stderr)
	}
	for _, want := range []string{
		fmt.Sprintf("%s:4: ", file),
		fmt.Sprintf("%s:%d: ", file, len(lines)),
		fmt.Sprintf("%s: %d records, %d stored, 0 unchanged, 2 failed in ", file, len(lines), len(lines)-2),
		" records/s)",
	} {
		if !strings.Contains(got.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, got.stderr)
		}
	}
	if strings.Contains(got.stderr, badID) {
		t.Errorf("stderr shows the identity number %s:\n%s", badID, got.stderr)
	}
	if fi, err := os.Stat(data); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data directory: %v, mode %v, want 0700", err, fi.Mode().Perm())
	}

	s := openTestStore(t, data)
	for _, c := range cast {
		p, err := s.Person(t.Context(), c.ID)
		if err != nil || p.Name != c.Name {
			t.Errorf("Person(%s) = %q, %v, want %q", c.Name, p.Name, err, c.Name)
		}
	}
	if _, err := s.Person(t.Context(), delegation.PartyID(badID)); !errors.Is(err, delegation.ErrNotFound) {
		t.Errorf("Person(bad line) = %v, want ErrNotFound", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// The same file again: nothing new is stored; the bad lines fail again.
	got = fullmakt(t, nil, "", "import", "--data", data, "--allow-synthetic-ids", file)
	if want := fmt.Sprintf("%s: %d records, 0 stored, %d unchanged, 2 failed", file, len(lines), len(lines)-2); got.code != exitError || !strings.Contains(got.stderr, want) {
		t.Errorf("second import = %d, want %d and %q; stderr:\n%s", got.code, exitError, want, got.stderr)
	}
}

func TestImportFromStdinWithEnvironment(t *testing.T) {
	feed, cast := castFeed(t)
	data := t.TempDir()
	env := map[string]string{"FULLMAKT_DATA": data, "FULLMAKT_ALLOW_SYNTHETIC_IDS": "true", "FULLMAKT_BATCH": "3"}
	got := fullmakt(t, env, strings.Join(feed, "\n"), "import", "-")
	if got.code != exitOK {
		t.Fatalf("import - = %d, want %d; stderr:\n%s", got.code, exitOK, got.stderr)
	}
	if want := fmt.Sprintf("stdin: %d records, %d stored, 0 unchanged, 0 failed", len(feed), len(feed)); !strings.Contains(got.stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, got.stderr)
	}
	s := openTestStore(t, data)
	defer s.Close()
	if _, err := s.Person(t.Context(), cast[0].ID); err != nil {
		t.Errorf("Person(%s) after importing into $FULLMAKT_DATA: %v", cast[0].Name, err)
	}
}

func TestImportRefusesSyntheticIDsByDefault(t *testing.T) {
	feed, _ := castFeed(t)
	got := fullmakt(t, nil, strings.Join(feed, "\n"), "import", "--data", t.TempDir(), "-")
	if got.code != exitError || !strings.Contains(got.stderr, "synthetic test numbers are not accepted") {
		t.Errorf("import of synthetic numbers without --allow-synthetic-ids = %d, stderr:\n%s", got.code, got.stderr)
	}
}

func TestImportStrict(t *testing.T) {
	feed, cast := castFeed(t)
	data := t.TempDir()
	in := strings.Join(feed, "\n") + "\n{\"type\":\"person\"}\n"
	got := fullmakt(t, nil, in, "import", "--data", data, "--allow-synthetic-ids", "--strict", "-")
	if got.code != exitError {
		t.Errorf("strict import with a bad line = %d, want %d", got.code, exitError)
	}
	if want := fmt.Sprintf("stdin:%d: ", len(feed)+1); !strings.Contains(got.stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, got.stderr)
	}
	if want := "stdin: rejected: 1 of"; !strings.Contains(got.stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, got.stderr)
	}
	s := openTestStore(t, data)
	defer s.Close()
	if _, err := s.Person(t.Context(), cast[0].ID); !errors.Is(err, delegation.ErrNotFound) {
		t.Errorf("Person after a rejected strict import = %v, want ErrNotFound", err)
	}
}

func TestImportMissingFile(t *testing.T) {
	got := fullmakt(t, nil, "", "import", "--data", t.TempDir(), "no-such-file.jsonl")
	if got.code != exitError || !regexp.MustCompile(`no-such-file\.jsonl: open .*no such file`).MatchString(got.stderr) {
		t.Errorf("import of a missing file = %d, stderr:\n%s", got.code, got.stderr)
	}
}

// TestReadmeExamplesImport keeps the README's example feed honest.
func TestReadmeExamplesImport(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```jsonl\n(.*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md has no ```jsonl example")
	}
	feed := string(m[1])
	n := strings.Count(feed, "\n")
	for _, typ := range []string{"person", "organization", "parental_responsibility", "guardianship", "role", "fullmakt"} {
		if !strings.Contains(feed, `{"type":"`+typ+`"`) {
			t.Errorf("the README example has no %s line", typ)
		}
	}
	got := fullmakt(t, nil, feed, "import", "--data", t.TempDir(), "--allow-synthetic-ids", "-")
	if want := fmt.Sprintf("stdin: %d records, %d stored, 0 unchanged, 0 failed", n, n); got.code != exitOK || !strings.Contains(got.stderr, want) {
		t.Errorf("import of the README example = %d, want %d and %q; stderr:\n%s", got.code, exitOK, want, got.stderr)
	}
}

func TestImportInterrupted(t *testing.T) {
	feed, _ := castFeed(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // as if SIGINT arrived before the first batch
	var stdout, stderr syncBuffer
	code := run(ctx, []string{"fullmakt", "import", "--data", t.TempDir(), "--allow-synthetic-ids", "-"},
		mapEnv(nil), strings.NewReader(strings.Join(feed, "\n")), &stdout, &stderr)
	if code != exitError || !strings.Contains(stderr.String(), "stdin: interrupted: the batches committed so far are kept") {
		t.Errorf("interrupted import = %d, want %d; stderr:\n%s", code, exitError, stderr.String())
	}
}

// TestReadmeNamesTheCast keeps the README's cast table in step with the demo cast.
func TestReadmeNamesTheCast(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range demo.Cast(time.Now()) {
		if row := fmt.Sprintf("| %s | %d |", c.Name, c.Age); !bytes.Contains(readme, []byte(row)) {
			t.Errorf("README.md has no cast row %q", row)
		}
		if bytes.Contains(readme, []byte(c.ID.String())) {
			t.Errorf("README.md shows the identity number of %s", c.Name)
		}
	}
}
