package authzen_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// BenchmarkEvaluationHTTP measures an Access Evaluation over loopback HTTP,
// from parallel clients with kept-alive connections: the latency an agency's
// enforcement point sees, less the network. "self" reads the person only; "child"
// reads the relations too and is written to the decision log.
func BenchmarkEvaluationHTTP(b *testing.B) {
	f := newFixture(b)
	for _, bb := range []struct {
		name string
		body string
	}{
		{"self", evaluationJSON(f)},
		{"child", `{"subject":{"type":"person","id":"` + f.parent.String() + `","properties":{"acr":"` + acrSubstantial +
			`"}},"action":{"name":"book"},"resource":{"type":"service","id":"` + svcHealth +
			`"},"context":{"party":{"type":"person","id":"` + f.child.String() + `"}}}`},
	} {
		b.Run(bb.name, func(b *testing.B) {
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
			defer client.CloseIdleConnections()
			url := f.srv.URL + pathEvaluation
			b.ReportAllocs()
			b.SetBytes(int64(len(bb.body)))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(bb.body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Authorization", "Bearer "+keyNormal)
					res, err := client.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != http.StatusOK {
						b.Fatalf("POST %s = %d", pathEvaluation, res.StatusCode)
					}
				}
			})
		})
	}
}
