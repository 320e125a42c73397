package configs

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits on what a configuration source may hold. A real configuration file has a few dozen keys
// and fits in a few kilobytes; these bounds are orders of magnitude above that, so that only a
// damaged or hostile input reaches them, and reading one stays small in time and memory.
const (
	// MaxFileBytes is the largest configuration file (or checkpoint base configuration) read.
	MaxFileBytes = 1 << 20
	// MaxListEntries is the most entries a list value (moe.layer_freq, moe.num_experts, lora.targets)
	// may have: one per layer at most, and model.n_layers is at most MaxLayers.
	MaxListEntries = MaxLayers
	// maxAliasNodes bounds the YAML nodes one value may reach through aliases (*a), so that a
	// chain of aliases that doubles at every step cannot expand to billions of nodes.
	maxAliasNodes = 10000
	// maxShownChars and maxShownItems bound how much of a value an error message repeats.
	maxShownChars = 200
	maxShownItems = 16
	// maxShownErrors is how many problems Errors.Error lists before it counts the rest.
	maxShownErrors = 50
)

// clip shortens s to at most maxShownChars bytes (on a rune boundary) for an error message,
// saying how much was left out.
func clip(s string) string {
	if len(s) <= maxShownChars {
		return s
	}
	cut := maxShownChars
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s... (%d more bytes)", s[:cut], len(s)-cut)
}

// shownList writes items as a flow list "[a, b, ...]" with at most maxShownItems entries and
// maxShownChars characters, then "... (N more)".
func shownList(n int, item func(i int) string) string {
	var b strings.Builder
	b.WriteByte('[')
	shown := 0
	for ; shown < n && shown < maxShownItems && b.Len() < maxShownChars; shown++ {
		if shown > 0 {
			b.WriteString(", ")
		}
		b.WriteString(clip(item(shown)))
	}
	if shown < n {
		fmt.Fprintf(&b, ", ... (%d more)", n-shown)
	}
	b.WriteByte(']')
	return b.String()
}

// shownKeys joins keys with ", ", listing at most maxShownItems of them.
func shownKeys(keys []string) string {
	if len(keys) <= maxShownItems {
		return strings.Join(keys, ", ")
	}
	return strings.Join(keys[:maxShownItems], ", ") + fmt.Sprintf(", ... (%d more)", len(keys)-maxShownItems)
}
