package main

import (
	"cmp"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// A Case is one application as the office archives it: what was applied for,
// for whom and by whom, the diploma fetched from the diplomas API, and the signed
// receipt of the decision that let it in.
type Case struct {
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
	// Applicant is whom the application is for; ApplicantName is as the web
	// front showed it.
	Applicant     PartyRecord `json:"applicant"`
	ApplicantName string      `json:"applicant_name,omitempty"`
	// SubmitterSubject is the actor's opaque subject at Fullmakt: a case is shown
	// only to the person who submitted it.
	SubmitterSubject string      `json:"submitter_subject"`
	Submitter        PartyRecord `json:"submitter"`
	SubmitterName    string      `json:"submitter_name,omitempty"`
	// Relation is why the submitter could act for the applicant: self, parent,
	// guardian, fullmakt, role.
	Relation string    `json:"relation"`
	ACR      string    `json:"acr"`
	AuthTime time.Time `json:"auth_time,omitzero"`
	// Via lists the clients between the person and the API.
	Via         []string    `json:"via,omitempty"`
	Application Application `json:"application"`
	// Diploma is the diplomas API's answer; DiplomaError says why there is none.
	Diploma      *Diploma `json:"diploma,omitempty"`
	DiplomaError string   `json:"diploma_error,omitempty"`
	Receipt      Archived `json:"receipt"`
}

// PartyRecord is a party in a case file.
type PartyRecord struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// Application is what the applicant asks for.
type Application struct {
	School       string `json:"school"`
	Programme    string `json:"programme"`
	AcademicYear string `json:"academic_year"`
}

// Archived is a decision receipt with the public key that signed it, so that
// the case can be checked after Fullmakt has retired the key.
type Archived struct {
	JWS    string          `json:"jws"`
	Key    json.RawMessage `json:"key"`
	KeyID  string          `json:"kid,omitempty"`
	Issuer string          `json:"issuer"`
}

// errNoCase: no case with that id.
var errNoCase = errors.New("case not found")

// caseID matches the ids newCaseID makes; anything else is never a file name.
var caseID = regexp.MustCompile(`^[a-z2-7]{16}$`)

// newCaseID returns a random case id of 16 base32 letters (80 bits).
func newCaseID() string {
	b := make([]byte, 10)
	rand.Read(b)
	return strings.ToLower(base32.StdEncoding.EncodeToString(b))
}

// caseStore keeps each case as a JSON file, DIR/ID.json, written atomically (a
// temporary file renamed into place), so that a crash never leaves half a case.
type caseStore struct {
	dir string
	mu  sync.Mutex // serialises writes with listings
}

// openCaseStore creates dir (mode 0700) when missing.
func openCaseStore(dir string) (*caseStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("case store: %w", err)
	}
	return &caseStore{dir: dir}, nil
}

// Put stores c, which must have a valid id.
func (s *caseStore) Put(c Case) error {
	if !caseID.MatchString(c.ID) {
		return fmt.Errorf("case store: bad id %q", c.ID)
	}
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("case store: encode %s: %w", c.ID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tmp, err := os.CreateTemp(s.dir, ".case-*.tmp")
	if err != nil {
		return fmt.Errorf("case store: %w", err)
	}
	// CreateTemp makes the file 0600 already.
	_, err = tmp.Write(append(data, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(s.dir, c.ID+".json"))
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("case store: write %s: %w", c.ID, err)
	}
	return nil
}

// Get returns the case with the id, or errNoCase.
func (s *caseStore) Get(id string) (Case, error) {
	if !caseID.MatchString(id) {
		return Case{}, errNoCase
	}
	data, err := os.ReadFile(filepath.Join(s.dir, id+".json"))
	if errors.Is(err, fs.ErrNotExist) {
		return Case{}, errNoCase
	}
	if err != nil {
		return Case{}, fmt.Errorf("case store: read %s: %w", id, err)
	}
	var c Case
	if err := json.Unmarshal(data, &c); err != nil {
		return Case{}, fmt.Errorf("case store: decode %s: %w", id, err)
	}
	return c, nil
}

// BySubmitter returns the cases submitted by the actor with the subject, newest
// first. (It reads every file: fine for an example office.)
func (s *caseStore) BySubmitter(subject string) ([]Case, error) {
	s.mu.Lock()
	entries, err := os.ReadDir(s.dir)
	s.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("case store: %w", err)
	}
	var cases []Case
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || !caseID.MatchString(id) {
			continue
		}
		c, err := s.Get(id)
		if errors.Is(err, errNoCase) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if c.SubmitterSubject == subject {
			cases = append(cases, c)
		}
	}
	slices.SortFunc(cases, func(a, b Case) int { return cmp.Or(b.Created.Compare(a.Created), cmp.Compare(a.ID, b.ID)) })
	return cases, nil
}
