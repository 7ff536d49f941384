package delegation_test

import (
	"testing"
	"time"

	"github.com/fullmakt/fullmakt/delegation"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestMigratedFullmakt(t *testing.T) {
	scope := delegation.Scope{Areas: []string{"tax", "health"}}
	period := delegation.Period{From: date(2020, 1, 1), To: date(2030, 12, 31)}

	t.Run("the fullmakt", func(t *testing.T) {
		got := delegation.MigratedFullmakt(idGrantor, idProxy, scope, period, true, "altinn-42")
		want := delegation.Fullmakt{
			Grantor: idGrantor, Proxy: idProxy, Scope: delegation.Scope{Areas: []string{"health", "tax"}}, Period: period,
			MaySubdelegate: true, Status: delegation.StatusActive, Origin: delegation.OriginMigration,
			CreatedAt: time.Date(2019, 12, 31, 23, 0, 0, 0, time.UTC), // 00:00 on 1 January 2020 in Oslo
		}
		if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(delegation.Fullmakt{}, "ID")); diff != "" {
			t.Errorf("MigratedFullmakt (-want +got):\n%s", diff)
		}
		if !idPattern.MatchString(got.ID) {
			t.Errorf("MigratedFullmakt: ID = %q", got.ID)
		}
		if err := got.Validate(); err != nil {
			t.Errorf("MigratedFullmakt(...).Validate() = %v", err)
		}
		if open := delegation.MigratedFullmakt(idGrantor, idProxy, scope, delegation.Period{}, false, ""); !open.CreatedAt.IsZero() {
			t.Errorf("MigratedFullmakt with no start: CreatedAt = %v, want zero", open.CreatedAt)
		}
	})

	id := func(grantor, proxy delegation.PartyID, s delegation.Scope, p delegation.Period, may bool, source string) string {
		return delegation.MigratedFullmakt(grantor, proxy, s, p, may, source).ID
	}
	base := id(idGrantor, idProxy, scope, period, false, "")
	tests := []struct {
		name string
		got  string
		want string // "" means: must differ from the other side
		diff string
	}{
		{name: "same source id, same id", got: id(idGrantor, idProxy, scope, period, false, "altinn-42"), want: id(idGrantor, idProxy, scope, period, false, "altinn-42")},
		{name: "same source id, corrected content, same id", got: id(idGrantor, idProxy, scope, period, false, "altinn-42"),
			want: id(idGrantor, idProxy2, delegation.Scope{Areas: []string{"work"}}, delegation.Period{}, true, "altinn-42")},
		{name: "no source id, same content, same id", got: base, want: id(idGrantor, idProxy, scope, period, false, "")},
		{name: "no source id, same content in another order, same id", got: base,
			want: id(idGrantor, idProxy, delegation.Scope{Areas: []string{"health", "tax", "tax"}}, period, false, "")},
		{name: "different source ids", got: id(idGrantor, idProxy, scope, period, false, "altinn-42"), diff: id(idGrantor, idProxy, scope, period, false, "altinn-43")},
		{name: "a source id or none", got: id(idGrantor, idProxy, scope, period, false, "altinn-42"), diff: base},
		{name: "another proxy", got: base, diff: id(idGrantor, idProxy2, scope, period, false, "")},
		{name: "grantor and proxy swapped", got: base, diff: id(idProxy, idGrantor, scope, period, false, "")},
		{name: "another area", got: base, diff: id(idGrantor, idProxy, delegation.Scope{Areas: []string{"tax"}}, period, false, "")},
		{name: "an area or a service", got: id(idGrantor, idProxy, delegation.Scope{Areas: []string{"health"}}, period, false, ""),
			diff: id(idGrantor, idProxy, delegation.Scope{Services: []string{"health"}}, period, false, "")},
		{name: "limited to actions", got: base, diff: id(idGrantor, idProxy, delegation.Scope{Areas: []string{"tax", "health"}, Actions: []string{"read"}}, period, false, "")},
		{name: "another end", got: base, diff: id(idGrantor, idProxy, scope, delegation.Period{From: period.From}, false, "")},
		{name: "another start", got: base, diff: id(idGrantor, idProxy, scope, delegation.Period{To: period.To}, false, "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.want != "" && tt.got != tt.want {
				t.Errorf("ids %q and %q, want the same", tt.got, tt.want)
			}
			if tt.diff != "" && tt.got == tt.diff {
				t.Errorf("ids %q and %q, want different", tt.got, tt.diff)
			}
		})
	}
}
