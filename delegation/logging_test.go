package delegation_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/fullmakt/fullmakt/delegation"
)

func TestRecordsLogWithoutPersonalData(t *testing.T) {
	f := delegation.Fullmakt{ID: "fm_1", Grantor: idGrantor, Proxy: idProxy, Status: delegation.StatusActive}
	r := delegation.Request{ID: "rq_1", Requester: idProxy, Grantor: idGrantor, Message: "Kari Nordmann"}
	c := delegation.Consent{ID: "cs_1", Party: idGrantor, Recipient: idOrg, Provider: idOrg, Purpose: "Kari Nordmann"}
	for _, v := range []any{grantor, f, r, c, &f} {
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("record", "v", v)
		for _, secret := range []string{string(idGrantor), string(idProxy), grantor.Name, grantor.BirthDate.String()} {
			if strings.Contains(buf.String(), secret) {
				t.Errorf("logging %T wrote %q: %s", v, secret, buf.String())
			}
		}
	}
}
