package delegation_test

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/fullmakt/fullmakt/delegation"
)

func TestAccessEventValidate(t *testing.T) {
	valid := delegation.AccessEvent{
		At: now, Actor: idProxy, Party: idGrantor, Service: "skatteetaten.skattemelding", Action: "submit",
		Allowed: true, Relation: delegation.RelFullmakt, RelationID: "fm_1", PolicyVersion: "2025.03.1", Client: "nav-portal",
	}
	with := func(f func(*delegation.AccessEvent)) delegation.AccessEvent { e := valid; f(&e); return e }
	tests := []struct {
		name    string
		e       delegation.AccessEvent
		wantErr bool
	}{
		{"valid", valid, false},
		{"denied, no relation", with(func(e *delegation.AccessEvent) { e.Allowed, e.Relation, e.RelationID = false, "", "" }), false},
		{"an organisation acts", with(func(e *delegation.AccessEvent) { e.Actor = idOrg }), false},
		{"for an organisation", with(func(e *delegation.AccessEvent) { e.Party = idOrg }), false},
		{"no policy version or client", with(func(e *delegation.AccessEvent) { e.PolicyVersion, e.Client = "", "" }), false},
		{"a Seq set by the caller", with(func(e *delegation.AccessEvent) { e.Seq = 7 }), false},
		{"no actor", with(func(e *delegation.AccessEvent) { e.Actor = "" }), true},
		{"no party", with(func(e *delegation.AccessEvent) { e.Party = "" }), true},
		{"neither actor nor party", with(func(e *delegation.AccessEvent) { e.Actor, e.Party = "", "" }), true},
		{"actor is the party", with(func(e *delegation.AccessEvent) { e.Actor = e.Party }), true},
		{"no service", with(func(e *delegation.AccessEvent) { e.Service = "" }), true},
		{"no action", with(func(e *delegation.AccessEvent) { e.Action = "" }), true},
		{"no time", with(func(e *delegation.AccessEvent) { e.At = time.Time{} }), true},
		{"NUL in the actor", with(func(e *delegation.AccessEvent) { e.Actor += "\x00" }), true},
		{"newline in the party", with(func(e *delegation.AccessEvent) { e.Party = "\n" + e.Party }), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.e.Validate()
			if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, delegation.ErrInvalid)) {
				t.Errorf("%+v.Validate() = %v, want error: %v (ErrInvalid)", tt.e, err, tt.wantErr)
			}
		})
	}
}

func TestAccessEventLogsWithoutIdentityNumbers(t *testing.T) {
	e := delegation.AccessEvent{
		Seq: 42, At: now, Actor: idProxy, Party: idGrantor, Service: "skatteetaten.skattemelding", Action: "submit",
		Allowed: true, Relation: delegation.RelFullmakt, RelationID: "fm_1", PolicyVersion: "2025.03.1", Client: "nav-portal",
	}
	byOrg := e
	byOrg.Actor, byOrg.Relation, byOrg.RelationID = idOrg, delegation.RelRole, ""
	for _, v := range []any{e, &e, byOrg} {
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("decision", "event", v)
		out := buf.String()
		for _, secret := range []string{string(idGrantor), string(idProxy)} {
			if strings.Contains(out, secret) {
				t.Errorf("logging %T wrote identity number %q: %s", v, secret, out)
			}
		}
		// What is not personal stays, so that the line is still useful.
		for _, keep := range []string{`"seq":42`, "skatteetaten.skattemelding", `"action":"submit"`, `"allowed":true`, "2025.03.1", "nav-portal"} {
			if !strings.Contains(out, keep) {
				t.Errorf("logging %T lost %s: %s", v, keep, out)
			}
		}
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("decision", "event", byOrg)
	if !strings.Contains(buf.String(), string(idOrg)) {
		t.Errorf("logging an event by an organisation hid its public organisation number: %s", buf.String())
	}
}
