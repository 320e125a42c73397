//go:build race

package optim

// raceEnabled: the race detector is on. It makes sync.Pool drop a share of
// what is put back, so allocation counts are not the steady state's.
const raceEnabled = true
