package data_test

import "os"

// tempDir makes a scratch directory for examples, which have no testing.T.
func tempDir() (string, func()) {
	dir, err := os.MkdirTemp("", "moetrain-data-example-")
	if err != nil {
		panic(err)
	}
	return dir, func() { os.RemoveAll(dir) }
}
