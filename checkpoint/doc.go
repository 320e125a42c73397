// Package checkpoint owns moetrain's on-disk state: a small safetensors
// reader and writer, the checkpoint manifest, atomic checkpoint directories,
// pruning, and resolving the checkpoint arguments users pass on the command
// line.
//
// Safetensors: an 8-byte little-endian header length, a JSON header (padded
// with spaces to a multiple of 8 bytes) mapping tensor names to dtype, shape
// and data_offsets plus an optional "__metadata__" string map, then the tensor
// bytes, little-endian, in name order, with no gaps. WriteSafetensors writes
// float32/float64 tensors; ReadSafetensors returns them, widening F16 and BF16
// to float32; ReadSafetensorsRaw returns the bytes of any supported dtype
// (integers included). Every read validates the header against the file size,
// the offsets against each other, and each shape against its byte length, and
// its errors name the file and the tensor.
//
// Layout of a run directory:
//
//	RUN_DIR/checkpoints/
//	    latest                  text file naming the newest saved step directory
//	    step-00001000/
//	        model.safetensors   parameters by their dotted names
//	        optimizer.safetensors  optimizer state ("exp_avg.<param>", ...)
//	        manifest.json       step, config YAML, sampler and RNG state,
//	                            metrics, format version, time, file sha256s
//	    .tmp-*                  debris of an interrupted save; ignored, and
//	                            removed by the next Save
//
// Save writes a step into a temporary directory, fsyncs every file and the
// directory, renames it into place (atomically exchanging it with an existing
// directory of the same step on Linux), and then replaces latest by rename.
// A process killed at any moment therefore leaves latest naming a complete
// checkpoint (or no latest at all before the first save). Elsewhere than
// Linux, re-saving a step that already exists moves the old directory aside
// first, a brief window in which that step is missing. Load verifies every
// file against the manifest's checksums (the manifest itself carries none).
//
// Save and Prune assume one writer per run directory, and Save reads the
// tensors as it writes them: do not modify them until it returns.
//
// Dimension legend (for shape comments): B batch, T sequence, N tokens (B*T),
// D model width, H heads, Dh head width, E experts, K experts per token, F
// expert hidden width, V vocabulary. This package stores tensors of any shape
// and uses none of these names itself.
package checkpoint
