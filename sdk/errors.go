package sdk

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors; match them with errors.Is.
var (
	// ErrInvalidToken: an access token, ID token or receipt that does not verify
	// (signature, typ, issuer, audience, expiry, shape). The wrapped *TokenError
	// says why.
	ErrInvalidToken = errors.New("sdk: invalid token")
	// ErrUnavailable: Fullmakt could not be reached or answered with a server
	// error or something the SDK cannot read. Callers fail closed.
	ErrUnavailable = errors.New("sdk: fullmakt unavailable")
	// ErrDenied: Fullmakt refused (a token exchange's access_denied).
	ErrDenied = errors.New("sdk: denied")
	// ErrConfig: the SDK's configuration is wrong.
	ErrConfig = errors.New("sdk: configuration")
)

// TokenError says why a token was refused. It matches ErrInvalidToken.
type TokenError struct {
	Reason string
}

func (e *TokenError) Error() string { return "sdk: invalid token: " + e.Reason }

// Is makes errors.Is(err, ErrInvalidToken) true.
func (e *TokenError) Is(target error) bool { return target == ErrInvalidToken }

// StepUpError is a refusal that a higher level of assurance, or a fresher
// authentication, would turn around: send the person to the login with
// ACRValues (and MaxAge) and try again with the new token (RFC 9470).
type StepUpError struct {
	StepUp
}

func (e *StepUpError) Error() string {
	if e.MaxAge > 0 {
		return fmt.Sprintf("sdk: step-up needed: acr_values %q, max_age %d", e.ACRValues, int64(e.MaxAge/time.Second))
	}
	return fmt.Sprintf("sdk: step-up needed: acr_values %q", e.ACRValues)
}

// OAuthError is an RFC 6749 error from Fullmakt's token endpoint. access_denied
// matches ErrDenied; server errors match ErrUnavailable.
type OAuthError struct {
	Status      int
	Code        string
	Description string
}

func (e *OAuthError) Error() string {
	if e.Description != "" {
		return fmt.Sprintf("sdk: %s (HTTP %d): %s", e.Code, e.Status, e.Description)
	}
	return fmt.Sprintf("sdk: %s (HTTP %d)", e.Code, e.Status)
}

// Is makes access_denied match ErrDenied, and 5xx answers ErrUnavailable.
func (e *OAuthError) Is(target error) bool {
	switch target {
	case ErrDenied:
		return e.Code == "access_denied"
	case ErrUnavailable:
		return e.Status >= 500
	}
	return false
}

// APIError is a problem (RFC 9457) answer of the decision API: the request could
// not be answered. 5xx answers match ErrUnavailable.
type APIError struct {
	Status int
	Title  string
	Detail string
	// Field is the JSON path of the member at fault, when Fullmakt names one.
	Field string
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("sdk: decision API: HTTP %d", e.Status)
	if e.Title != "" {
		msg += ": " + e.Title
	}
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if e.Field != "" {
		msg += " (" + e.Field + ")"
	}
	return msg
}

// Is makes 5xx answers match ErrUnavailable.
func (e *APIError) Is(target error) bool { return target == ErrUnavailable && e.Status >= 500 }

// ErrLoginState: a login callback that does not belong to the pending login (its
// state, or the issuer it names, differs): a stale browser tab or a forged
// request. FinishLogin returns it; start a new login.
var ErrLoginState = errors.New("sdk: the login callback does not match the pending login")
