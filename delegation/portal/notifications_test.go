package portal_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/delegation/registers/demo"
)

// seedNotes stores notifications, with a time (now) and a key where they have
// none.
func (f *fixture) seedNotes(ns ...delegation.Notification) []delegation.Notification {
	f.t.Helper()
	for i := range ns {
		if ns[i].At.IsZero() {
			ns[i].At = f.clock()
		}
		if ns[i].Key == "" {
			ns[i].Key = fmt.Sprintf("%s/%s/%d", ns[i].Kind, ns[i].Ref, i)
		}
	}
	stored, err := f.store.AddNotifications(f.ctx, "", 0, ns)
	if err != nil {
		f.t.Fatal(err)
	}
	return stored
}

// unreadMarkers counts the unread markers on a page.
func unreadMarkers(body string) int {
	return strings.Count(body, `<span class="unread-marker">New</span>`)
}

func TestNotifications(t *testing.T) {
	f := newFixture(t)
	kari := f.id("kari")
	org := demo.CastOrganization().ID
	f.seedNotes(delegation.Notification{Person: kari, Kind: delegation.NoteFullmaktGiven, Ref: "fm_given", Other: f.id("per")})
	f.advance(time.Minute)
	stored := f.seedNotes(
		delegation.Notification{Person: kari, Kind: delegation.NoteFullmaktReceived, Ref: "fm_received", Other: f.id("ingrid")},
		delegation.Notification{Person: kari, Kind: delegation.NoteFullmaktRevoked, Ref: "fm_revoked", Other: f.id("jon")},
		delegation.Notification{Person: kari, Kind: delegation.NoteFullmaktRenounced, Ref: "fm_renounced", Other: f.id("jon")},
		delegation.Notification{Person: kari, Kind: delegation.NoteFullmaktExpiring, Ref: "fm_expiring", Other: f.id("per")},
		delegation.Notification{Person: kari, Kind: delegation.NoteFullmaktFirstUsed, Ref: "fm_used", Other: f.id("per"), Detail: "nav.dagpenger"},
		delegation.Notification{Person: kari, Kind: delegation.NoteRequestReceived, Ref: "rq_in", Other: f.id("mari")},
		delegation.Notification{Person: kari, Kind: delegation.NoteRequestAnswered, Ref: "rq_yes", Other: f.id("erik"), Detail: "approved"},
		delegation.Notification{Person: kari, Kind: delegation.NoteRequestAnswered, Ref: "rq_no", Other: f.id("sofie"), Detail: "declined"},
		delegation.Notification{Person: kari, Kind: delegation.NoteConsentUsed, Ref: "cs_used", Other: org, Detail: "skatteetaten.inntekt"},
		delegation.Notification{Person: f.id("per"), Kind: delegation.NoteFullmaktReceived, Ref: "fm_pers", Other: f.id("astrid")},
	)
	b := f.login("kari", authz.LevelSubstantial)

	body := b.page("/notifications").Body
	txt := text(body)
	for _, want := range []struct{ sentence, link string }{
		{"You gave Per Nordmann a fullmakt.", "/fullmakter/fm_given"},
		{"Ingrid Hansen gave you a fullmakt.", "/fullmakter/fm_received"},
		{"The fullmakt between you and Jon Berg has been revoked.", "/fullmakter/fm_revoked"},
		{"The fullmakt between you and Jon Berg has been given up by the person who held it.", "/fullmakter/fm_renounced"},
		{"The fullmakt between you and Per Nordmann ends within 14 days.", "/fullmakter/fm_expiring"},
		{"Per Nordmann used your fullmakt for the first time, in Unemployment benefit.", "/fullmakter/fm_used"},
		{"Mari Bakke asks you for a fullmakt.", "/requests/rq_in"},
		{"Erik Solberg approved your request for a fullmakt.", "/requests/rq_yes"},
		{"Sofie Lund declined your request for a fullmakt.", "/requests/rq_no"},
		{"Fjordtech Demo AS obtained data about you with your consent, in Income information.", "/consents/cs_used"},
	} {
		if !strings.Contains(txt, want.sentence) {
			t.Errorf("Kari's notifications = %q, want %q", txt, want.sentence)
		}
		if !strings.Contains(body, `href="`+want.link+`"`) {
			t.Errorf("Kari's notifications have no link to %s", want.link)
		}
	}
	if strings.Contains(txt, "Astrid") {
		t.Errorf("Kari's notifications show Per's: %q", txt)
	}
	if got := unreadMarkers(body); got != 10 {
		t.Errorf("Kari's notifications show %d unread markers, want 10", got)
	}
	if !strings.Contains(txt, "You have 10 new notifications.") {
		t.Errorf("Kari's notifications = %q, want the count of new ones", txt)
	}
	if i, j := strings.Index(txt, "Fjordtech"), strings.Index(txt, "You gave Per"); i > j {
		t.Errorf("Kari's notifications: want the newest first")
	}
	if !strings.Contains(txt, "23.11.2026 12:01") {
		t.Errorf("Kari's notifications = %q, want their times", txt)
	}

	// Shown once, they are read.
	if got, err := f.store.ReadUpTo(f.ctx, kari); err != nil || got != stored[len(stored)-2].Seq {
		t.Errorf("ReadUpTo(kari) = %d, %v, want %d", got, err, stored[len(stored)-2].Seq)
	}
	body = b.page("/notifications").Body
	if got := unreadMarkers(body); got != 0 {
		t.Errorf("Kari's notifications on the second view show %d unread markers, want 0", got)
	}
	if !strings.Contains(text(body), "You have no new notifications.") {
		t.Errorf("Kari's notifications on the second view = %q", text(body))
	}
	if regexp.MustCompile(`<span class="count">\d+`).MatchString(body) {
		t.Errorf("the menu still counts unread notifications after they were read")
	}

	// A new one is marked, the others not.
	f.seedNotes(delegation.Notification{Person: kari, Kind: delegation.NoteRequestReceived, Ref: "rq_new", Other: f.id("jon")})
	body = b.page("/").Body
	if !regexp.MustCompile(`<span class="count">1<`).MatchString(body) {
		t.Errorf("the menu does not count the one unread notification")
	}
	if got := unreadMarkers(b.page("/notifications").Body); got != 1 {
		t.Errorf("Kari's notifications show %d unread markers, want 1", got)
	}
}

func TestNotificationsEmpty(t *testing.T) {
	f := newFixture(t)
	if got := text(f.login("sofie", authz.LevelSubstantial).page("/notifications").Body); !strings.Contains(got, "You have no notifications yet.") {
		t.Errorf("Sofie's notifications = %q", got)
	}
}

func TestNotificationsPaging(t *testing.T) {
	f := newFixture(t)
	var ns []delegation.Notification
	for i := range 60 {
		ns = append(ns, delegation.Notification{
			Person: f.id("kari"), Kind: delegation.NoteRequestReceived, Ref: fmt.Sprintf("rq_%02d", i), Other: f.id("mari"),
		})
	}
	stored := f.seedNotes(ns...)
	b := f.login("kari", authz.LevelSubstantial)

	body := b.page("/notifications").Body
	if got := strings.Count(body, `href="/requests/rq_`); got != 50 {
		t.Fatalf("the first page shows %d notifications, want 50", got)
	}
	if !strings.Contains(body, `href="/requests/rq_59"`) || strings.Contains(body, `href="/requests/rq_09"`) {
		t.Errorf("the first page does not start with the newest")
	}
	m := regexp.MustCompile(`<a href="(/notifications\?before=\d+)">Older notifications</a>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("the first page has no link to older notifications")
	}
	if got, _ := f.store.ReadUpTo(f.ctx, f.id("kari")); got != stored[59].Seq {
		t.Errorf("ReadUpTo after the first page = %d, want %d", got, stored[59].Seq)
	}

	body = b.page(m[1]).Body
	if got := strings.Count(body, `href="/requests/rq_`); got != 10 {
		t.Errorf("the second page shows %d notifications, want 10", got)
	}
	if !strings.Contains(body, `href="/requests/rq_00"`) || strings.Contains(body, "Older notifications") {
		t.Errorf("the second page does not end the list")
	}
	// The read mark is one number: showing the newest marked the older ones
	// read as well.
	if got := unreadMarkers(body); got != 0 {
		t.Errorf("the second page shows %d unread markers, want 0", got)
	}
	if got, _ := f.store.ReadUpTo(f.ctx, f.id("kari")); got != stored[59].Seq {
		t.Errorf("ReadUpTo after the second page = %d, want %d (it never moves back)", got, stored[59].Seq)
	}
}
