package configs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/spf13/viper"
)

// LoadOptions says where Load reads a configuration from. For any one key the value comes from the
// first of these that sets it: Sets, then Flags, then Env, then the ConfigRef file, then Default.
type LoadOptions struct {
	// ConfigRef is a preset name ("tiny", see Presets) or the path of a YAML file; "" means defaults
	// only. A name that contains a path separator or ends in .yaml or .yml is always a file path
	// ("./tiny" reads a file called tiny).
	ConfigRef string
	// Sets are "key=value" overrides (--set); each value is read as a YAML scalar or flow list, e.g.
	// "moe.layer_freq=[1,0,1,0]" (a bare comma list "1,0,1,0" is accepted for list keys too).
	// A later entry for the same key wins, and Sets win over Flags.
	Sets []string
	// Env holds "NAME=value" entries as os.Environ returns them. Only names that start with EnvPrefix
	// are read, each of which must be EnvVar of a key (MOETRAIN_TRAIN_LR=0.01).
	Env []string
	// Flags maps keys to the values of command-line flags that the user set explicitly
	// ("data.path" -> "corpus.txt"); values are read like Sets.
	Flags map[string]string
	// Base, when set, is a YAML configuration read beneath ConfigRef: the keys ConfigRef does not set
	// keep Base's values instead of the defaults (upcycle and finetune start from the configuration
	// saved in their source checkpoint). BaseName names it in messages ("checkpoint runs/dense").
	Base     []byte
	BaseName string
}

// Load builds the typed configuration from defaults, an optional base, an optional preset or file, the environment,
// flags and --set overrides, layered with a fresh viper instance, and validates it.
//
// A file that cannot be read or is not YAML is returned as a wrapped error. Every other problem is
// collected into an Errors: unknown keys (with the closest valid key), values of the wrong type, and
// then, only if there were none of those, every failed validation rule. Each FieldError names the key,
// the value and where it came from.
func Load(opts LoadOptions) (*Config, error) {
	l := newLoader()
	if opts.Base != nil {
		if err := l.readFile(opts.Base, opts.BaseName); err != nil {
			return nil, err
		}
	}
	if opts.ConfigRef != "" {
		data, name, err := readConfigRef(opts.ConfigRef)
		if err != nil {
			return nil, err
		}
		if err := l.readFile(data, name); err != nil {
			return nil, err
		}
	}
	l.readEnv(opts.Env)
	for _, key := range slices.Sorted(maps.Keys(opts.Flags)) {
		l.readOverride(key, opts.Flags[key], l.flags, "flag")
	}
	for _, s := range opts.Sets {
		key, value, ok := strings.Cut(s, "=")
		if !ok {
			l.errs = append(l.errs, &FieldError{Key: s, Source: "--set", Msg: "is not of the form key=value",
				Hint: "write e.g. --set train.lr=3e-4"})
			continue
		}
		l.readOverride(strings.TrimSpace(key), value, l.sets, "--set "+s)
	}
	return l.finish()
}

// FromYAML reads a configuration written by (*Config).YAML, or any YAML configuration file: keys it
// lacks take their defaults. It checks keys, types and validity as Load does.
func FromYAML(data []byte) (*Config, error) {
	l := newLoader()
	if err := l.readFile(data, "YAML input"); err != nil {
		return nil, err
	}
	return l.finish()
}

// layer is the values one kind of source sets, already converted to their keys' types.
type layer struct {
	values map[string]any // key -> typed value
	order  []string       // keys in the order they were set; repeated keys appear again
}

func newLayer() *layer { return &layer{values: map[string]any{}} }

func (ly *layer) set(key string, v any) {
	ly.values[key] = v
	ly.order = append(ly.order, key)
}

// nested turns the flat dotted keys of ly into the nested maps that viper merges.
func (ly *layer) nested() map[string]any {
	root := map[string]any{}
	for key, v := range ly.values {
		m := root
		parts := strings.Split(key, ".")
		for _, p := range parts[:len(parts)-1] {
			next, ok := m[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[p] = next
			}
			m = next
		}
		m[parts[len(parts)-1]] = v
	}
	return root
}

// loader gathers the sources of one Load call.
type loader struct {
	file, env, flags, sets *layer
	from                   map[string]string // key -> description of the highest-precedence source that set it
	errs                   Errors
}

func newLoader() *loader {
	return &loader{file: newLayer(), env: newLayer(), flags: newLayer(), sets: newLayer(), from: map[string]string{}}
}

// store converts raw for key f and records it in ly, or records why it cannot be converted.
func (l *loader) store(ly *layer, f *field, raw rawValue, src string) {
	if aliasNodes(raw.node, maxAliasNodes) > maxAliasNodes {
		l.errs = append(l.errs, &FieldError{Key: f.key, Value: raw.display(), Source: src,
			Msg:  fmt.Sprintf("expands through YAML aliases (*name) to more than %d values", maxAliasNodes),
			Hint: "write the value out without aliases"})
		return
	}
	v, cerr := convert(f, raw)
	if cerr != nil {
		l.errs = append(l.errs, &FieldError{Key: f.key, Value: raw.display(), Source: src, Msg: cerr.msg, Hint: cerr.hint})
		return
	}
	ly.set(f.key, v)
	if l.layerOf(f.key) == ly {
		l.from[f.key] = src
	}
}

// layerOf returns the highest-precedence layer that holds key, or nil.
func (l *loader) layerOf(key string) *layer {
	for _, ly := range []*layer{l.sets, l.flags, l.env, l.file} {
		if _, ok := ly.values[key]; ok {
			return ly
		}
	}
	return nil
}

// readEnv reads the MOETRAIN_ variables of env.
func (l *loader) readEnv(env []string) {
	for _, kv := range env {
		name, value, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, EnvPrefix) {
			continue
		}
		f := registry.byEnv[name]
		if f == nil {
			l.errs = append(l.errs, &FieldError{Key: name, Value: value, Source: "env",
				Msg: "is not a configuration variable", Hint: unknownEnvHint(name)})
			continue
		}
		l.store(l.env, f, textValue(value), "env "+name)
	}
}

// unknownEnvHint names the closest valid variable.
func unknownEnvHint(name string) string {
	names := make([]string, len(registry.fields))
	for i, f := range registry.fields {
		names[i] = EnvVar(f.key)
	}
	if s := closest(name, names, max(2, len(name)/5)); s != "" {
		return fmt.Sprintf("did you mean %s (%s)?", s, registry.byEnv[s].key)
	}
	for section, keys := range registry.sections {
		if EnvVar(section) == strings.ToUpper(name) && len(keys) > 0 {
			return sectionEnvHint(section)
		}
	}
	key := strings.ToLower(strings.TrimPrefix(name, EnvPrefix))
	if s := suggestKey(strings.Replace(key, "_", ".", 1)); s != "" {
		if isSection(s) {
			return sectionEnvHint(s)
		}
		return fmt.Sprintf("did you mean %s (%s)?", EnvVar(s), s)
	}
	return "variables are " + EnvPrefix + " followed by a key with . and - written as _, e.g. MOETRAIN_TRAIN_LR"
}

// sectionEnvHint says that section is a group of keys and names the variables of its first keys.
func sectionEnvHint(section string) string {
	var vars []string
	for _, f := range registry.fields {
		if strings.HasPrefix(f.key, section+".") && len(vars) < 3 {
			vars = append(vars, fmt.Sprintf("%s (%s)", EnvVar(f.key), f.key))
		}
	}
	return fmt.Sprintf("%s is a section, not a key; set the variable of one of its keys, e.g. %s", section, strings.Join(vars, ", "))
}

// readOverride reads one flag or --set value for key into ly.
func (l *loader) readOverride(key, value string, ly *layer, src string) {
	f := lookup(key)
	switch {
	case f != nil:
		l.store(ly, f, textValue(value), src)
	case isSection(key):
		l.errs = append(l.errs, &FieldError{Key: key, Value: value, Source: src, Msg: "is a section, not a single key",
			Hint: "set one of its keys: " + strings.Join(registry.sections[strings.ToLower(key)], ", ")})
	default:
		l.errs = append(l.errs, &FieldError{Key: key, Value: value, Source: src, Msg: "unknown key", Hint: unknownKeyHint(key)})
	}
}

// finish layers the sources with viper, builds the typed Config and validates it.
func (l *loader) finish() (*Config, error) {
	if len(l.errs) > 0 {
		return nil, l.errs
	}
	v := viper.New()
	def := Default()
	for _, f := range registry.fields {
		v.SetDefault(f.key, f.get(def).Interface())
	}
	if err := v.MergeConfigMap(l.file.nested()); err != nil {
		return nil, fmt.Errorf("configs: merging file values: %w", err)
	}
	if err := v.MergeConfigMap(l.env.nested()); err != nil {
		return nil, fmt.Errorf("configs: merging environment values: %w", err)
	}
	for _, ly := range []*layer{l.flags, l.sets} {
		for _, key := range ly.order {
			v.Set(key, ly.values[key])
		}
	}
	cfg := &Config{}
	for _, f := range registry.fields {
		f.set(cfg, v.Get(f.key))
	}
	if err := cfg.Validate(); err != nil {
		var es Errors
		if errors.As(err, &es) {
			for _, e := range es {
				e.Source = l.source(e.Key)
			}
		}
		return nil, err
	}
	return cfg, nil
}

// source describes where the value of key came from.
func (l *loader) source(key string) string {
	if s := l.from[key]; s != "" {
		return s
	}
	return "default"
}

// readConfigRef returns the YAML of a preset or file and how to name it in messages.
func readConfigRef(ref string) (data []byte, name string, err error) {
	path := strings.ContainsAny(ref, `/\`) || strings.HasSuffix(ref, ".yaml") || strings.HasSuffix(ref, ".yml")
	if !path {
		if data, err := PresetYAML(ref); err == nil {
			return data, "preset " + ref, nil
		}
	}
	data, err = readBounded(ref)
	if err == nil {
		return data, "file " + ref, nil
	}
	if errors.Is(err, fs.ErrNotExist) && !path {
		msg := fmt.Sprintf("config %q is neither a preset nor a file; presets are %s", ref, strings.Join(Presets(), ", "))
		if s := suggestValue(ref, Presets()); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
		return nil, "", errors.New(msg)
	}
	return nil, "", fmt.Errorf("config file: %w", err)
}

// readBounded reads the file at path, but no more than MaxFileBytes+1 bytes of it, so that a huge
// file or a device such as /dev/zero is refused by readFile's size check instead of read forever.
func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return data, nil
}
