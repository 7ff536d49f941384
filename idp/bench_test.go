package idp_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// BenchmarkClientCredentials is the token endpoint at its busiest: a client
// credentials grant over HTTP on 127.0.0.1 (client_secret_basic, an ES256 JWT
// access token, its record written to bbolt), from parallel clients.
//
//	go test ./idp -run '^$' -bench ClientCredentials -cpu 2 -benchtime 5s
func BenchmarkClientCredentials(b *testing.B) {
	f := newFixture(b)
	body := url.Values{"grant_type": {"client_credentials"}, "scope": {"decide"}}.Encode()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.SetParallelism(16) // 16 × GOMAXPROCS connections, as a busy agency backend would open
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodPost, f.issuer+"/token", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth("machine", machineSecret)
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("token: %s", resp.Status)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}
