package checkpoint

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"strings"
)

// maxAdapterConfigBytes bounds the adapter_config.json LoadAdapter reads;
// PEFT's are a few kilobytes.
const maxAdapterConfigBytes = 1 << 20

// peftConfigIn is adapter_config.json as LoadAdapter decodes it: the fields
// it maps, and those whose non-default values it cannot honour. Other PEFT
// fields (inference_mode, revision, layers_to_transform, ...) do not change
// what the adapter computes on the keys present and are ignored.
type peftConfigIn struct {
	PeftType        *string                    `json:"peft_type"`
	TaskType        *string                    `json:"task_type"`
	R               *int                       `json:"r"`
	LoraAlpha       *float64                   `json:"lora_alpha"`
	LoraDropout     float64                    `json:"lora_dropout"`
	TargetModules   json.RawMessage            `json:"target_modules"` // a list, or a regular expression
	Bias            *string                    `json:"bias"`
	FanInFanOut     bool                       `json:"fan_in_fan_out"`
	UseRSLoRA       bool                       `json:"use_rslora"`
	InitLoraWeights json.RawMessage            `json:"init_lora_weights"` // true, false or a method name
	BaseModel       *string                    `json:"base_model_name_or_path"`
	UseDoRA         bool                       `json:"use_dora"`
	LoraBias        bool                       `json:"lora_bias"`
	ModulesToSave   []string                   `json:"modules_to_save"`
	RankPattern     map[string]json.RawMessage `json:"rank_pattern"`
	AlphaPattern    map[string]json.RawMessage `json:"alpha_pattern"`
}

// readAdapterConfig reads and checks path (an adapter_config.json). It
// returns the configuration (Targets unset: the tensor keys decide them)
// and target_modules when it is a list (nil for a regular expression or
// null).
func readAdapterConfig(path string) (AdapterConfig, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return AdapterConfig{}, nil, fmt.Errorf("%w (a PEFT adapter directory holds %s and %s)", err, PEFTConfigFile, PEFTWeightsFile)
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxAdapterConfigBytes+1))
	if err != nil {
		return AdapterConfig{}, nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(raw) > maxAdapterConfigBytes {
		return AdapterConfig{}, nil, fmt.Errorf("%s is over %d bytes: not an adapter config", path, maxAdapterConfigBytes)
	}
	var pc peftConfigIn
	if err := json.Unmarshal(raw, &pc); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return AdapterConfig{}, nil, fmt.Errorf("%s: field %q holds a JSON %s, want %s", path, te.Field, te.Value, jsonKind(te.Type))
		}
		return AdapterConfig{}, nil, fmt.Errorf("%s: %w", path, err)
	}
	cfg, targets, err := pc.adapterConfig()
	if err != nil {
		return AdapterConfig{}, nil, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, targets, nil
}

// jsonKind says in JSON's words what a Go type decodes from.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int:
		return "an integer"
	case reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice:
		return "a list of " + strings.TrimPrefix(jsonKind(t.Elem()), "a ") + "s"
	case reflect.Map:
		return "an object"
	}
	return t.String()
}

// adapterConfig maps the decoded fields, refusing what moetrain's LoRA
// cannot compute. use_rslora true reads as RSLoRA with the stored alpha.
func (pc *peftConfigIn) adapterConfig() (AdapterConfig, []string, error) {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	switch {
	case pc.PeftType == nil:
		bad(`peft_type is missing: a LoRA adapter says "LORA"`)
	case *pc.PeftType != "LORA":
		bad(`peft_type %q: moetrain reads "LORA" adapters`, *pc.PeftType)
	}
	if pc.TaskType != nil && *pc.TaskType != "CAUSAL_LM" {
		bad(`task_type %q: moetrain's models are causal LMs ("CAUSAL_LM")`, *pc.TaskType)
	}
	var cfg AdapterConfig
	switch {
	case pc.R == nil:
		bad("r is missing: give the adapters' rank")
	case *pc.R < 1:
		bad("r = %d: must be at least 1", *pc.R)
	default:
		cfg.Rank = *pc.R
	}
	switch {
	case pc.LoraAlpha == nil:
		bad("lora_alpha is missing")
	case !(*pc.LoraAlpha > 0) || math.IsInf(*pc.LoraAlpha, 0):
		bad("lora_alpha = %v: must be a finite number > 0", *pc.LoraAlpha)
	default:
		cfg.Alpha = *pc.LoraAlpha
	}
	if !(pc.LoraDropout >= 0 && pc.LoraDropout < 1) {
		bad("lora_dropout = %v: must be in [0, 1)", pc.LoraDropout)
	}
	cfg.Dropout, cfg.RSLoRA = pc.LoraDropout, pc.UseRSLoRA
	if pc.Bias != nil && *pc.Bias != "none" {
		bad(`bias %q: moetrain's adapted modules have no biases; only bias "none" loads`, *pc.Bias)
	}
	if pc.FanInFanOut {
		bad("fan_in_fan_out true: the weights are stored transposed (GPT-2 Conv1D); moetrain reads fan_in_fan_out false")
	}
	if pc.UseDoRA {
		bad("use_dora true: DoRA adapters carry a magnitude vector moetrain does not apply")
	}
	if pc.LoraBias {
		bad("lora_bias true: moetrain's LoRA B has no bias")
	}
	if len(pc.ModulesToSave) > 0 {
		bad("modules_to_save %v: the adapter replaces whole modules, which moetrain does not load", pc.ModulesToSave)
	}
	if len(pc.RankPattern) > 0 || len(pc.AlphaPattern) > 0 {
		bad("rank_pattern/alpha_pattern set: moetrain adapters have one rank and one alpha for every module")
	}
	init, err := peftInit(pc.InitLoraWeights)
	if err != nil {
		bad("%v", err)
	}
	cfg.Init = init
	targets, err := peftTargetList(pc.TargetModules)
	if err != nil {
		bad("%v", err)
	}
	if pc.BaseModel != nil {
		cfg.BaseModel = *pc.BaseModel
	}
	if len(problems) > 0 {
		return AdapterConfig{}, nil, fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return cfg, targets, nil
}

// peftInit maps init_lora_weights: absent, true or false (how A and B were
// drawn before training, which the saved values supersede) read as kaiming,
// "gaussian" as gaussian. Methods that also rewrite the base weights (pissa,
// olora, loftq, ...) would need that rewritten base and are refused.
func peftInit(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" || string(raw) == "true" || string(raw) == "false" {
		return AdapterInitKaiming, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("init_lora_weights %s: want true, false or a method name", raw)
	}
	if s != AdapterInitGaussian {
		return "", fmt.Errorf(`init_lora_weights %q: moetrain reads true, false and "gaussian"; other methods change the base model's weights, which this adapter then needs`, s)
	}
	return AdapterInitGaussian, nil
}

// peftTargetList decodes target_modules: a list of names returns them; a
// string (PEFT's regular expression or "all-linear") or null returns nil,
// and the tensor keys alone say what is adapted.
func peftTargetList(raw json.RawMessage) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("target_modules %s: %w", raw, err)
		}
		return nil, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("target_modules %.40s: want a list of module names or a regular expression", raw)
	}
	if list == nil {
		list = []string{}
	}
	return list, nil
}

// peftTargeted reports whether target_modules names module path: PEFT
// matches a list entry against the whole name or its dotted suffix.
func peftTargeted(path string, targets []string) bool {
	for _, t := range targets {
		if path == t || strings.HasSuffix(path, "."+t) {
			return true
		}
	}
	return false
}
