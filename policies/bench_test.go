package policies_test

import (
	"os"
	"testing"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/authz/policytest"
	"github.com/fullmakt/fullmakt/policies"
)

// BenchmarkDecide is the decision core alone, with the default pack: the facts
// are in memory, so this is the cost of the Cedar evaluations and their inputs.
// Each sub-benchmark decides every case of one testdata file in turn.
func BenchmarkDecide(b *testing.B) {
	pack, err := policies.Load()
	if err != nil {
		b.Fatal(err)
	}
	files, err := policytest.Load(os.DirFS("testdata"))
	if err != nil {
		b.Fatal(err)
	}
	for _, f := range files {
		type input struct {
			req   authz.Request
			facts authz.Facts
		}
		var in []input
		for _, c := range f.Cases {
			if c.Expect.Error != "" {
				continue
			}
			req := authz.Request{Actor: c.Actor, Party: c.Party, Service: c.Service, Action: c.Action, ACR: c.ACR, Now: c.Now}
			in = append(in, input{req, f.World.Facts(req.Actor, req.For())})
		}
		b.Run(f.Name, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				x := in[i%len(in)]
				if _, err := pack.Decide(x.req, x.facts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
