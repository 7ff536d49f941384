package main

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/fullmakt/fullmakt/sdk"
)

// The party picker: "Who are you applying for?" It lists the person themself
// first, then everyone Fullmakt says they may submit for in student support, and
// lets them type someone else's identity number.

// applyForData is the picker's page data.
type applyForData struct {
	Choices []choice
	// Selected is the posted value to keep checked after an error.
	Selected string
	ID       string
}

// handleApplyFor shows the picker (GET /apply/for).
func (a *agency) handleApplyFor() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, ok := a.loggedIn(w, r)
		if !ok {
			return
		}
		found, err := a.fm.Parties(r.Context(), sess.Login.Actor, serviceStudentSupport, "submit")
		if err != nil {
			a.log.Warn("list the parties", "err", err)
			a.problemPage(w, r, sess, problemUnavailable)
			return
		}
		sess.Choices = pickerChoices(sess.Login, found)
		f := sess.Flash
		sess.Flash = nil
		a.sessions.save(sess)
		data := applyForData{Choices: sess.Choices}
		var errs []fieldError
		if f != nil {
			errs, data.Selected, data.ID = f.Errors, f.Values["party"], f.Values["id"]
		}
		a.pages.render(w, http.StatusOK, "applyfor", sess, "apply", errs, data)
	})
}

// pickerChoices orders the parties: the actor first (added when Fullmakt did
// not list them), then the others as Fullmakt listed them.
func pickerChoices(login *personLogin, found []sdk.Choice) []choice {
	self := choice{Party: login.Actor.Party, Name: login.Name, Relation: "self"}
	others := make([]choice, 0, len(found))
	for _, c := range found {
		ch := choice{Party: c.Party, Name: c.Name, Relation: "self"}
		if c.Relation != nil {
			ch.Relation = c.Relation.Kind
		}
		if c.StepUp != nil {
			ch.StepUp = levelWord(c.StepUp.ACRValues)
		}
		if c.Party == login.Actor.Party {
			if ch.Name == "" {
				ch.Name = login.Name
			}
			ch.Relation = "self"
			self = ch
			continue
		}
		others = append(others, ch)
	}
	return append([]choice{self}, others...)
}

// handleApplyForPost checks the choice with Fullmakt (POST /apply/for): a party
// the person may submit for (now, or after a step-up) goes on to the form;
// anyone else gets the refusal, explained.
func (a *agency) handleApplyForPost() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, ok := a.postedSession(w, r)
		if !ok {
			return
		}
		if sess.Login == nil {
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
		picked, id := r.PostFormValue("party"), strings.TrimSpace(r.PostFormValue("id"))
		again := func(field, text string) {
			sess.Flash = &flash{Errors: []fieldError{{Field: field, Text: text}}, Values: map[string]string{"party": picked, "id": id}}
			a.sessions.save(sess)
			http.Redirect(w, r, "/apply/for", http.StatusSeeOther)
		}
		var target choice
		switch {
		case picked == "":
			again("party-0", "Choose whom you are applying for")
			return
		case picked == "other":
			id = strings.Join(strings.Fields(id), "")
			if len(id) != 11 || !digits(id) {
				again("id", "Enter an identity number of 11 digits, such as 01017012345")
				return
			}
			target = choice{Party: sdk.Person(id)}
			// Someone from the list, typed in: keep the name.
			for _, c := range sess.Choices {
				if c.Party == target.Party {
					target = c
				}
			}
		default:
			i, err := strconv.Atoi(picked)
			if err != nil || i < 0 || i >= len(sess.Choices) {
				again("party-0", "Choose whom you are applying for")
				return
			}
			target = sess.Choices[i]
		}

		d, err := a.fm.Check(r.Context(), sdk.Request{
			Actor: sess.Login.Actor, Party: target.Party, Service: serviceStudentSupport, Action: "submit",
		})
		var apiErr *sdk.APIError
		switch {
		case errors.As(err, &apiErr) && apiErr.Status == http.StatusBadRequest && picked == "other":
			again("id", "Fullmakt does not accept this identity number. Check it and try again")
			return
		case err != nil:
			a.log.Warn("check the party", "err", err)
			a.problemPage(w, r, sess, problemUnavailable)
			return
		case !d.Allowed && d.StepUp == nil:
			a.refuse(w, r, sess, refusal{Name: target.Name, Reasons: explain(reasonCodes(d.Reasons), partyLabel(target))})
			return
		}
		if d.Relation != nil {
			target.Relation = d.Relation.Kind
		}
		target.StepUp = ""
		if d.StepUp != nil {
			target.StepUp = levelWord(d.StepUp.ACRValues)
		}
		sess.Party = &target
		a.sessions.save(sess)
		http.Redirect(w, r, "/apply", http.StatusSeeOther)
	})
}

// reasonCodes returns the codes of a decision's reasons.
func reasonCodes(rs []sdk.Reason) []string {
	codes := make([]string, len(rs))
	for i, r := range rs {
		codes[i] = r.Code
	}
	return codes
}

// partyLabel names a party in a sentence: their name, or their masked number.
func partyLabel(c choice) string {
	if c.Name != "" {
		return c.Name
	}
	return "the person with identity number " + mask(c.Party.ID)
}
