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
// WriteCompare draws one chart of several runs (LoadCompareRuns reads them):
// validation loss (points joined by lines) and/or training loss against
// tokens seen, one colour per run, with a legend. The x axis is tokens, not
// steps, so runs of different batch sizes meet at equal tokens; a run that
// continues another (an upcycled model, or one started from another's
// weights) counts its tokens from 0, so each run carries an offset: where it
// starts on the shared axis, given as a count or as the run it continues.
//
// Every PNG is written atomically (a temporary file beside it, then a rename),
// so a reader never sees a half-written image.
//
// Dimension legend: E experts (rows of a heat map), L MoE layers (panels of
// expert_load.png), S logged steps (columns of a heat map).
package plot
