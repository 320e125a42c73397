package checkpoint

import (
	"os"
	"path/filepath"
	"testing"
)

func TestReplaceDir(t *testing.T) {
	for name, replace := range map[string]func(src, dst string) error{
		"replaceDir": replaceDir, "replaceDirAside": replaceDirAside,
	} {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			src, dst := filepath.Join(root, "src"), filepath.Join(root, "dst")
			for dir, content := range map[string]string{src: "new", dst: "old"} {
				if err := os.Mkdir(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				writeFile(t, filepath.Join(dir, "f"), []byte(content))
			}
			if err := replace(src, dst); err != nil {
				t.Fatal(err)
			}
			if b := readBytes(t, filepath.Join(dst, "f")); string(b) != "new" {
				t.Errorf("dst holds %q, want new", b)
			}
			if des, _ := os.ReadDir(root); len(des) != 1 {
				t.Errorf("%d entries left beside dst, want none", len(des)-1)
			}
		})
	}
}
