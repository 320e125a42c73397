package upcycle

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/moetrain/moetrain/configs"
)

// checkSources refuses a missing target or source, a target that does not validate and sources of
// different shapes or dtypes: what makes the sources unusable whatever the method.
func checkSources(target *configs.Config, sources []Source) error {
	if target == nil {
		return fmt.Errorf("no target configuration to upcycle into")
	}
	if len(sources) == 0 {
		return fmt.Errorf("no source to upcycle from: give a dense checkpoint")
	}
	for i := range sources {
		s := &sources[i]
		if s.Name == "" {
			s.Name = "#" + strconv.Itoa(i+1)
		}
		if s.Config == nil || s.Model == nil || len(s.Model.Params()) == 0 {
			return fmt.Errorf("source %s: no configuration or no model loaded", s.Name)
		}
	}
	if err := target.Validate(); err != nil {
		return fmt.Errorf("target configuration: %w", err)
	}
	first := sources[0]
	dt := first.Model.Params()[0].DType()
	for _, s := range sources[1:] {
		if key, a, b := modelDiff(s.Config, first.Config, false); key != "" {
			return fmt.Errorf("source %s has %s = %v but source %s has %v: the sources of btx must have one shape",
				s.Name, key, a, first.Name, b)
		}
		if got := s.Model.Params()[0].DType(); got != dt {
			return fmt.Errorf("source %s holds %v weights but source %s holds %v: load the sources in one dtype", s.Name, got, first.Name, dt)
		}
	}
	return nil
}

// modelDiff returns the first model.* key whose value differs between a and b, and the two values;
// "" when they agree. With skipFFN, model.ffn_hidden_size is not compared.
func modelDiff(a, b *configs.Config, skipFFN bool) (key string, va, vb any) {
	ra, rb := reflect.ValueOf(a.Model), reflect.ValueOf(b.Model)
	for i := range ra.NumField() {
		key = "model." + strings.Split(ra.Type().Field(i).Tag.Get("yaml"), ",")[0]
		if skipFFN && key == "model.ffn_hidden_size" {
			continue
		}
		if fa, fb := ra.Field(i).Interface(), rb.Field(i).Interface(); fa != fb {
			return key, fa, fb
		}
	}
	return "", nil, nil
}

// role is what happens to one layer.
type role int

const (
	keepDense role = iota // dense in the source and the target: the MLP is copied
	upcycled              // dense in the source, MoE in the target: the FFN becomes the experts
	keptMoE               // MoE in the source and the target (upcycle.allow_moe_source): copied as it is
)

// layout is the plan of one conversion: what happens to each layer and the widths involved.
type layout struct {
	roles  []role
	method configs.UpcycleMethod
	f, fe  int  // F of the sources' dense FFN, Fe of the target's experts
	g      int  // G: experts per copy of the FFN (1 unless granular)
	s      int  // S: sources
	shared bool // the FFN is also the shared expert, and every w2 is halved
}

// converted returns the upcycled layers in order.
func (l *layout) converted() []int {
	var out []int
	for i, r := range l.roles {
		if r == upcycled {
			out = append(out, i)
		}
	}
	return out
}

// sourceOf returns the source whose FFN expert e of an upcycled layer with ne experts copies: the
// experts come in S blocks of ne/S, block s from source s.
func (l *layout) sourceOf(e, ne int) int { return e / (ne / l.s) }

// fieldErr is a problem with one target key, in configs' form: key, value, what is wrong, what to do.
func fieldErr(key string, value any, msg, hint string) *configs.FieldError {
	v := fmt.Sprint(value)
	if s, ok := value.(fmt.Stringer); ok {
		v = s.String()
	} else if reflect.ValueOf(value).Kind() == reflect.String {
		v = strconv.Quote(v)
	}
	return &configs.FieldError{Key: key, Value: v, Msg: v + " " + msg, Hint: hint}
}

// planLayers decides each layer's role and checks the target's keys against the sources, returning
// every problem together.
func planLayers(t *configs.Config, sources []Source) (*layout, error) {
	u := t.Upcycle
	first := sources[0]
	lay := &layout{method: u.Method, f: first.Config.Model.FFNHiddenSize, fe: t.MoE.ExpertFFNHiddenSize, g: 1,
		s: len(sources), shared: u.SharedExpert, roles: make([]role, t.Model.NLayers)}
	if u.Method == configs.UpcycleGranular {
		lay.g = u.Granularity
	}
	var errs configs.Errors
	add := func(e *configs.FieldError) { errs = append(errs, e) }

	if u.Method != configs.UpcycleBTX && len(sources) > 1 {
		add(fieldErr("upcycle.method", string(u.Method), fmt.Sprintf("takes one source, not %d (%s)", len(sources), names(sources)),
			"give one source, or set upcycle.method=btx to take the experts from several"))
	}
	for _, s := range sources {
		if s.Config.IsDense() {
			continue
		}
		if u.Method == configs.UpcycleBTX {
			add(fieldErr("upcycle.method", string(u.Method), fmt.Sprintf("takes dense sources only, and source %s has MoE layers %v",
				s.Name, moeIndices(s.Config)), "give btx dense checkpoints, or upcycle this one with upcycle.method=copy"))
			break // one is enough to say it
		}
		if !u.AllowMoESource {
			add(fieldErr("upcycle.allow_moe_source", false, fmt.Sprintf("refuses source %s, which already has MoE layers %v",
				s.Name, moeIndices(s.Config)), "set upcycle.allow_moe_source=true to keep its MoE layers and upcycle its dense ones, "+
				"or upcycle a dense checkpoint"))
		}
	}
	tgtMoE, srcMoE := t.MoELayers(), first.Config.MoELayers()
	if key, tv, sv := modelDiff(t, first.Config, !slices.Contains(tgtMoE, false)); key != "" {
		add(fieldErr(key, tv, fmt.Sprintf("differs from source %s's %v", first.Name, sv),
			fmt.Sprintf("upcycling keeps the source's model shape: set %s=%v, or leave it out of the configuration", key, sv)))
		return nil, errs // the layers below cannot be compared
	}
	for i := range lay.roles {
		switch {
		case !srcMoE[i] && tgtMoE[i]:
			lay.roles[i] = upcycled
		case srcMoE[i] && tgtMoE[i]:
			lay.roles[i] = keptMoE
			if u.AllowMoESource && u.Method != configs.UpcycleBTX {
				if e := keptMismatch(t, first, i); e != nil {
					add(e)
				}
			}
		case srcMoE[i]:
			add(fieldErr("moe.layer_freq", t.MoE.LayerFreq, fmt.Sprintf("makes layer %d dense, but it is an MoE layer in source %s",
				i, first.Name), fmt.Sprintf("upcycling does not turn experts back into a dense FFN: keep layer %d an MoE layer", i)))
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if len(lay.converted()) == 0 {
		switch {
		case t.IsDense() && !t.MoE.LayerFreq.IsList() && t.MoE.LayerFreq.Every == 0:
			add(fieldErr("moe.layer_freq", t.MoE.LayerFreq, "makes the target dense (no layer is MoE): there is nothing to upcycle",
				"give the target MoE layers, e.g. --set moe.layer_freq=1 (every layer) or 2 (every other)"))
		case t.IsDense():
			add(fieldErr("moe.num_experts", t.MoE.NumExperts, "makes the target dense: there is nothing to upcycle",
				"give the target MoE layers, e.g. --set moe.num_experts=8"))
		default:
			add(fieldErr("moe.layer_freq", t.MoE.LayerFreq, fmt.Sprintf("makes MoE only the layers that are MoE in source %s already", first.Name),
				"make at least one of the source's dense layers an MoE layer"))
		}
		return nil, errs
	}
	for _, e := range lay.widthErrors(t, first) {
		add(e)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return lay, nil
}

// widthErrors checks the expert and shared-expert widths and, for btx, the expert counts of the
// upcycled layers against the dense FFN.
func (l *layout) widthErrors(t *configs.Config, first Source) []*configs.FieldError {
	var out []*configs.FieldError
	switch {
	case l.g > 1 && l.f%l.g != 0:
		out = append(out, fieldErr("upcycle.granularity", l.g, fmt.Sprintf("does not divide the dense FFN width %d of source %s", l.f, first.Name),
			"choose a granularity that divides model.ffn_hidden_size"))
	case l.g > 1 && l.fe != l.f/l.g:
		out = append(out, fieldErr("moe.expert_ffn_hidden_size", l.fe, fmt.Sprintf("is not the dense FFN width %d / upcycle.granularity %d = %d",
			l.f, l.g, l.f/l.g), fmt.Sprintf("set moe.expert_ffn_hidden_size=%d: each expert holds one of the %d shards", l.f/l.g, l.g)))
	case l.g == 1 && l.fe != l.f:
		hint := fmt.Sprintf("set moe.expert_ffn_hidden_size=%d", l.f)
		if l.fe > 0 && l.f%l.fe == 0 && l.method == configs.UpcycleCopy {
			hint += fmt.Sprintf(", or upcycle.method=granular with upcycle.granularity=%d to split the FFN into experts of %d", l.f/l.fe, l.fe)
		}
		out = append(out, fieldErr("moe.expert_ffn_hidden_size", l.fe, fmt.Sprintf("is not the dense FFN width %d of source %s, which every %s expert copies",
			l.f, first.Name, l.method), hint))
	}
	if l.method == configs.UpcycleBTX {
		for _, i := range l.converted() {
			if ne := t.ExpertsForLayer(i); ne%l.s != 0 {
				out = append(out, fieldErr("moe.num_experts", t.MoE.NumExperts, fmt.Sprintf("gives layer %d %d experts, not a multiple of the %d btx sources",
					i, ne, l.s), fmt.Sprintf("each source gives every MoE layer the same number of experts: make num_experts a multiple of %d", l.s)))
				break
			}
		}
	}
	se := t.MoE.SharedExperts
	switch {
	case l.shared && se*l.fe != l.f:
		hint := "make moe.shared_experts x moe.expert_ffn_hidden_size the dense FFN width"
		if l.fe > 0 && l.f%l.fe == 0 {
			hint = fmt.Sprintf("set moe.shared_experts=%d", l.f/l.fe)
		}
		out = append(out, fieldErr("moe.shared_experts", se, fmt.Sprintf("x moe.expert_ffn_hidden_size %d = %d is not the dense FFN width %d that upcycle.shared_expert keeps",
			l.fe, se*l.fe, l.f), hint))
	case !l.shared && se > 0:
		out = append(out, fieldErr("upcycle.shared_expert", false, fmt.Sprintf("gives the moe.shared_experts = %d shared experts of the upcycled layers nothing to start from", se),
			"set upcycle.shared_expert=true to start them as the dense FFN, or moe.shared_experts=0"))
	}
	return out
}

// keptMismatch reports how MoE layer i of the source, kept as it is, does not fit the target's layer i.
func keptMismatch(t *configs.Config, src Source, i int) *configs.FieldError {
	sc := src.Config
	keep := fmt.Sprintf("source %s's MoE layer %d is kept as it is", src.Name, i)
	switch {
	case t.ExpertsForLayer(i) != sc.ExpertsForLayer(i):
		return fieldErr("moe.num_experts", t.MoE.NumExperts, fmt.Sprintf("gives layer %d %d experts, but %s with %d", i, t.ExpertsForLayer(i),
			keep, sc.ExpertsForLayer(i)), fmt.Sprintf("give layer %d %d experts (a list sets each MoE layer's count)", i, sc.ExpertsForLayer(i)))
	case t.MoE.ExpertFFNHiddenSize != sc.MoE.ExpertFFNHiddenSize:
		return fieldErr("moe.expert_ffn_hidden_size", t.MoE.ExpertFFNHiddenSize, fmt.Sprintf("differs from %d, and %s", sc.MoE.ExpertFFNHiddenSize, keep),
			fmt.Sprintf("set moe.expert_ffn_hidden_size=%d", sc.MoE.ExpertFFNHiddenSize))
	case t.MoE.SharedExperts != sc.MoE.SharedExperts:
		return fieldErr("moe.shared_experts", t.MoE.SharedExperts, fmt.Sprintf("differs from %d, and %s", sc.MoE.SharedExperts, keep),
			fmt.Sprintf("set moe.shared_experts=%d", sc.MoE.SharedExperts))
	case t.MoE.Router.Type != sc.MoE.Router.Type:
		return fieldErr("moe.router.type", string(t.MoE.Router.Type), fmt.Sprintf("differs from %q, and %s", sc.MoE.Router.Type, keep),
			fmt.Sprintf("set moe.router.type=%s", sc.MoE.Router.Type))
	}
	return nil
}

// names lists the sources' names for a message.
func names(sources []Source) string {
	out := make([]string, len(sources))
	for i, s := range sources {
		out[i] = s.Name
	}
	return strings.Join(out, ", ")
}

// moeIndices returns the MoE layers of c.
func moeIndices(c *configs.Config) []int {
	var out []int
	for i, m := range c.MoELayers() {
		if m {
			out = append(out, i)
		}
	}
	return out
}
