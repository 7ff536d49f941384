package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/authz/policytest"
	"github.com/fullmakt/fullmakt/policies"
)

// runPolicy is `fullmakt policy validate|test|export`: the security team's tools.
func runPolicy(ctx context.Context, c cli, args []string) int {
	return subcommands(ctx, c, "policy", args, map[string]func(context.Context, cli, []string) int{
		"validate": runPolicyValidate,
		"test":     runPolicyTest,
		"export":   runPolicyExport,
	}, `Usage:
  fullmakt policy validate [DIR]          check a policy pack against its schema
  fullmakt policy test [flags] [DIR]      run the pack's decision cases
  fullmakt policy export DIR              write the built-in pack to DIR, to edit

A pack is a folder with schema.cedarschema, services.json and *.cedar files; without
DIR the built-in default pack is used. See policies/README.md.
`)
}

// packDir returns the pack folder named in args (at most one), or "" for the
// built-in pack.
func packDir(c cli, command string, args []string) (string, bool) {
	switch len(args) {
	case 0:
		return "", true
	case 1:
		return args[0], true
	}
	fmt.Fprintf(c.stderr, "fullmakt policy %s: takes at most one folder, got %q\n", command, args)
	return "", false
}

// loadPack loads the pack in dir, or the built-in one when dir is "".
func loadPack(dir string) (*authz.Pack, error) {
	if dir == "" {
		return policies.Load()
	}
	if st, err := os.Stat(dir); err != nil {
		return nil, err
	} else if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a folder", dir)
	}
	return authz.Load(os.DirFS(dir))
}

func runPolicyValidate(_ context.Context, c cli, args []string) int {
	flags := newFlagSet("policy validate", "fullmakt policy validate [DIR]",
		"Loads the policy pack in DIR (the built-in one without DIR): parses every\n"+
			"*.cedar file, validates each policy against schema.cedarschema, and checks\n"+
			"services.json. Prints a summary, or every problem as FILE:LINE: … and exits 1.")
	if code, done := flags.parse(c, args); done {
		return code
	}
	dir, ok := packDir(c, "validate", flags.Args())
	if !ok {
		return exitUsage
	}
	pack, err := loadPack(dir)
	if err != nil {
		fmt.Fprintf(c.stderr, "fullmakt policy validate: %v\n", err)
		return exitError
	}
	fmt.Fprintf(c.stdout, "ok: %d policies, %d services, version %s\n", len(pack.Policies), len(pack.Catalogue.Services), pack.Version)
	return exitOK
}

func runPolicyTest(_ context.Context, c cli, args []string) int {
	var cases string
	var verbose bool
	flags := newFlagSet("policy test", "fullmakt policy test [flags] [DIR]",
		"Loads the policy pack in DIR (the built-in one without DIR) and decides every\n"+
			"case in the case files (*.json) under DIR/testdata, or under --cases. Prints\n"+
			"each failing case with why, and a summary; exits 1 when a case fails.")
	flags.interspersed = true
	flags.StringVar(&cases, "cases", "", "read decision cases from `CASES` instead of DIR/testdata")
	flags.BoolVar(&verbose, "v", false, "also list the cases that pass")
	if code, done := flags.parse(c, args); done {
		return code
	}
	dir, ok := packDir(c, "test", flags.Args())
	if !ok {
		return exitUsage
	}
	pack, err := loadPack(dir)
	if err != nil {
		fmt.Fprintf(c.stderr, "fullmakt policy test: %v\n", err)
		return exitError
	}
	var caseFS fs.FS
	switch {
	case cases != "":
		caseFS = os.DirFS(cases)
	case dir != "":
		caseFS = os.DirFS(filepath.Join(dir, "testdata"))
	default:
		caseFS, err = fs.Sub(policies.FS(), "testdata")
		if err != nil {
			fmt.Fprintf(c.stderr, "fullmakt policy test: %v\n", err)
			return exitError
		}
	}
	files, err := policytest.Load(caseFS)
	if err != nil {
		fmt.Fprintf(c.stderr, "fullmakt policy test: %v\n", err)
		return exitError
	}
	results := policytest.Run(pack, files)
	if len(results) == 0 {
		fmt.Fprintln(c.stderr, "fullmakt policy test: no decision cases found")
		return exitError
	}
	fmt.Fprintf(c.stdout, "policy pack %s\n", pack.Version)
	if policytest.Report(c.stdout, results, verbose) > 0 {
		return exitError
	}
	return exitOK
}

func runPolicyExport(_ context.Context, c cli, args []string) int {
	flags := newFlagSet("policy export", "fullmakt policy export DIR",
		"Writes the built-in policy pack, with its decision cases, to DIR (which must\n"+
			"not exist yet): a starting point for a pack of your own, to load with\n"+
			"fullmakt serve --policies DIR.")
	if code, done := flags.parse(c, args); done {
		return code
	}
	if len(flags.Args()) != 1 {
		fmt.Fprintln(c.stderr, "fullmakt policy export: name the folder to write")
		return exitUsage
	}
	dir := flags.Args()[0]
	if _, err := os.Stat(dir); err == nil {
		fmt.Fprintf(c.stderr, "fullmakt policy export: %s exists; choose a new folder\n", dir)
		return exitError
	}
	if err := os.CopyFS(dir, policies.FS()); err != nil {
		fmt.Fprintf(c.stderr, "fullmakt policy export: %v\n", err)
		return exitError
	}
	fmt.Fprintf(c.stdout, "wrote the built-in policy pack to %s\n", dir)
	return exitOK
}
