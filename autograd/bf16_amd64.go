package autograd

// toBF16Vec converts the prefix of src that a vector kernel handles and
// returns its length; ToBF16 finishes the rest with toBF16Ref.
func toBF16Vec(dst []BF16, src []float32) int { return 0 }

// fromBF16Vec widens the prefix of src that a vector kernel handles and
// returns its length; FromBF16 finishes the rest with fromBF16Ref.
func fromBF16Vec(dst []float32, src []BF16) int { return 0 }

func bf16KernelName() string { return "go" }
