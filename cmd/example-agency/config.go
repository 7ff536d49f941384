package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"time"
)

// The demo secret of the client example-diplomas, which `fullmakt serve --demo`
// registers. Not a secret: used only with --demo.
const demoDiplomasSecret = "example-diplomas-demo-secret-not-secret"

// Config is the agency's configuration: plain data with working defaults
// (DefaultConfig) and a Validate that reports every problem at once.
type Config struct {
	// Addr is where to listen (HOST:PORT; port 0 picks a free one).
	Addr string
	// PublicURL is the agency's URL as browsers reach it; its /callback is the
	// redirect URI and its /api and /diplomas the two APIs' audiences. Empty: http://
	// and the listener's address (localhost for a loopback one).
	PublicURL string
	// Fullmakt is Fullmakt's issuer URL.
	Fullmakt string
	// DataDir holds the cases (DataDir/cases/*.json) and, by default, the key.
	DataDir string
	// ClientID is the web front's and the applications API's client id.
	ClientID string
	// KeyFile is the client's ES256 private key (PEM), generated when missing.
	// Empty: DataDir/client-key.pem.
	KeyFile string
	// DiplomasClientID and DiplomasSecretFile are the diplomas API's client.
	DiplomasClientID   string
	DiplomasSecretFile string
	// Demo lets the diplomas API use the demo secret when no secret file is given.
	Demo bool
	// WaitForFullmakt is how long to keep trying Fullmakt's discovery at start.
	WaitForFullmakt time.Duration
	LogFormat       string
	LogLevel        string
	// ShutdownTimeout is how long requests in flight get when the server stops.
	ShutdownTimeout time.Duration
}

// DefaultConfig returns the defaults: beside `fullmakt serve --demo` on one
// machine.
func DefaultConfig() Config {
	return Config{
		Addr:             "localhost:8081",
		Fullmakt:         "http://localhost:8080",
		DataDir:          "example-agency-data",
		ClientID:         "example-agency",
		DiplomasClientID: "example-diplomas",
		WaitForFullmakt:  30 * time.Second,
		LogFormat:        "text",
		LogLevel:         "info",
		ShutdownTimeout:  10 * time.Second,
	}
}

// Validate reports every problem of the configuration at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Addr == "" {
		bad("--addr is empty")
	}
	if c.PublicURL != "" {
		if msg := checkBaseURL(c.PublicURL); msg != "" {
			bad("--public-url %q %s", c.PublicURL, msg)
		}
	}
	if c.Fullmakt == "" {
		bad("--fullmakt is empty")
	} else if msg := checkBaseURL(c.Fullmakt); msg != "" {
		bad("--fullmakt %q %s", c.Fullmakt, msg)
	}
	if c.DataDir == "" {
		bad("--data is empty")
	}
	if c.ClientID == "" {
		bad("--client-id is empty")
	}
	if c.DiplomasClientID == "" {
		bad("--diplomas-client-id is empty")
	}
	if c.DiplomasSecretFile == "" && !c.Demo {
		bad("--diplomas-secret-file is needed (the demo secret is used only with --demo)")
	}
	if c.WaitForFullmakt < 0 {
		bad("--wait-for-fullmakt %v is negative", c.WaitForFullmakt)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("--log-format %q is not text or json", c.LogFormat)
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// checkBaseURL returns what is wrong with an http(s) base URL, or "".
func checkBaseURL(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil || !u.IsAbs() || u.Host == "":
		return "is not an absolute URL"
	case u.Scheme != "http" && u.Scheme != "https":
		return "is not http or https"
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return "has a query, a fragment or user information"
	}
	return ""
}

// keyFile returns the key file's path.
func (c Config) keyFile() string {
	if c.KeyFile != "" {
		return c.KeyFile
	}
	return filepath.Join(c.DataDir, "client-key.pem")
}

// envName returns the environment variable of a flag: EXAMPLE_AGENCY_ and the
// name in upper case, dashes as underscores.
func envName(flagName string) string {
	return "EXAMPLE_AGENCY_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

const usageText = `Usage: example-agency [flags]

A student-support office built on Fullmakt's SDK: log in with Fullmakt, apply
for yourself or for someone you act for, and see your cases with the signed
receipt of each decision. Run it beside "fullmakt serve --demo".
`

// parseFlags reads the command line, then the environment for every flag the
// command line left alone. done is true when the program must end at once with
// code: after --help (0) or a bad flag, value or configuration (2).
func parseFlags(args []string, getenv func(string) string, stdout, stderr io.Writer) (cfg Config, code int, done bool) {
	cfg = DefaultConfig()
	fs := flag.NewFlagSet("example-agency", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "listen on `HOST:PORT`; port 0 picks a free port")
	fs.StringVar(&cfg.PublicURL, "public-url", cfg.PublicURL, "the agency's `URL` as browsers reach it (default: http:// and the listening address)")
	fs.StringVar(&cfg.Fullmakt, "fullmakt", cfg.Fullmakt, "Fullmakt's issuer `URL`")
	fs.StringVar(&cfg.DataDir, "data", cfg.DataDir, "keep the cases and the client key in `DIR` (created, mode 0700)")
	fs.StringVar(&cfg.ClientID, "client-id", cfg.ClientID, "the agency's OAuth client `ID` at Fullmakt")
	fs.StringVar(&cfg.KeyFile, "key-file", cfg.KeyFile, "the client's ES256 private key, PEM, in `FILE`; generated when missing (default: DIR/client-key.pem)")
	fs.StringVar(&cfg.DiplomasClientID, "diplomas-client-id", cfg.DiplomasClientID, "the diplomas API's OAuth client `ID`")
	fs.StringVar(&cfg.DiplomasSecretFile, "diplomas-secret-file", cfg.DiplomasSecretFile, "read the diplomas API's client secret from `FILE` (default with --demo: the demo secret)")
	fs.BoolVar(&cfg.Demo, "demo", cfg.Demo, "run beside fullmakt serve --demo: the diplomas API may use the demo secret")
	fs.DurationVar(&cfg.WaitForFullmakt, "wait-for-fullmakt", cfg.WaitForFullmakt, "keep trying to reach Fullmakt at start for `DURATION`")
	fs.StringVar(&cfg.LogFormat, "log-format", cfg.LogFormat, "log as `FORMAT`: text or json")
	fs.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "log at `LEVEL`: debug, info, warn or error")

	usage := func(w io.Writer) {
		fmt.Fprint(w, usageText+"\nFlags:\n")
		fs.VisitAll(func(fl *flag.Flag) {
			name, help := flag.UnquoteUsage(fl)
			if name != "" {
				name = " " + name
			}
			fmt.Fprintf(w, "  --%s%s\n      %s", fl.Name, name, help)
			if fl.DefValue != "" && fl.DefValue != "false" && fl.DefValue != "0s" {
				fmt.Fprintf(w, " (default %q)", fl.DefValue)
			}
			fmt.Fprintf(w, " [$%s]\n", envName(fl.Name))
		})
		fmt.Fprint(w, "\nA flag on the command line wins over its environment variable.\n")
	}
	if len(args) > 0 {
		args = args[1:]
	}
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		usage(stdout)
		return cfg, exitOK, true
	}
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("takes no arguments, got %q", fs.Args())
	}
	if err != nil {
		fmt.Fprintf(stderr, "example-agency: %v\n\n", err)
		usage(stderr)
		return cfg, exitUsage, true
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	var errs []error
	fs.VisitAll(func(fl *flag.Flag) {
		v := getenv(envName(fl.Name))
		if set[fl.Name] || v == "" {
			return
		}
		if err := fl.Value.Set(v); err != nil {
			errs = append(errs, fmt.Errorf("$%s: invalid value for --%s: %v", envName(fl.Name), fl.Name, err))
		}
	})
	if err := errors.Join(append(errs, cfg.Validate())...); err != nil {
		fmt.Fprintf(stderr, "example-agency: %v\n", err)
		return cfg, exitUsage, true
	}
	return cfg, exitOK, false
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	l, err := parseLevel(level)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: l}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("--log-level %q is not debug, info, warn or error", s)
	}
	return l, nil
}
