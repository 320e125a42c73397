package layers_test

import (
	"testing"

	"github.com/moetrain/moetrain/layers"
	"github.com/moetrain/moetrain/layers/moetest"
)

func TestLocalDispatcher(t *testing.T) {
	moetest.TestDispatcher(t, func() layers.Dispatcher { return layers.LocalDispatcher{} })
}
