package sdk

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

// tokenClaims are the claims of an access token of the fake's issuer: Kari
// for herself at level substantial, unless changed.
func (f *fakePDP) tokenClaims(mod ...func(map[string]any)) map[string]any {
	now := time.Now()
	c := map[string]any{
		"iss": f.srv.URL, "aud": []string{pdpAudience}, "sub": "kari-sub", "pid": kari,
		"client_id": pdpClientID, "acr": subst, "auth_time": f.authTime,
		"iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(), "jti": "j1", "scope": "openid",
	}
	for _, m := range mod {
		m(c)
	}
	return c
}

// onBehalf makes the token Kari's acting for Sara.
func onBehalf(c map[string]any) {
	c["sub"], c["pid"] = "sara-sub", sara
	c["act"] = map[string]any{"sub": "kari-sub", "pid": kari}
	c["relation"] = map[string]any{"kind": "parent"}
}

func details(services, actions []string) func(map[string]any) {
	return func(c map[string]any) {
		d := map[string]any{"type": "representation", "party": map[string]any{"type": "person", "id": sara}, "services": services}
		if actions != nil {
			d["actions"] = actions
		}
		c["authorization_details"] = []any{d}
	}
}

// served is what a protected handler saw.
type served struct {
	token    *Token
	decision Decision
}

func TestRequire(t *testing.T) {
	otherKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		status    int
		challenge string // WWW-Authenticate, exactly; "-" for none
		problem   string // the problem type, "" for a pass to the handler
		asked     *pdpQuestion
	}
	kariSelf := &pdpQuestion{ActorType: "person", ActorID: kari, ACR: subst, Service: studies, Action: "read"}
	kariForSara := &pdpQuestion{ActorType: "person", ActorID: kari, ACR: subst, HasContext: true, PartyType: "person", PartyID: sara, Service: studies, Action: "read"}
	realm := `Bearer realm="` + pdpAudience + `"`
	invalid := realm + `, error="invalid_token", error_description="the access token is not valid"`
	scope := realm + `, error="insufficient_scope", error_description="the token does not cover this service"`

	tests := []struct {
		name   string
		header func(f *fakePDP) []string // Authorization values
		reply  func(pdpQuestion) pdpReply
		opts   []RequireOption
		want   want
	}{
		{
			name:   "no token",
			header: func(*fakePDP) []string { return nil },
			want:   want{status: 401, challenge: realm, problem: ProblemUnauthorized},
		},
		{
			name:   "another scheme",
			header: func(*fakePDP) []string { return []string{"Basic dXNlcjpwYXNz"} },
			want:   want{status: 401, challenge: realm, problem: ProblemUnauthorized},
		},
		{
			name:   "not a b64token",
			header: func(*fakePDP) []string { return []string{"Bearer abc def"} },
			want:   want{status: 401, challenge: realm + `, error="invalid_token", error_description="the Authorization header does not hold a bearer token"`, problem: ProblemUnauthorized},
		},
		{
			name:   "Bearer alone",
			header: func(*fakePDP) []string { return []string{"Bearer"} },
			want:   want{status: 401, challenge: realm + `, error="invalid_token", error_description="the Authorization header does not hold a bearer token"`, problem: ProblemUnauthorized},
		},
		{
			name: "two headers",
			header: func(f *fakePDP) []string {
				tok := f.mint(t, f.tokenClaims())
				return []string{"Bearer " + tok, "Bearer " + tok}
			},
			want: want{status: 401, challenge: realm + `, error="invalid_token", error_description="the Authorization header does not hold a bearer token"`, problem: ProblemUnauthorized},
		},
		{
			name:   "garbage",
			header: func(*fakePDP) []string { return []string{"Bearer abc.def.ghi"} },
			want:   want{status: 401, challenge: invalid, problem: ProblemUnauthorized},
		},
		{
			name: "signed by another key",
			header: func(f *fakePDP) []string {
				return []string{"Bearer " + signES256(t, otherKey, map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": pdpKeyID}, f.tokenClaims())}
			},
			want: want{status: 401, challenge: invalid, problem: ProblemUnauthorized},
		},
		{
			name: "expired",
			header: func(f *fakePDP) []string {
				return []string{"Bearer " + f.mint(t, f.tokenClaims(func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() }))}
			},
			want: want{status: 401, challenge: invalid, problem: ProblemUnauthorized},
		},
		{
			name: "for another audience",
			header: func(f *fakePDP) []string {
				return []string{"Bearer " + f.mint(t, f.tokenClaims(func(c map[string]any) { c["aud"] = "https://other.example" }))}
			},
			want: want{status: 401, challenge: invalid, problem: ProblemUnauthorized},
		},
		{
			name:   "allowed for herself, lowercase scheme",
			header: func(f *fakePDP) []string { return []string{"bearer " + f.mint(t, f.tokenClaims())} },
			want:   want{status: 200, challenge: "-", asked: kariSelf},
		},
		{
			name:   "allowed on behalf",
			header: func(f *fakePDP) []string { return []string{"Bearer " + f.mint(t, f.tokenClaims(onBehalf))} },
			want:   want{status: 200, challenge: "-", asked: kariForSara},
		},
		{
			name: "on behalf, the details cover the service",
			header: func(f *fakePDP) []string {
				return []string{"Bearer " + f.mint(t, f.tokenClaims(onBehalf, details([]string{"x.y", studies}, nil)))}
			},
			want: want{status: 200, challenge: "-", asked: kariForSara},
		},
		{
			name: "on behalf, the details cover the service and the action",
			header: func(f *fakePDP) []string {
				return []string{"Bearer " + f.mint(t, f.tokenClaims(onBehalf, details([]string{studies}, []string{"read"})))}
			},
			want: want{status: 200, challenge: "-", asked: kariForSara},
		},
		{
			name: "on behalf, the details name another service",
			header: func(f *fakePDP) []string {
				return []string{"Bearer " + f.mint(t, f.tokenClaims(onBehalf, details([]string{"udir.vitnemal"}, nil)))}
			},
			want: want{status: 403, challenge: scope, problem: ProblemInsufficientScope},
		},
		{
			name: "on behalf, the details name another action",
			header: func(f *fakePDP) []string {
				return []string{"Bearer " + f.mint(t, f.tokenClaims(onBehalf, details([]string{studies}, []string{"submit"})))}
			},
			want: want{status: 403, challenge: scope, problem: ProblemInsufficientScope},
		},
		{
			name: "a client's own token",
			header: func(f *fakePDP) []string {
				return []string{"Bearer " + f.mint(t, f.tokenClaims(func(c map[string]any) {
					c["sub"] = pdpClientID
					delete(c, "pid")
					delete(c, "acr")
					delete(c, "auth_time")
				}))}
			},
			want: want{status: 403, challenge: scope, problem: ProblemInsufficientScope},
		},
		{
			name: "no identity number (the client lacks pid)",
			header: func(f *fakePDP) []string {
				return []string{"Bearer " + f.mint(t, f.tokenClaims(func(c map[string]any) { delete(c, "pid") }))}
			},
			want: want{status: 503, challenge: "-", problem: ProblemUnavailable},
		},
		{
			name:   "denied",
			header: func(f *fakePDP) []string { return []string{"Bearer " + f.mint(t, f.tokenClaims(onBehalf))} },
			reply:  func(pdpQuestion) pdpReply { return pdpReply{Reasons: []string{"party_of_age"}} },
			want:   want{status: 403, challenge: "-", problem: ProblemDenied, asked: kariForSara},
		},
		{
			name:   "step-up",
			header: func(f *fakePDP) []string { return []string{"Bearer " + f.mint(t, f.tokenClaims(onBehalf))} },
			reply: func(pdpQuestion) pdpReply {
				return pdpReply{Reasons: []string{"level_too_low"}, StepUp: &StepUp{ACRValues: high, MaxAge: 300 * time.Second}}
			},
			want: want{status: 401, challenge: realm + `, error="insufficient_user_authentication", error_description="A higher level of authentication is required", acr_values="` + high + `", max_age=300`,
				problem: ProblemStepUp, asked: kariForSara},
		},
		{
			name:   "Fullmakt fails",
			header: func(f *fakePDP) []string { return []string{"Bearer " + f.mint(t, f.tokenClaims(onBehalf))} },
			reply:  func(pdpQuestion) pdpReply { return pdpReply{Status: 500} },
			want:   want{status: 503, challenge: "-", problem: ProblemUnavailable, asked: kariForSara},
		},
		{
			name:   "Fullmakt answers garbage",
			header: func(f *fakePDP) []string { return []string{"Bearer " + f.mint(t, f.tokenClaims(onBehalf))} },
			reply:  func(pdpQuestion) pdpReply { return pdpReply{Raw: "{"} },
			want:   want{status: 503, challenge: "-", problem: ProblemUnavailable, asked: kariForSara},
		},
		{
			name:   "with a receipt",
			header: func(f *fakePDP) []string { return []string{"Bearer " + f.mint(t, f.tokenClaims(onBehalf))} },
			reply: func(q pdpQuestion) pdpReply {
				r := allowReply(q)
				r.Receipt = "receipt.jws.here"
				return r
			},
			opts: []RequireOption{WithReceipt()},
			want: want{status: 200, challenge: "-", asked: &pdpQuestion{ActorType: "person", ActorID: kari, ACR: subst, HasContext: true,
				PartyType: "person", PartyID: sara, Service: studies, Action: "read", Receipt: true}},
		},
		{
			name:   "a receipt asked for and not given",
			header: func(f *fakePDP) []string { return []string{"Bearer " + f.mint(t, f.tokenClaims(onBehalf))} },
			opts:   []RequireOption{WithReceipt()},
			want: want{status: 503, challenge: "-", problem: ProblemUnavailable, asked: &pdpQuestion{ActorType: "person", ActorID: kari, ACR: subst, HasContext: true,
				PartyType: "person", PartyID: sara, Service: studies, Action: "read", Receipt: true}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakePDP(t)
			if tt.reply != nil {
				f.setDecide(tt.reply)
			}
			c, log := f.client(t, false)
			var got *served
			h := c.Require(studies, "read", tt.opts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				tok, ok1 := TokenFrom(r.Context())
				d, ok2 := DecisionFrom(r.Context())
				if !ok1 || !ok2 {
					t.Error("the handler found no token or decision in the context")
				}
				got = &served{tok, d}
				w.WriteHeader(http.StatusOK)
			}))
			r := httptest.NewRequest(http.MethodGet, "/api/applications", nil)
			for _, v := range tt.header(f) {
				r.Header.Add("Authorization", v)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)

			if w.Code != tt.want.status {
				t.Errorf("status = %d, want %d; body %s", w.Code, tt.want.status, w.Body)
			}
			challenge := w.Header().Get("WWW-Authenticate")
			if tt.want.challenge == "-" && challenge != "" || tt.want.challenge != "-" && challenge != tt.want.challenge {
				t.Errorf("WWW-Authenticate = %q, want %q", challenge, tt.want.challenge)
			}
			asked := f.questions()
			if tt.want.asked != nil {
				tt.want.asked.AuthTime, tt.want.asked.HasAuthTime = f.authTime, true
			}
			switch {
			case tt.want.asked == nil && len(asked) > 0:
				t.Errorf("Fullmakt was asked %+v, want nothing", asked)
			case tt.want.asked != nil && (len(asked) != 1 || asked[0] != *tt.want.asked):
				t.Errorf("Fullmakt was asked %+v, want %+v", asked, *tt.want.asked)
			}
			if tt.want.problem == "" {
				if got == nil {
					t.Fatal("the handler was not called")
				}
				if got.token.Actor.ID != kari || !got.decision.Allowed {
					t.Errorf("the handler saw %+v, %+v; want Kari's token and an allow", got.token, got.decision)
				}
				if (tt.want.asked.Receipt) != (got.decision.Receipt != "") {
					t.Errorf("the handler's decision has the receipt %q", got.decision.Receipt)
				}
				return
			}
			if got != nil {
				t.Fatal("the handler was called on a refusal")
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type = %q, want application/problem+json", ct)
			}
			var p map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
				t.Fatalf("the body %q is not JSON: %v", w.Body, err)
			}
			if p["type"] != tt.want.problem || p["status"] != float64(tt.want.status) || p["title"] == "" || p["detail"] == "" {
				t.Errorf("the problem = %v, want type %s, status %d, a title and a detail", p, tt.want.problem, tt.want.status)
			}
			if strings.Contains(w.Body.String(), kari) || strings.Contains(w.Body.String(), sara) || strings.Contains(log.String(), kari) || strings.Contains(log.String(), sara) {
				t.Errorf("an identity number was answered or logged: %s\n%s", w.Body, log)
			}
		})
	}
}

func TestRequireDenyProblem(t *testing.T) {
	f := newFakePDP(t)
	f.setDecide(func(pdpQuestion) pdpReply { return pdpReply{Reasons: []string{"party_of_age", "not_permitted"}} })
	c, _ := f.client(t, false)
	h := c.Require(studies, "submit")(http.NotFoundHandler())
	r := httptest.NewRequest(http.MethodPost, "/api/applications", nil)
	r.Header.Set("Authorization", "Bearer "+f.mint(t, f.tokenClaims(onBehalf)))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var p problem
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	want := problem{Type: ProblemDenied, Title: "Not permitted", Status: 403,
		Detail:  "The person you act for is now of age, so their parents no longer act for them.",
		Reasons: []string{"party_of_age", "not_permitted"}}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("the problem = %+v, want %+v", p, want)
	}
}

func TestRequireStepUpIsReadable(t *testing.T) {
	tests := []struct {
		name string
		step StepUp
	}{
		{"acr", StepUp{ACRValues: high}},
		{"acr and max_age", StepUp{ACRValues: high + " idporten-loa-high", MaxAge: 5 * time.Minute}},
		{"max_age alone", StepUp{MaxAge: 300 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakePDP(t)
			f.setDecide(func(pdpQuestion) pdpReply { return pdpReply{Reasons: []string{"level_too_low"}, StepUp: &tt.step} })
			c, _ := f.client(t, false)
			h := c.Require(studies, "submit")(http.NotFoundHandler())
			r := httptest.NewRequest(http.MethodPost, "/api/applications", nil)
			r.Header.Set("Authorization", "Bearer "+f.mint(t, f.tokenClaims()))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusUnauthorized {
				t.Fatalf("status = %d, want 401", w.Code)
			}
			got, ok := ParseChallenge(w.Header())
			if !ok || *got != tt.step {
				t.Errorf("ParseChallenge(%q) = %+v, %v; want %+v", w.Header().Get("WWW-Authenticate"), got, ok, tt.step)
			}
			var p problem
			if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
				t.Fatal(err)
			}
			if p.ACRValues != tt.step.ACRValues || p.MaxAge != int64(tt.step.MaxAge/time.Second) {
				t.Errorf("the problem's step-up = %q, %d; want %+v", p.ACRValues, p.MaxAge, tt.step)
			}
		})
	}
}

func TestRequireCaches(t *testing.T) {
	f := newFakePDP(t)
	c, _ := f.client(t, false)
	var cached []bool
	h := c.Require(studies, "read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, _ := DecisionFrom(r.Context())
		cached = append(cached, d.Cached)
	}))
	tok := f.mint(t, f.tokenClaims(onBehalf))
	for range 3 {
		r := httptest.NewRequest(http.MethodGet, "/api", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	if want := []bool{false, true, true}; !reflect.DeepEqual(cached, want) {
		t.Errorf("the handler saw cached %v, want %v", cached, want)
	}
	if n := f.evaluations.Load(); n != 1 {
		t.Errorf("Fullmakt was asked %d times, want 1", n)
	}
}

func TestRequirePanicsWithoutServiceOrAction(t *testing.T) {
	f := newFakePDP(t)
	c, _ := f.client(t, false)
	for _, args := range [][2]string{{"", "read"}, {studies, ""}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Require(%q, %q) did not panic", args[0], args[1])
				}
			}()
			c.Require(args[0], args[1])
		}()
	}
}

func TestContextWithoutRequire(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	if tok, ok := TokenFrom(r.Context()); ok || tok != nil {
		t.Errorf("TokenFrom(empty) = %v, %v", tok, ok)
	}
	if d, ok := DecisionFrom(r.Context()); ok || d.Allowed {
		t.Errorf("DecisionFrom(empty) = %+v, %v", d, ok)
	}
}
