package prune

import (
	"fmt"
	"slices"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/configs"
	"github.com/moetrain/moetrain/layers"
	"github.com/moetrain/moetrain/train"
)

// Method is how the experts to keep are chosen.
type Method string

const (
	// Frequency keeps the experts with the largest total routing weight.
	Frequency Method = "frequency"
	// Reconstruction keeps the subset whose masked layer output is closest
	// to the full layer's.
	Reconstruction Method = "reconstruction"
)

// Defaults of Options' zero values.
const (
	DefaultBatches    = 16   // calibration micro-batches
	DefaultMaxSubsets = 5000 // largest C(E, P) searched exhaustively
)

// Options says how to prune.
type Options struct {
	Keep   int    // P: experts kept in every MoE layer, 1 <= P < E
	Method Method // Frequency or Reconstruction
	// Batches caps the calibration micro-batches (train.micro_batch_size
	// windows of train.seq_len each); 0 means DefaultBatches.
	Batches int
	// MaxSubsets is the largest number of subsets C(E, P) reconstruction
	// scores exhaustively; above it the search is greedy. 0 means
	// DefaultMaxSubsets.
	MaxSubsets int
}

// Layer is what pruning did to one MoE layer.
type Layer struct {
	Index   int       // the layer's index in the model
	Experts int       // E before pruning
	Kept    []int     // [P] the kept experts' old indices, ascending
	Usage   []float64 // [E] each expert's share of the layer's routing weight on the calibration tokens
	// Reconstruction only: how the subset was found and how close its
	// output is. Error is the squared error of the masked layer output
	// summed over the calibration tokens, Reference the squared norm of the
	// full layer's routed output (shared experts cancel in the difference
	// and count in neither).
	Exhaustive bool
	Subsets    int // subsets scored
	Error      float64
	Reference  float64
}

// KeptUsage returns the kept experts' share of the routing weight.
func (l Layer) KeptUsage() float64 {
	s := 0.0
	for _, e := range l.Kept {
		s += l.Usage[e]
	}
	return s
}

// Result is a pruned model and how it was chosen.
type Result struct {
	Config *configs.Config // the pruned model's configuration
	Model  *layers.Model
	Layers []Layer // one per MoE layer, in layer order
	// Calibration data used: micro-batches and tokens.
	Batches, Tokens int
}

// Prune runs m, the model c describes, without gradients over calibration
// windows of tokens, chooses opt.Keep experts in every MoE layer by
// opt.Method and returns the pruned model. Every option and the model are
// checked before any work; m is left as it was.
func Prune(c *configs.Config, m *layers.Model, tokens []int32, opt Options) (*Result, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	pc, err := PrunedConfig(c, opt.Keep)
	if err != nil {
		return nil, err
	}
	if err := checkModel(c, m); err != nil {
		return nil, err
	}
	batches := calibrationBatches(tokens, c.Train.MicroBatchSize, c.Train.SeqLen, opt.Batches)
	if len(batches) == 0 {
		return nil, fmt.Errorf("prune: %d calibration tokens: the data needs at least 2 tokens", len(tokens))
	}
	cal := calibrate(m, batches, opt.Method == Reconstruction)
	res := &Result{Config: pc, Batches: len(batches), Tokens: cal.tokens}
	keep := make([][]int, len(m.Blocks))
	for j, i := range cal.layers {
		l := Layer{Index: i, Experts: m.Blocks[i].MoE.Experts.Count(), Usage: shares(cal.usage[j])}
		switch opt.Method {
		case Frequency:
			l.Kept = mostUsed(cal.usage[j], opt.Keep)
		case Reconstruction:
			// The layer's inputs come from the full model's forward: each
			// layer is pruned as if the layers before it were not.
			s, err := reconstruct(m.Blocks[i].MoE, cal.inputs[j], opt.Keep, opt.MaxSubsets)
			if err != nil {
				return nil, fmt.Errorf("prune: layer %d: %w", i, err)
			}
			l.Kept, l.Exhaustive, l.Subsets, l.Error, l.Reference = s.kept, s.exhaustive, s.subsets, s.err, s.ref
		}
		keep[i] = l.Kept
		res.Layers = append(res.Layers, l)
	}
	if res.Model, err = Apply(pc, m, keep); err != nil {
		return nil, err
	}
	return res, nil
}

// withDefaults checks opt and fills in the defaults of its zero values.
func (opt Options) withDefaults() (Options, error) {
	switch opt.Method {
	case Frequency, Reconstruction:
	default:
		return opt, fmt.Errorf("prune: method %q: want %s or %s", opt.Method, Frequency, Reconstruction)
	}
	if opt.Batches < 0 {
		return opt, fmt.Errorf("prune: %d calibration batches: want a positive count (0 for the default %d)", opt.Batches, DefaultBatches)
	}
	if opt.MaxSubsets < 0 {
		return opt, fmt.Errorf("prune: max subsets %d: want a positive count (0 for the default %d)", opt.MaxSubsets, DefaultMaxSubsets)
	}
	if opt.Batches == 0 {
		opt.Batches = DefaultBatches
	}
	if opt.MaxSubsets == 0 {
		opt.MaxSubsets = DefaultMaxSubsets
	}
	return opt, nil
}

// PrunedConfig returns a copy of c for the model that keeps keep experts in
// every MoE layer: moe.num_experts = keep, moe.top_k = min(top_k, keep),
// and the keys whose validity depends on the expert count made valid again
// (upcycle.granularity back to 1 when keep or top_k is no longer a multiple
// of it; parallel.expert_parallel to its largest divisor that divides keep).
// It refuses a dense c and a keep outside [1, E) for any MoE layer.
func PrunedConfig(c *configs.Config, keep int) (*configs.Config, error) {
	if c.IsDense() {
		return nil, fmt.Errorf("prune: the model is dense (moe.num_experts = %s): it has no experts to prune", c.MoE.NumExperts)
	}
	if keep < 1 {
		return nil, fmt.Errorf("prune: keep %d experts: keep at least 1", keep)
	}
	for i, moe := range c.MoELayers() {
		if e := c.ExpertsForLayer(i); moe && keep >= e {
			return nil, fmt.Errorf("prune: keep %d experts, but layer %d has %d (moe.num_experts = %s): keep fewer than %d", keep, i, e, c.MoE.NumExperts, e)
		}
	}
	y, err := c.YAML()
	if err != nil {
		return nil, fmt.Errorf("prune: %w", err)
	}
	out, err := configs.FromYAML(y)
	if err != nil {
		return nil, fmt.Errorf("prune: copying the configuration: %w", err)
	}
	out.MoE.NumExperts = configs.Experts(keep)
	out.MoE.TopK = min(out.MoE.TopK, keep)
	if g := out.Upcycle.Granularity; out.Upcycle.Method == configs.UpcycleGranular && g > 1 && (keep%g != 0 || out.MoE.TopK%g != 0) {
		out.Upcycle.Granularity = 1
	}
	if ep := out.Parallel.ExpertParallel; ep > 1 && keep%ep != 0 {
		out.Parallel.ExpertParallel = gcd(ep, keep)
	}
	if err := out.Validate(); err != nil {
		return nil, fmt.Errorf("prune: the pruned configuration (moe.num_experts = %d, moe.top_k = %d): %w", keep, out.MoE.TopK, err)
	}
	return out, nil
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// checkModel reports how m differs from the MoE layout c describes.
func checkModel(c *configs.Config, m *layers.Model) error {
	moe := c.MoELayers()
	if len(m.Blocks) != len(moe) {
		return fmt.Errorf("prune: the model has %d layers, its configuration model.n_layers = %d", len(m.Blocks), len(moe))
	}
	for i, blk := range m.Blocks {
		switch {
		case (blk.MoE != nil) != moe[i]:
			return fmt.Errorf("prune: layer %d: the model's MoE layers do not follow its configuration's moe.layer_freq = %s", i, c.MoE.LayerFreq)
		case blk.MoE != nil && blk.MoE.Experts.Count() != c.ExpertsForLayer(i):
			return fmt.Errorf("prune: layer %d has %d experts, its configuration %d", i, blk.MoE.Experts.Count(), c.ExpertsForLayer(i))
		}
	}
	return nil
}

// Apply builds the model pc describes (a PrunedConfig of m's) from m: for
// every MoE layer i, keep[i] (ascending old indices, one per expert of the
// pruned layer) names the experts kept; their router rows (the gate and any
// scorer weight [E, D]), expert weights [E, ...] and expert bias are taken
// in that order, and every other weight is copied. keep[i] is nil for a
// dense layer. m is not changed and shares no tensor with the result.
func Apply(pc *configs.Config, m *layers.Model, keep [][]int) (*layers.Model, error) {
	if len(keep) != len(m.Blocks) {
		return nil, fmt.Errorf("prune: %d kept-expert lists for %d layers", len(keep), len(m.Blocks))
	}
	out, err := layers.New(train.ModelConfig(pc), m.Embed.Table.DType(), uint64(pc.Train.Seed))
	if err != nil {
		return nil, fmt.Errorf("prune: building the pruned model: %w", err)
	}
	if len(out.Blocks) != len(m.Blocks) {
		return nil, fmt.Errorf("prune: the pruned configuration has %d layers, the model %d", len(out.Blocks), len(m.Blocks))
	}
	rows := map[string][]int{} // old parameter name -> kept rows of its first axis
	for i, blk := range m.Blocks {
		nb := out.Blocks[i]
		if (blk.MoE == nil) != (nb.MoE == nil) {
			return nil, fmt.Errorf("prune: layer %d is MoE in one of the model and its pruned configuration and dense in the other", i)
		}
		if blk.MoE == nil {
			if keep[i] != nil {
				return nil, fmt.Errorf("prune: layer %d is dense but has kept experts %v", i, keep[i])
			}
			continue
		}
		if err := checkKeep(keep[i], blk.MoE.Experts.Count(), nb.MoE.Experts.Count()); err != nil {
			return nil, fmt.Errorf("prune: layer %d: %w", i, err)
		}
		for _, p := range append(blk.MoE.Router.Params(), blk.MoE.Experts.Params()...) {
			rows[p.Name] = keep[i]
		}
	}
	old := make(map[string]*autograd.Tensor, len(m.Params()))
	for _, p := range m.Params() {
		old[p.Name] = p
	}
	if len(old) != len(out.Params()) {
		return nil, fmt.Errorf("prune: the model has %d parameters, the pruned one %d", len(old), len(out.Params()))
	}
	for _, q := range out.Params() {
		p := old[q.Name]
		if p == nil {
			return nil, fmt.Errorf("prune: the pruned model's parameter %s is not in the model", q.Name)
		}
		if err := copyRows(q, p, rows[q.Name]); err != nil {
			return nil, fmt.Errorf("prune: %s: %w", q.Name, err)
		}
	}
	for i, blk := range m.Blocks {
		if blk.MoE == nil {
			continue
		}
		bias := blk.MoE.Router.Bias()
		cut := make([]float32, len(keep[i]))
		for j, e := range keep[i] {
			cut[j] = bias[e]
		}
		if err := out.Blocks[i].MoE.Router.SetBias(cut); err != nil {
			return nil, fmt.Errorf("prune: layer %d: expert bias: %w", i, err)
		}
	}
	return out, nil
}

// checkKeep reports why keep does not name p = want distinct experts of e in
// ascending order.
func checkKeep(keep []int, e, want int) error {
	if len(keep) != want {
		return fmt.Errorf("%d kept experts %v for a pruned layer of %d", len(keep), keep, want)
	}
	for j, ex := range keep {
		if ex < 0 || ex >= e {
			return fmt.Errorf("kept expert %d outside [0, %d)", ex, e)
		}
		if j > 0 && ex <= keep[j-1] {
			return fmt.Errorf("kept experts %v are not ascending and distinct", keep)
		}
	}
	return nil
}

// copyRows writes into dst the rows of src's first axis that rows names, in
// that order, or all of src when rows is nil. The shapes must agree: dst
// has len(rows) rows of src's row shape.
func copyRows(dst, src *autograd.Tensor, rows []int) error {
	want := slices.Clone(src.Shape())
	if rows != nil {
		want[0] = len(rows)
	}
	if !slices.Equal(dst.Shape(), want) || dst.DType() != src.DType() {
		return fmt.Errorf("%v %v in the model, %v %v in the pruned model; want %v", src.DType(), src.Shape(), dst.DType(), dst.Shape(), want)
	}
	if rows == nil {
		rows = make([]int, src.Dim(0))
		for r := range rows {
			rows[r] = r
		}
	}
	if dst.DType() == autograd.Float64 {
		copyRowsOf(dst.F64(), src.F64(), rows)
	} else {
		copyRowsOf(dst.F32(), src.F32(), rows)
	}
	return nil
}

func copyRowsOf[T autograd.Float](dst, src []T, rows []int) {
	if len(rows) == 0 {
		return
	}
	w := len(dst) / len(rows)
	for j, r := range rows {
		copy(dst[j*w:(j+1)*w], src[r*w:(r+1)*w])
	}
}
