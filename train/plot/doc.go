// Package plot draws the PNG charts of a training run from its
// RUN_DIR/metrics.jsonl (one train.Record per logged step):
//
//   - loss.png: total loss and LM loss against step, validation loss as points
//     where it was measured; optionally on a log-scale y axis.
//   - aux.png: the MoE load-balancing (aux) loss and router z-loss.
//   - lr.png: learning rate (top panel) and pre-clipping gradient norm (bottom).
//   - throughput.png: training tokens per second.
//   - expert_load.png: one heat map per MoE layer, stacked top to bottom in
//     layer order (rows = experts, x = logged step, colour = fraction of the
//     layer's kept slots that went to the expert), over one shared colour bar.
//     A dense run logs no expert load, so this chart is skipped with a note.
//
// Every PNG is written atomically (a temporary file beside it, then a rename),
// so a reader never sees a half-written image.
//
// Dimension legend: E experts (rows of a heat map), L MoE layers (panels of
// expert_load.png), S logged steps (columns of a heat map).
package plot
