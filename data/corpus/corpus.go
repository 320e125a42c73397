package corpus

import _ "embed"

//go:generate go run ./gen -out default.txt

//go:embed default.txt
var defaultText string

// Name is how the embedded corpus is named in manifests and logs.
const Name = "embedded:default"

// Default returns the embedded corpus text.
func Default() string { return defaultText }
