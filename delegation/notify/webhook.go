package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/fullmakt/fullmakt/delegation"
)

// MinSecretLen is the shortest webhook secret accepted, in bytes: as long as the
// HMAC-SHA256 key it becomes.
const MinSecretLen = 32

// WebhookConfig configures a Webhook. URL and Secret are required; the rest has
// working defaults.
type WebhookConfig struct {
	// URL receives one POST per notification. It must be https, except on a
	// loopback host (127.0.0.1, ::1, localhost).
	URL string
	// Secret is the HMAC-SHA256 key of the signature, shared with the receiver;
	// at least MinSecretLen bytes.
	Secret []byte
	// Client sends the requests; by default one with a 10s timeout that does not
	// follow redirects (a redirect counts as a failure and is retried).
	Client *http.Client
	// MinBackoff and MaxBackoff bound the wait between attempts; 1s and 5m when
	// zero.
	MinBackoff, MaxBackoff time.Duration
	// Poll is how often the outbox is looked at; 1s when zero.
	Poll time.Duration
	// Log receives failed attempts: the seq, the status or error, the attempt;
	// never the body. slog.Default() when nil.
	Log *slog.Logger
	// Now is the clock of the webhook-timestamp header; time.Now when nil.
	Now func() time.Time
}

// Validate reports every problem of the configuration at once.
func (c WebhookConfig) Validate() error {
	var errs []error
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		errs = append(errs, errors.New("notify: webhook URL is required"))
	case err != nil:
		errs = append(errs, errors.New("notify: webhook URL does not parse"))
	case u.Host == "":
		errs = append(errs, errors.New("notify: webhook URL has no host"))
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		errs = append(errs, errors.New("notify: webhook URL must be https (http only on a loopback host)"))
	}
	if len(c.Secret) < MinSecretLen {
		errs = append(errs, fmt.Errorf("notify: webhook secret must be at least %d bytes", MinSecretLen))
	}
	if c.MinBackoff < 0 || c.MaxBackoff < 0 || c.Poll < 0 {
		errs = append(errs, errors.New("notify: webhook backoff and poll intervals cannot be negative"))
	}
	if c.MinBackoff > 0 && c.MaxBackoff > 0 && c.MinBackoff > c.MaxBackoff {
		errs = append(errs, errors.New("notify: webhook MinBackoff is longer than MaxBackoff"))
	}
	return errors.Join(errs...)
}

// isLoopback reports whether host is this machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Webhook delivers the outbox to a URL: one signed POST per notification,
// strictly in order, at least once, retried with backoff while the receiver
// fails, from where it left off after a restart (its cursor is CursorWebhook).
// It is a Sender run by its own Delivery.
//
// The body is JSON:
//
//	{"id":"ntf_42","seq":42,"type":"fullmakt.received","person":"…","ref":"fm_…",
//	 "other":"…","detail":"…","at":"2026-03-10T11:00:00Z"}
//
// and the request is signed the Standard Webhooks way: webhook-id (the id, for
// the receiver to deduplicate on), webhook-timestamp (Unix seconds) and
// webhook-signature ("v1," and the base64 HMAC-SHA256 of id.timestamp.body under
// the secret). Receivers check it with Verify. Any 2xx answer counts as
// delivered.
type Webhook struct {
	url      string
	secret   []byte
	client   *http.Client
	now      func() time.Time
	delivery *Delivery
}

var _ Sender = (*Webhook)(nil)

// NewWebhook returns a Webhook delivering outbox as cfg says; an error when cfg
// does not validate.
func NewWebhook(outbox Outbox, cfg WebhookConfig) (*Webhook, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	w := &Webhook{url: cfg.URL, secret: bytes.Clone(cfg.Secret), client: cfg.Client, now: cfg.Now}
	if w.client == nil {
		w.client = &http.Client{
			Timeout:       10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if w.now == nil {
		w.now = time.Now
	}
	w.delivery = NewDelivery(outbox, CursorWebhook, w, DeliveryOptions{
		Log: cfg.Log, Poll: cfg.Poll, MinBackoff: cfg.MinBackoff, MaxBackoff: cfg.MaxBackoff,
	})
	return w, nil
}

// Run delivers until ctx ends (see Delivery.Run).
func (w *Webhook) Run(ctx context.Context) { w.delivery.Run(ctx) }

// Nudge asks Run to look at the outbox now. It never blocks.
func (w *Webhook) Nudge() { w.delivery.Nudge() }

// Send posts one notification and reports whether the receiver took it (2xx).
// Its errors name the status or the transport failure, never the body.
func (w *Webhook) Send(ctx context.Context, n delegation.Notification) error {
	id := "ntf_" + strconv.FormatUint(n.Seq, 10)
	body, err := json.Marshal(newPayload(id, n))
	if err != nil {
		return fmt.Errorf("notify: webhook body: %w", err)
	}
	timestamp := strconv.FormatInt(w.now().Unix(), 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("notify: webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "fullmakt-webhook")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", timestamp)
	req.Header.Set("webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(sign(w.secret, id, timestamp, body)))
	resp, err := w.client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // the URL may hold a token of the receiver's
		}
		return fmt.Errorf("notify: webhook: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // so the connection can be reused
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("notify: webhook answered %d", resp.StatusCode)
	}
	return nil
}

// payload is the JSON body of a webhook request.
type payload struct {
	ID     string `json:"id"`
	Seq    uint64 `json:"seq"`
	Type   string `json:"type"`
	Person string `json:"person"`
	Ref    string `json:"ref"`
	Other  string `json:"other,omitempty"`
	Detail string `json:"detail,omitempty"`
	At     string `json:"at"`
}

// newPayload returns the body of n's request.
func newPayload(id string, n delegation.Notification) payload {
	return payload{
		ID: id, Seq: n.Seq, Type: string(n.Kind), Person: n.Person.String(), Ref: n.Ref,
		Other: n.Other.String(), Detail: n.Detail, At: n.At.UTC().Format(time.RFC3339),
	}
}

// sign returns the HMAC-SHA256 of id.timestamp.body under secret.
func sign(secret []byte, id, timestamp string, body []byte) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(id + "." + timestamp + "."))
	mac.Write(body)
	return mac.Sum(nil)
}

// ErrSignature is wrapped by every error of Verify.
var ErrSignature = errors.New("notify: webhook signature does not verify")

// Verify checks a webhook request as a receiver should: its timestamp (Unix
// seconds) lies within tolerance of now, and one of the signatures in
// signatureHeader (space-separated "v1,<base64>") is the HMAC-SHA256 of
// id.timestamp.body under secret, compared in constant time. It returns nil or
// an error wrapping ErrSignature.
func Verify(secret []byte, id, timestamp string, body []byte, signatureHeader string, now time.Time, tolerance time.Duration) error {
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: the timestamp is not a number", ErrSignature)
	}
	if at := time.Unix(sec, 0); at.Before(now.Add(-tolerance)) || at.After(now.Add(tolerance)) {
		return fmt.Errorf("%w: the timestamp is outside the tolerance", ErrSignature)
	}
	want := sign(secret, id, timestamp, body)
	for _, s := range strings.Fields(signatureHeader) {
		version, value, ok := strings.Cut(s, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(value)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return fmt.Errorf("%w: no matching v1 signature", ErrSignature)
}
