package authzen

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// clientKey is the context key of the authenticated Client.
type clientKey struct{}

// clientOf returns the client api authenticated.
func clientOf(ctx context.Context) Client {
	c, _ := ctx.Value(clientKey{}).(Client)
	return c
}

// api wraps a POST endpoint (§10): the response is never cached and carries the
// request's X-Request-ID; the client must authenticate (401, §11.3) and send
// application/json (415); the body is bounded (413, read by a.body).
func (a *API) api(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		echoRequestID(w, r)
		client, ok := a.authenticate(w, r)
		if !ok {
			return
		}
		if !isJSON(r.Header.Get("Content-Type")) {
			problem(w, http.StatusUnsupportedMediaType, "the body must be application/json", "")
			return
		}
		if r.ContentLength > a.cfg.MaxBodyBytes {
			problem(w, http.StatusRequestEntityTooLarge, tooLarge(a.cfg.MaxBodyBytes), "")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, a.cfg.MaxBodyBytes)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientKey{}, client)))
	})
}

// authenticate finds the client of r (§11.3); when there is none it has
// answered 401.
func (a *API) authenticate(w http.ResponseWriter, r *http.Request) (Client, bool) {
	client, ok := a.auth.Authenticate(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="fullmakt"`)
		problem(w, http.StatusUnauthorized, "a valid API key is required (Authorization: Bearer <key>)", "")
	}
	return client, ok
}

func tooLarge(n int64) string {
	return "the body is larger than " + strconv.FormatInt(n, 10) + " bytes"
}

// body reads the request body; on failure it has written the error response (413
// for a body over the limit) and returns false.
func (a *API) body(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	b, err := io.ReadAll(r.Body)
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		problem(w, http.StatusRequestEntityTooLarge, tooLarge(tooBig.Limit), "")
		return nil, false
	case err != nil:
		problem(w, http.StatusBadRequest, "the body could not be read", "")
		return nil, false
	}
	return b, true
}

// object reads the body and parses it as one JSON object; on failure it has
// answered with a problem.
func (a *API) object(w http.ResponseWriter, r *http.Request) (object, bool) {
	body, ok := a.body(w, r)
	if !ok {
		return nil, false
	}
	top, fe := parseBody(body)
	if fe != nil {
		badRequest(w, fe)
		return nil, false
	}
	return top, true
}

// isJSON reports whether a Content-Type is application/json, in UTF-8 if a
// charset is given. Form types, text/plain and JSON-suffixed types are not.
func isJSON(contentType string) bool {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "application/json" {
		return false
	}
	cs, ok := params["charset"]
	return !ok || strings.EqualFold(cs, "utf-8")
}

// echoRequestID returns the request's X-Request-ID unchanged (§10.1.3).
func echoRequestID(w http.ResponseWriter, r *http.Request) {
	if id := r.Header.Get("X-Request-ID"); id != "" {
		w.Header().Set("X-Request-ID", id)
	}
}

// methodNotAllowed answers a method other than allow on an endpoint's path.
func (a *API) methodNotAllowed(allow string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Allow", allow)
		echoRequestID(w, r)
		problem(w, http.StatusMethodNotAllowed, "use "+allow, "")
	})
}

// problemJSON is an RFC 9457 problem detail; Field is the JSON path of the member
// at fault, when one is.
type problemJSON struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	Field  string `json:"field,omitempty"`
}

// problem writes an error response. detail must not hold identity numbers.
func problem(w http.ResponseWriter, status int, detail, field string) {
	b, _ := json.Marshal(problemJSON{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail, Field: field})
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// badRequest writes the 400 of a field error.
func badRequest(w http.ResponseWriter, e *fieldError) {
	problem(w, http.StatusBadRequest, e.msg, e.field)
}

// internalError logs err and answers 500 without saying why: the client fails
// closed. err must not hold identity numbers (the store's errors do not).
func (a *API) internalError(w http.ResponseWriter, r *http.Request, err error) {
	level := slog.LevelError
	if errors.Is(err, context.Canceled) {
		level = slog.LevelWarn // the client went away
	}
	a.log.LogAttrs(r.Context(), level, "authzen: the decision could not be made",
		slog.String("route", r.Pattern), slog.String("client", clientOf(r.Context()).ID),
		slog.String("request_id", r.Header.Get("X-Request-ID")), slog.String("error", err.Error()))
	problem(w, http.StatusInternalServerError, "the decision could not be made; deny and try again later", "")
}

// writeJSON writes a 200 application/json response.
func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil { // the response types always marshal
		problem(w, http.StatusInternalServerError, "the response could not be written", "")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(append(b, '\n'))
}
