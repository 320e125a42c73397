package main

import (
	"fmt"

	"github.com/moetrain/moetrain/configs"
	"github.com/spf13/cobra"
)

func init() { extraCommands = append(extraCommands, newConfigCommand) }

func newConfigCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Inspect configurations"}
	var cf configFlags
	show := &cobra.Command{
		Use:   "show",
		Short: "Print the resolved configuration (defaults < file < env < flags) as YAML",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			cfg, err := cf.load(nil)
			if err != nil {
				return err
			}
			b, err := cfg.YAML()
			if err != nil {
				return err
			}
			if _, err = c.OutOrStdout().Write(b); err != nil {
				return err
			}
			// The same check pretrain makes: a configuration this build
			// cannot run is shown, then refused, as pretrain would.
			return cfg.CheckRunnable()
		},
	}
	cf.add(show, "tiny")
	presets := &cobra.Command{
		Use:   "presets",
		Short: "List the embedded presets",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			for _, p := range configs.Presets() {
				fmt.Fprintln(c.OutOrStdout(), p)
			}
			return nil
		},
	}
	cmd.AddCommand(show, presets)
	return cmd
}
