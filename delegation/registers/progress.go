package registers

import (
	"fmt"
	"strconv"
	"time"
)

// Progress is how far an import has come.
type Progress struct {
	Records int64         // records read and applied so far (good and bad)
	Bytes   int64         // bytes of input read so far
	Size    int64         // bytes in the whole input; 0 when unknown
	Elapsed time.Duration // since the import began
}

// Rate returns records per second, or 0 before any time has passed.
func (p Progress) Rate() float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(p.Records) / p.Elapsed.Seconds()
}

// ETA estimates the time left from the share of the input read so far. It reports
// false when it cannot tell: the size is unknown, or nothing has been read yet.
func (p Progress) ETA() (time.Duration, bool) {
	if p.Size <= 0 || p.Bytes <= 0 {
		return 0, false
	}
	if p.Bytes >= p.Size {
		return 0, true
	}
	return time.Duration(float64(p.Elapsed) * float64(p.Size-p.Bytes) / float64(p.Bytes)), true
}

// FormatProgress formats p for a terminal:
// "1,234,567 records  61,234 records/s  ETA 12s" (the ETA only when the size is known).
func FormatProgress(p Progress) string {
	s := fmt.Sprintf("%s records  %s records/s", group(p.Records), group(int64(p.Rate()+0.5)))
	if eta, ok := p.ETA(); ok {
		s += "  ETA " + eta.Round(time.Second).String()
	}
	return s
}

// group writes n with a comma between groups of three digits.
func group(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	out := make([]byte, 0, len(s)+len(s)/3+1)
	if neg {
		out = append(out, '-')
	}
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}
