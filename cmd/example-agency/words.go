package main

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// mask hides the personal part of a Norwegian identity number, keeping the date
// of birth: "170512*****". An organisation number (9 digits) is public and shown
// whole; anything else is hidden entirely.
func mask(id string) string {
	switch {
	case id == "":
		return ""
	case len(id) == 11 && digits(id):
		return id[:6] + "*****"
	case len(id) == 9 && digits(id):
		return id
	}
	return "*****"
}

func digits(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool { return r < '0' || r > '9' })
}

// levelWord names a level of assurance from an acr value, an eIDAS URI
// (http://eidas.europa.eu/LoA/high) or an ID-porten alias (idporten-loa-high).
func levelWord(acr string) string {
	a := strings.ToLower(acr)
	switch {
	case strings.HasSuffix(a, "high"):
		return "high"
	case strings.HasSuffix(a, "substantial"):
		return "substantial"
	case strings.HasSuffix(a, "low"):
		return "low"
	case a == "":
		return "unknown"
	}
	return acr
}

// relationWords says in plain words why the actor may act for a party, as the
// party picker shows it.
func relationWords(kind string) string {
	switch kind {
	case "self", "":
		return "Yourself"
	case "parent":
		return "You are their parent"
	case "guardian":
		return "You are their guardian"
	case "fullmakt":
		return "They gave you a fullmakt"
	case "role":
		return "Your role in the organisation"
	case "consent":
		return "They consented"
	}
	return kind
}

// relationAs says how the actor applies for the party, after the party's name.
func relationAs(kind string) string {
	switch kind {
	case "parent":
		return "as their parent"
	case "guardian":
		return "as their guardian"
	case "fullmakt":
		return "with the fullmakt they gave you"
	case "role":
		return "in your role"
	}
	return ""
}

// relationTitle names the relation on a case page.
func relationTitle(kind string) string {
	switch kind {
	case "self", "":
		return "Applied for themself"
	case "parent":
		return "Parent, with parental responsibility"
	case "guardian":
		return "Guardian"
	case "fullmakt":
		return "Holder of a fullmakt from the applicant"
	case "role":
		return "Role in the organisation"
	}
	return kind
}

// reasonText says in plain language why Fullmakt refused, for one reason code of
// the policy pack (policies/*.cedar @reason) or of the decision engine. name is
// the party's name, or a description such as "this person". ok is false for
// codes that add nothing a person can act on (step_up, permitted).
func reasonText(code, name string) (text string, ok bool) {
	switch code {
	case "party_of_age":
		return "Parents act for their children only until they turn 18. " + name + " is 18 or older and must apply themself, or give you a fullmakt for education in Fullmakt.", true
	case "parental_responsibility_not_active":
		return "The population register does not show that you have parental responsibility for " + name + " now.", true
	case "no_relation":
		return "Fullmakt knows of nothing that lets you act for " + name + ": you are not their parent or guardian, and they have not given you a fullmakt that covers student support.", true
	case "not_permitted":
		return "You may not submit applications for student support for " + name + ".", true
	case "unknown_party":
		return "We could not find this person in the population register. Check the identity number.", true
	case "fullmakt_revoked":
		return name + " has revoked the fullmakt they gave you.", true
	case "fullmakt_renounced":
		return "You have given up the fullmakt " + name + " gave you.", true
	case "fullmakt_expired":
		return "The fullmakt " + name + " gave you has expired.", true
	case "fullmakt_pending":
		return "The fullmakt " + name + " gave you has not started yet.", true
	case "fullmakt_out_of_scope":
		return "The fullmakt " + name + " gave you does not cover student support.", true
	case "fullmakt_action_out_of_scope":
		return "The fullmakt " + name + " gave you does not let you submit applications.", true
	case "fullmakt_unknown_parent", "subdelegation_exceeds_parent":
		return "The fullmakt you hold for " + name + " was passed on to you, and the fullmakt it came from no longer covers this.", true
	case "grantor_minor":
		return name + " was under 18 when they gave the fullmakt, so it does not count.", true
	case "guardianship_not_active":
		return "Your guardianship for " + name + " is not in force.", true
	case "guardianship_out_of_scope":
		return "Your guardianship for " + name + " does not cover student support.", true
	case "highly_personal":
		return "Only " + name + " can do this, themself.", true
	case "party_deceased":
		return "The population register says that " + name + " has died.", true
	case "party_protected":
		return "Fullmakt cannot say whether you may act for this person. Contact the office by phone.", true
	case "role_read_only":
		return "Your role lets you read, not submit.", true
	case "role_outside_business":
		return "Your role does not cover student support.", true
	case "level_too_low":
		return "Submitting an application needs a login at level high.", true
	case "authentication_too_old", "auth_too_old":
		return "You logged in too long ago. Log in again.", true
	case "policy_error":
		return "Fullmakt could not decide. Try again later.", true
	case "step_up", "permitted", "":
		return "", false
	}
	return "You may not submit applications for student support for " + name + ".", true
}

// generic are the codes that only say "no": shown only when nothing says why.
var generic = []string{"not_permitted", "no_relation"}

// explain turns a refusal's reason codes into sentences, most specific first,
// each once; it always returns at least one.
func explain(codes []string, name string) []string {
	if name == "" {
		name = "this person"
	}
	specific := slices.ContainsFunc(codes, func(c string) bool {
		_, ok := reasonText(c, name)
		return ok && !slices.Contains(generic, c)
	})
	var out []string
	for _, c := range codes {
		if specific && slices.Contains(generic, c) {
			continue
		}
		if t, ok := reasonText(c, name); ok && !slices.Contains(out, capitalize(t)) {
			out = append(out, capitalize(t))
		}
	}
	if len(out) == 0 {
		t, _ := reasonText("not_permitted", name)
		out = append(out, t)
	}
	return out
}

// capitalize upper-cases the first letter of a sentence that starts with a
// description such as "this person".
func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}
