package data

// AllWindows returns every window of s, the training part's then the
// validation part's, in file order, in batches of b rows (b < 1 counts as
// 1): inputs and targets [rows*T] each, only the last batch short. Scoring a
// whole task file (eval --data) reads it with no validation split, so every
// trained token of the file is in some window exactly once.
func (s *FinetuneSet) AllWindows(b int) (inputs, targets [][]int32) {
	b = max(b, 1)
	T := s.seqLen
	nt, total := s.TrainWindows(), s.TrainWindows()+s.ValWindows()
	for w := 0; w < total; w += b {
		rows := min(b, total-w)
		in, tg := make([]int32, rows*T), make([]int32, rows*T)
		for r := range rows {
			if i := w + r; i < nt {
				s.train.copyWindow(i, T, in[r*T:(r+1)*T], tg[r*T:(r+1)*T])
			} else {
				s.val.copyWindow(i-nt, T, in[r*T:(r+1)*T], tg[r*T:(r+1)*T])
			}
		}
		inputs, targets = append(inputs, in), append(targets, tg)
	}
	return inputs, targets
}
