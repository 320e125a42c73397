package configs

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// readFile reads the keys of a YAML configuration into the file layer. Sections nest as mappings
// (train: {lr: 0.01}); dotted keys (train.lr: 0.01) are accepted at any level. It returns an error
// only for text that is not YAML or not a mapping; key and value problems go to l.errs.
func (l *loader) readFile(data []byte, name string) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if len(doc.Content) == 0 {
		return nil // empty file: defaults only
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("%s, line %d: expected a mapping of sections (model:, moe:, train:, data:, parallel:)",
			name, root.Line)
	}
	seen := map[string]int{}
	l.readMapping(root, "", name, seen)
	return nil
}

// readMapping reads the pairs of mapping node m found under section prefix.
func (l *loader) readMapping(m *yaml.Node, prefix, name string, seen map[string]int) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, val := m.Content[i], m.Content[i+1]
		key := strings.ToLower(k.Value)
		if prefix != "" {
			key = prefix + "." + key
		}
		src := fmt.Sprintf("%s, line %d", name, k.Line)
		f := lookup(key)
		switch {
		case f != nil:
			if first, dup := seen[key]; dup {
				l.errs = append(l.errs, &FieldError{Key: key, Value: displayNode(val), Source: src,
					Msg: fmt.Sprintf("is set twice (first on line %d)", first), Hint: "keep one of the two"})
				continue
			}
			seen[key] = k.Line
			l.store(l.file, f, rawValue{node: val}, src)
		case isSection(key):
			switch {
			case val.Kind == yaml.MappingNode:
				l.readMapping(val, key, name, seen)
			case val.Kind == yaml.ScalarNode && val.Tag == "!!null":
				// an empty section sets nothing
			default:
				l.errs = append(l.errs, &FieldError{Key: key, Value: displayNode(val), Source: src,
					Msg:  "is a section, not a single value",
					Hint: "write its keys under it: " + strings.Join(registry.sections[key], ", ")})
			}
		default:
			l.errs = append(l.errs, &FieldError{Key: key, Source: src, Msg: "unknown key", Hint: unknownKeyHint(key)})
		}
	}
}
