// Command example-agency is a small, realistic agency service built only on
// Fullmakt's SDK (package sdk): a student-support office where a person logs in
// with Fullmakt, says whom they apply for (themself, their child, someone who gave
// them a fullmakt), fills in an application and submits it; submitting needs level
// high, and a lower login is sent back to Fullmakt for a step-up (RFC 9470). Each
// case keeps the signed receipt of the decision that allowed it.
//
// One process serves three things: the web front (an OpenID Connect client of
// Fullmakt, authenticating with private_key_jwt), the applications API it calls
// (/api/, protected by the SDK's Require), and a second agency's API, the diplomas
// API (/diplomas/), which the applications API calls with an exchanged token so
// that the chain of who acts for whom stays visible.
//
// It imports the standard library and the sdk package only, never another package
// of this repository: it is what an agency would write.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, restore the default handling: a second one ends
		// the process at once.
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit statuses.
const (
	exitOK    = 0 // stopped cleanly
	exitError = 1 // ran and failed
	exitUsage = 2 // the command line or the configuration is wrong
)

// run is the whole program: it parses args (args[0] is the program name), serves
// until ctx ends, and returns the exit status. It has the shape of cmd/fullmakt's
// run; the office reads nothing from its standard input.
func run(ctx context.Context, args []string, getenv func(string) string, _ io.Reader, stdout, stderr io.Writer) int {
	cfg, code, done := parseFlags(args, getenv, stdout, stderr)
	if done {
		return code
	}
	log, err := newLogger(stderr, cfg.LogFormat, cfg.LogLevel)
	if err != nil {
		fmt.Fprintf(stderr, "example-agency: %v\n", err)
		return exitUsage
	}
	if err := serve(ctx, cfg, log, stderr); err != nil {
		fmt.Fprintf(stderr, "example-agency: %v\n", err)
		return exitError
	}
	return exitOK
}
