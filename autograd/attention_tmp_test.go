package autograd
import ("testing";"math")
func BenchmarkTmpExpRow(b *testing.B){
	row := make([]float32, 64)
	src := make([]float32, 64)
	for i := range src { src[i] = -float32(i)*0.1 }
	for range b.N {
		copy(row, src)
		attnExpRow32(row, 0.5)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*64), "ns/elem")
}
func BenchmarkTmpMathExpRow(b *testing.B){
	row := make([]float32, 64)
	src := make([]float32, 64)
	for i := range src { src[i] = -float32(i)*0.1 }
	for range b.N {
		copy(row, src)
		for j, x := range row { row[j] = float32(math.Exp(float64(x-0.5))) }
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*64), "ns/elem")
}
