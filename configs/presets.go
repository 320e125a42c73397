package configs

import (
	"embed"
	"fmt"
	"io/fs"
	"strings"
)

// presetFiles holds the preset YAML files, one per name: presets/NAME.yaml.
//
//go:embed presets/*.yaml
var presetFiles embed.FS

// Presets returns the names of the built-in presets, sorted: the values of LoadOptions.ConfigRef that
// need no file.
func Presets() []string {
	entries, err := fs.ReadDir(presetFiles, "presets")
	if err != nil {
		panic("configs: embedded presets unreadable: " + err.Error()) // the embed directive guarantees the directory
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".yaml"); ok {
			names = append(names, name)
		}
	}
	return names
}

// PresetYAML returns the commented YAML text of the named preset, e.g. to copy it as a starting file.
func PresetYAML(name string) ([]byte, error) {
	if name == "" || strings.ContainsAny(name, `/\.`) {
		return nil, fmt.Errorf("configs: no preset %q; presets are %s", name, strings.Join(Presets(), ", "))
	}
	data, err := presetFiles.ReadFile("presets/" + name + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("configs: no preset %q; presets are %s", name, strings.Join(Presets(), ", "))
	}
	return data, nil
}
