package notify

import (
	"testing"
	"time"
)

func TestBackoffGrowsWithinBounds(t *testing.T) {
	d := NewDelivery(nil, CursorWebhook, nil, DeliveryOptions{MinBackoff: time.Second, MaxBackoff: time.Minute})
	tests := []struct {
		attempt  int
		min, max time.Duration
	}{
		{attempt: 1, min: time.Second, max: 1500 * time.Millisecond},
		{attempt: 2, min: 2 * time.Second, max: 3 * time.Second},
		{attempt: 3, min: 4 * time.Second, max: 6 * time.Second},
		{attempt: 6, min: 32 * time.Second, max: 48 * time.Second},
		{attempt: 7, min: time.Minute, max: time.Minute},
		{attempt: 1000, min: time.Minute, max: time.Minute},
	}
	for _, tt := range tests {
		for range 100 {
			if got := d.backoff(tt.attempt); got < tt.min || got > tt.max {
				t.Fatalf("backoff(%d) = %v, want from %v to %v", tt.attempt, got, tt.min, tt.max)
			}
		}
	}
}
