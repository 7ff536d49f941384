package main

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestCaseStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cases")
	s, err := openCaseStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("the case directory: %v, %v; want mode 0700", fi.Mode(), err)
	}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	mk := func(subject string, at time.Duration) Case {
		return Case{ID: newCaseID(), Created: t0.Add(at), SubmitterSubject: subject, Applicant: PartyRecord{Type: "person", ID: "17051212345"}}
	}
	kari1, tor, kari2 := mk("kari", 0), mk("tor", time.Minute), mk("kari", time.Hour)
	for _, c := range []Case{kari1, tor, kari2} {
		if err := s.Put(c); err != nil {
			t.Fatalf("Put(%s) = %v", c.ID, err)
		}
	}

	got, err := s.Get(tor.ID)
	if err != nil || got.SubmitterSubject != "tor" || !got.Created.Equal(tor.Created) {
		t.Errorf("Get(%s) = %+v, %v; want Tor's case", tor.ID, got, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, tor.ID+".json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("a case file: %v, %v; want mode 0600", fi.Mode(), err)
	}

	list, err := s.BySubmitter("kari")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range list {
		ids = append(ids, c.ID)
	}
	if want := []string{kari2.ID, kari1.ID}; !slices.Equal(ids, want) {
		t.Errorf("BySubmitter(kari) = %v, want %v (newest first, nobody else's)", ids, want)
	}
	if list, _ := s.BySubmitter("nobody"); len(list) != 0 {
		t.Errorf("BySubmitter(nobody) = %d cases, want none", len(list))
	}

	for _, id := range []string{"", "../cases", "ABCDEFGHIJKLMNOP", "aaaa", tor.ID + ".json", "aaaaaaaaaaaaaaa1"} {
		if _, err := s.Get(id); !errors.Is(err, errNoCase) {
			t.Errorf("Get(%q) = %v, want errNoCase", id, err)
		}
	}
	if err := s.Put(Case{ID: "../escape"}); err == nil {
		t.Error("Put with a bad id succeeded")
	}

	// No temporary file is left behind, and a half-written one is never listed.
	if err := os.WriteFile(filepath.Join(dir, ".case-123.tmp"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if list, err := s.BySubmitter("kari"); err != nil || len(list) != 2 {
		t.Errorf("BySubmitter with a stray temporary file = %d, %v; want 2 cases", len(list), err)
	}
}

// Writes of one case from many goroutines leave one whole case.
func TestCaseStoreConcurrentPuts(t *testing.T) {
	s, err := openCaseStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	id := newCaseID()
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Put(Case{ID: id, SubmitterSubject: "s", ApplicantName: string(rune('a' + i))}); err != nil {
				t.Errorf("Put: %v", err)
			}
		}()
	}
	wg.Wait()
	c, err := s.Get(id)
	if err != nil || c.SubmitterSubject != "s" || len(c.ApplicantName) != 1 {
		t.Errorf("Get after concurrent Puts = %+v, %v", c, err)
	}
	entries, _ := os.ReadDir(s.dir)
	if len(entries) != 1 {
		t.Errorf("the directory holds %d files, want 1", len(entries))
	}
}

func TestNewCaseID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := newCaseID()
		if !caseID.MatchString(id) {
			t.Fatalf("newCaseID() = %q does not match %v", id, caseID)
		}
		if seen[id] {
			t.Fatalf("newCaseID() repeated %q", id)
		}
		seen[id] = true
	}
}
