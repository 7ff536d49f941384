// Command fullmakt is the one binary of Fullmakt: it serves the authorization
// service, imports register feeds into its store, writes demo populations and prints
// its version.
//
// It is the only package that knows every concrete type: it reads flags and the
// environment, builds the configuration, opens the bbolt store and wires the HTTP
// server. Everything it does is reachable through run, so tests drive the binary
// in-process with their own arguments, environment and standard streams.
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
		// the process at once, as an impatient operator expects.
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit statuses.
const (
	exitOK    = 0 // done
	exitError = 1 // the command ran and failed (or some input lines failed)
	exitUsage = 2 // the command line or the configuration is wrong
)

// cli is what a command reads and writes besides its arguments.
type cli struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// command is one subcommand of the binary.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, c cli, args []string) int
}

func commands() []command {
	return []command{
		{"serve", "run the HTTP server", runServe},
		{"import", "import register feeds (JSON Lines) into the store", runImport},
		{"demo-data", "write a synthetic demo population as JSON Lines", runDemoData},
		{"policy", "validate, test and export Cedar policy packs", runPolicy},
		{"client", "add, list, show, rotate and remove OAuth clients in the clients file", runClient},
		{"keys", "list the token signing keys, or rotate them", runKeys},
		{"version", "print the version of this build", runVersion},
	}
}

// run is the whole program: args[0] is the program name, args[1] the subcommand. It
// returns the exit status.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	env := cli{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) < 2 {
		usage(stderr)
		return exitUsage
	}
	name := args[1]
	switch name {
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return exitOK
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, env, args[2:])
		}
	}
	fmt.Fprintf(stderr, "fullmakt: unknown command %q\n\n", name)
	usage(stderr)
	return exitUsage
}

// subcommands runs the subcommand of command named by args[0], or prints usage:
// on stdout for help, on stderr (with exit status 2) for anything else.
func subcommands(ctx context.Context, c cli, command string, args []string, subs map[string]func(context.Context, cli, []string) int, usage string) int {
	if len(args) > 0 {
		if f, ok := subs[args[0]]; ok {
			return f(ctx, c, args[1:])
		}
	}
	w, code := c.stderr, exitUsage
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		w, code = c.stdout, exitOK
	} else if len(args) > 0 {
		fmt.Fprintf(c.stderr, "fullmakt %s: unknown subcommand %q\n\n", command, args[0])
	}
	fmt.Fprint(w, usage)
	return code
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Fullmakt is an authorization service for acting on behalf of others: parents for
their children, guardians for their wards, holders of a power of attorney (fullmakt)
for the person who gave it.

Usage:
  fullmakt <command> [flags] [arguments]

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s  %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Run "fullmakt <command> --help" for the flags of a command. Every flag can also be
set with an environment variable FULLMAKT_<FLAG>, such as FULLMAKT_DATA for --data;
a flag on the command line wins over the environment.
`)
}
