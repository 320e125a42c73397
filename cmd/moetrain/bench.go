package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/moetrain/moetrain/train"
	"github.com/spf13/cobra"
)

func init() { extraCommands = append(extraCommands, newBenchCommand) }

func newBenchCommand() *cobra.Command {
	var cf configFlags
	var steps, warmup int
	var asJSON bool
	var cpuProfile string
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Time full training steps and report tokens/s, GFLOP/s, GEMM utilisation, MFU and peak RSS",
		Long: `Run warm-up steps, then time full training steps (forward, backward, AdamW) of the configured
model on random tokens. Model FLOPs per token = 6 x active matmul parameters (router and LM head
included) + 12 x n_layers x seq_len x d_model. The model GFLOP/s are set against two peaks
measured here on all cores: the float32 GEMM rate (gemm_util, a share of what GEMMs reach on this
machine) and the float32 vector-FMA rate (mfu, a share of its arithmetic peak).
It also says where the time goes: the milliseconds per step of the forward pass, the backward
pass and the optimizer; the share of core time inside GEMMs and their rate per core, the
milliseconds per step spent on everything else, and the tokens/s that the GEMMs alone would allow
(the ceiling for any tool that runs the same GEMMs).`,
		Example: `  moetrain bench --config small --steps 20
  moetrain bench --config tiny --set moe.num_experts=64 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if steps < 1 {
				return fmt.Errorf("bench: --steps %d: want at least 1 timed step", steps)
			}
			if warmup < 0 {
				return fmt.Errorf("bench: --warmup %d: want 0 or more warm-up steps", warmup)
			}
			cfg, err := cf.load(nil)
			if err != nil {
				return err
			}
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return fmt.Errorf("bench: %w", err)
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return fmt.Errorf("bench: %w", err)
				}
				defer pprof.StopCPUProfile()
			}
			res, err := train.Bench(cfg, cf.ref, warmup, steps)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(res)
			}
			fmt.Fprintln(cmd.OutOrStdout(), res)
			return nil
		},
	}
	cf.add(cmd, "tiny")
	cmd.Flags().IntVar(&steps, "steps", 10, "timed steps")
	cmd.Flags().IntVar(&warmup, "warmup", 3, "untimed warm-up steps")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	cmd.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a pprof CPU profile of the run to this file")
	return cmd
}
