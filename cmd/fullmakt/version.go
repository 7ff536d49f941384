package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

func runVersion(_ context.Context, c cli, args []string) int {
	flags := newFlagSet("version", "fullmakt version", "Prints the version of this build: the module version, the commit it was built from, and the Go version.")
	if code, done := flags.parse(c, args); done {
		return code
	}
	if len(flags.Args()) > 0 {
		fmt.Fprintf(c.stderr, "fullmakt version: takes no arguments\n")
		return exitUsage
	}
	fmt.Fprintln(c.stdout, versionLine())
	return exitOK
}

// versionLine describes the build: "fullmakt v1.2.3 (commit 0123abcd, 2026-01-15T10:00:00Z) go1.26.8 linux/amd64".
// Builds outside version control, or with -buildvcs=false, have no commit.
func versionLine() string {
	version, detail := "(unknown)", ""
	goVersion := runtime.Version()
	if bi, ok := debug.ReadBuildInfo(); ok {
		version = bi.Main.Version
		goVersion = bi.GoVersion
		var rev, when, modified string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					modified = ", modified"
				}
			}
		}
		if rev != "" {
			var parts []string
			parts = append(parts, "commit "+rev[:min(len(rev), 12)]+modified)
			if when != "" {
				parts = append(parts, when)
			}
			detail = " (" + strings.Join(parts, ", ") + ")"
		}
	}
	if version == "" {
		version = "(devel)"
	}
	return fmt.Sprintf("fullmakt %s%s %s %s/%s", version, detail, goVersion, runtime.GOOS, runtime.GOARCH)
}
