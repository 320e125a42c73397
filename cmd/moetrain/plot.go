package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/moetrain/moetrain/train/plot"
	"github.com/spf13/cobra"
)

func init() { extraCommands = append(extraCommands, newPlotCommand) }

// compareFlags are the flags of plot --compare.
type compareFlags struct {
	on      bool
	labels  []string
	metrics []string
	offsets []string
	from    string // --min-tokens: a token count or a run directory
}

func newPlotCommand() *cobra.Command {
	var out string
	var opt plot.Options
	var cmp compareFlags
	cmd := &cobra.Command{
		Use:   "plot RUN_DIR | plot --compare RUN_DIR... --out FILE.png",
		Short: "Draw PNG charts of a training run's metrics, or compare runs in one chart",
		Long: `Read RUN_DIR/metrics.jsonl and draw, in --out (default RUN_DIR/plots):
  loss.png         total and LM loss per step, validation loss as points
  aux.png          load-balancing (aux) and router z-loss
  lr.png           learning rate and gradient norm
  throughput.png   training tokens per second
  expert_load.png  per MoE layer, the share of slots each expert got at each logged step
                   (skipped for a dense model, which logs no expert load)

With --compare, draw one chart, --out FILE.png, of several runs: each run's --metric
(val_loss by default: its evaluations, points joined by lines; lm_loss or loss: its training
loss at every logged step; several, comma-separated, share the chart) against the tokens it
has seen, so runs of different batch sizes compare at equal tokens. A run that continues
another (upcycle, or pretrain --init-from) counts its tokens from 0: --offset-tokens gives
each run, in order, where it starts on the axis, as a token count or as the run directory
it continues (whose last logged token count is used). --min-tokens (a count, or a run
directory: where it ended) leaves out the points before it, so the y axis spans the later,
closer losses. It then prints one line per run.

Each file is replaced atomically, so the command can be re-run while training goes on.`,
		Example: `  moetrain plot runs/tiny
  moetrain plot runs/small --out /tmp/small-plots --log-loss
  moetrain plot --compare runs/dense runs/copy runs/scratch --out compare.png \
      --labels dense,copy,scratch --offset-tokens 0,runs/dense,0 --metric val_loss,lm_loss
  moetrain plot --compare runs/copy runs/scratch --offset-tokens runs/dense,0 --min-tokens runs/dense --out late.png`,
		Args: func(cmd *cobra.Command, args []string) error {
			if cmp.on {
				return cobra.MinimumNArgs(1)(cmd, args)
			}
			return cobra.ExactArgs(1)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cmp.check(cmd, out); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if cmp.on {
				return runCompare(w, args, out, cmp, opt)
			}
			rep, err := plot.Run(args[0], out, opt)
			for _, f := range rep.Files {
				fmt.Fprintf(w, "wrote %s\n", f)
			}
			for _, n := range rep.Notes {
				fmt.Fprintf(w, "note: %s\n", n)
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVarP(&out, "out", "o", "", "directory for the PNGs (default RUN_DIR/plots); with --compare, the chart's file")
	f.BoolVar(&opt.LogLoss, "log-loss", false, "logarithmic y axis on loss.png")
	f.IntVar(&opt.Width, "width", plot.DefaultWidth, "width of every chart, pixels")
	f.IntVar(&opt.Height, "height", plot.DefaultHeight, "height of the line charts, pixels")
	f.IntVar(&opt.LayerHeight, "layer-height", plot.DefaultLayerHeight, "height of each MoE layer's heat map in expert_load.png, pixels")
	f.BoolVar(&cmp.on, "compare", false, "draw the runs given as arguments in one chart, --out FILE.png")
	f.StringSliceVar(&cmp.labels, "labels", nil, "with --compare: legend names, one per run in order (default: the directories' names)")
	f.StringSliceVar(&cmp.metrics, "metric", nil, "with --compare: what to draw, val_loss (default), lm_loss or loss; several comma-separated")
	f.StringSliceVar(&cmp.offsets, "offset-tokens", nil, "with --compare: where each run starts on the token axis, one per run in order: a token count or the run directory it continues")
	f.StringVar(&cmp.from, "min-tokens", "", "with --compare: leave out the points before this many tokens (a count, or a run directory: where it ended)")
	return cmd
}

// check refuses flags that belong to the other mode, and --compare without --out.
func (c compareFlags) check(cmd *cobra.Command, out string) error {
	fl := cmd.Flags()
	if !c.on {
		for _, name := range []string{"labels", "metric", "offset-tokens", "min-tokens"} {
			if fl.Changed(name) {
				return fmt.Errorf("plot: --%s belongs to a comparison chart: add --compare and give the runs to compare", name)
			}
		}
		return nil
	}
	for _, name := range []string{"log-loss", "layer-height"} {
		if fl.Changed(name) {
			return fmt.Errorf("plot: --%s sets the charts of one run; the comparison chart (--compare) has no such setting: drop it", name)
		}
	}
	if out == "" {
		return fmt.Errorf("plot: --compare needs --out FILE.png, the file to write the chart to")
	}
	return nil
}

// runCompare loads the runs, writes the comparison chart and prints one line per run.
func runCompare(w io.Writer, dirs []string, out string, c compareFlags, opt plot.Options) error {
	runs, err := plot.LoadCompareRuns(dirs, c.labels, c.offsets)
	if err != nil {
		return err
	}
	metrics := c.metrics
	if len(metrics) == 0 {
		metrics = []string{plot.MetricValLoss}
	}
	co := plot.CompareOptions{Width: opt.Width, Height: opt.Height, Metrics: metrics}
	if c.from != "" {
		if co.MinTokens, err = plot.ParseTokens(c.from); err != nil {
			return fmt.Errorf("plot: --min-tokens: %w", errors.Unwrap(err))
		}
	}
	sums, err := plot.WriteCompare(runs, out, co)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "wrote %s: %s against tokens seen\n", out, strings.Join(metrics, ", "))
	width := 0
	for _, s := range sums {
		width = max(width, len(s.Label))
	}
	for i, s := range sums {
		fmt.Fprintf(w, "  %-*s  tokens %d..%d (offset %d)", width, s.Label, s.FromTokens, s.Tokens, runs[i].Offset)
		for j, m := range metrics {
			fmt.Fprintf(w, "  last %s %.4f", m, s.Final[j])
		}
		fmt.Fprintln(w)
	}
	return nil
}
