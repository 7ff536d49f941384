package registers_test

import (
	"testing"
	"time"

	"github.com/fullmakt/fullmakt/delegation/registers"
)

func TestFormatProgress(t *testing.T) {
	tests := []struct {
		name string
		p    registers.Progress
		want string
	}{
		{"size known", registers.Progress{Records: 1234567, Bytes: 100 << 20, Size: 150 << 20, Elapsed: 20 * time.Second},
			"1,234,567 records  61,728 records/s  ETA 10s"},
		{"size unknown", registers.Progress{Records: 999, Bytes: 1000, Elapsed: time.Second}, "999 records  999 records/s"},
		{"at the start", registers.Progress{Size: 1000}, "0 records  0 records/s"},
		{"done", registers.Progress{Records: 1000, Bytes: 1000, Size: 1000, Elapsed: 2 * time.Second}, "1,000 records  500 records/s  ETA 0s"},
		{"long to go", registers.Progress{Records: 10, Bytes: 1, Size: 3601, Elapsed: time.Second}, "10 records  10 records/s  ETA 1h0m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := registers.FormatProgress(tt.p); got != tt.want {
				t.Errorf("FormatProgress(%+v) = %q, want %q", tt.p, got, tt.want)
			}
		})
	}
}

func TestProgressETA(t *testing.T) {
	tests := []struct {
		name   string
		p      registers.Progress
		want   time.Duration
		wantOK bool
	}{
		{"a quarter read", registers.Progress{Bytes: 25, Size: 100, Elapsed: time.Minute}, 3 * time.Minute, true},
		{"size unknown", registers.Progress{Bytes: 25, Elapsed: time.Minute}, 0, false},
		{"nothing read", registers.Progress{Size: 100, Elapsed: time.Minute}, 0, false},
		{"more read than the size said", registers.Progress{Bytes: 120, Size: 100, Elapsed: time.Minute}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.p.ETA()
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("%+v.ETA() = %v, %v; want %v, %v", tt.p, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestProgressRate(t *testing.T) {
	tests := []struct {
		name string
		p    registers.Progress
		want float64
	}{
		{"records per second", registers.Progress{Records: 150, Elapsed: 1500 * time.Millisecond}, 100},
		{"no time yet", registers.Progress{Records: 150}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.Rate(); got != tt.want {
				t.Errorf("%+v.Rate() = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}
