package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/delegation/registers"
	"github.com/fullmakt/fullmakt/idp"
)

// defaultDataDir is where the store lives unless --data says otherwise: relative to
// the working directory, so that `make run` in a checkout keeps its data beside it.
const defaultDataDir = "fullmakt-data"

// dbFile is the name of the bbolt file inside the data directory.
const dbFile = "fullmakt.db"

// ServeConfig configures `fullmakt serve`. The zero value is not useful; start from
// DefaultServeConfig.
type ServeConfig struct {
	Addr              string // host:port to listen on; port 0 picks a free one
	DataDir           string
	Demo              bool // load the demo cast at start and list it on the front page
	AllowSyntheticIDs bool // accept synthetic test identity numbers
	LogFormat         string
	LogLevel          string
	// Policies is a policy pack folder, reloaded when it changes; "" is the
	// built-in default pack.
	Policies string
	// APIKeysFile lists the clients of the decision API and their hashed keys.
	APIKeysFile string
	// PublicURL is the server's URL as clients reach it: the OAuth issuer and the
	// AuthZEN policy_decision_point. "" is http:// and the listening address, which
	// only a loopback address may use (the issuer must be https elsewhere).
	PublicURL string
	// ClientsFile is the OAuth clients file, reloaded when it changes; "" is
	// DataDir/clients.json when that exists, and no clients otherwise.
	ClientsFile string
	// UpstreamFile lists the upstream OpenID Providers (national eIDs) people log
	// in with; "" is none.
	UpstreamFile string
	// WebhookURL receives every notification (signed, in order, at least once);
	// WebhookSecretFile holds the signing secret. "" is no webhook.
	WebhookURL        string
	WebhookSecretFile string
	// AccessTokenLifetime and RefreshTokenLifetime are the OAuth server's token
	// lifetimes; zero takes idp.Config's defaults.
	AccessTokenLifetime  time.Duration
	RefreshTokenLifetime time.Duration

	// Not flags: sane values for a server exposed to the internet behind a proxy.
	LockTimeout       time.Duration // how long to wait for another process's lock on the store
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	MaxHeaderBytes    int
	ShutdownTimeout   time.Duration // how long requests in flight get to finish
	PolicyReload      time.Duration // how often --policies is checked for changes
	ClientsReload     time.Duration // how often the clients file is checked for changes
	OAuthMaintenance  time.Duration // how often the OAuth server rotates keys and collects expired grants
	WebhookMinBackoff time.Duration // the webhook's first wait after a failed delivery (0: notify's default)
}

// DefaultServeConfig returns a configuration that works as it is.
func DefaultServeConfig() ServeConfig {
	return ServeConfig{
		Addr:              "127.0.0.1:8080",
		DataDir:           defaultDataDir,
		LogFormat:         "text",
		LogLevel:          "info",
		LockTimeout:       time.Second,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ShutdownTimeout:   10 * time.Second,
		PolicyReload:      time.Second,
		ClientsReload:     time.Second,
		OAuthMaintenance:  time.Minute,
	}
}

// Validate reports every problem of the configuration at once.
func (c ServeConfig) Validate() error {
	var errs []error
	if err := validateAddr(c.Addr); err != nil {
		errs = append(errs, err)
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("--data: the data directory is empty"))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("--log-format: %q is not text or json", c.LogFormat))
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	for _, d := range []struct {
		name string
		d    time.Duration
	}{
		{"lock timeout", c.LockTimeout}, {"read header timeout", c.ReadHeaderTimeout},
		{"read timeout", c.ReadTimeout}, {"write timeout", c.WriteTimeout},
		{"idle timeout", c.IdleTimeout}, {"shutdown timeout", c.ShutdownTimeout},
		{"policy reload interval", c.PolicyReload}, {"clients reload interval", c.ClientsReload},
		{"OAuth maintenance interval", c.OAuthMaintenance},
	} {
		if d.d <= 0 {
			errs = append(errs, fmt.Errorf("the %s must be positive", d.name))
		}
	}
	if (c.WebhookURL == "") != (c.WebhookSecretFile == "") {
		errs = append(errs, errors.New("--webhook-url and --webhook-secret-file go together: the webhook's requests are signed"))
	}
	if c.MaxHeaderBytes <= 0 {
		errs = append(errs, errors.New("the header size limit must be positive"))
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("--public-url: %q is not an absolute http(s) URL", c.PublicURL))
		} else if err := (idp.Config{Issuer: c.PublicURL}).Validate(); err != nil {
			errs = append(errs, fmt.Errorf("--public-url: %q cannot be the OAuth issuer: it must be https (http only on a loopback address), without query or fragment", c.PublicURL))
		}
	} else if err := validateAddr(c.Addr); err == nil {
		if err := (idp.Config{Issuer: "http://" + c.Addr}).Validate(); err != nil {
			errs = append(errs, fmt.Errorf("--public-url: required when --addr %q is not a loopback address: it is the OAuth issuer, the https URL clients reach the server at", c.Addr))
		}
	}
	for _, l := range []struct {
		flag string
		cfg  idp.Config
	}{
		{"--access-token-lifetime", idp.Config{AccessTokenLifetime: c.AccessTokenLifetime}},
		{"--refresh-token-lifetime", idp.Config{RefreshTokenLifetime: c.RefreshTokenLifetime}},
	} {
		// The idp's own rules, with an issuer that passes, so that only the
		// lifetime can fail.
		l.cfg.Issuer = "http://127.0.0.1"
		if err := l.cfg.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", l.flag, err))
		}
	}
	return errors.Join(errs...)
}

func validateAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--addr: %q is not host:port", addr)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || (n == 0 && port != "0") {
		return fmt.Errorf("--addr: %q has no port number (0 to 65535)", addr)
	}
	return nil
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("--log-level: %q is not debug, info, warn or error", s)
	}
	return l, nil
}

// ImportConfig configures `fullmakt import`.
type ImportConfig struct {
	DataDir           string
	Strict            bool // reject a whole file when any line fails
	BatchSize         int  // records per transaction
	AllowSyntheticIDs bool
	Files             []string // "-" is standard input
	LockTimeout       time.Duration
	// MemoryLimitMiB is the Go runtime's soft memory limit during the import, in MiB
	// (0: none). The heap of a batch transaction is short-lived garbage; without a
	// limit the runtime keeps twice the live heap and returns it late.
	MemoryLimitMiB int
}

// defaultImportMemoryLimitMiB was measured: with 10,000-record batches the live heap
// peaks near 125 MiB; 150 MiB keeps a 1,000,000-person import under 500 MB of RSS
// at no loss of speed (docs/BENCHMARKS.md).
const defaultImportMemoryLimitMiB = 150

// maxBatchSize bounds one transaction: a bigger one holds more in memory and gains
// nothing once the fsync per commit is amortised.
const maxBatchSize = 100_000

// DefaultImportConfig returns a configuration that works once Files is set.
func DefaultImportConfig() ImportConfig {
	return ImportConfig{DataDir: defaultDataDir, BatchSize: registers.DefaultBatchSize, LockTimeout: time.Second,
		MemoryLimitMiB: defaultImportMemoryLimitMiB}
}

// Validate reports every problem of the configuration at once.
func (c ImportConfig) Validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("--data: the data directory is empty"))
	}
	if c.BatchSize < 1 || c.BatchSize > maxBatchSize {
		errs = append(errs, fmt.Errorf("--batch: %d is not between 1 and %d", c.BatchSize, maxBatchSize))
	}
	if c.LockTimeout <= 0 {
		errs = append(errs, errors.New("the lock timeout must be positive"))
	}
	if c.MemoryLimitMiB < 0 {
		errs = append(errs, fmt.Errorf("--memory-limit: %d MiB is negative (0 means no limit)", c.MemoryLimitMiB))
	}
	if len(c.Files) == 0 {
		errs = append(errs, errors.New("no file to import (name one or more, or - for standard input)"))
	}
	stdin := 0
	for _, f := range c.Files {
		switch f {
		case "":
			errs = append(errs, errors.New("an empty file name"))
		case "-":
			stdin++
		}
	}
	if stdin > 1 {
		errs = append(errs, errors.New("standard input (-) can be imported only once"))
	}
	return errors.Join(errs...)
}

// DemoDataConfig configures `fullmakt demo-data`.
type DemoDataConfig struct {
	Persons int
	Seed    uint64
	Out     string // a file, or "-" for standard output
	Today   string // YYYY-MM-DD, the day the population is generated for; "" is today in Oslo
}

// maxDemoPersons keeps a typo from filling the disk.
const maxDemoPersons = 50_000_000

// DefaultDemoDataConfig returns a configuration that works as it is.
func DefaultDemoDataConfig() DemoDataConfig {
	return DemoDataConfig{Persons: 1000, Seed: 1, Out: "-"}
}

// Validate reports every problem of the configuration at once.
func (c DemoDataConfig) Validate() error {
	var errs []error
	if c.Persons < 1 || c.Persons > maxDemoPersons {
		errs = append(errs, fmt.Errorf("--persons: %d is not between 1 and %d", c.Persons, maxDemoPersons))
	}
	if c.Out == "" {
		errs = append(errs, errors.New("--out: empty (use - for standard output)"))
	}
	if c.Today != "" {
		if _, err := delegation.ParseDate(c.Today); err != nil {
			errs = append(errs, fmt.Errorf("--today: %q is not a date of the form YYYY-MM-DD", c.Today))
		}
	}
	return errors.Join(errs...)
}

// invalid prints the problems of a configuration and returns the usage exit status.
func invalid(c cli, command string, err error) int {
	fmt.Fprintf(c.stderr, "fullmakt %s: the configuration is not valid:\n", command)
	for _, e := range unjoin(err) {
		fmt.Fprintf(c.stderr, "  - %v\n", e)
	}
	fmt.Fprintf(c.stderr, "Run \"fullmakt %s --help\" for the flags.\n", command)
	return exitUsage
}

// unjoin returns the errors joined in err, or err alone.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
