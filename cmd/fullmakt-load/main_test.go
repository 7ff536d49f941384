package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/delegation/registers/demo"
)

// TestRun drives a stand-in decision API (the real one is measured in
// docs/BENCHMARKS.md) and checks what fullmakt-load sends and reports.
func TestRun(t *testing.T) {
	feed := filepath.Join(t.TempDir(), "feed.jsonl")
	var buf bytes.Buffer
	if _, err := demo.Generate(&buf, demo.Options{Persons: 500, Seed: 1, Now: time.Date(2026, 11, 23, 12, 0, 0, 0, delegation.Oslo())}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(feed, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	var calls, batched atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer k" || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		var body struct {
			Subject     struct{ ID string } `json:"subject"`
			Evaluations []json.RawMessage   `json:"evaluations"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		calls.Add(1)
		switch r.URL.Path {
		case "/access/v1/evaluation":
			if body.Subject.ID == "" {
				http.Error(w, "no subject", http.StatusBadRequest)
				return
			}
			w.Write([]byte(`{"decision": true}`))
		case "/access/v1/evaluations":
			batched.Add(int64(len(body.Evaluations)))
			w.Write([]byte(`{"evaluations": [` + strings.TrimSuffix(strings.Repeat(`{"decision": false},`, len(body.Evaluations)), ",") + `]}`))
		}
	}))
	defer srv.Close()

	var out bytes.Buffer
	err := run(context.Background(), []string{"-url", srv.URL, "-key", "k", "-feed", feed, "-c", "2", "-d", "300ms", "-warmup", "50ms", "-samples", "50"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() == 0 || !strings.Contains(out.String(), "| /access/v1/evaluation | 1 | 2 |") || !strings.Contains(out.String(), "| 0 | 100 % |") {
		t.Errorf("run() made %d calls and printed:\n%s\nwant a row for 2 connections, no errors, all allowed", calls.Load(), out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"-url", srv.URL, "-key", "k", "-feed", feed, "-c", "1", "-d", "200ms", "-warmup", "0s", "-batch", "10", "-samples", "50"}, &out); err != nil {
		t.Fatal(err)
	}
	if batched.Load() == 0 || batched.Load()%10 != 0 || !strings.Contains(out.String(), "| 0 | 0 % |") {
		t.Errorf("batch run sent %d evaluations and printed:\n%s\nwant multiples of 10, all denied", batched.Load(), out.String())
	}
	if err := run(context.Background(), []string{"-url", srv.URL, "-key", "wrong", "-feed", feed, "-c", "1", "-d", "100ms", "-warmup", "0s", "-samples", "20"}, io.Discard); err == nil || !strings.Contains(err.Error(), "no call answered") {
		t.Errorf("run() with a wrong key = %v, want an error saying no call was answered", err)
	}
	if err := run(context.Background(), []string{"-feed", feed}, &out); err == nil {
		t.Error("run() without a key succeeded")
	}
}
