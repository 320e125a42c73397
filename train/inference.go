package train

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"gorgonia.org/tensor"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/checkpoint"
	"github.com/moetrain/moetrain/configs"
	"github.com/moetrain/moetrain/layers"
)

// Inference is a model opened for use from Go: forward passes on token ids,
// and its weights by their checkpoint names, as gorgonia.org/tensor values.
// Values returned are copies, and weights handed in are copied, so no
// gorgonia tensor aliases the model's storage. An Inference is used by one
// goroutine at a time.
type Inference struct {
	cfg   *configs.Config
	model *layers.Model
	dir   string         // step directory it was loaded from; "" when built in memory
	tape  *autograd.Tape // no-grad, reused by every forward pass
}

// WeightInfo names one weight and its shape.
type WeightInfo struct {
	Name  string
	Shape []int
}

// OpenInference loads a checkpoint: a run directory, its checkpoints/
// directory, or one step directory (whatever --ckpt accepts).
func OpenInference(ckpt string) (*Inference, error) {
	dir, err := checkpoint.Resolve(ckpt)
	if err != nil {
		return nil, err
	}
	cfg, m, _, err := LoadModel(dir)
	if err != nil {
		return nil, err
	}
	return &Inference{cfg: cfg, model: m, dir: dir, tape: autograd.NewNoGradTape()}, nil
}

// NewInference wraps a model already in memory (a Trainer's, or one built by
// NewModel) and the configuration it was built from.
func NewInference(cfg *configs.Config, m *layers.Model) *Inference {
	return &Inference{cfg: cfg, model: m, tape: autograd.NewNoGradTape()}
}

// SetEngine runs the following forward passes on e (its cores and scratch)
// instead of autograd.DefaultEngine: for a process that serves several
// models, or runs one beside a trainer, each on a share of the cores.
func (in *Inference) SetEngine(e *autograd.Engine) { in.tape = autograd.NewNoGradTapeOn(e) }

// Engine returns the engine forward passes run on.
func (in *Inference) Engine() *autograd.Engine { return in.tape.Engine() }

// Config returns the model's resolved configuration.
func (in *Inference) Config() *configs.Config { return in.cfg }

// Model returns the model, for Evaluate, Generate and the layers API.
func (in *Inference) Model() *layers.Model { return in.model }

// Dir returns the step directory the model was loaded from, or "" for a
// model built in memory.
func (in *Inference) Dir() string { return in.dir }

// Save writes the model's weights and configuration as a step-0 checkpoint
// of a new run in runDir, without optimizer state (what moetrain eval,
// generate and export read), and returns its step directory. A runDir that
// already holds a run is refused with a *RunDirInUseError.
func (in *Inference) Save(runDir string) (string, error) {
	if err := ClaimRunDir(runDir, false); err != nil {
		return "", err
	}
	y, err := in.cfg.YAML()
	if err != nil {
		return "", fmt.Errorf("save %s: %w", runDir, err)
	}
	blobs, err := tokenizerBlobs(in.cfg)
	if err != nil {
		return "", fmt.Errorf("save %s: %w", runDir, err)
	}
	return checkpoint.Save(runDir, 0, &checkpoint.Checkpoint{Model: ModelTensors(in.model), Config: string(y), Blobs: blobs})
}

// Logits runs a forward pass without gradients on B sequences of T token ids
// (every row the same length, 1 <= T <= model.max_seq_len, ids in [0, V)) and
// returns the next-token logits as a fresh [B, T, V] Dense of the model's
// dtype (float32 for checkpoints). Position t's logits predict token t+1.
func (in *Inference) Logits(tokens [][]int32) (*tensor.Dense, error) {
	b, t, err := in.checkTokens(tokens)
	if err != nil {
		return nil, fmt.Errorf("logits: %w", err)
	}
	flat := make([]int32, 0, b*t) // [B*T]
	for _, row := range tokens {
		flat = append(flat, row...)
	}
	defer in.tape.Reset()
	lg := in.model.Forward(in.tape, flat, b, t, layers.ForwardOptions{}).Logits // [N, V]
	out := lg.Dense().Clone().(*tensor.Dense)                                   // copied off the tape's pool
	if err := out.Reshape(b, t, in.model.Cfg.Vocab); err != nil {
		return nil, fmt.Errorf("logits: %w", err)
	}
	return out, nil
}

// checkTokens validates a batch of token rows and returns B and T.
func (in *Inference) checkTokens(tokens [][]int32) (b, t int, err error) {
	if len(tokens) == 0 || len(tokens[0]) == 0 {
		return 0, 0, fmt.Errorf("no tokens; pass at least one row of at least one token id")
	}
	t, v, maxT := len(tokens[0]), in.model.Cfg.Vocab, in.model.Cfg.MaxSeqLen
	if t > maxT {
		return 0, 0, fmt.Errorf("rows of %d tokens exceed model.max_seq_len %d; pass at most %d tokens per row", t, maxT, maxT)
	}
	for i, row := range tokens {
		if len(row) != t {
			return 0, 0, fmt.Errorf("row %d has %d tokens and row 0 has %d; every row must have the same length", i, len(row), t)
		}
		for j, id := range row {
			if id < 0 || int(id) >= v {
				return 0, 0, fmt.Errorf("row %d position %d: token id %d is outside the vocabulary [0, %d)", i, j, id, v)
			}
		}
	}
	return len(tokens), t, nil
}

// Weights lists every weight by its checkpoint name with its shape: the
// parameters in the model's order, then any router expert biases by name.
func (in *Inference) Weights() []WeightInfo {
	ts := ModelTensors(in.model)
	out := make([]WeightInfo, 0, len(ts))
	seen := make(map[string]bool, len(ts))
	for _, p := range in.model.Params() {
		out = append(out, WeightInfo{Name: p.Name, Shape: slices.Clone(p.Shape())})
		seen[p.Name] = true
	}
	var rest []string
	for name := range ts {
		if !seen[name] {
			rest = append(rest, name)
		}
	}
	sort.Strings(rest)
	for _, name := range rest {
		out = append(out, WeightInfo{Name: name, Shape: slices.Clone(ts[name].Shape())})
	}
	return out
}

// Weight returns a copy of the weight saved under name in checkpoints (e.g.
// "layers.0.moe.experts.w1", see Weights) as a Dense of the weight's shape
// and the model's dtype.
func (in *Inference) Weight(name string) (*tensor.Dense, error) {
	w, ok := ModelTensors(in.model)[name]
	if !ok {
		return nil, in.unknownWeight(name)
	}
	return w.Dense().Clone().(*tensor.Dense), nil
}

// SetWeight copies d into the weight called name; see SetWeights.
func (in *Inference) SetWeight(name string, d *tensor.Dense) error {
	return in.SetWeights(map[string]*tensor.Dense{name: d})
}

// SetWeights copies gorgonia tensors into the named weights. Each must have
// the weight's exact shape, a float32 or float64 dtype (float64 is rounded to
// the model's dtype) and finite values; every entry is checked before any
// weight changes, so a bad entry leaves the model as it was.
func (in *Inference) SetWeights(ws map[string]*tensor.Dense) error {
	ts := ModelTensors(in.model)
	src := make(map[string]*autograd.Tensor, len(ws))
	names := make([]string, 0, len(ws))
	for name := range ws {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		w, ok := ts[name]
		if !ok {
			return in.unknownWeight(name)
		}
		t, err := denseTensor(name, ws[name], w.Shape())
		if err != nil {
			return err
		}
		src[name] = t
	}
	_, err := LoadModelTensors(in.model, src, "set weights", checkpoint.AssignOptions{Partial: true})
	return err
}

// denseTensor checks a gorgonia tensor handed in for a weight of the given
// shape and wraps its values (contiguous, not copied) as an autograd tensor.
func denseTensor(name string, d *tensor.Dense, shape []int) (*autograd.Tensor, error) {
	if d == nil {
		return nil, fmt.Errorf("weight %q: nil tensor", name)
	}
	if dt := d.Dtype(); dt != tensor.Float32 && dt != tensor.Float64 {
		return nil, fmt.Errorf("weight %q: dtype %v; pass a float32 or float64 tensor", name, dt)
	}
	if got := []int(d.Shape()); !slices.Equal(got, shape) {
		return nil, fmt.Errorf("weight %q: shape %v, the model's is %v; reshape or transpose it to %v", name, got, shape, shape)
	}
	if d.IsView() || d.RequiresIterator() {
		d = d.Materialize().(*tensor.Dense)
	}
	src, err := autograd.FromDense(d)
	if err != nil {
		return nil, fmt.Errorf("weight %q: %w", name, err)
	}
	for i := range src.Len() {
		if v := src.At(i); math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("weight %q: element %d is %v; weights must be finite", name, i, v)
		}
	}
	return src, nil
}

// unknownWeight is the error for a name the model does not have, with the
// weights under the longest dotted prefix it shares with them as hints.
func (in *Inference) unknownWeight(name string) error {
	ws := in.Weights()
	for prefix := name; ; {
		i := strings.LastIndex(prefix, ".")
		if i < 0 {
			break
		}
		prefix = prefix[:i]
		var near []string
		for _, w := range ws {
			if strings.HasPrefix(w.Name, prefix+".") {
				near = append(near, w.Name)
			}
		}
		if len(near) > 0 && len(near) < len(ws) {
			return fmt.Errorf("weight %q: the model has no such weight; under %q it has %s", name, prefix, strings.Join(near, ", "))
		}
	}
	return fmt.Errorf("weight %q: the model has no such weight; Weights lists the %d it has", name, len(ws))
}
