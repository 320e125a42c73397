package parallel

import "fmt"

// DispatchError is the panic value of an expert-parallel exchange that
// failed (Dispatch, Combine and their backward passes return no error):
// Err is the collective's error, a *Error naming the peers at fault when
// the communicator reports one. The trainer recovers exactly this type.
type DispatchError struct {
	Collective string // what was being exchanged, e.g. "token rows to the experts"
	Err        error
}

// Error says which exchange failed and why.
func (e *DispatchError) Error() string {
	return fmt.Sprintf("expert-parallel dispatch: %s: %v", e.Collective, e.Err)
}

// Unwrap returns the collective's error.
func (e *DispatchError) Unwrap() error { return e.Err }
