package main

// normaliseArgs rewrites command-line arguments that the flag parser cannot
// take as written: "--resume" followed by the word "auto" or "latest"
// becomes "--resume=auto" ("--resume=latest"), since an optional flag value
// must otherwise be joined to its flag with "=". Any other word after
// --resume (another flag, or nothing) is left alone, and nothing after "--"
// is touched. args is not modified.
func normaliseArgs(args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		if a == "--resume" && i+1 < len(args) && (args[i+1] == string(resumeAuto) || args[i+1] == string(resumeLatest)) {
			out = append(out, a+"="+args[i+1])
			i++
			continue
		}
		out = append(out, a)
	}
	return out
}
