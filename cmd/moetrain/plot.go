package main

import (
	"fmt"

	"github.com/moetrain/moetrain/train/plot"
	"github.com/spf13/cobra"
)

func init() { extraCommands = append(extraCommands, newPlotCommand) }

func newPlotCommand() *cobra.Command {
	var out string
	var opt plot.Options
	cmd := &cobra.Command{
		Use:   "plot RUN_DIR",
		Short: "Draw PNG charts of a training run's metrics",
		Long: `Read RUN_DIR/metrics.jsonl and draw, in --out (default RUN_DIR/plots):
  loss.png         total and LM loss per step, validation loss as points
  aux.png          load-balancing (aux) and router z-loss
  lr.png           learning rate and gradient norm
  throughput.png   training tokens per second
  expert_load.png  per MoE layer, the share of slots each expert got at each logged step
                   (skipped for a dense model, which logs no expert load)
Each file is replaced atomically, so the command can be re-run while training goes on.`,
		Example: `  moetrain plot runs/tiny
  moetrain plot runs/small --out /tmp/small-plots --log-loss`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rep, err := plot.Run(args[0], out, opt)
			w := cmd.OutOrStdout()
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
	f.StringVarP(&out, "out", "o", "", "directory for the PNGs (default RUN_DIR/plots)")
	f.BoolVar(&opt.LogLoss, "log-loss", false, "logarithmic y axis on loss.png")
	f.IntVar(&opt.Width, "width", plot.DefaultWidth, "width of every chart, pixels")
	f.IntVar(&opt.Height, "height", plot.DefaultHeight, "height of the line charts, pixels")
	f.IntVar(&opt.LayerHeight, "layer-height", plot.DefaultLayerHeight, "height of each MoE layer's heat map in expert_load.png, pixels")
	return cmd
}
