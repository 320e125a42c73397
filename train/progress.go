package train

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Progress prints training progress: a one-line bar redrawn in place on a
// terminal, plain log lines otherwise (files, pipes, CI).
type Progress struct {
	w     io.Writer
	tty   bool
	total int
	width int
}

// NewProgress returns a Progress for w; tty forces the bar on or off, nil
// detects it from w.
func NewProgress(w io.Writer, total int, tty *bool) *Progress {
	p := &Progress{w: w, total: total, width: 24}
	if tty != nil {
		p.tty = *tty
	} else if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil {
			p.tty = st.Mode()&os.ModeCharDevice != 0
		}
	}
	return p
}

// Update shows the state after a logged step.
func (p *Progress) Update(r *Record, eta time.Duration) {
	line := fmt.Sprintf("step %d/%d loss %.4f (lm %.4f aux %.4f z %.4f) lr %.2e gnorm %.3f %s tok/s",
		r.Step, p.total, r.Loss, r.LMLoss, r.AuxLoss, r.ZLoss, r.LR, r.GradNorm, humanRate(r.TokensPerS))
	if r.MaxLoad > 0 {
		line += fmt.Sprintf(" load max/mean %.2f", r.MaxLoad)
	}
	if r.Skipped > 0 {
		line += fmt.Sprintf(" skipped %d", r.Skipped)
	}
	if !p.tty {
		fmt.Fprintf(p.w, "%s eta %s\n", line, eta.Round(time.Second))
		return
	}
	done := p.width * r.Step / max(p.total, 1)
	bar := strings.Repeat("█", done) + strings.Repeat("░", p.width-done)
	fmt.Fprintf(p.w, "\r\033[K%s %s ETA %s", bar, line, eta.Round(time.Second))
}

// Message prints a line of its own (eval results, checkpoints), keeping the bar intact.
func (p *Progress) Message(format string, args ...any) {
	if p.tty {
		fmt.Fprint(p.w, "\r\033[K")
	}
	fmt.Fprintf(p.w, format+"\n", args...)
}

// Done ends the bar's line.
func (p *Progress) Done() {
	if p.tty {
		fmt.Fprintln(p.w)
	}
}

func humanRate(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}
