package router

import (
	"slices"
	"strings"
)

// types maps each Config.Type name to its implementation. It is never
// written after initialisation.
var types = map[string]Type{
	TopKSoftmax: topKSoftmax{},
	Sigmoid:     sigmoidType{},
	NoisyTopK:   noisyTopK{},
}

// Types returns the registered router type names, sorted.
func Types() []string {
	names := make([]string, 0, len(types))
	for name := range types {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// typeList returns the registered names as "a, b or c" for error messages.
func typeList() string {
	names := Types()
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
