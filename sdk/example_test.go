package sdk_test

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/fullmakt/fullmakt/sdk"
)

// An agency's API, protected in a few lines: Require verifies the bearer token,
// asks Fullmakt (through the cache) whether the token's actor may submit for the
// token's party, and answers 401 with a step-up challenge, 403 or 503 itself.
func ExampleClient_Require() {
	ctx := context.Background()
	var key *ecdsa.PrivateKey // the agency's key, registered at Fullmakt as a JWK Set
	fullmakt, err := sdk.New(ctx, sdk.Config{
		Issuer:     "https://fullmakt.example",
		ClientID:   "student-support",
		PrivateKey: key,
		KeyID:      "2024-key-1",
		Audience:   "https://api.lanekassen.example",
	})
	if err != nil {
		log.Fatal(err)
	}
	defer fullmakt.Close()

	submit := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, _ := sdk.TokenFrom(r.Context())
		decision, _ := sdk.DecisionFrom(r.Context())
		// token.Actor submits for token.Party, permitted by decision.Relation.
		fmt.Fprintf(w, "received, %s acting as %s\n", token.Actor.ID, decision.Relation.Kind)
	})
	mux := http.NewServeMux()
	mux.Handle("POST /applications", fullmakt.Require("lanekassen.studiestotte", "submit", sdk.WithReceipt())(submit))
	log.Fatal(http.ListenAndServe("localhost:8081", mux))
}

// A check by hand: may Kari, logged in at level high, submit for her son?
func ExampleClient_Check() {
	ctx := context.Background()
	var fullmakt *sdk.Client // from sdk.New
	d, err := fullmakt.Check(ctx, sdk.Request{
		Actor:   sdk.Actor{Party: sdk.Person("13518512345"), ACR: "idporten-loa-high", AuthTime: time.Now()},
		Party:   sdk.Person("05560812345"),
		Service: "lanekassen.studiestotte",
		Action:  "submit",
	})
	switch {
	case err != nil:
		// No decision could be made: fail closed.
		log.Printf("fullmakt: %v", err)
	case d.Allowed:
		fmt.Println("allowed through", d.Relation.Kind)
	case d.StepUp != nil:
		fmt.Println("log in again with acr_values", d.StepUp.ACRValues)
	default:
		fmt.Println("not allowed:", d.Reasons)
	}
}

// The party picker: everyone the person may submit for, themself first.
func ExampleClient_Parties() {
	ctx := context.Background()
	var fullmakt *sdk.Client   // from sdk.New
	var login *sdk.LoginResult // from FinishLogin
	choices, err := fullmakt.Parties(ctx, login.Actor, "lanekassen.studiestotte", "submit")
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range choices {
		note := ""
		if c.StepUp != nil {
			note = " (needs a higher level of assurance)"
		}
		fmt.Printf("%s, as %s%s\n", c.Name, c.Relation.Kind, note)
	}
}

// A front end calling its API for someone else: exchange the person's token for
// one acting for the party, and step up when Fullmakt asks for it.
func ExampleClient_Exchange() {
	ctx := context.Background()
	var fullmakt *sdk.Client   // from sdk.New
	var login *sdk.LoginResult // from FinishLogin
	party := sdk.Person("05560812345")
	tok, err := fullmakt.Exchange(ctx, login.AccessToken, party, "https://api.lanekassen.example", "lanekassen.studiestotte")
	var stepUp *sdk.StepUpError
	switch {
	case errors.As(err, &stepUp):
		next, _ := fullmakt.StartLogin(sdk.LoginOptions{
			RedirectURI: "https://lanekassen.example/callback",
			ACRValues:   stepUp.ACRValues,
			MaxAge:      stepUp.MaxAge,
		})
		fmt.Println("send the browser to", next.URL)
	case errors.Is(err, sdk.ErrDenied):
		fmt.Println("the person may not act for this party here")
	case err != nil:
		log.Fatal(err)
	default:
		fmt.Println("call the API with", tok.TokenType, "token until", tok.Expiry)
	}
}

// The client side of RFC 9470: an API answered 401 and says what the login
// must reach.
func ExampleParseChallenge() {
	h := http.Header{}
	h.Set("WWW-Authenticate", `Bearer error="insufficient_user_authentication", error_description="A higher level of assurance is needed", acr_values="idporten-loa-high", max_age=300`)
	if s, ok := sdk.ParseChallenge(h); ok {
		fmt.Println(s.ACRValues, s.MaxAge)
	}
	// Output: idporten-loa-high 5m0s
}

// A receipt archived with a case file years ago, verified with the key archived
// beside it, without asking Fullmakt.
func ExampleVerifyReceiptWithKey() {
	var archived struct {
		Receipt string
		Key     []byte
	}
	r, err := sdk.VerifyReceiptWithKey(archived.Receipt, archived.Key, "https://fullmakt.example")
	if err != nil {
		fmt.Println("the receipt does not verify:", errors.Is(err, sdk.ErrInvalidToken))
		return
	}
	fmt.Printf("%s acted for %s in %s (%s) at %s\n", r.Actor.ID, r.Party.ID, r.Service, r.Action, r.IssuedAt)
}
