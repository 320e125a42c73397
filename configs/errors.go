package configs

import (
	"fmt"
	"slices"
	"strings"
)

// FieldError is one problem with one configuration key: an unknown key, a value of the wrong type or
// an invalid value. Its message reads "key: problem (source); what to do".
type FieldError struct {
	Key    string // the key as given, e.g. "train.lr" or the misspelt "train.lrr"
	Value  string // the offending value as written, "" for an unknown key
	Source string // where the value came from: "default", "file x.yaml, line 3", "env MOETRAIN_TRAIN_LR", ...
	Msg    string // what is wrong, e.g. `cannot parse "abc" as a number`
	Hint   string // what to do about it; may be empty
}

// Error implements error.
func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString(clip(e.Key))
	b.WriteString(": ")
	b.WriteString(e.Msg)
	if e.Source != "" {
		b.WriteString(" (")
		b.WriteString(clip(e.Source))
		b.WriteString(")")
	}
	if e.Hint != "" {
		b.WriteString("; ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

// Errors is every problem found in one configuration, reported together. Load, FromYAML and Validate
// return it as their error; use errors.As to reach the individual FieldErrors.
type Errors []*FieldError

// Error implements error: one problem on one line, several as a list.
func (es Errors) Error() string {
	if len(es) == 1 {
		return es[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d problems in the configuration:", len(es))
	for i, e := range es {
		if i == maxShownErrors {
			fmt.Fprintf(&b, "\n  ... and %d more", len(es)-i)
			break
		}
		b.WriteString("\n  - ")
		b.WriteString(e.Error())
	}
	return b.String()
}

// Keys returns the keys named by the errors, in order.
func (es Errors) Keys() []string {
	keys := make([]string, len(es))
	for i, e := range es {
		keys[i] = e.Key
	}
	return keys
}

// orNil returns es as an error, or nil when it is empty.
func (es Errors) orNil() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// unknownKeyHint says what to write instead of the unknown key: the closest valid key, or the keys of
// the section the key was written under.
func unknownKeyHint(key string) string {
	if s := suggestKey(key); s != "" {
		if isSection(s) {
			return fmt.Sprintf("did you mean %q? (a section; its keys are %s)", s, shownKeys(registry.sections[s]))
		}
		return fmt.Sprintf("did you mean %q?", s)
	}
	section := key
	for {
		i := strings.LastIndex(section, ".")
		if i < 0 {
			break
		}
		section = section[:i]
		if isSection(section) {
			return fmt.Sprintf("the keys under %s are %s", section, shownKeys(registry.sections[section]))
		}
	}
	return "valid top-level sections are model, moe, train, data, parallel, upcycle and lora"
}

// suggestKey returns the valid key or section closest to the unknown key, or "" when none is close.
// A key whose last part names exactly one valid key in another section ("model.lr") gets that key
// ("train.lr"), and so does the start of exactly one key ("train.warmup" -> "train.warmup_steps").
// The suggestion always differs from key: a key or section is never suggested for itself.
func suggestKey(key string) string {
	given := key
	key = strings.ToLower(key)
	if lookup(key) != nil || isSection(key) {
		if given != key {
			return key // only the case differs: "Train.Steps" -> "train.steps"
		}
		return "" // nothing to correct; callers say what is wrong with a section used as a key
	}
	leaf := key[strings.LastIndex(key, ".")+1:]
	var sameLeaf []string
	for _, f := range registry.fields {
		if f.key[strings.LastIndex(f.key, ".")+1:] == leaf {
			sameLeaf = append(sameLeaf, f.key)
		}
	}
	if len(sameLeaf) == 1 {
		return sameLeaf[0]
	}
	var extended []string // keys that start with the given one: "train.warmup" -> "train.warmup_steps"
	for _, f := range registry.fields {
		if strings.HasPrefix(f.key, key) {
			extended = append(extended, f.key)
		}
	}
	if len(extended) == 1 {
		return extended[0]
	}
	candidates := Keys()
	for section := range registry.sections {
		candidates = append(candidates, section)
	}
	slices.Sort(candidates) // ties go to the same key on every run
	return closest(key, candidates, max(2, len(key)/4))
}

// closest returns the candidate with the smallest edit distance to s if that distance is at most
// limit, else "".
func closest(s string, candidates []string, limit int) string {
	best, bestD := "", limit+1
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Damerau–Levenshtein distance (optimal string alignment) of a and b, so that a
// swap of two neighbouring letters counts as one edit.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
