package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// flagSet is a subcommand's flag.FlagSet in which every flag has an environment
// variable, FULLMAKT_<FLAG_NAME> (upper case, dashes as underscores), read when the
// command line does not set the flag. The variable is named in the flag's help.
type flagSet struct {
	fs       *flag.FlagSet
	synopsis string // "fullmakt import [flags] FILE..."
	about    string // what the command does, in a sentence or two
	// interspersed lets flags follow the arguments ("policy test DIR -v").
	interspersed bool
	args         []string
}

func newFlagSet(name, synopsis, about string) *flagSet {
	fs := flag.NewFlagSet("fullmakt "+name, flag.ContinueOnError)
	// The flag package would print errors and usage itself; parse does it instead, so
	// that help goes to stdout and errors to stderr.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &flagSet{fs: fs, synopsis: synopsis, about: about}
}

// envName returns the environment variable of the flag name.
func envName(flagName string) string {
	return "FULLMAKT_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func (f *flagSet) StringVar(p *string, name, value, usage string) {
	f.fs.StringVar(p, name, value, usage)
}

func (f *flagSet) BoolVar(p *bool, name string, value bool, usage string) {
	f.fs.BoolVar(p, name, value, usage)
}

func (f *flagSet) IntVar(p *int, name string, value int, usage string) {
	f.fs.IntVar(p, name, value, usage)
}

func (f *flagSet) DurationVar(p *time.Duration, name string, value time.Duration, usage string) {
	f.fs.DurationVar(p, name, value, usage)
}

func (f *flagSet) Uint64Var(p *uint64, name string, value uint64, usage string) {
	f.fs.Uint64Var(p, name, value, usage)
}

// Args returns the arguments that are not flags.
func (f *flagSet) Args() []string {
	if f.interspersed {
		return f.args
	}
	return f.fs.Args()
}

// parse parses args and then sets every flag the command line left alone from its
// environment variable, when that is not empty. done is true when the command must
// end at once with the exit status code: 0 after --help (the help is on stdout), 2
// after a bad flag or a bad environment value (the problem and the help on stderr).
func (f *flagSet) parse(c cli, args []string) (code int, done bool) {
	err := f.fs.Parse(args)
	for f.interspersed && err == nil && f.fs.NArg() > 0 {
		f.args = append(f.args, f.fs.Arg(0))
		err = f.fs.Parse(f.fs.Args()[1:])
	}
	if errors.Is(err, flag.ErrHelp) {
		f.usage(c.stdout)
		return exitOK, true
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "%s: %v\n\n", f.fs.Name(), err)
		f.usage(c.stderr)
		return exitUsage, true
	}
	set := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	var errs []error
	f.fs.VisitAll(func(fl *flag.Flag) {
		v := c.getenv(envName(fl.Name))
		if set[fl.Name] || v == "" {
			return
		}
		if err := fl.Value.Set(v); err != nil {
			errs = append(errs, fmt.Errorf("$%s: invalid value for --%s: %v", envName(fl.Name), fl.Name, err))
		}
	})
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintf(c.stderr, "%s: %v\n\n", f.fs.Name(), err)
		f.usage(c.stderr)
		return exitUsage, true
	}
	return exitOK, false
}

// usage prints the synopsis, the description and every flag with its default and
// its environment variable.
func (f *flagSet) usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: %s\n\n%s\n", f.synopsis, f.about)
	first := true
	f.fs.VisitAll(func(fl *flag.Flag) {
		if first {
			fmt.Fprint(w, "\nFlags:\n")
			first = false
		}
		placeholder, help := flag.UnquoteUsage(fl)
		if placeholder == "value" {
			placeholder = ""
		}
		fmt.Fprintf(w, "  --%s", fl.Name)
		if placeholder != "" {
			fmt.Fprintf(w, " %s", placeholder)
		}
		fmt.Fprintf(w, "\n      %s", help)
		if !isZeroDefault(fl) {
			format := " (default %s)"
			if g, ok := fl.Value.(flag.Getter); ok {
				if _, isString := g.Get().(string); isString {
					format = " (default %q)"
				}
			}
			fmt.Fprintf(w, format, fl.DefValue)
		}
		fmt.Fprintf(w, " [$%s]\n", envName(fl.Name))
	})
	fmt.Fprint(w, "\nA flag on the command line wins over its environment variable.\n")
}

func isZeroDefault(fl *flag.Flag) bool {
	switch fl.DefValue {
	case "", "0", "0s", "false":
		return true
	}
	return false
}
