package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"time"
)

// handleHealthz is the liveness probe: the process is up and serving HTTP.
func handleHealthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, "ok\n")
	})
}

// readyTimeout bounds the store read of the readiness probe.
const readyTimeout = time.Second

// handleReadyz is the readiness probe: the store answers a cheap read.
func (s *server) handleReadyz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		if _, err := s.store.LastChange(ctx); err != nil {
			s.log.LogAttrs(r.Context(), slog.LevelWarn, "not ready: the store does not answer", slog.Any("error", err))
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "not ready\n")
			return
		}
		io.WriteString(w, "ready\n")
	})
}
