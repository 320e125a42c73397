package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/moetrain/moetrain/checkpoint"
	"github.com/moetrain/moetrain/configs"
	"github.com/spf13/cobra"
)

// checkpointInfo is what "checkpoint info" reports (its --json form).
type checkpointInfo struct {
	Dir           string    `json:"dir"`
	FormatVersion int       `json:"format_version"`
	Step          int       `json:"step"`
	Created       time.Time `json:"created"`
	// Layout is the parallel layout a sharded checkpoint was written at;
	// nil for version 1 (one model and one optimizer file).
	Layout  *infoLayout          `json:"layout"`
	Files   int                  `json:"files"`
	Bytes   int64                `json:"bytes"`
	Groups  map[string]infoGroup `json:"groups"` // "model", "optimizer"
	Model   *infoModel           `json:"model,omitempty"`
	Config  string               `json:"config_error,omitempty"` // why the configuration does not load
	Data    map[string]any       `json:"data,omitempty"`         // the sampler state: epoch, position, windows, ...
	Metrics checkpoint.Metrics   `json:"metrics"`
}

type infoLayout struct {
	WorldSize      int `json:"world_size"`
	DataParallel   int `json:"data_parallel"`
	ExpertParallel int `json:"expert_parallel"`
}

type infoGroup struct {
	Tensors    int   `json:"tensors"`
	Parameters int64 `json:"parameters"` // elements
}

type infoModel struct {
	DModel  int    `json:"d_model"`
	NLayers int    `json:"n_layers"`
	Experts string `json:"experts"` // moe.num_experts: one count, or one per MoE layer
	TopK    int    `json:"top_k"`
}

func newCheckpointInfoCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "info DIR",
		Short: "Describe a checkpoint: format, layout, step, files, tensors, model, data position, metrics",
		Long: `Describe the checkpoint DIR resolves to from its manifest and file headers, without reading
the tensors: format version, the parallel layout it was written at (world size, data x expert
parallel), step, creation time, file count and size, the tensors and parameters of each group, the
model its configuration describes, the data position (the sampler's epoch, position and windows)
and the metrics (tokens, skipped steps). It does not verify the files: see checkpoint verify.`,
		Example: `  moetrain checkpoint info runs/tiny
  moetrain checkpoint info runs/tiny/checkpoints/step-00000400 --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, err := checkpoint.Resolve(args[0])
			if err != nil {
				return fmt.Errorf("checkpoint info: %w", err)
			}
			info, err := describeCheckpoint(dir)
			if err != nil {
				return fmt.Errorf("checkpoint info: %w", err)
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(info)
			}
			info.print(cmd.OutOrStdout())
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}

// describeCheckpoint reads what checkpoint info reports of stepDir.
func describeCheckpoint(stepDir string) (*checkpointInfo, error) {
	m, err := checkpoint.ReadManifest(stepDir)
	if err != nil {
		return nil, err
	}
	info := &checkpointInfo{Dir: stepDir, FormatVersion: m.FormatVersion, Step: m.Step, Created: m.Created,
		Files: len(m.Files), Groups: map[string]infoGroup{}, Metrics: m.Metrics}
	for _, f := range m.Files {
		info.Bytes += f.Size
	}
	if l := m.Layout; l != nil {
		info.Layout = &infoLayout{WorldSize: l.WorldSize, DataParallel: l.WorldSize / l.ExpertParallel, ExpertParallel: l.ExpertParallel}
	}
	if m.Tensors != nil {
		for _, tl := range m.Tensors {
			g := info.Groups[tl.Group]
			n := int64(1)
			for _, d := range tl.Shape {
				n *= int64(d) // bounded: ReadManifest held every shape to the files' bytes
			}
			g.Tensors++
			g.Parameters += n
			info.Groups[tl.Group] = g
		}
	} else {
		for group, file := range map[string]string{checkpoint.GroupModel: checkpoint.ModelFile, checkpoint.GroupOptimizer: checkpoint.OptimizerFile} {
			if _, ok := m.Files[file]; !ok {
				continue
			}
			t, n, err := safetensorsCounts(filepath.Join(stepDir, file))
			if err != nil {
				return nil, err
			}
			info.Groups[group] = infoGroup{Tensors: t, Parameters: n}
		}
	}
	if strings.TrimSpace(m.Config) != "" {
		if cfg, err := configs.FromYAML([]byte(m.Config)); err != nil {
			info.Config = err.Error()
		} else {
			info.Model = &infoModel{DModel: cfg.Model.DModel, NLayers: cfg.Model.NLayers, Experts: cfg.MoE.NumExperts.String(), TopK: cfg.MoE.TopK}
		}
	}
	if len(m.Sampler) > 0 {
		dec := json.NewDecoder(bytes.NewReader(m.Sampler))
		dec.UseNumber() // positions print as integers, however large
		if err := dec.Decode(&info.Data); err != nil {
			info.Data = map[string]any{"unreadable": err.Error()}
		}
	}
	return info, nil
}

// print writes info as lines of text.
func (info *checkpointInfo) print(w io.Writer) {
	fmt.Fprintf(w, "checkpoint: %s\n", info.Dir)
	format := "one model and one optimizer file"
	if info.Layout != nil {
		format = "sharded, one model and one optimizer file per rank"
	}
	fmt.Fprintf(w, "format:     %d (%s)\n", info.FormatVersion, format)
	if l := info.Layout; l != nil {
		ranks := "ranks"
		if l.WorldSize == 1 {
			ranks = "rank"
		}
		fmt.Fprintf(w, "layout:     %d %s (data parallel %d x expert parallel %d)\n", l.WorldSize, ranks, l.DataParallel, l.ExpertParallel)
	}
	fmt.Fprintf(w, "step:       %d\n", info.Step)
	fmt.Fprintf(w, "created:    %s\n", info.Created.Format(time.RFC3339))
	fmt.Fprintf(w, "files:      %d, %.1f MB\n", info.Files, float64(info.Bytes)/1e6)
	for _, g := range []string{checkpoint.GroupModel, checkpoint.GroupOptimizer} {
		if gi, ok := info.Groups[g]; ok {
			fmt.Fprintf(w, "%-11s %d tensors, %s parameters\n", g+":", gi.Tensors, humanCount(int(gi.Parameters)))
		}
	}
	switch {
	case info.Model != nil:
		fmt.Fprintf(w, "config:     d_model %d, n_layers %d, experts %s, top_k %d\n", info.Model.DModel, info.Model.NLayers, info.Model.Experts, info.Model.TopK)
	case info.Config != "":
		fmt.Fprintf(w, "config:     does not load: %s\n", info.Config)
	}
	if len(info.Data) > 0 {
		var parts []string
		for _, k := range []string{"epoch", "position", "windows"} {
			if v, ok := info.Data[k]; ok {
				parts = append(parts, fmt.Sprintf("%s %v", k, v))
			}
		}
		if len(parts) == 0 {
			b, _ := json.Marshal(info.Data)
			parts = append(parts, string(b))
		}
		fmt.Fprintf(w, "data:       %s\n", strings.Join(parts, ", "))
	}
	var ms []string
	for _, k := range []string{"tokens", "skipped_steps"} {
		if v, ok := info.Metrics[k]; ok {
			ms = append(ms, fmt.Sprintf("%s %.0f", k, v))
		}
	}
	if len(ms) > 0 {
		fmt.Fprintf(w, "metrics:    %s\n", strings.Join(ms, ", "))
	}
}
