package main

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/fullmakt/fullmakt/sdk"
)

// handleCases lists the person's own cases (GET /cases): those they submitted,
// for themself or for others.
func (a *agency) handleCases() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, ok := a.loggedIn(w, r)
		if !ok {
			return
		}
		cases, err := a.cases.BySubmitter(sess.Login.Subject)
		if err != nil {
			a.log.Error("list cases", "err", err)
			a.problemPage(w, r, sess, problemFailed)
			return
		}
		a.pages.render(w, http.StatusOK, "cases", sess, "cases", nil, cases)
	})
}

// caseData is the case page's data.
type caseData struct {
	Case Case
	// Verified says whether the archived receipt verifies with the archived key;
	// VerifyError says why not.
	Verified    bool
	VerifyError string
	Claims      []claimRow
}

// claimRow is one line of the receipt's table.
type claimRow struct {
	Name  string
	Claim string
	Value string
}

// handleCase shows one case (GET /cases/{id}) to the person who submitted it,
// with the archived receipt verified offline, as an auditor would years later.
func (a *agency) handleCase() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, ok := a.loggedIn(w, r)
		if !ok {
			return
		}
		c, err := a.cases.Get(r.PathValue("id"))
		if errors.Is(err, errNoCase) || err == nil && c.SubmitterSubject != sess.Login.Subject {
			// Someone else's case is not found either: ids say nothing.
			a.pages.render(w, http.StatusNotFound, "problem", sess, "cases", nil, problemNotFound)
			return
		}
		if err != nil {
			a.log.Error("read a case", "err", err)
			a.problemPage(w, r, sess, problemFailed)
			return
		}
		data := caseData{Case: c}
		rec, err := sdk.VerifyReceiptWithKey(c.Receipt.JWS, c.Receipt.Key, strings.TrimSuffix(a.cfg.Fullmakt, "/"))
		if err != nil {
			data.VerifyError = err.Error()
		} else {
			data.Verified = true
			data.Claims = a.receiptRows(rec)
		}
		a.pages.render(w, http.StatusOK, "case", sess, "cases", nil, data)
	})
}

// receiptRows lays a receipt's claims out for the table.
func (a *agency) receiptRows(rec *sdk.Receipt) []claimRow {
	decision := "denied"
	if rec.Allowed {
		decision = "allowed"
	}
	relation := "none"
	if rec.Relation != nil {
		relation = rec.Relation.Kind
		if rec.Relation.ID != "" {
			relation += " (" + rec.Relation.ID + ")"
		}
	}
	reasons := strings.Join(rec.Reasons, ", ")
	if reasons == "" {
		reasons = "none"
	}
	at := func(t time.Time) string { return a.pages.when(t) }
	return []claimRow{
		{"Decision", "decision", decision},
		{"Who acted", "actor", string(rec.Actor.Type) + " " + mask(rec.Actor.ID)},
		{"For whom", "party", string(rec.Party.Type) + " " + mask(rec.Party.ID)},
		{"Service", "service", rec.Service},
		{"Action", "action", rec.Action},
		{"Relation", "relation", relation},
		{"Level of assurance", "acr", levelWord(rec.ACR) + " (" + rec.ACR + ")"},
		{"Authenticated", "auth_time", at(rec.AuthTime)},
		{"Reasons", "reasons", reasons},
		{"Policy version", "policy_version", rec.PolicyVersion},
		{"Decided", "iat", at(rec.IssuedAt)},
		{"Asked by", "client_id", rec.ClientID},
		{"Issuer", "iss", rec.Issuer},
		{"Receipt id", "jti", rec.ID},
		{"Signing key", "kid", rec.KeyID},
	}
}
