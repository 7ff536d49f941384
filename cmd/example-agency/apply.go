package main

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The application form: school, programme, academic year, and a confirmation.

// applyData is the form's page data.
type applyData struct {
	For    choice
	Self   bool
	Years  []string
	Values map[string]string
}

// academicYears are the years one may apply for on the date now: this one and
// the next ("2026-2027"). A year starts on 1 August.
func academicYears(now time.Time) []string {
	y := now.Year()
	if now.Month() < time.August {
		y--
	}
	return []string{fmt.Sprintf("%d-%d", y, y+1), fmt.Sprintf("%d-%d", y+1, y+2)}
}

// handleApply shows the form (GET /apply), for the party chosen.
func (a *agency) handleApply() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, ok := a.loggedIn(w, r)
		if !ok {
			return
		}
		if sess.Party == nil {
			http.Redirect(w, r, "/apply/for", http.StatusSeeOther)
			return
		}
		data := applyData{For: *sess.Party, Self: sess.Party.Party == sess.Login.Actor.Party, Years: academicYears(a.now()), Values: map[string]string{}}
		var errs []fieldError
		if f := takeFlash(a, sess); f != nil {
			errs, data.Values = f.Errors, f.Values
		}
		a.pages.render(w, http.StatusOK, "apply", sess, "apply", errs, data)
	})
}

// handleApplyPost checks the form and submits it (POST /apply).
func (a *agency) handleApplyPost() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, ok := a.postedSession(w, r)
		if !ok {
			return
		}
		if sess.Login == nil || sess.Party == nil {
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
		app := Application{
			School:       strings.TrimSpace(r.PostFormValue("school")),
			Programme:    strings.TrimSpace(r.PostFormValue("programme")),
			AcademicYear: r.PostFormValue("academic_year"),
		}
		errs := validateForm(app, r.PostFormValue("confirm") == "yes", academicYears(a.now()))
		if len(errs) > 0 {
			sess.Flash = &flash{Errors: errs, Values: map[string]string{
				"school": app.School, "programme": app.Programme, "academic_year": app.AcademicYear,
			}}
			a.sessions.save(sess)
			http.Redirect(w, r, "/apply", http.StatusSeeOther)
			return
		}
		a.submitDraft(w, r, sess, draft{For: *sess.Party, Application: app, Subject: sess.Login.Subject})
	})
}

// validateForm returns the form's errors, in the order of its fields.
func validateForm(app Application, confirmed bool, years []string) []fieldError {
	var errs []fieldError
	for _, f := range applicationProblems(app) {
		errs = append(errs, fieldError{Field: strings.ReplaceAll(f.Field, "_", "-"), Text: f.Detail})
	}
	if app.AcademicYear != "" && !slices.Contains(years, app.AcademicYear) && !slices.ContainsFunc(errs, func(e fieldError) bool { return e.Field == "academic-year" }) {
		errs = append(errs, fieldError{Field: "academic-year", Text: "Choose one of the academic years shown"})
	}
	if !confirmed {
		errs = append(errs, fieldError{Field: "confirm", Text: "Confirm that the information is correct"})
	}
	return errs
}

// applicationProblems checks an application, for the form and the API alike.
func applicationProblems(app Application) []apiError {
	var errs []apiError
	text := func(field, value, what string) {
		switch {
		case value == "":
			errs = append(errs, apiError{Field: field, Detail: "Enter the " + what})
		case utf8.RuneCountInString(value) > 100:
			errs = append(errs, apiError{Field: field, Detail: "The " + what + " must be 100 characters or fewer"})
		case !utf8.ValidString(value) || strings.ContainsFunc(value, unicode.IsControl):
			errs = append(errs, apiError{Field: field, Detail: "The " + what + " has characters that cannot be used"})
		}
	}
	text("school", app.School, "name of the school, college or university")
	text("programme", app.Programme, "name of the programme")
	if !validYear(app.AcademicYear) {
		errs = append(errs, apiError{Field: "academic_year", Detail: "Choose the academic year"})
	}
	return errs
}

// validYear reports whether s is an academic year such as "2026-2027".
func validYear(s string) bool {
	var a, b int
	if len(s) != 9 || !digits(s[:4]) || s[4] != '-' || !digits(s[5:]) {
		return false
	}
	fmt.Sscanf(s, "%d-%d", &a, &b)
	return b == a+1 && a >= 2000
}
