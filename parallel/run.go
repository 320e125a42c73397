package parallel

import (
	"fmt"
	"runtime/debug"
	"sync"
)

// Run calls fn(comms[r]) for every rank r, each on its own goroutine, and
// waits for all of them; errs[r] is rank r's result. A rank whose fn fails
// or panics has its communicator (and the groups split from it) closed, so
// peers waiting on it fail at once naming it instead of waiting out the
// timeout; a panic becomes an error naming the rank, with its stack.
func Run(comms []Comm, fn func(c Comm) error) []error {
	errs := make([]error, len(comms))
	var wg sync.WaitGroup
	for r, c := range comms {
		wg.Go(func() {
			defer func() {
				if p := recover(); p != nil {
					errs[r] = fmt.Errorf("parallel: rank %d panicked: %v\n%s", r, p, debug.Stack())
				}
				if errs[r] != nil {
					_ = c.Close()
				}
			}()
			errs[r] = fn(c)
		})
	}
	wg.Wait()
	return errs
}
