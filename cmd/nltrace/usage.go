package main

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/urfave/cli/v2"
)

// singleDash finds the Go flag package's -name, which nltrace spells --name.
var singleDash = regexp.MustCompile(`(^|\s)-([a-z])`)

// usageError makes a flag that cannot be parsed one line on stderr with a
// hint, instead of the whole help on stdout, where it would corrupt --json.
func usageError(c *cli.Context, err error, _ bool) error {
	msg := err.Error()
	// --churn is a boolean flag that takes a value: the flag package calls
	// a bad mix an invalid boolean.
	if _, mix, ok := strings.Cut(msg, "for -churn: "); ok {
		msg = "--churn: " + mix
	}
	msg = singleDash.ReplaceAllString(msg, "$1--$2")
	name := c.App.Name
	if c.Command != nil && c.Command.Name != "" && c.Command.Name != name {
		name += " " + c.Command.Name
	}
	return fmt.Errorf("%s (see %s --help)", msg, name)
}
