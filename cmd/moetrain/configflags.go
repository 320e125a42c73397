package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/moetrain/moetrain/configs"
	"github.com/moetrain/moetrain/train"
	"github.com/spf13/cobra"
)

// configFlags are the flags every command that resolves a configuration takes.
type configFlags struct {
	ref  string
	sets []string
}

func (f *configFlags) add(cmd *cobra.Command, defaultRef string) {
	cmd.Flags().StringVarP(&f.ref, "config", "c", defaultRef, "preset name ("+strings.Join(configs.Presets(), ", ")+") or YAML file")
	cmd.Flags().StringArrayVar(&f.sets, "set", nil, "override any key, e.g. --set train.lr=1e-3 (repeatable)")
}

// load resolves the configuration with precedence flag/--set > env > file >
// defaults. flags maps config keys to values of dedicated flags the user set.
func (f *configFlags) load(flags map[string]string) (*configs.Config, error) {
	return f.loadOver(nil, "", flags)
}

// loadOver resolves the configuration as load does, on top of base (the YAML
// saved in a checkpoint, named baseName in messages): the keys --config does
// not set keep base's values instead of the defaults.
func (f *configFlags) loadOver(base []byte, baseName string, flags map[string]string) (*configs.Config, error) {
	return configs.Load(configs.LoadOptions{ConfigRef: f.ref, Sets: f.sets, Env: configEnv(), Flags: flags, Base: base, BaseName: baseName})
}

// loadOverRun resolves the configuration of a run being resumed: the one its
// latest checkpoint saved, with what --config and --set change.
func (f *configFlags) loadOverRun(command, out string, flags map[string]string) (*configs.Config, error) {
	base, dir, err := train.CheckpointConfig(out)
	if err != nil {
		return nil, fmt.Errorf("%s --resume: %w", command, err)
	}
	return f.loadOver(base, "the configuration of "+dir, flags)
}

// configEnv returns every MOETRAIN_* variable: each must name a config key,
// and configs.Load reports one that does not, with the nearest valid name.
func configEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, configs.EnvPrefix) {
			out = append(out, kv)
		}
	}
	return out
}

// setFlags returns key -> value for the named flags the user set explicitly.
func setFlags(cmd *cobra.Command, keyOf map[string]string) map[string]string {
	out := map[string]string{}
	for flag, key := range keyOf {
		if f := cmd.Flags().Lookup(flag); f != nil && f.Changed {
			out[key] = f.Value.String()
		}
	}
	return out
}
