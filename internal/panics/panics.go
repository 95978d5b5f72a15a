// Package panics turns a goroutine's panic into an error, so that the run
// owning the goroutine ends through its normal path and removes what it
// made (namespaces, links, BPF links) instead of the process dying first.
package panics

import (
	"fmt"
	"runtime/debug"
)

// Guard returns fn wrapped so that a panic inside it comes back as an
// error naming what panicked, with its stack. Use it around every function
// given to an errgroup.
func Guard(what string, fn func() error) func() error {
	return func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("%s panicked: %v\n%s", what, p, debug.Stack())
			}
		}()
		return fn()
	}
}
