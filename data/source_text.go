package data

import (
	"fmt"
	"io"
	"os"
)

// openTextSource reads a whole file as one document.
func openTextSource(path string) (Source, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	docs := []Document{{Text: string(b), Origin: path}}
	return &batchSource{fill: func() ([]Document, error) {
		d := docs
		docs = nil
		if d == nil {
			return nil, io.EOF
		}
		return d, nil
	}}, nil
}
