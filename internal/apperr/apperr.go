// Package apperr defines the error codes that capabilities return and the HTTP layer maps to
// status pages once: not found, forbidden, invalid input, wrong method, conflict, too large, too
// many.
package apperr

import (
	"errors"
	"fmt"
)

// Code classifies an error for the person who caused it.
type Code string

// The codes, each mapped to one HTTP status by the server.
const (
	ENOTFOUND  Code = "not_found" // 404: outside the user's access or absent
	EFORBIDDEN Code = "forbidden" // 403: visible, but the user lacks the right
	EINVALID   Code = "invalid"   // 422: input that breaks a rule
	EBADINPUT  Code = "bad_input" // 400: a request that is malformed
	EMETHOD    Code = "method"    // 405: the address exists, not for this method
	ECONFLICT  Code = "conflict"  // 409: clashes with existing data
	EGONE      Code = "gone"      // 410: existed, and was deleted for good (an expired export)
	ETOOLARGE  Code = "too_large" // 413: request body past the limit
	ETOOMANY   Code = "too_many"  // 429: slowed down
	EINTERNAL  Code = "internal"  // 500: everything else
)

// Error is an error whose Message is safe to show to the user; it is a message catalogue key
// (with Args for its placeholders). Fields holds per-field message keys for forms.
type Error struct {
	Code    Code
	Message string
	Args    []any
	Fields  map[string]string
}

func (e *Error) Error() string {
	if len(e.Args) > 0 {
		return fmt.Sprintf("%s: %s %v", e.Code, e.Message, e.Args)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// New returns an Error with the given code and message key.
func New(code Code, message string, args ...any) *Error {
	return &Error{Code: code, Message: message, Args: args}
}

// Invalid returns an EINVALID error with per-field message keys.
func Invalid(fields map[string]string) *Error {
	return &Error{Code: EINVALID, Message: "error.invalid", Fields: fields}
}

// CodeOf returns the code of the first Error in err's chain, or EINTERNAL.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// As returns the first Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
