package main

import (
	"crypto/sha256"
	"net/http"

	"github.com/fullmakt/fullmakt/sdk"
)

// The diplomas API stands for a second agency (the directorate that keeps
// diplomas). It has its own client at Fullmakt and trusts nothing of the
// applications API but the token it is called with: a token the applications API
// got by exchanging the person's, whose act chain shows both the person and the
// client in between.

// Diploma is the diplomas API's answer: a made-up diploma of the holder, and
// whom the API saw asking for it.
type Diploma struct {
	Holder   PartyRecord `json:"holder"`
	Title    string      `json:"title"`
	School   string      `json:"school"`
	Subjects []Subject   `json:"subjects"`
	Seen     Seen        `json:"seen"`
}

// Subject is one subject and its grade.
type Subject struct {
	Name  string `json:"name"`
	Grade int    `json:"grade"`
}

// Seen is who the diplomas API saw acting: the person (identity number masked),
// the clients in between (Via, outermost first) and the relation.
type Seen struct {
	Actor    string   `json:"actor"`
	Via      []string `json:"via"`
	Relation string   `json:"relation"`
	ACR      string   `json:"acr,omitempty"`
}

// handleDiploma answers GET /diplomas/v1/diploma behind
// diplomas.Require("udir.vitnemal", "read"): the diploma of the token's party.
func (a *agency) handleDiploma() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := sdk.TokenFrom(r.Context())
		if !ok {
			// Require always puts the token in; without it, refuse rather than guess.
			writeProblem(w, http.StatusInternalServerError, "No verified token", "", nil)
			return
		}
		relation := "self"
		if tok.Relation != nil {
			relation = tok.Relation.Kind
		}
		via := tok.Via
		if via == nil {
			via = []string{}
		}
		d := madeUpDiploma(tok.Party)
		d.Seen = Seen{Actor: mask(tok.Actor.ID), Via: via, Relation: relation, ACR: tok.Actor.ACR}
		writeJSON(w, http.StatusOK, d)
	})
}

// madeUpDiploma invents a diploma for the party, the same every time.
func madeUpDiploma(p sdk.Party) Diploma {
	sum := sha256.Sum256([]byte(p.ID))
	schools := []string{"Fjordvik videregående skole", "Nordby videregående skole", "Lia videregående skole"}
	subjects := []string{"Norsk hovedmål", "Engelsk", "Matematikk R1", "Historie", "Kjemi 1", "Kroppsøving"}
	d := Diploma{
		Holder: PartyRecord{Type: string(p.Type), ID: p.ID},
		Title:  "Vitnemål for videregående opplæring (studieforberedende)",
		School: schools[int(sum[0])%len(schools)],
	}
	for i, s := range subjects {
		d.Subjects = append(d.Subjects, Subject{Name: s, Grade: 2 + int(sum[i+1])%5})
	}
	return d
}
