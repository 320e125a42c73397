package configs

import (
	"reflect"
	"slices"
	"strings"
)

// EnvPrefix starts every environment variable that Load reads.
const EnvPrefix = "MOETRAIN_"

// field is one configuration key: a leaf of Config reached through yaml tags.
type field struct {
	key   string       // dotted key, e.g. "moe.router.type"
	index []int        // reflect field index path from Config
	typ   reflect.Type // Go type of the leaf
}

var (
	layerFreqType   = reflect.TypeFor[LayerFreq]()
	expertCountType = reflect.TypeFor[ExpertCount]()
	namesType       = reflect.TypeFor[[]string]() // a list of names: lora.targets
)

// registry holds every key of Config, in declaration order, built once from the struct tags.
var registry = buildRegistry()

type keyRegistry struct {
	fields   []*field
	byKey    map[string]*field
	byEnv    map[string]*field // environment variable name -> field
	sections map[string][]string
}

func buildRegistry() *keyRegistry {
	r := &keyRegistry{byKey: map[string]*field{}, byEnv: map[string]*field{}, sections: map[string][]string{}}
	r.walk(reflect.TypeFor[Config](), "", nil)
	for _, f := range r.fields {
		env := EnvVar(f.key)
		if other, dup := r.byEnv[env]; dup {
			panic("configs: keys " + other.key + " and " + f.key + " share environment variable " + env)
		}
		r.byEnv[env] = f
	}
	return r
}

// walk adds the leaves of struct type t found under prefix.
func (r *keyRegistry) walk(t reflect.Type, prefix string, index []int) {
	for i := range t.NumField() {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			panic("configs: field " + t.Name() + "." + sf.Name + " has no yaml key")
		}
		key := name
		if prefix != "" {
			key = prefix + "." + name
		}
		idx := append(slices.Clone(index), i)
		if sf.Type.Kind() == reflect.Struct && sf.Type != layerFreqType && sf.Type != expertCountType {
			r.sections[key] = nil
			r.addToSection(prefix, key)
			r.walk(sf.Type, key, idx)
			continue
		}
		f := &field{key: key, index: idx, typ: sf.Type}
		r.fields = append(r.fields, f)
		r.byKey[key] = f
		r.addToSection(prefix, key)
	}
}

func (r *keyRegistry) addToSection(section, key string) {
	if section != "" {
		r.sections[section] = append(r.sections[section], key)
	}
}

// Keys returns every configuration key in the order of the Config struct ("model.vocab_size", ...).
func Keys() []string {
	keys := make([]string, len(registry.fields))
	for i, f := range registry.fields {
		keys[i] = f.key
	}
	return keys
}

// EnvVar returns the environment variable that sets key: EnvPrefix followed by the key in upper case
// with "." and "-" replaced by "_" (train.lr -> MOETRAIN_TRAIN_LR). It does not check that key exists.
func EnvVar(key string) string {
	return EnvPrefix + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(key))
}

// lookup returns the field of key (case-insensitive), or nil.
func lookup(key string) *field { return registry.byKey[strings.ToLower(key)] }

// isSection reports whether key names a group of keys (model, moe.router) rather than a value.
func isSection(key string) bool {
	_, ok := registry.sections[strings.ToLower(key)]
	return ok
}

// get returns the value of f in c.
func (f *field) get(c *Config) reflect.Value { return reflect.ValueOf(c).Elem().FieldByIndex(f.index) }

// set stores v, a value of f's type or convertible to it, into c.
func (f *field) set(c *Config, v any) {
	rv := reflect.ValueOf(v)
	if rv.Type() != f.typ {
		rv = rv.Convert(f.typ)
	}
	f.get(c).Set(rv)
}
