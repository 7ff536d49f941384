package delegation_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fullmakt/fullmakt/delegation"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var requestIDPattern = regexp.MustCompile(`^rq_[a-z2-7]{26}$`)

func TestNewRequest(t *testing.T) {
	scope := delegation.Scope{Services: []string{"nav.dagpenger", "lanekassen.studiestotte", "nav.dagpenger"}}
	period := delegation.Period{From: today, To: date(2025, 12, 31)}
	deceased := grantor
	deceased.DeathDate = date(2025, 1, 1)
	tests := []struct {
		name      string
		requester delegation.Person
		grantor   delegation.Person
		scope     delegation.Scope
		period    delegation.Period
		message   string
		now       time.Time
		wantErr   error
	}{
		{name: "valid", requester: proxy, grantor: grantor, scope: scope, period: period, message: "  Kan jeg hjelpe deg med NAV?\n"},
		{name: "no message, no period", requester: proxy, grantor: grantor, scope: scope},
		{name: "a message of exactly 1000 characters", requester: proxy, grantor: grantor, scope: scope, message: strings.Repeat("ø", delegation.MaxMessageLen)},
		{name: "a minor asks a parent", requester: child, grantor: parent, scope: scope},
		{name: "ask oneself", requester: grantor, grantor: grantor, scope: scope, wantErr: delegation.ErrInvalid},
		{name: "ask a deceased person", requester: proxy, grantor: deceased, scope: scope, wantErr: delegation.ErrForbidden},
		{name: "ask a minor", requester: parent, grantor: child, scope: scope, wantErr: delegation.ErrForbidden},
		{name: "ask someone at 00:00 on their 18th birthday, Oslo", requester: parent, grantor: child, scope: scope, now: time.Date(2026, 6, 15, 22, 0, 0, 0, time.UTC)},
		{name: "a message of 1001 characters", requester: proxy, grantor: grantor, scope: scope, message: strings.Repeat("ø", delegation.MaxMessageLen+1), wantErr: delegation.ErrInvalid},
		{name: "a period that has ended", requester: proxy, grantor: grantor, scope: scope, period: delegation.Period{To: today.AddDays(-1)}, wantErr: delegation.ErrInvalid},
		{name: "a period that ends before it starts", requester: proxy, grantor: grantor, scope: scope,
			period: delegation.Period{From: date(2026, 1, 1), To: date(2025, 12, 31)}, wantErr: delegation.ErrInvalid},
		{name: "an empty scope", requester: proxy, grantor: grantor, wantErr: delegation.ErrInvalid},
		{name: "a malformed scope", requester: proxy, grantor: grantor, scope: delegation.Scope{Areas: []string{"NAV"}}, wantErr: delegation.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := tt.now
			if at.IsZero() {
				at = now
			}
			got, err := delegation.NewRequest(tt.requester, tt.grantor, tt.scope, tt.period, tt.message, at)
			checkErr(t, "NewRequest", err, tt.wantErr)
			if tt.wantErr != nil {
				return
			}
			want := delegation.Request{
				Requester: tt.requester.ID, Grantor: tt.grantor.ID, Period: tt.period, Message: strings.TrimSpace(tt.message),
				Status: delegation.RequestPending, CreatedAt: at.UTC(),
			}
			if tt.scope.Services != nil {
				want.Scope = delegation.Scope{Services: []string{"lanekassen.studiestotte", "nav.dagpenger"}}
			}
			if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(delegation.Request{}, "ID")); diff != "" {
				t.Errorf("NewRequest (-want +got):\n%s", diff)
			}
			if !requestIDPattern.MatchString(got.ID) {
				t.Errorf("NewRequest: ID = %q, want rq_ and 26 base32 letters", got.ID)
			}
		})
	}
}

func TestAnswerRequest(t *testing.T) {
	period := delegation.Period{From: today, To: date(2025, 12, 31)}
	req, err := delegation.NewRequest(proxy, grantor, delegation.Scope{Areas: []string{"tax"}}, period, "Hei", now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	answered := func(s delegation.RequestStatus) delegation.Request { r := req; r.Status = s; return r }
	later := now.Add(time.Hour)

	t.Run("Approve", func(t *testing.T) {
		got, err := delegation.Approve(req, grantor, proxy, acrHigh, later)
		if err != nil {
			t.Fatalf("Approve = %v", err)
		}
		want := delegation.Answer{
			RequestID: req.ID, By: idGrantor, Approve: true, At: later.UTC(),
			Fullmakt: delegation.Fullmakt{
				Grantor: idGrantor, Proxy: idProxy, Scope: req.Scope, Period: period, Status: delegation.StatusActive,
				ConfirmedACR: acrHigh, Origin: delegation.OriginRequest, CreatedBy: idGrantor, CreatedAt: later.UTC(),
			},
		}
		if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(delegation.Fullmakt{}, "ID")); diff != "" {
			t.Errorf("Approve (-want +got):\n%s", diff)
		}
		if !idPattern.MatchString(got.Fullmakt.ID) {
			t.Errorf("Approve: fullmakt ID = %q", got.Fullmakt.ID)
		}
	})

	t.Run("Decline", func(t *testing.T) {
		got, err := delegation.Decline(req, idGrantor, "  Nei takk. \n", later)
		if err != nil {
			t.Fatalf("Decline = %v", err)
		}
		want := delegation.Answer{RequestID: req.ID, By: idGrantor, Reason: "Nei takk.", At: later.UTC()}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Decline (-want +got):\n%s", diff)
		}
	})

	deadProxy := proxy
	deadProxy.DeathDate = today
	deadGrantor := grantor
	deadGrantor.DeathDate = today
	tests := []struct {
		name    string
		answer  func() (delegation.Answer, error)
		wantErr error
	}{
		{"approve by another person", func() (delegation.Answer, error) { return delegation.Approve(req, stranger, proxy, acrHigh, later) }, delegation.ErrForbidden},
		{"approve by the requester", func() (delegation.Answer, error) { return delegation.Approve(req, proxy, proxy, acrHigh, later) }, delegation.ErrForbidden},
		{"approve for another proxy", func() (delegation.Answer, error) { return delegation.Approve(req, grantor, proxy2, acrHigh, later) }, delegation.ErrInvalid},
		{"approve when the requester has died", func() (delegation.Answer, error) { return delegation.Approve(req, grantor, deadProxy, acrHigh, later) }, delegation.ErrInvalid},
		{"approve for a deceased grantor", func() (delegation.Answer, error) { return delegation.Approve(req, deadGrantor, proxy, acrHigh, later) }, delegation.ErrForbidden},
		{"approve after the period ended", func() (delegation.Answer, error) {
			return delegation.Approve(req, grantor, proxy, acrHigh, oslo(2026, 1, 1, 0, 0, 0))
		}, delegation.ErrInvalid},
		{"approve an approved request", func() (delegation.Answer, error) {
			return delegation.Approve(answered(delegation.RequestApproved), grantor, proxy, acrHigh, later)
		}, delegation.ErrConflict},
		{"approve a declined request", func() (delegation.Answer, error) {
			return delegation.Approve(answered(delegation.RequestDeclined), grantor, proxy, acrHigh, later)
		}, delegation.ErrConflict},
		{"decline by another person", func() (delegation.Answer, error) { return delegation.Decline(req, idStranger, "", later) }, delegation.ErrForbidden},
		{"decline by the requester", func() (delegation.Answer, error) { return delegation.Decline(req, idProxy, "", later) }, delegation.ErrForbidden},
		{"decline a declined request", func() (delegation.Answer, error) {
			return delegation.Decline(answered(delegation.RequestDeclined), idGrantor, "", later)
		}, delegation.ErrConflict},
		{"decline an approved request", func() (delegation.Answer, error) {
			return delegation.Decline(answered(delegation.RequestApproved), idGrantor, "", later)
		}, delegation.ErrConflict},
		{"decline with a reason of 1001 characters", func() (delegation.Answer, error) {
			return delegation.Decline(req, idGrantor, strings.Repeat("å", delegation.MaxMessageLen+1), later)
		}, delegation.ErrInvalid},
		{"decline with a reason of 1000 characters", func() (delegation.Answer, error) {
			return delegation.Decline(req, idGrantor, strings.Repeat("å", delegation.MaxMessageLen), later)
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.answer()
			checkErr(t, "answer", err, tt.wantErr)
		})
	}
}
