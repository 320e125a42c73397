package train

import (
	"fmt"

	"github.com/moetrain/moetrain/layers"
	"github.com/moetrain/moetrain/parallel"
)

// splitExperts keeps this rank's shard of every MoE layer's experts (the
// model was built whole, from the seed every rank shares, so the shards are
// the one-rank model's experts) and gives each layer an expert-parallel
// dispatcher over ep.
func (t *Trainer) splitExperts(ep parallel.Comm) error {
	if err := layers.ShardModelExperts(t.model, ep.Rank(), ep.Size()); err != nil {
		return fmt.Errorf("expert parallelism: %w", err)
	}
	for _, l := range t.moeLayers {
		moe := t.model.Blocks[l].MoE
		d, err := parallel.NewExpertParallelDispatcher(ep, moe.Router.Config().NumExperts)
		if err != nil {
			return fmt.Errorf("expert parallelism, layer %d: %w", l, err)
		}
		moe.Dispatcher = d
		t.dispatchers = append(t.dispatchers, d)
	}
	return nil
}
