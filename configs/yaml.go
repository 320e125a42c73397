package configs

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// YAML writes every key of c, in the order of the Config struct, as a YAML document that FromYAML and
// Load read back to an equal Config. It is what `moetrain config show` prints and what checkpoint
// manifests store. c is written as it is, valid or not.
func (c *Config) YAML() ([]byte, error) {
	root := &yaml.Node{Kind: yaml.MappingNode}
	sections := map[string]*yaml.Node{"": root}
	for _, f := range registry.fields {
		parent := sectionNode(sections, f.key[:max(strings.LastIndex(f.key, "."), 0)])
		leaf := new(yaml.Node)
		if err := leaf.Encode(yamlValue(f.get(c))); err != nil {
			return nil, fmt.Errorf("configs: writing %s: %w", f.key, err)
		}
		if leaf.Kind == yaml.SequenceNode {
			leaf.Style = yaml.FlowStyle
		}
		name := f.key[strings.LastIndex(f.key, ".")+1:]
		parent.Content = append(parent.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: name}, leaf)
	}
	doc := &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root},
		HeadComment: "moetrain configuration: every key, as resolved"}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("configs: writing YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("configs: writing YAML: %w", err)
	}
	return buf.Bytes(), nil
}

// sectionNode returns the mapping node of section (e.g. "moe.router"), creating it and its parents.
func sectionNode(sections map[string]*yaml.Node, section string) *yaml.Node {
	if n, ok := sections[section]; ok {
		return n
	}
	i := strings.LastIndex(section, ".")
	parent := sectionNode(sections, section[:max(i, 0)])
	n := &yaml.Node{Kind: yaml.MappingNode}
	parent.Content = append(parent.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: section[i+1:]}, n)
	sections[section] = n
	return n
}

// yamlValue returns the plain Go value that YAML writes for one field.
func yamlValue(v reflect.Value) any {
	switch x := v.Interface().(type) {
	case LayerFreq:
		if !x.IsList() {
			return x.Every
		}
		ints := make([]int, len(x.Pattern))
		for i, b := range x.Pattern {
			if b {
				ints[i] = 1
			}
		}
		return ints
	case ExpertCount:
		if !x.IsList() {
			return x.All
		}
		return x.PerLayer
	}
	if v.Kind() == reflect.String {
		return v.String() // drop the named type (RouterType, ...)
	}
	return v.Interface()
}
