package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/delegation/bolt"
	"github.com/fullmakt/fullmakt/delegation/registers"
)

// killPersons is the size of the population in the kill test: big enough that an
// import with small batches runs for seconds (the first progress line, which the test
// waits for, comes after one; 50,000 persons once finished in 0.95 s on a quiet
// machine), small enough that the whole test stays well under a minute on two cores.
const killPersons = 150_000

// progressLine matches the progress line of `fullmakt import`, and captures the
// records committed.
var progressLine = regexp.MustCompile(`: [\d,]+ records  .*  ([\d,]+) committed$`)

// TestImportSurvivesKill kills an import with SIGKILL midway and checks that the
// database opens cleanly and holds exactly the batches committed before the kill: a
// gap-free change sequence whose every entry is the next record of the file, fully
// readable; at least as many records as the last progress line said were committed.
// Importing again then completes the file, and a third import changes nothing.
func TestImportSurvivesKill(t *testing.T) {
	skipShortOutsideCI(t, "builds the binary and imports a large file")
	start := time.Now()
	step := func(what string) { t.Logf("%5.1fs %s", time.Since(start).Seconds(), what) }
	dir := t.TempDir()
	bin := buildFullmakt(t, dir)
	step("built the binary")

	file := filepath.Join(dir, "population.jsonl")
	// The binary generates the file: the race detector would make it several times slower in-process.
	got := runBinary(t, bin, "demo-data", "--persons", strconv.Itoa(killPersons), "--seed", "42", "--today", "2026-01-15", "--out", file)
	if got.code != exitOK {
		t.Fatalf("demo-data = %d; stderr:\n%s", got.code, got.stderr)
	}
	step("generated the file")
	records := readFeed(t, file)
	step(fmt.Sprintf("parsed its %d records", len(records)))
	data := filepath.Join(dir, "data")

	// Import with small batches; kill the process once a progress line shows that
	// some batches have been committed.
	cmd := exec.CommandContext(t.Context(), bin, "import", "--data", data, "--batch", "2000", "--allow-synthetic-ids", file)
	cmd.Env = []string{} // nothing from the test's environment
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	committed, output := readUntilCommitted(stderr)
	if committed == 0 {
		cmd.Wait()
		t.Fatalf("the import ended before reporting a committed batch (make killPersons bigger); output:\n%s", output)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("import ended with %v, want killed by SIGKILL (it finished before the kill; make killPersons bigger); output:\n%s", err, output)
	}
	step(fmt.Sprintf("killed the import after %d of %d records were reported committed", committed, len(records)))

	stored := checkStore(t, data, records)
	step(fmt.Sprintf("checked the %d records stored", stored))
	if stored < committed {
		t.Errorf("after the kill the store holds %d records, fewer than the %d reported committed", stored, committed)
	}
	if stored == len(records) {
		t.Errorf("after the kill the store holds every record: the kill came too late to test anything")
	}

	// Import again: the rest of the file is stored, what was there is unchanged.
	got = runBinary(t, bin, "import", "--data", data, "--batch", "2000", "--allow-synthetic-ids", file)
	want := fmt.Sprintf("%s: %s records, %s stored, %s unchanged, 0 failed in ", file,
		thousands(int64(len(records))), thousands(int64(len(records)-stored)), thousands(int64(stored)))
	if got.code != exitOK || !strings.Contains(got.stderr, want) {
		t.Fatalf("import after the kill = %d, want %d and %q; stderr:\n%s", got.code, exitOK, want, got.stderr)
	}
	step("imported again")
	if n := checkStore(t, data, records); n != len(records) {
		t.Errorf("after the second import the store holds %d records, want all %d", n, len(records))
	}
	step("checked every record")

	// A third import changes nothing.
	got = runBinary(t, bin, "import", "--data", data, "--allow-synthetic-ids", file)
	want = fmt.Sprintf("%s: %s records, 0 stored, %s unchanged, 0 failed in ", file, thousands(int64(len(records))), thousands(int64(len(records))))
	if got.code != exitOK || !strings.Contains(got.stderr, want) {
		t.Errorf("third import = %d, want %d and %q; stderr:\n%s", got.code, exitOK, want, got.stderr)
	}
	step("imported a third time")
}

// buildFullmakt builds this package into dir, without the race detector (the binary
// is the subject, not the test).
func buildFullmakt(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "fullmakt")
	cmd := exec.CommandContext(t.Context(), "go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func runBinary(t *testing.T, bin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(t.Context(), bin, args...)
	cmd.Env = []string{}
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := cmd.ProcessState.ExitCode()
	if err != nil && code < 0 {
		t.Fatalf("%s %q: %v", bin, args, err)
	}
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// readUntilCommitted reads progress lines until one reports a committed batch, and
// returns that count (0 if the output ended first) and the output read.
func readUntilCommitted(r interface{ Read([]byte) (int, error) }) (committed int, output string) {
	var out strings.Builder
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if m := progressLine.FindStringSubmatch(sc.Text()); m != nil {
			n, _ := strconv.Atoi(strings.ReplaceAll(m[1], ",", ""))
			if n > 0 {
				return n, out.String()
			}
		}
	}
	return 0, out.String()
}

// readFeed parses every line of the file as the import does.
func readFeed(t *testing.T, file string) []delegation.Record {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var recs []delegation.Record
	for i, line := range bytes.Split(bytes.TrimSuffix(raw, []byte("\n")), []byte("\n")) {
		rec, err := registers.ParseLine(line, delegation.IDRules{AllowSynthetic: true})
		if err != nil {
			t.Fatalf("%s:%d: %v", file, i+1, err)
		}
		recs = append(recs, rec)
	}
	return recs
}

// checkStore opens the store (which must open cleanly), checks that its change
// sequence runs from 1 to LastChange without a gap, and that change i stored record
// i of the file, which reads back as it is in the file: the store holds exactly the
// first LastChange records. It returns that number.
func checkStore(t *testing.T, data string, records []delegation.Record) int {
	t.Helper()
	s, err := bolt.Open(filepath.Join(data, dbFile), bolt.Options{})
	if err != nil {
		t.Fatalf("open the store: %v", err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	}()
	ctx := t.Context()
	last, err := s.LastChange(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if last > uint64(len(records)) {
		t.Fatalf("LastChange() = %d, more than the %d records of the file", last, len(records))
	}
	var seq uint64
	for seq < last {
		changes, err := s.Changes(ctx, seq, 5000)
		if err != nil {
			t.Fatal(err)
		}
		if len(changes) == 0 {
			t.Fatalf("Changes(%d) is empty, want changes up to %d", seq, last)
		}
		for _, c := range changes {
			seq++
			if c.Seq != seq {
				t.Fatalf("change %d follows change %d: a gap", c.Seq, seq-1)
			}
			if err := readBack(ctx, s, c, records[seq-1]); err != nil {
				t.Fatalf("change %d, line %d of the file: %v", c.Seq, seq, err)
			}
		}
	}
	if more, err := s.Changes(ctx, last, 1); err != nil || len(more) != 0 {
		t.Fatalf("Changes(after LastChange %d) = %v, %v, want none", last, more, err)
	}
	return int(last)
}

// readBack checks that change c stored rec, and that the store returns rec as it is.
func readBack(ctx context.Context, s *bolt.Store, c delegation.Change, rec delegation.Record) error {
	if want := changeKind(rec); c.Kind != want {
		return fmt.Errorf("change kind %s, want %s for the record on that line", c.Kind, want)
	}
	switch r := rec.(type) {
	case delegation.Person:
		got, err := s.Person(ctx, r.ID)
		if err != nil {
			return err
		}
		if got != r {
			return fmt.Errorf("person differs (-stored +file):\n%s", cmp.Diff(got, r))
		}
	case delegation.Organization:
		got, err := s.Organization(ctx, r.ID)
		if err != nil {
			return err
		}
		if got != r {
			return fmt.Errorf("organization differs (-stored +file):\n%s", cmp.Diff(got, r))
		}
	case delegation.ParentalResponsibility:
		rels, err := s.Relations(ctx, r.Parent, r.Child)
		if err != nil {
			return err
		}
		if !slices.Contains(rels.Parental, r) {
			return fmt.Errorf("parental responsibility not stored as in the file: %+v", rels.Parental)
		}
	case delegation.Guardianship:
		rels, err := s.Relations(ctx, r.Guardian, r.Ward)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(rels.Guardianships, func(g delegation.Guardianship) bool { return cmp.Equal(g, r) }) {
			return fmt.Errorf("guardianship not stored as in the file: %+v", rels.Guardianships)
		}
	case delegation.Role:
		rels, err := s.Relations(ctx, r.Person, r.Organization)
		if err != nil {
			return err
		}
		if !slices.Contains(rels.Roles, r) {
			return fmt.Errorf("role not stored as in the file: %+v", rels.Roles)
		}
	case delegation.Fullmakt:
		got, err := s.Fullmakt(ctx, r.ID)
		if err != nil {
			return err
		}
		if got.Grantor != r.Grantor || got.Proxy != r.Proxy || !cmp.Equal(got.Scope, r.Scope) || got.Period != r.Period ||
			got.MaySubdelegate != r.MaySubdelegate || got.Status != delegation.StatusActive || got.Origin != delegation.OriginMigration {
			return fmt.Errorf("fullmakt differs (-stored +file):\n%s", cmp.Diff(got, r))
		}
	default:
		return fmt.Errorf("unexpected record %T", rec)
	}
	return nil
}

func changeKind(rec delegation.Record) delegation.ChangeKind {
	switch rec.(type) {
	case delegation.Person:
		return delegation.ChangePerson
	case delegation.Organization:
		return delegation.ChangeOrganization
	case delegation.ParentalResponsibility:
		return delegation.ChangeParental
	case delegation.Guardianship:
		return delegation.ChangeGuardianship
	case delegation.Role:
		return delegation.ChangeRole
	case delegation.Fullmakt:
		return delegation.ChangeFullmaktCreated
	}
	return ""
}

// skipShortOutsideCI lets a developer leave out a slow test with -short. Under CI
// (CI=true) it never skips: a skipped test must not pass for a green run.
func skipShortOutsideCI(t *testing.T, why string) {
	t.Helper()
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("-short: " + why)
	}
}
