package login

import (
	"context"
	"net/http"
	"strconv"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/idp"
	"github.com/fullmakt/fullmakt/idp/web"
)

// consentData is the consent page's data.
type consentData struct {
	Flow     string
	Client   string
	Consents []consentItem
}

// consentItem is one consent the client asks for, in words.
type consentItem struct {
	// Field is the checkbox's id and name: consent-0, consent-1, ….
	Field string
	// Number is the consent's place in the list, of Of.
	Number, Of int
	// DataSet is the data set's name; Provider the organisation that holds it,
	// with its number.
	DataSet  string
	Provider string
	Purpose  string
	// Until is the last day the consent may be used, 31.12.2027.
	Until   string
	OneTime bool
	Checked bool
}

// consentPage serves GET /login/consent?flow=: the client asks the person to
// consent that data about them is shared with it.
func (s *Service) consentPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := s.flow(w, r)
		if !ok {
			return
		}
		sess, ok := s.consentSession(w, r, f)
		if !ok {
			return
		}
		s.renderConsent(w, r, sess, f, nil)
	})
}

// consentGive serves POST /login/consent: every consent's box must be ticked.
// Only the person themself can consent to share data about them; when they act
// for someone else the OAuth server refuses, so the page does not decide that.
func (s *Service) consentGive() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := s.flowForm(w, r)
		if !ok {
			return
		}
		sess, ok := s.consentSession(w, r, f)
		if !ok {
			return
		}
		ticked := make([]bool, len(f.Login.Consents))
		all := true
		for i := range f.Login.Consents {
			ticked[i] = r.PostForm.Get(consentField(i)) == "yes"
			all = all && ticked[i]
		}
		if !all {
			s.renderConsent(w, r, sess, f, ticked)
			return
		}
		f.Consented = true
		if err := s.saveFlow(r.Context(), f); err != nil {
			s.log.ErrorContext(r.Context(), "login: save the consent", "error", err)
			s.errorPage(w, r, http.StatusInternalServerError, "error.generic")
			return
		}
		http.Redirect(w, r, flowURL("/login/next", f), http.StatusSeeOther)
	})
}

// consentSession returns the session of a flow at the consent page. Without one,
// or when the flow has nothing to consent to (yet, or any more), it sends the
// browser on to the flow's next page and returns false.
func (s *Service) consentSession(w http.ResponseWriter, r *http.Request, f *Flow) (*Session, bool) {
	sess, ok := s.session(r)
	switch {
	case !ok, f.Login == nil, len(f.Login.Consents) == 0, f.Consented,
		s.needsAuthentication(f, sess), f.Login.Represent && !f.Chosen:
		http.Redirect(w, r, flowURL("/login/next", f), http.StatusSeeOther)
		return nil, false
	}
	return sess, true
}

// renderConsent shows the consent page. After a post, ticked says which boxes
// were ticked: each one that was not is an error (and the status is 422).
func (s *Service) renderConsent(w http.ResponseWriter, r *http.Request, sess *Session, f *Flow, ticked []bool) {
	lang := web.Negotiate(r)
	data := consentData{Flow: f.ID, Client: clientName(f.Login)}
	var errs []web.FieldError
	for i, d := range f.Login.Consents {
		item := s.describeConsent(r.Context(), lang, d)
		item.Field, item.Number, item.Of = consentField(i), i+1, len(f.Login.Consents)
		if ticked != nil {
			item.Checked = ticked[i]
			if !item.Checked {
				errs = append(errs, web.FieldError{Field: item.Field, Key: "consent.error.tick", Args: []any{item.DataSet}})
			}
		}
		data.Consents = append(data.Consents, item)
	}
	v := s.view(r, sess, f, "consent.html", data)
	v.Errors = errs
	if len(errs) > 0 {
		v.Status = http.StatusUnprocessableEntity
	}
	s.render(w, r, v)
}

// describeConsent puts a consent detail in words for lang.
func (s *Service) describeConsent(ctx context.Context, lang web.Lang, d idp.AuthorizationDetail) consentItem {
	item := consentItem{
		DataSet: d.DataSet, Purpose: d.Purpose, OneTime: d.OneTime,
		Provider: shownNumber(d.Provider),
	}
	if pack := s.decider.Pack(); pack != nil && pack.Catalogue != nil {
		if svc, ok := pack.Catalogue.Service(d.DataSet); ok {
			item.DataSet = textIn(svc.Name, lang, d.DataSet)
		}
	}
	if d.Provider != "" {
		if org, err := s.people.Organization(ctx, d.Provider); err == nil && org.Name != "" {
			item.Provider = s.pages.Catalogue().Text(lang, "consent.provider_named", org.Name, shownNumber(d.Provider))
		}
	}
	if !d.ValidTo.IsZero() {
		item.Until = dateText(d.ValidTo)
	}
	return item
}

// consentField is the id and name of the i-th consent's checkbox.
func consentField(i int) string { return "consent-" + strconv.Itoa(i) }

// textIn returns t in lang, or else the closest language it has (Bokmål for
// Nynorsk, then English, then Bokmål), or else fallback.
func textIn(t authz.Text, lang web.Lang, fallback string) string {
	tries := []web.Lang{lang}
	if lang == web.NN {
		tries = append(tries, web.NB)
	}
	tries = append(tries, web.EN, web.NB)
	for _, l := range tries {
		if v := t[string(l)]; v != "" {
			return v
		}
	}
	return fallback
}
