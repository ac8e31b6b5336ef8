package dnc_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: a go-redis client,
// a miniredis or a server left open.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
