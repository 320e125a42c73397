// Command moetrain trains Mixture-of-Experts transformer language models.
package main

import (
	"os"
)

func main() {
	os.Exit(Execute(os.Args[1:], os.Stdout, os.Stderr))
}
