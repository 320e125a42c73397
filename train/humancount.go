package train

import "fmt"

// HumanCount writes a count of parameters or tokens for people: 950,
// 12.3k, 3.41M, 1.20B, 2.50T.
func HumanCount(n int64) string {
	switch x := float64(n); {
	case x >= 1e12:
		return fmt.Sprintf("%.2fT", x/1e12)
	case x >= 1e9:
		return fmt.Sprintf("%.2fB", x/1e9)
	case x >= 1e6:
		return fmt.Sprintf("%.2fM", x/1e6)
	case x >= 1e3:
		return fmt.Sprintf("%.1fk", x/1e3)
	}
	return fmt.Sprint(n)
}
