package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"

	"github.com/fullmakt/fullmakt/sdk"
)

// The web front submits an application the way a back end for a front end calls
// its API: over HTTP, with a bearer token. For the person themself that is their
// login's access token; for someone else, a token exchanged for one that acts
// for them (RFC 8693), which Fullmakt issues only if the person may.

// applicationRequest is the applications API's request body. The names are as
// the web front showed them; who is who comes from the token alone.
type applicationRequest struct {
	School        string `json:"school"`
	Programme     string `json:"programme"`
	AcademicYear  string `json:"academic_year"`
	ApplicantName string `json:"applicant_name,omitempty"`
	SubmitterName string `json:"submitter_name,omitempty"`
}

// outcome is how a submission went.
type outcome struct {
	caseID  string      // created
	stepUp  *sdk.StepUp // a login at a higher level (or a fresher one) would help
	relogin bool        // the login's token is no longer accepted: log in again
	refused *refusal
	problem *problem
}

// submitDraft submits d and sends the browser where the outcome leads: the new
// case, a login for a step-up (keeping d to submit after it), a refusal or a
// problem page.
func (a *agency) submitDraft(w http.ResponseWriter, r *http.Request, sess *session, d draft) {
	out := a.submit(r.Context(), sess.Login, d)
	switch {
	case out.caseID != "":
		sess.Draft, sess.Party = nil, nil
		a.sessions.save(sess)
		http.Redirect(w, r, "/cases/"+out.caseID, http.StatusSeeOther)
	case out.stepUp != nil || out.relogin:
		if d.StepUps >= 2 {
			sess.Draft = nil
			a.problemPage(w, r, sess, problemStepUpLoop)
			return
		}
		d.StepUps++
		sess.Draft = &d
		a.startLogin(w, r, sess, out.stepUp)
	case out.refused != nil:
		sess.Draft = nil
		a.refuse(w, r, sess, *out.refused)
	default:
		sess.Draft = nil
		a.problemPage(w, r, sess, *out.problem)
	}
}

// submit gets a token for the applications API and posts the application.
func (a *agency) submit(ctx context.Context, login *personLogin, d draft) outcome {
	token := login.AccessToken
	if d.For.Party != login.Actor.Party {
		ex, err := a.fm.Exchange(ctx, token, d.For.Party, a.apiAudience(), serviceStudentSupport)
		var stepUp *sdk.StepUpError
		var oe *sdk.OAuthError
		switch {
		case errors.As(err, &stepUp):
			return outcome{stepUp: &stepUp.StepUp}
		case errors.Is(err, sdk.ErrDenied):
			return outcome{refused: &refusal{Name: d.For.Name, Reasons: explain([]string{"not_permitted"}, partyLabel(d.For))}}
		case errors.Is(err, sdk.ErrUnavailable):
			return outcome{problem: &problemUnavailable}
		case errors.As(err, &oe) && oe.Code == "invalid_request":
			// Most likely the login's token has expired.
			a.log.Info("token exchange refused the login's token; logging in again", "err", err)
			return outcome{relogin: true}
		case err != nil:
			a.log.Error("token exchange", "err", err)
			return outcome{problem: &problemFailed}
		}
		token = ex.AccessToken
	}

	body, _ := json.Marshal(applicationRequest{
		School: d.Application.School, Programme: d.Application.Programme, AcademicYear: d.Application.AcademicYear,
		ApplicantName: d.For.Name, SubmitterName: login.Name,
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.public+"/api/applications", bytes.NewReader(body))
	if err != nil {
		return outcome{problem: &problemFailed}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := a.api.Do(req)
	if err != nil {
		a.log.Error("call the applications API", "err", err)
		return outcome{problem: &problemFailed}
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))

	switch {
	case resp.StatusCode == http.StatusCreated:
		var created struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(answer, &created); err != nil || !caseID.MatchString(created.ID) {
			a.log.Error("the applications API's answer has no case id", "err", err)
			return outcome{problem: &problemFailed}
		}
		return outcome{caseID: created.ID}
	case resp.StatusCode == http.StatusUnauthorized:
		// RFC 9470: a higher level, or a fresher login, would be accepted.
		if su, ok := sdk.ParseChallenge(resp.Header); ok {
			return outcome{stepUp: su}
		}
		return outcome{relogin: true}
	case resp.StatusCode == http.StatusForbidden:
		return outcome{refused: &refusal{Name: d.For.Name, Reasons: explain(problemReasons(answer), partyLabel(d.For))}}
	case resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusBadGateway || resp.StatusCode == http.StatusGatewayTimeout:
		return outcome{problem: &problemUnavailable}
	}
	a.log.Error("the applications API refused an application", "status", resp.StatusCode, "problem", problemSummary(answer))
	return outcome{problem: &problemFailed}
}

// problemReasons reads the reason codes of a refusal's problem body: "reasons"
// as codes, or as objects with a code.
func problemReasons(body []byte) []string {
	var p struct {
		Reasons []json.RawMessage `json:"reasons"`
	}
	if json.Unmarshal(body, &p) != nil {
		return nil
	}
	var codes []string
	for _, raw := range p.Reasons {
		var code string
		if json.Unmarshal(raw, &code) == nil {
			codes = append(codes, code)
			continue
		}
		var obj struct {
			Code string `json:"code"`
		}
		if json.Unmarshal(raw, &obj) == nil && obj.Code != "" {
			codes = append(codes, obj.Code)
		}
	}
	return codes
}

// problemSummary is a problem body's title and detail for the log, without
// anything else it might carry.
func problemSummary(body []byte) string {
	var p struct {
		Title  string `json:"title"`
		Detail string `json:"detail"`
	}
	json.Unmarshal(body, &p)
	return safeLog.ReplaceAllString(fmt.Sprintf("%s: %s", p.Title, p.Detail), "*")
}

// safeLog matches runs of digits long enough to be identity numbers.
var safeLog = regexp.MustCompile(`\d{9,}`)
