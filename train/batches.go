package train

import (
	"encoding/json"
	"fmt"

	"github.com/moetrain/moetrain/data"
)

// samplerBatches adapts a data.Sampler to Batches.
type samplerBatches struct {
	s               *data.Sampler
	inputs, targets []int32 // [B*T], reused: a batch is consumed before the next is drawn
}

// NewSamplerBatches returns Batches of b sequences drawn by s.
func NewSamplerBatches(s *data.Sampler, b, t int) Batches {
	return &samplerBatches{s: s, inputs: make([]int32, b*t), targets: make([]int32, b*t)}
}

func (sb *samplerBatches) Next() ([]int32, []int32) {
	sb.s.Fill(sb.inputs, sb.targets)
	return sb.inputs, sb.targets
}

func (sb *samplerBatches) State() ([]byte, error) { return json.Marshal(sb.s.State()) }

func (sb *samplerBatches) Restore(b []byte) error {
	var st data.SamplerState
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("sampler state: %w", err)
	}
	return sb.s.Restore(st)
}

// evalWindows adapts a dataset's validation windows to EvalSet.
type evalWindows struct {
	it *data.EvalIterator
	b  int
}

// NewEvalSet returns the validation windows of d in batches of b sequences.
func NewEvalSet(d *data.Dataset, b int) EvalSet { return &evalWindows{it: d.Eval(), b: b} }

func (ev *evalWindows) Windows(n int) (inputs, targets [][]int32) {
	ev.it.Reset()
	for n <= 0 || len(inputs) < n {
		in, tg, rows := ev.it.Next(ev.b)
		if rows == 0 {
			break
		}
		inputs, targets = append(inputs, in), append(targets, tg)
	}
	return inputs, targets
}
