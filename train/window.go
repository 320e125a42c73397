package train

import "time"

// logWindow accumulates the applied steps between two log lines.
type logWindow struct {
	loss, lm, aux, z, gnorm, entropy float64
	n, dropped, tokens               int
	load                             [][]int // [MoE layer][expert] kept slots
	since                            time.Time
	comm                             time.Duration // in collectives (multi-rank runs)
}

func newLogWindow() *logWindow { return &logWindow{since: time.Now()} }

// add counts a step's tokens and, if it was applied, its figures.
func (w *logWindow) add(sr *StepResult) {
	w.tokens += sr.Tokens
	w.comm += sr.Comm
	if sr.Skipped {
		return
	}
	w.loss += sr.Loss
	w.lm += sr.LMLoss
	w.aux += sr.AuxLoss
	w.z += sr.ZLoss
	w.gnorm += sr.GradNorm
	w.entropy += sr.Entropy
	w.dropped += sr.Dropped
	w.n++
	if w.load == nil && sr.Load != nil {
		w.load = make([][]int, len(sr.Load))
	}
	for l, counts := range sr.Load {
		if w.load[l] == nil {
			w.load[l] = make([]int, len(counts))
		}
		for e, v := range counts {
			w.load[l][e] += v
		}
	}
}

// record returns the window's means as a metrics record, or nil when no step
// in it was applied.
func (w *logWindow) record(t *Trainer, lr float64, start time.Time) *Record {
	if w.n == 0 {
		return nil
	}
	n := float64(w.n)
	rec := &Record{Step: t.step, Loss: w.loss / n, LMLoss: w.lm / n, AuxLoss: w.aux / n, ZLoss: w.z / n,
		LR: lr, GradNorm: w.gnorm / n, Tokens: t.tokens, Skipped: t.skipped,
		TokensPerS: float64(w.tokens) / time.Since(w.since).Seconds(), ElapsedS: time.Since(start).Seconds(),
		Dropped: w.dropped, Entropy: w.entropy / n, MoELayers: t.moeLayers}
	rec.ExpertLoad, rec.MaxLoad = loadFractions(w.load)
	if t.par != nil {
		rec.Ranks = t.worldSize()
		rec.CommShare = w.comm.Seconds() / time.Since(w.since).Seconds()
	}
	return rec
}
