package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/fullmakt/fullmakt/sdk"
)

// The applications API (POST /api/applications), behind
// Require("lanekassen.studiestotte", "submit", WithReceipt()): by the time the
// handler runs, the SDK has verified the bearer token, Fullmakt has allowed the
// token's actor to submit for its party, and the decision carries a signed
// receipt.

const maxApplicationBody = 16 << 10

// handleCreateApplication stores an application as a case with its receipt and
// the applicant's diploma, and answers 201 {"id": …}.
func (a *agency) handleCreateApplication() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		tok, okTok := sdk.TokenFrom(ctx)
		dec, okDec := sdk.DecisionFrom(ctx)
		if !okTok || !okDec || !dec.Allowed {
			// Require lets nothing else through; refuse rather than guess.
			writeProblem(w, http.StatusInternalServerError, "No decision", "", nil)
			return
		}
		body, err := readApplication(w, r)
		if err != nil {
			writeProblem(w, http.StatusBadRequest, "Bad request", err.Error(), nil)
			return
		}
		app := Application{School: body.School, Programme: body.Programme, AcademicYear: body.AcademicYear}
		if errs := applicationProblems(app); len(errs) > 0 {
			writeProblem(w, http.StatusBadRequest, "The application is not complete", "", errs)
			return
		}
		if len(body.ApplicantName) > 200 || len(body.SubmitterName) > 200 {
			writeProblem(w, http.StatusBadRequest, "Bad request", "a name is longer than 200 bytes", nil)
			return
		}

		// The receipt is what makes the case defensible: without one that verifies
		// and says what was decided, nothing is stored.
		rec, err := a.fm.VerifyReceipt(ctx, dec.Receipt)
		if err != nil {
			a.log.Error("verify the decision's receipt", "err", err)
			writeProblem(w, http.StatusBadGateway, "The decision's receipt does not verify", "", nil)
			return
		}
		if !rec.Allowed || rec.Party != tok.Party || rec.Service != serviceStudentSupport || rec.Action != "submit" {
			a.log.Error("the decision's receipt is for another decision")
			writeProblem(w, http.StatusBadGateway, "The decision's receipt is for another decision", "", nil)
			return
		}

		relation := "self"
		if dec.Relation != nil {
			relation = dec.Relation.Kind
		} else if tok.Relation != nil {
			relation = tok.Relation.Kind
		}
		c := Case{
			ID: newCaseID(), Created: a.now().UTC(),
			Applicant:        PartyRecord{Type: string(tok.Party.Type), ID: tok.Party.ID},
			ApplicantName:    body.ApplicantName,
			SubmitterSubject: tok.ActorSubject,
			Submitter:        PartyRecord{Type: string(tok.Actor.Type), ID: tok.Actor.ID},
			SubmitterName:    body.SubmitterName,
			Relation:         relation,
			ACR:              tok.Actor.ACR, AuthTime: tok.Actor.AuthTime,
			Via:         tok.Via,
			Application: app,
			Receipt:     Archived{JWS: rec.Raw, Key: rec.Key, KeyID: rec.KeyID, Issuer: rec.Issuer},
		}
		if d, err := a.fetchDiploma(ctx, tok); err != nil {
			// The application stands without it: the office asks for the diploma
			// by post instead.
			a.log.Warn("fetch the diploma", "err", err)
			c.DiplomaError = err.Error()
		} else {
			c.Diploma = d
		}
		if err := a.cases.Put(c); err != nil {
			a.log.Error("store a case", "err", err)
			writeProblem(w, http.StatusInternalServerError, "The application could not be stored", "", nil)
			return
		}
		a.log.Info("application stored", "case", c.ID, "relation", relation, "level", levelWord(c.ACR))
		w.Header().Set("Location", "/cases/"+c.ID)
		writeJSON(w, http.StatusCreated, map[string]string{"id": c.ID})
	})
}

// readApplication decodes the body strictly: one JSON object, known fields,
// at most maxApplicationBody bytes.
func readApplication(w http.ResponseWriter, r *http.Request) (applicationRequest, error) {
	var body applicationRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxApplicationBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return body, fmt.Errorf("the body is longer than %d bytes", maxApplicationBody)
		}
		return body, fmt.Errorf("the body is not an application: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return body, errors.New("the body has more than one JSON value")
	}
	return body, nil
}

// fetchDiploma asks the diplomas API for the applicant's diploma, with the
// incoming token exchanged for one towards the diplomas API: the new token acts
// for the same party, and its act chain names this office between the person
// and the API.
func (a *agency) fetchDiploma(ctx context.Context, tok *sdk.Token) (*Diploma, error) {
	ex, err := a.fm.Exchange(ctx, tok.Raw, tok.Party, a.diplomasAudience(), serviceDiplomas)
	if err != nil {
		return nil, fmt.Errorf("token exchange for the diplomas API: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.public+"/diplomas/v1/diploma", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+ex.AccessToken)
	req.Header.Set("Accept", "application/json")
	resp, err := a.api.Do(req)
	if err != nil {
		return nil, fmt.Errorf("call the diplomas API: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the diplomas API answered %d", resp.StatusCode)
	}
	var d Diploma
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&d); err != nil {
		return nil, fmt.Errorf("the diplomas API's answer: %w", err)
	}
	return &d, nil
}
