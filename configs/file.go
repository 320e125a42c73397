package configs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"
)

// readFile reads the keys of a YAML configuration into the file layer. Sections nest as mappings
// (train: {lr: 0.01}); dotted keys (train.lr: 0.01) are accepted at any level. It returns an error
// only for text that is not YAML or not a mapping; key and value problems go to l.errs.
func (l *loader) readFile(data []byte, name string) error {
	if len(data) > MaxFileBytes {
		return fmt.Errorf("%s: more than %d bytes, the most a configuration may have (a configuration is a few dozen keys); check that this is the right file",
			name, MaxFileBytes)
	}
	doc, err := decodeOne(data)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if doc == nil || len(doc.Content) == 0 {
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

// decodeOne reads data as exactly one YAML document and returns its document node, or nil for
// text with no document at all. Further documents ("---" and more keys) are refused, not ignored:
// keys after a document separator would otherwise be dropped without a word. An empty document
// after the first (a trailing "---") is accepted.
func decodeOne(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var first *yaml.Node
	for {
		doc := new(yaml.Node)
		err := dec.Decode(doc)
		if errors.Is(err, io.EOF) {
			return first, nil
		}
		if err != nil {
			return nil, err
		}
		switch {
		case first == nil:
			first = doc
		case !emptyDocument(doc):
			line := doc.Line
			if len(doc.Content) > 0 {
				line = doc.Content[0].Line
			}
			return nil, fmt.Errorf("line %d: a second YAML document starts here, after a \"---\" line, but a configuration is one document; "+
				"remove the \"---\" and merge the keys into one mapping", line)
		}
	}
}

// emptyDocument reports whether doc holds nothing: no node, or a single empty null scalar.
func emptyDocument(doc *yaml.Node) bool {
	if len(doc.Content) == 0 {
		return true
	}
	n := doc.Content[0]
	return len(doc.Content) == 1 && n.Kind == yaml.ScalarNode && n.Value == "" && n.Style == 0
}
