// Package field is the error the libraries' Validate methods return for
// one configuration field with a value it cannot have. The libraries name
// their Go fields ("Namespace.Links"); each caller says them in its own
// words (the command line's flags), so no library ever names a flag.
package field

import "fmt"

// Error is a Config field with a value it cannot have.
type Error struct {
	Field string // Go name of the field, dotted: "Namespace.Links"
	Value any
	Want  string
}

func (e *Error) Error() string { return fmt.Sprintf("%s %v: %s", e.Field, e.Value, e.Want) }

// Bad is the Error of field holding value, wanting want.
func Bad(field string, value any, want string) error {
	return &Error{Field: field, Value: value, Want: want}
}
