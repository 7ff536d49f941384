package main

import (
	"bytes"
	"html/template"
	"net/http"

	"github.com/fullmakt/fullmakt/delegation/registers/demo"
)

// homePage is the front page for visitors who are not logged in (the portal's
// overview takes its place for those who are): what Fullmakt is and, in demo
// mode, who is in the demo data.
type homePage struct {
	tmpl *template.Template
}

func newHomePage() (*homePage, error) {
	tmpl, err := template.ParseFS(web, "web/home.html")
	if err != nil {
		return nil, err
	}
	return &homePage{tmpl: tmpl}, nil
}

// castMember is one demo character as the page shows them.
type castMember struct {
	Name   string
	Age    int
	Number string // in full: the cast's numbers are synthetic, and a newcomer types them
	Story  string
}

type homeData struct {
	Demo bool
	Cast []castMember
	// The demo client's credentials, shown in demo mode.
	ClientID, ClientSecret, APIKey string
}

func newHomeData(demoMode bool, cast []demo.Character) homeData {
	d := homeData{Demo: demoMode}
	if demoMode {
		d.ClientID, d.ClientSecret, d.APIKey = demoClientID, demoClientSecret, demoAPIKey
	}
	for _, c := range cast {
		d.Cast = append(d.Cast, castMember{Name: c.Name, Age: c.Age, Number: string(c.ID), Story: c.Story})
	}
	return d
}

func (s *server) handleHome() http.Handler {
	data := newHomeData(s.demo, s.cast)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var buf bytes.Buffer
		if err := s.home.tmpl.Execute(&buf, data); err != nil {
			s.log.ErrorContext(r.Context(), "render the home page", "error", err)
			http.Error(w, "Something went wrong on our side. Try again in a moment.", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		buf.WriteTo(w)
	})
}
