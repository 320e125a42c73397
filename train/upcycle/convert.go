package upcycle

import (
	"fmt"
	"slices"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/configs"
	"github.com/moetrain/moetrain/layers"
	"github.com/moetrain/moetrain/train"
)

// Source is one model to upcycle from: its resolved configuration and weights, and its AdamW moments
// (keyed by parameter name, as optim stores them) when the checkpoint has them, else nil maps.
type Source struct {
	Name             string // where it came from, for messages (a checkpoint or HF directory)
	Config           *configs.Config
	Model            *layers.Model
	ExpAvg, ExpAvgSq map[string]*autograd.Tensor
	OptimizerSteps   int // the AdamW step count the moments were accumulated over
}

// Result is the upcycled model and what the summary reports.
type Result struct {
	Model            *layers.Model               // built from the target configuration, in the sources' dtype (float32 for a checkpoint)
	ExpAvg, ExpAvgSq map[string]*autograd.Tensor // target parameter name -> moment, when CarryOptimizer and the sources have them; else nil
	OptimizerSteps   int                         // the first source's AdamW step count, when moments were carried
	Converted        []int                       // layers whose dense FFN became an MoE layer

	// Total and per-token active parameters (ActiveParams) of the first source and of the target.
	ParamsBefore, ActiveBefore, ParamsAfter, ActiveAfter int
}

// Convert checks the target configuration against the sources and builds the upcycled model, seeded
// by target.Train.Seed (router rows, noise and dropped neurons each from their own stream, so the same
// seed gives the same model). The rules: the target validates; model.* equals every source's
// (model.ffn_hidden_size may differ only when the target has no dense layer); one source, or several
// of one shape for btx, with every MoE layer's expert count a multiple of their number; the expert
// width the dense FFN's, or its G-th for granular; moe.shared_experts exactly when
// upcycle.shared_expert, as wide together as the FFN; dense sources, unless
// upcycle.allow_moe_source keeps their MoE layers (of the target's shape). Every error names the key
// or the source and what to do; problems with the target's keys come together as a configs.Errors.
// It writes no file and leaves the sources unchanged.
func Convert(target *configs.Config, sources []Source) (*Result, error) {
	sources = slices.Clone(sources) // unnamed sources get a name for messages; the caller's stay as they are
	if err := checkSources(target, sources); err != nil {
		return nil, err
	}
	lay, err := planLayers(target, sources)
	if err != nil {
		return nil, err
	}
	dt := sources[0].Model.Params()[0].DType()
	m, err := layers.New(train.ModelConfig(target), dt, uint64(target.Train.Seed))
	if err != nil {
		return nil, fmt.Errorf("building the target model: %w", err)
	}
	b := newBuilder(target, sources, lay, m)
	if err := b.assemble(b.weightPass()); err != nil {
		return nil, err
	}
	res := &Result{Model: m, Converted: lay.converted()}
	if target.Upcycle.CarryOptimizer && haveMoments(sources) {
		if res.ExpAvg, err = b.moments(func(s Source) map[string]*autograd.Tensor { return s.ExpAvg }); err != nil {
			return nil, err
		}
		if res.ExpAvgSq, err = b.moments(func(s Source) map[string]*autograd.Tensor { return s.ExpAvgSq }); err != nil {
			return nil, err
		}
		res.OptimizerSteps = sources[0].OptimizerSteps
	}
	res.ParamsBefore, res.ActiveBefore = sources[0].Model.NumParams(), ActiveParams(sources[0].Model)
	res.ParamsAfter, res.ActiveAfter = m.NumParams(), ActiveParams(m)
	return res, nil
}

// haveMoments reports whether every source brings both AdamW moments.
func haveMoments(sources []Source) bool {
	for _, s := range sources {
		if s.ExpAvg == nil || s.ExpAvgSq == nil {
			return false
		}
	}
	return true
}
