package data

import (
	"fmt"
	"os"
)

// openTextSource reads a whole file as one document.
func openTextSource(path string) (Source, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	return &batchSource{fill: onceDocs(Document{Text: string(b), Origin: path})}, nil
}
