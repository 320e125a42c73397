package configs

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// rawValue is one value as a source wrote it, before conversion to its key's type.
type rawValue struct {
	node     *yaml.Node // its YAML reading: a scalar, sequence or mapping node
	text     string     // the original text, for values given as strings (env, --set, flags)
	fromText bool       // whether text is set
}

// textValue reads s, a value from the environment, --set or a flag, as a YAML scalar or flow list.
func textValue(s string) rawValue {
	node := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	if strings.TrimSpace(s) == "" {
		node.Tag = "!!null"
	} else if doc, err := decodeOne([]byte(s)); err == nil && doc != nil && len(doc.Content) == 1 {
		node = doc.Content[0]
	}
	return rawValue{node: node, text: s, fromText: true}
}

// display returns the value as the user wrote it, for error messages.
func (r rawValue) display() string {
	if r.fromText {
		return clip(r.text)
	}
	return displayNode(r.node)
}

// displayNode writes n for an error message: a scalar as it is, a list or mapping in flow style.
// At most maxShownItems entries of any list or mapping and about maxShownChars characters are
// written, the rest counted ("... (N more)"), so that neither a long list nor an alias that expands
// exponentially can make the message large.
func displayNode(n *yaml.Node) string {
	var b strings.Builder
	writeNode(&b, n, 0)
	return clip(b.String())
}

// writeNode appends n to b for displayNode; depth counts the enclosing lists, mappings and aliases.
func writeNode(b *strings.Builder, n *yaml.Node, depth int) {
	if n == nil || depth > 16 || b.Len() > maxShownChars {
		b.WriteString("...")
		return
	}
	switch n.Kind {
	case yaml.ScalarNode:
		b.WriteString(clip(n.Value))
	case yaml.SequenceNode:
		b.WriteByte('[')
		for i, c := range n.Content {
			if i == maxShownItems || b.Len() > maxShownChars {
				fmt.Fprintf(b, "... (%d more)", len(n.Content)-i)
				break
			}
			if i > 0 {
				b.WriteString(", ")
			}
			writeNode(b, c, depth+1)
		}
		b.WriteByte(']')
	case yaml.MappingNode:
		b.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i/2 == maxShownItems || b.Len() > maxShownChars {
				fmt.Fprintf(b, "... (%d more)", (len(n.Content)-i)/2)
				break
			}
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(clip(n.Content[i].Value))
			b.WriteString(": ")
			writeNode(b, n.Content[i+1], depth+1)
		}
		b.WriteByte('}')
	case yaml.AliasNode:
		writeNode(b, n.Alias, depth+1)
	}
}

// describeType names what a key of type t accepts, for error messages.
func describeType(t reflect.Type) string {
	switch {
	case t == layerFreqType:
		return "an integer or a list of 0/1, one per layer"
	case t == expertCountType:
		return "an integer or a list of integers, one per MoE layer"
	case t == namesType:
		return "a list of names"
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int64:
		return "an integer"
	case reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	}
	return "a string"
}

// convertError is a value that does not fit its key's type.
type convertError struct{ msg, hint string }

// convert turns r into a value of f's type: int, int64, float64, bool, string, LayerFreq, ExpertCount
// or []string.
func convert(f *field, r rawValue) (any, *convertError) {
	node := r.node
	for node.Kind == yaml.AliasNode {
		node = node.Alias
	}
	if f.typ == namesType {
		return convertNames(f, node, r)
	}
	listType := f.typ == layerFreqType || f.typ == expertCountType
	if listType && r.fromText && node.Kind == yaml.ScalarNode && strings.Contains(r.text, ",") {
		node = textValue("[" + r.text + "]").node
	}
	isString := f.typ.Kind() == reflect.String
	if isString && r.fromText {
		return convertString(node, r), nil
	}
	want := describeType(f.typ)
	switch node.Kind {
	case yaml.MappingNode:
		return nil, &convertError{fmt.Sprintf("expects %s, not a mapping", want),
			fmt.Sprintf("%s is a single value, not a section", f.key)}
	case yaml.SequenceNode:
		if !listType {
			return nil, &convertError{fmt.Sprintf("expects %s, not a list", want), ""}
		}
		return convertList(f, node)
	}
	if isString {
		return convertString(node, r), nil
	}
	if node.Tag == "!!null" {
		return nil, &convertError{"has no value", fmt.Sprintf("give %s", want)}
	}
	switch {
	case f.typ == layerFreqType:
		n, err := parseInt(node.Value, want)
		return EveryLayer(int(n)), err
	case f.typ == expertCountType:
		n, err := parseInt(node.Value, want)
		return Experts(int(n)), err
	}
	switch f.typ.Kind() {
	case reflect.Int:
		n, err := parseInt(node.Value, want)
		return int(n), err
	case reflect.Int64:
		return parseInt(node.Value, want)
	case reflect.Float64:
		return parseFloat(node.Value)
	case reflect.Bool:
		return parseBool(node.Value)
	}
	panic("configs: no conversion to " + f.typ.String())
}

// convertString reads a string key from a scalar node. Text from the command line or the
// environment is taken as it is, unless it is a quoted YAML string; a YAML null is "".
func convertString(node *yaml.Node, r rawValue) any {
	quoted := node.Kind == yaml.ScalarNode && node.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle) != 0
	switch {
	case r.fromText && !quoted:
		return r.text
	case node.Tag == "!!null":
		return ""
	}
	return node.Value
}

// convertList reads the list form of moe.layer_freq or moe.num_experts.
func convertList(f *field, node *yaml.Node) (any, *convertError) {
	if n := len(node.Content); n > MaxListEntries {
		return nil, tooLong(f, n)
	}
	ints := make([]int, 0, len(node.Content))
	for i, item := range node.Content {
		for item.Kind == yaml.AliasNode {
			item = item.Alias
		}
		if item.Kind != yaml.ScalarNode {
			return nil, &convertError{fmt.Sprintf("entry %d is not a single integer", i), ""}
		}
		if f.typ == layerFreqType {
			b, err := parseBool(item.Value)
			if err != nil {
				return nil, &convertError{fmt.Sprintf("entry %d is %q, not 0 or 1", i, clip(item.Value)),
					"write 1 for an MoE layer and 0 for a dense layer"}
			}
			ints = append(ints, map[bool]int{false: 0, true: 1}[b.(bool)])
			continue
		}
		n, err := parseInt(item.Value, "an integer")
		if err != nil {
			return nil, &convertError{fmt.Sprintf("entry %d: %s", i, err.msg), err.hint}
		}
		ints = append(ints, int(n))
	}
	if f.typ == expertCountType {
		return ExpertsPerLayer(ints...), nil
	}
	pattern := make([]bool, len(ints))
	for i, v := range ints {
		pattern[i] = v == 1
	}
	return LayerPattern(pattern...), nil
}

// convertNames reads a list of names (lora.targets): a YAML list of strings, or one string holding
// the names separated by commas ("q_proj, v_proj"), which is how text from the command line or the
// environment is read unless it starts with "[". An empty value is an empty list, which Validate
// refuses with the names it accepts.
func convertNames(f *field, node *yaml.Node, r rawValue) (any, *convertError) {
	text := strings.TrimSpace(r.text)
	if r.fromText && !strings.HasPrefix(text, "[") {
		node = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: text}
		if text == "" {
			node.Tag = "!!null"
		}
	}
	var items []string
	switch node.Kind {
	case yaml.MappingNode:
		return nil, &convertError{"expects a list of names, not a mapping", fmt.Sprintf("%s is a list such as [q_proj, v_proj]", f.key)}
	case yaml.ScalarNode:
		if node.Tag == "!!null" {
			return []string{}, nil
		}
		if r.fromText && strings.HasPrefix(text, "[") {
			return nil, &convertError{"is not a YAML list", fmt.Sprintf("write %s=q_proj,v_proj or %s=[q_proj, v_proj]", f.key, f.key)}
		}
		if n := strings.Count(node.Value, ",") + 1; n > MaxListEntries {
			return nil, tooLong(f, n)
		}
		items = strings.Split(node.Value, ",")
	case yaml.SequenceNode:
		if n := len(node.Content); n > MaxListEntries {
			return nil, tooLong(f, n)
		}
		for i, item := range node.Content {
			for item.Kind == yaml.AliasNode {
				item = item.Alias
			}
			if item.Kind != yaml.ScalarNode || item.Tag == "!!null" {
				return nil, &convertError{fmt.Sprintf("entry %d is not a single name", i), "write the names as a flat list, e.g. [q_proj, v_proj]"}
			}
			items = append(items, item.Value)
		}
	}
	names := make([]string, len(items))
	for i, s := range items {
		names[i] = strings.TrimSpace(s)
		if names[i] == "" {
			return nil, &convertError{fmt.Sprintf("entry %d is empty", i), "separate the names by single commas, e.g. q_proj,v_proj"}
		}
	}
	return names, nil
}

// tooLong is the error for a list value of n entries, more than MaxListEntries.
func tooLong(f *field, n int) *convertError {
	return &convertError{fmt.Sprintf("has %d entries, more than the %d a list may have", n, MaxListEntries),
		fmt.Sprintf("give %s with at most one entry per layer (model.n_layers is at most %d)", f.key, MaxLayers)}
}

// aliasNodes counts the nodes that the aliases (*a) inside n stand for, each time an alias is
// reached, stopping once the count passes limit (so it costs at most about limit steps, whatever
// the aliases expand to). A value without aliases counts 0, however long.
func aliasNodes(n *yaml.Node, limit int) int {
	count := 0
	var walk func(n *yaml.Node, depth int, expanded bool)
	walk = func(n *yaml.Node, depth int, expanded bool) {
		if n == nil || count > limit {
			return
		}
		if expanded {
			count++
		}
		if depth > 64 { // nesting this deep is a hostile input whatever its size
			count = limit + 1
			return
		}
		if n.Kind == yaml.AliasNode {
			walk(n.Alias, depth+1, true)
			return
		}
		for _, c := range n.Content {
			walk(c, depth+1, expanded)
		}
	}
	walk(n, 0, false)
	return count
}

// parseInt reads a decimal integer; a number with no fractional part ("1e3", "300.0") is accepted too.
func parseInt(s, want string) (int64, *convertError) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	if x, err := strconv.ParseFloat(s, 64); err == nil && x == math.Trunc(x) && math.Abs(x) < 1<<53 {
		return int64(x), nil
	}
	return 0, &convertError{fmt.Sprintf("cannot parse %q as an integer", clip(s)), fmt.Sprintf("give %s", want)}
}

// parseFloat reads a finite decimal number such as 3e-4 or 0.1.
func parseFloat(s string) (any, *convertError) {
	s = strings.TrimSpace(s)
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, &convertError{fmt.Sprintf("cannot parse %q as a number", clip(s)), "give a decimal number such as 0.1 or 3e-4"}
	}
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil, &convertError{fmt.Sprintf("%q is not a finite number", clip(s)), "give a decimal number such as 0.1 or 3e-4"}
	}
	return x, nil
}

// parseBool reads true/false, yes/no, on/off or 1/0, in any case.
func parseBool(s string) (any, *convertError) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "on", "1":
		return true, nil
	case "false", "no", "off", "0":
		return false, nil
	}
	return nil, &convertError{fmt.Sprintf("cannot parse %q as a boolean", clip(s)), "give true or false"}
}
