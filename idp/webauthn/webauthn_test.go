package webauthn_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"
	"github.com/google/go-cmp/cmp"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/delegation/bolt"
	"github.com/fullmakt/fullmakt/idp/accounts"
	"github.com/fullmakt/fullmakt/idp/webauthn"
)

// The people of the tests (person identifiers; the store does not check control
// digits).
const (
	kari delegation.PartyID = "01017012345"
	ola  delegation.PartyID = "05057512345"
)

var rp = virtualwebauthn.RelyingParty{ID: "localhost", Name: "Fullmakt", Origin: "http://localhost:8080"}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fixture is the ceremonies over a real bbolt store in a temporary directory, at
// 10 March 2025, noon in Oslo (far from the wall clock on purpose).
type fixture struct {
	t     *testing.T
	ctx   context.Context
	c     *webauthn.Ceremonies
	store *bolt.Store
	clock *clock
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	oslo, err := time.LoadLocation("Europe/Oslo")
	if err != nil {
		t.Fatal(err)
	}
	store, err := bolt.Open(filepath.Join(t.TempDir(), "fullmakt.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	clk := &clock{t: time.Date(2025, 3, 10, 12, 0, 0, 0, oslo)}
	c, err := webauthn.New(webauthn.Config{
		RPID: "localhost", RPDisplayName: "Fullmakt", Origins: []string{"http://localhost:8080"},
	}, store, store, clk.Now)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &fixture{t: t, ctx: context.Background(), c: c, store: store, clock: clk}
}

// device is a software authenticator holding one credential.
type device struct {
	auth virtualwebauthn.Authenticator
	cred virtualwebauthn.Credential
}

func newDevice(opts virtualwebauthn.AuthenticatorOptions) *device {
	return &device{
		auth: virtualwebauthn.NewAuthenticatorWithOptions(opts),
		cred: virtualwebauthn.NewCredentialWithImportedKey(virtualwebauthn.KeyTypeEC2, p256Key()),
	}
}

// p256Key returns a new P-256 private key (PKCS #8) whose coordinates both have
// no leading zero byte: virtualwebauthn writes them without padding, which the
// library rightly refuses (once in about 128 keys).
func p256Key() []byte {
	for {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		pub, err := k.PublicKey.Bytes() // 0x04 | X | Y
		if err != nil {
			panic(err)
		}
		if pub[1] == 0 || pub[33] == 0 {
			continue
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			panic(err)
		}
		return der
	}
}

// create answers creation options as the browser would, with the device.
func (d *device) create(t *testing.T, options []byte) []byte {
	t.Helper()
	ao, err := virtualwebauthn.ParseAttestationOptions(string(options))
	if err != nil {
		t.Fatalf("ParseAttestationOptions: %v", err)
	}
	d.auth.Options.UserHandle = []byte(ao.UserID)
	return []byte(virtualwebauthn.CreateAttestationResponse(rp, d.auth, d.cred, *ao))
}

// get answers request options with the device's credential, its counter moved
// forward first.
func (d *device) get(t *testing.T, options []byte) []byte {
	t.Helper()
	d.cred.Counter++
	return d.getAt(t, options, d.cred.Counter)
}

// getAt answers request options with the counter at n.
func (d *device) getAt(t *testing.T, options []byte, n uint32) []byte {
	t.Helper()
	ao, err := virtualwebauthn.ParseAssertionOptions(string(options))
	if err != nil {
		t.Fatalf("ParseAssertionOptions: %v", err)
	}
	cred := d.cred
	cred.Counter = n
	return []byte(virtualwebauthn.CreateAssertionResponse(rp, d.auth, cred, *ao))
}

// register registers d for person at level and returns the stored passkey.
func (f *fixture) register(person delegation.PartyID, level authz.Level, d *device) accounts.Passkey {
	f.t.Helper()
	options, id, err := f.c.BeginRegistration(f.ctx, person, "Kari Nordmann")
	if err != nil {
		f.t.Fatalf("BeginRegistration: %v", err)
	}
	p, err := f.c.FinishRegistration(f.ctx, id, person, level, "", d.create(f.t, options))
	if err != nil {
		f.t.Fatalf("FinishRegistration: %v", err)
	}
	return p
}

// login logs in with d.
func (f *fixture) login(d *device) (webauthn.Result, error) {
	f.t.Helper()
	options, id, err := f.c.BeginLogin(f.ctx, false)
	if err != nil {
		f.t.Fatalf("BeginLogin: %v", err)
	}
	return f.c.FinishLogin(f.ctx, id, d.get(f.t, options))
}

// stored returns the stored passkey id.
func (f *fixture) stored(id []byte) accounts.Passkey {
	f.t.Helper()
	p, err := f.store.Passkey(f.ctx, id)
	if err != nil {
		f.t.Fatalf("Passkey: %v", err)
	}
	return p
}

// publicKey decodes the "publicKey" member of options.
func publicKey(t *testing.T, options []byte) map[string]any {
	t.Helper()
	var v struct {
		PublicKey map[string]any `json:"publicKey"`
		Mediation string         `json:"mediation"`
	}
	if err := json.Unmarshal(options, &v); err != nil {
		t.Fatalf("options %s: %v", options, err)
	}
	if v.PublicKey == nil {
		t.Fatalf("options %s: no publicKey", options)
	}
	v.PublicKey["mediation"] = v.Mediation
	return v.PublicKey
}

func TestRegisterLoginStepUp(t *testing.T) {
	f := newFixture(t)
	phone := newDevice(virtualwebauthn.AuthenticatorOptions{})

	// Registration asks for a discoverable credential with user verification, and
	// for credProps.
	options, id, err := f.c.BeginRegistration(f.ctx, kari, "Kari Nordmann")
	if err != nil {
		t.Fatalf("BeginRegistration: %v", err)
	}
	pk := publicKey(t, options)
	sel, _ := pk["authenticatorSelection"].(map[string]any)
	if sel["residentKey"] != "required" || sel["userVerification"] != "required" {
		t.Errorf("authenticatorSelection = %v, want residentKey and userVerification required", sel)
	}
	if ext, _ := pk["extensions"].(map[string]any); ext["credProps"] != true {
		t.Errorf("extensions = %v, want credProps", pk["extensions"])
	}
	if pk["timeout"] != float64(120000) || pk["attestation"] != "none" {
		t.Errorf("timeout, attestation = %v, %v, want 120000 (2 minutes), none", pk["timeout"], pk["attestation"])
	}
	if user, _ := pk["user"].(map[string]any); strings.Contains(string(options), string(kari)) || user["displayName"] != "Kari Nordmann" {
		t.Errorf("user = %v, want the display name and no identity number", user)
	}
	created := f.clock.Now()
	p, err := f.c.FinishRegistration(f.ctx, id, kari, authz.LevelSubstantial, "  My phone ", phone.create(t, options))
	if err != nil {
		t.Fatalf("FinishRegistration: %v", err)
	}
	want := accounts.Passkey{ID: phone.cred.ID, Person: kari, Name: "My phone", Level: authz.LevelSubstantial, Created: created}
	if diff := cmp.Diff(want, p, cmp.FilterPath(func(p cmp.Path) bool { return p.String() == "Credential" }, cmp.Ignore())); diff != "" {
		t.Errorf("FinishRegistration (-want +got):\n%s", diff)
	}
	phone.auth.AddCredential(phone.cred)

	// A second registration excludes the passkey, and is named by default.
	laptop := newDevice(virtualwebauthn.AuthenticatorOptions{})
	options, id, err = f.c.BeginRegistration(f.ctx, kari, "Kari Nordmann")
	if err != nil {
		t.Fatalf("BeginRegistration: %v", err)
	}
	exclude, _ := publicKey(t, options)["excludeCredentials"].([]any)
	if len(exclude) != 1 || exclude[0].(map[string]any)["id"] != base64.RawURLEncoding.EncodeToString(phone.cred.ID) {
		t.Errorf("excludeCredentials = %v, want the phone's passkey", exclude)
	}
	p2, err := f.c.FinishRegistration(f.ctx, id, kari, authz.LevelLow, "", laptop.create(t, options))
	if err != nil {
		t.Fatalf("FinishRegistration: %v", err)
	}
	if p2.Name != "Passkey 2" {
		t.Errorf("default name = %q, want %q", p2.Name, "Passkey 2")
	}

	// Log in, usernameless.
	f.clock.Add(time.Minute)
	options, id, err = f.c.BeginLogin(f.ctx, false)
	if err != nil {
		t.Fatalf("BeginLogin: %v", err)
	}
	if pk := publicKey(t, options); pk["userVerification"] != "required" || pk["allowCredentials"] != nil || pk["mediation"] != "" {
		t.Errorf("login options = %v, want user verification and no allowCredentials", pk)
	}
	r, err := f.c.FinishLogin(f.ctx, id, phone.get(t, options))
	if err != nil {
		t.Fatalf("FinishLogin: %v", err)
	}
	if r.Person != kari || r.Level != authz.LevelSubstantial || !slices.Equal(r.AMR, []string{"hwk", "user", "mfa"}) {
		t.Errorf("FinishLogin = %v %v %v, want kari substantial [hwk user mfa]", r.Person, r.Level, r.AMR)
	}
	if !r.Passkey.LastUsed.Equal(f.clock.Now()) || r.Passkey.SignCount != 1 || r.Passkey.CloneWarning {
		t.Errorf("passkey after login = last used %v count %d clone %v, want now, 1, false", r.Passkey.LastUsed, r.Passkey.SignCount, r.Passkey.CloneWarning)
	}
	if s := f.stored(phone.cred.ID); !s.LastUsed.Equal(f.clock.Now()) || s.SignCount != 1 {
		t.Errorf("stored after login = last used %v count %d, want now and 1", s.LastUsed, s.SignCount)
	}

	// Conditional mediation (autofill).
	options, id, err = f.c.BeginLogin(f.ctx, true)
	if err != nil {
		t.Fatalf("BeginLogin(conditional): %v", err)
	}
	if pk := publicKey(t, options); pk["mediation"] != "conditional" {
		t.Errorf("conditional login mediation = %v, want conditional", pk["mediation"])
	}
	if r, err := f.c.FinishLogin(f.ctx, id, phone.get(t, options)); err != nil || r.Person != kari {
		t.Errorf("FinishLogin(conditional) = %v, %v, want kari", r.Person, err)
	}

	// Step up to substantial: only the phone's passkey is allowed.
	options, id, err = f.c.BeginStepUp(f.ctx, kari, authz.LevelSubstantial)
	if err != nil {
		t.Fatalf("BeginStepUp: %v", err)
	}
	allow, _ := publicKey(t, options)["allowCredentials"].([]any)
	if len(allow) != 1 || allow[0].(map[string]any)["id"] != base64.RawURLEncoding.EncodeToString(phone.cred.ID) {
		t.Errorf("allowCredentials = %v, want the phone's passkey only", allow)
	}
	r, err = f.c.FinishStepUp(f.ctx, id, kari, phone.get(t, options))
	if err != nil {
		t.Fatalf("FinishStepUp: %v", err)
	}
	if r.Person != kari || r.Level != authz.LevelSubstantial || r.Passkey.SignCount != 3 {
		t.Errorf("FinishStepUp = %v %v count %d, want kari substantial 3", r.Person, r.Level, r.Passkey.SignCount)
	}
}

func TestRefusals(t *testing.T) {
	noUV := virtualwebauthn.AuthenticatorOptions{UserNotVerified: true}
	tests := []struct {
		name string
		// run does the ceremonies and returns the error of the one that must fail.
		run  func(f *fixture) error
		want error
		// check, if set, looks at the store afterwards.
		check func(f *fixture)
	}{
		{
			name: "registration without user verification",
			run: func(f *fixture) error {
				d := newDevice(noUV)
				options, id, err := f.c.BeginRegistration(f.ctx, kari, "Kari")
				if err != nil {
					return err
				}
				_, err = f.c.FinishRegistration(f.ctx, id, kari, authz.LevelHigh, "", d.create(f.t, options))
				return err
			},
			want: webauthn.ErrUserVerification,
			check: func(f *fixture) {
				if ps, _ := f.store.Passkeys(f.ctx, kari); len(ps) != 0 {
					f.t.Errorf("Passkeys = %d, want none stored", len(ps))
				}
			},
		},
		{
			name: "login without user verification",
			run: func(f *fixture) error {
				d := newDevice(virtualwebauthn.AuthenticatorOptions{})
				f.register(kari, authz.LevelHigh, d)
				d.auth.Options.UserNotVerified = true
				_, err := f.login(d)
				return err
			},
			want: webauthn.ErrUserVerification,
		},
		{
			name: "step-up without user verification",
			run: func(f *fixture) error {
				d := newDevice(virtualwebauthn.AuthenticatorOptions{})
				f.register(kari, authz.LevelHigh, d)
				d.auth.Options.UserNotVerified = true
				options, id, err := f.c.BeginStepUp(f.ctx, kari, authz.LevelHigh)
				if err != nil {
					return err
				}
				_, err = f.c.FinishStepUp(f.ctx, id, kari, d.get(f.t, options))
				return err
			},
			want: webauthn.ErrUserVerification,
		},
		{
			name: "counter going back",
			run: func(f *fixture) error {
				d := newDevice(virtualwebauthn.AuthenticatorOptions{})
				f.register(kari, authz.LevelHigh, d)
				options, id, _ := f.c.BeginLogin(f.ctx, false)
				if _, err := f.c.FinishLogin(f.ctx, id, d.getAt(f.t, options, 5)); err != nil {
					f.t.Fatalf("FinishLogin at 5: %v", err)
				}
				options, id, _ = f.c.BeginLogin(f.ctx, false)
				_, err := f.c.FinishLogin(f.ctx, id, d.getAt(f.t, options, 3))
				if !errors.Is(err, webauthn.ErrCloned) {
					return err
				}
				// Flagged for good: a counter that moves on again is refused too.
				options, id, _ = f.c.BeginLogin(f.ctx, false)
				_, err = f.c.FinishLogin(f.ctx, id, d.getAt(f.t, options, 9))
				return err
			},
			want: webauthn.ErrCloned,
			check: func(f *fixture) {
				ps, _ := f.store.Passkeys(f.ctx, kari)
				if len(ps) != 1 || !ps[0].CloneWarning || ps[0].SignCount != 5 {
					f.t.Errorf("stored passkeys = %d, want 1 flagged with count 5", len(ps))
				} else if !ps[0].LastUsed.Equal(f.clock.Now()) {
					f.t.Errorf("LastUsed = %v, want the good login's", ps[0].LastUsed)
				}
			},
		},
		{
			name: "counter standing still",
			run: func(f *fixture) error {
				d := newDevice(virtualwebauthn.AuthenticatorOptions{})
				f.register(kari, authz.LevelHigh, d)
				options, id, _ := f.c.BeginLogin(f.ctx, false)
				if _, err := f.c.FinishLogin(f.ctx, id, d.getAt(f.t, options, 7)); err != nil {
					f.t.Fatalf("FinishLogin at 7: %v", err)
				}
				options, id, _ = f.c.BeginStepUp(f.ctx, kari, authz.LevelHigh)
				_, err := f.c.FinishStepUp(f.ctx, id, kari, d.getAt(f.t, options, 7))
				return err
			},
			want: webauthn.ErrCloned,
			check: func(f *fixture) {
				if ps, _ := f.store.Passkeys(f.ctx, kari); len(ps) != 1 || !ps[0].CloneWarning {
					f.t.Errorf("stored passkeys = %d, want 1 flagged", len(ps))
				}
			},
		},
		{
			name: "login ceremony replayed",
			run: func(f *fixture) error {
				d := newDevice(virtualwebauthn.AuthenticatorOptions{})
				f.register(kari, authz.LevelHigh, d)
				options, id, _ := f.c.BeginLogin(f.ctx, false)
				response := d.get(f.t, options)
				if _, err := f.c.FinishLogin(f.ctx, id, response); err != nil {
					f.t.Fatalf("first FinishLogin: %v", err)
				}
				_, err := f.c.FinishLogin(f.ctx, id, response)
				return err
			},
			want: webauthn.ErrCeremony,
		},
		{
			name: "failed ceremony cannot be retried",
			run: func(f *fixture) error {
				d := newDevice(virtualwebauthn.AuthenticatorOptions{})
				f.register(kari, authz.LevelHigh, d)
				options, id, _ := f.c.BeginLogin(f.ctx, false)
				d.auth.Options.UserNotVerified = true
				if _, err := f.c.FinishLogin(f.ctx, id, d.get(f.t, options)); !errors.Is(err, webauthn.ErrUserVerification) {
					f.t.Fatalf("FinishLogin without UV = %v, want ErrUserVerification", err)
				}
				d.auth.Options.UserNotVerified = false
				_, err := f.c.FinishLogin(f.ctx, id, d.get(f.t, options))
				return err
			},
			want: webauthn.ErrCeremony,
		},
		{
			name: "registration ceremony replayed",
			run: func(f *fixture) error {
				d := newDevice(virtualwebauthn.AuthenticatorOptions{})
				options, id, _ := f.c.BeginRegistration(f.ctx, kari, "Kari")
				response := d.create(f.t, options)
				if _, err := f.c.FinishRegistration(f.ctx, id, kari, authz.LevelHigh, "", response); err != nil {
					f.t.Fatalf("first FinishRegistration: %v", err)
				}
				_, err := f.c.FinishRegistration(f.ctx, id, kari, authz.LevelHigh, "", response)
				return err
			},
			want: webauthn.ErrCeremony,
		},
		{
			name: "unknown ceremony",
			run: func(f *fixture) error {
				_, err := f.c.FinishLogin(f.ctx, "no-such-ceremony", []byte("{}"))
				return err
			},
			want: webauthn.ErrCeremony,
		},
		{
			name: "expired login ceremony",
			run: func(f *fixture) error {
				d := newDevice(virtualwebauthn.AuthenticatorOptions{})
				f.register(kari, authz.LevelHigh, d)
				options, id, _ := f.c.BeginLogin(f.ctx, false)
				f.clock.Add(2*time.Minute + time.Second)
				_, err := f.c.FinishLogin(f.ctx, id, d.get(f.t, options))
				return err
			},
			want: webauthn.ErrCeremony,
		},
		{
			name: "expired registration ceremony",
			run: func(f *fixture) error {
				d := newDevice(virtualwebauthn.AuthenticatorOptions{})
				options, id, _ := f.c.BeginRegistration(f.ctx, kari, "Kari")
				f.clock.Add(2 * time.Minute)
				_, err := f.c.FinishRegistration(f.ctx, id, kari, authz.LevelHigh, "", d.create(f.t, options))
				return err
			},
			want: webauthn.ErrCeremony,
		},
		{
			name: "login ceremony used for a registration",
			run: func(f *fixture) error {
				d := newDevice(virtualwebauthn.AuthenticatorOptions{})
				options, _, _ := f.c.BeginRegistration(f.ctx, kari, "Kari")
				_, id, _ := f.c.BeginLogin(f.ctx, false)
				_, err := f.c.FinishRegistration(f.ctx, id, kari, authz.LevelHigh, "", d.create(f.t, options))
				return err
			},
			want: webauthn.ErrCeremony,
		},
		{
			name: "step-up with another person's passkey",
			run: func(f *fixture) error {
				mine, theirs := newDevice(virtualwebauthn.AuthenticatorOptions{}), newDevice(virtualwebauthn.AuthenticatorOptions{})
				f.register(kari, authz.LevelHigh, mine)
				f.register(ola, authz.LevelHigh, theirs)
				options, id, err := f.c.BeginStepUp(f.ctx, kari, authz.LevelHigh)
				if err != nil {
					return err
				}
				// Ola's authenticator signs Kari's challenge.
				ao, _ := virtualwebauthn.ParseAssertionOptions(string(options))
				theirs.cred.Counter++
				response := virtualwebauthn.CreateAssertionResponse(rp, theirs.auth, theirs.cred, *ao)
				_, err = f.c.FinishStepUp(f.ctx, id, kari, []byte(response))
				return err
			},
			want: webauthn.ErrUnknownCredential,
		},
		{
			name: "step-up ceremony of another person",
			run: func(f *fixture) error {
				mine, theirs := newDevice(virtualwebauthn.AuthenticatorOptions{}), newDevice(virtualwebauthn.AuthenticatorOptions{})
				f.register(kari, authz.LevelHigh, mine)
				f.register(ola, authz.LevelHigh, theirs)
				options, id, err := f.c.BeginStepUp(f.ctx, kari, authz.LevelHigh)
				if err != nil {
					return err
				}
				_, err = f.c.FinishStepUp(f.ctx, id, ola, mine.get(f.t, options))
				return err
			},
			want: webauthn.ErrCeremony,
		},
		{
			name: "step-up above the only passkey's level",
			run: func(f *fixture) error {
				f.register(kari, authz.LevelLow, newDevice(virtualwebauthn.AuthenticatorOptions{}))
				_, _, err := f.c.BeginStepUp(f.ctx, kari, authz.LevelSubstantial)
				return err
			},
			want: webauthn.ErrNoPasskey,
		},
		{
			name: "step-up when the passkey at the level is flagged",
			run: func(f *fixture) error {
				p := f.register(kari, authz.LevelHigh, newDevice(virtualwebauthn.AuthenticatorOptions{}))
				f.register(kari, authz.LevelLow, newDevice(virtualwebauthn.AuthenticatorOptions{}))
				if err := f.store.UpdatePasskey(f.ctx, kari, p.ID, func(p *accounts.Passkey) error {
					p.CloneWarning = true
					return nil
				}); err != nil {
					f.t.Fatal(err)
				}
				_, _, err := f.c.BeginStepUp(f.ctx, kari, authz.LevelHigh)
				return err
			},
			want: webauthn.ErrNoPasskey,
		},
		{
			name: "step-up with no passkey at all",
			run: func(f *fixture) error {
				_, _, err := f.c.BeginStepUp(f.ctx, kari, authz.LevelLow)
				return err
			},
			want: webauthn.ErrNoPasskey,
		},
		{
			name: "step-up with the person's own passkey below the level",
			run: func(f *fixture) error {
				high, low := newDevice(virtualwebauthn.AuthenticatorOptions{}), newDevice(virtualwebauthn.AuthenticatorOptions{})
				f.register(kari, authz.LevelHigh, high)
				f.register(kari, authz.LevelLow, low)
				options, id, err := f.c.BeginStepUp(f.ctx, kari, authz.LevelHigh)
				if err != nil {
					return err
				}
				ao, _ := virtualwebauthn.ParseAssertionOptions(string(options))
				low.cred.Counter++
				response := virtualwebauthn.CreateAssertionResponse(rp, low.auth, low.cred, *ao)
				_, err = f.c.FinishStepUp(f.ctx, id, kari, []byte(response))
				return err
			},
			want: webauthn.ErrUnknownCredential,
		},
		{
			name: "removed passkey",
			run: func(f *fixture) error {
				d := newDevice(virtualwebauthn.AuthenticatorOptions{})
				p := f.register(kari, authz.LevelHigh, d)
				if err := f.store.DeletePasskey(f.ctx, kari, p.ID); err != nil {
					f.t.Fatalf("DeletePasskey: %v", err)
				}
				_, err := f.login(d)
				return err
			},
			want: webauthn.ErrUnknownCredential,
		},
		{
			name: "passkey never registered",
			run: func(f *fixture) error {
				_, err := f.login(newDevice(virtualwebauthn.AuthenticatorOptions{UserHandle: []byte("someone else's handle")}))
				return err
			},
			want: webauthn.ErrUnknownCredential,
		},
		{
			name: "registration of A finished for B",
			run: func(f *fixture) error {
				d := newDevice(virtualwebauthn.AuthenticatorOptions{})
				options, id, _ := f.c.BeginRegistration(f.ctx, kari, "Kari")
				_, err := f.c.FinishRegistration(f.ctx, id, ola, authz.LevelHigh, "", d.create(f.t, options))
				return err
			},
			want: webauthn.ErrCeremony,
			check: func(f *fixture) {
				for _, p := range []delegation.PartyID{kari, ola} {
					if ps, _ := f.store.Passkeys(f.ctx, p); len(ps) != 0 {
						f.t.Errorf("Passkeys = %d, want none stored", len(ps))
					}
				}
			},
		},
		{
			name: "A's registration response sent to B's ceremony",
			run: func(f *fixture) error {
				d := newDevice(virtualwebauthn.AuthenticatorOptions{})
				optionsA, _, _ := f.c.BeginRegistration(f.ctx, kari, "Kari")
				_, idB, _ := f.c.BeginRegistration(f.ctx, ola, "Ola")
				_, err := f.c.FinishRegistration(f.ctx, idB, ola, authz.LevelHigh, "", d.create(f.t, optionsA))
				return err
			},
			want: webauthn.ErrInvalid,
			check: func(f *fixture) {
				if ps, _ := f.store.Passkeys(f.ctx, ola); len(ps) != 0 {
					f.t.Errorf("Passkeys = %d, want none stored", len(ps))
				}
			},
		},
		{
			name: "same credential registered twice",
			run: func(f *fixture) error {
				d := newDevice(virtualwebauthn.AuthenticatorOptions{})
				f.register(kari, authz.LevelHigh, d)
				options, id, _ := f.c.BeginRegistration(f.ctx, kari, "Kari")
				_, err := f.c.FinishRegistration(f.ctx, id, kari, authz.LevelHigh, "", d.create(f.t, options))
				return err
			},
			want: accounts.ErrConflict,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			err := tt.run(f)
			if !errors.Is(err, tt.want) {
				t.Errorf("error = %v, want %v", err, tt.want)
			}
			if tt.check != nil {
				tt.check(f)
			}
		})
	}
}

func TestAMR(t *testing.T) {
	tests := []struct {
		name string
		opts virtualwebauthn.AuthenticatorOptions
		want []string
	}{
		{"device-bound", virtualwebauthn.AuthenticatorOptions{}, []string{"hwk", "user", "mfa"}},
		{"synced", virtualwebauthn.AuthenticatorOptions{BackupEligible: true, BackupState: true}, []string{"swk", "user", "mfa"}},
		{"synced, not backed up yet", virtualwebauthn.AuthenticatorOptions{BackupEligible: true}, []string{"swk", "user", "mfa"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			d := newDevice(tt.opts)
			p := f.register(kari, authz.LevelSubstantial, d)
			if p.BackupEligible != tt.opts.BackupEligible || p.BackupState != tt.opts.BackupState {
				t.Errorf("registered BE=%v BS=%v, want %v %v", p.BackupEligible, p.BackupState, tt.opts.BackupEligible, tt.opts.BackupState)
			}
			r, err := f.login(d)
			if err != nil {
				t.Fatalf("FinishLogin: %v", err)
			}
			if !slices.Equal(r.AMR, tt.want) {
				t.Errorf("AMR = %v, want %v", r.AMR, tt.want)
			}
		})
	}
}

// TestBackupStateChanges: a synced passkey that gets backed up after registration
// has its BS flag written back.
func TestBackupStateChanges(t *testing.T) {
	f := newFixture(t)
	d := newDevice(virtualwebauthn.AuthenticatorOptions{BackupEligible: true})
	p := f.register(kari, authz.LevelSubstantial, d)
	d.auth.Options.BackupState = true
	if _, err := f.login(d); err != nil {
		t.Fatalf("FinishLogin: %v", err)
	}
	if s := f.stored(p.ID); !s.BackupState {
		t.Errorf("stored BackupState = false, want true after a login with BS=1")
	}
}

// TestConcurrentFinish: of several finishes of one ceremony, exactly one wins.
func TestConcurrentFinish(t *testing.T) {
	f := newFixture(t)
	d := newDevice(virtualwebauthn.AuthenticatorOptions{})
	f.register(kari, authz.LevelHigh, d)
	options, id, err := f.c.BeginLogin(f.ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	response := d.get(t, options)
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { _, errs[i] = f.c.FinishLogin(f.ctx, id, response) })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, webauthn.ErrCeremony):
			t.Errorf("FinishLogin = %v, want nil or ErrCeremony", err)
		}
	}
	if won != 1 {
		t.Errorf("%d finishes won, want 1", won)
	}
}

// TestErrorsHideTheResponse: a refused response is not quoted in the error.
func TestErrorsHideTheResponse(t *testing.T) {
	f := newFixture(t)
	d := newDevice(virtualwebauthn.AuthenticatorOptions{})
	f.register(kari, authz.LevelHigh, d)
	options, id, _ := f.c.BeginLogin(f.ctx, false)
	var resp map[string]any
	if err := json.Unmarshal(d.get(t, options), &resp); err != nil {
		t.Fatal(err)
	}
	// A signature over something else.
	sig := "MEUCIQDtamperedtamperedtamperedtamperedtamperedtamperedAiAtamperedtamperedtamperedtamperedtamperedXX"
	resp["response"].(map[string]any)["signature"] = sig
	raw, _ := json.Marshal(resp)
	_, err := f.c.FinishLogin(f.ctx, id, raw)
	if !errors.Is(err, webauthn.ErrInvalid) {
		t.Fatalf("FinishLogin with a bad signature = %v, want ErrInvalid", err)
	}
	client := resp["response"].(map[string]any)["clientDataJSON"].(string)
	for _, secret := range []string{sig, client, string(kari)} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q quotes the response", err)
		}
	}
	if !strings.HasPrefix(err.Error(), "webauthn: ") {
		t.Errorf("error %q, want the package prefix", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  webauthn.Config
		want []string // parts of the error; none for valid
	}{
		{"valid", webauthn.Config{RPID: "login.example.no", Origins: []string{"https://login.example.no"}}, nil},
		{"localhost", webauthn.Config{RPID: "localhost", Origins: []string{"http://localhost:8080"}}, nil},
		{"nothing", webauthn.Config{}, []string{"no relying party id", "no origin"}},
		{"IP address", webauthn.Config{RPID: "127.0.0.1", Origins: []string{"http://127.0.0.1"}}, []string{"relying party id"}},
		{"subdomain origin", webauthn.Config{RPID: "example.no", Origins: []string{"https://login.example.no", "http://localhost:8080"}}, []string{`"http://localhost:8080" is not on the relying party id`}},
		{"origin with a path", webauthn.Config{RPID: "example.no", Origins: []string{"https://example.no/login"}}, []string{"not scheme://host"}},
		{"origin with a slash", webauthn.Config{RPID: "example.no", Origins: []string{"https://example.no/"}}, []string{"not scheme://host"}},
		{"another site's origin", webauthn.Config{RPID: "example.no", Origins: []string{"https://badexample.no"}}, []string{"not on the relying party id"}},
		{"negative timeout", webauthn.Config{RPID: "example.no", Origins: []string{"https://example.no"}, Timeout: -time.Second}, []string{"negative timeout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Errorf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want %v", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %v, want it to mention %q", err, w)
				}
			}
		})
	}
}

// TestRegistrationLevel: a passkey registered at an unknown level is refused.
func TestRegistrationLevel(t *testing.T) {
	f := newFixture(t)
	d := newDevice(virtualwebauthn.AuthenticatorOptions{})
	options, id, _ := f.c.BeginRegistration(f.ctx, kari, "Kari")
	if _, err := f.c.FinishRegistration(f.ctx, id, kari, 0, "", d.create(t, options)); err == nil {
		t.Error("FinishRegistration at level 0 = nil, want an error")
	}
	if ps, _ := f.store.Passkeys(f.ctx, kari); len(ps) != 0 {
		t.Errorf("Passkeys = %d, want none", len(ps))
	}
}
