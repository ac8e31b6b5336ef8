package dnc_test

import (
	"context"
	"fmt"

	"github.com/alicebob/miniredis/v2"
	"github.com/dncguard/dncguard/dnc"
	"github.com/redis/go-redis/v9"
)

func Example() {
	mr, _ := miniredis.Run() // an embedded Redis; use your own in production
	defer mr.Close()
	enf, _ := dnc.New(redis.NewClient(&redis.Options{Addr: mr.Addr(), ContextTimeoutEnabled: true}))
	ctx := context.Background()

	enf.Add(ctx, "acme", "(212) 555-1234") // read in the default region, US
	for _, number := range []string{"+1 212-555-1234", "tel:+1-212-555-1234", "(415) 555-2671", "555-0100"} {
		d, err := enf.Check(ctx, "acme", number)
		fmt.Printf("%-20s skip=%-5v %-14s %q\n", number, d.Skip, d.Reason, d.Number)
		_ = err // set for invalid_number and unavailable; d.Skip is already true then
	}

	enf.SetEnabled(ctx, "acme", false) // the org switches DNC off: checks are bypassed
	skip, _ := enf.ShouldSkip(ctx, "acme", "212.555.1234")
	fmt.Println("disabled, skip:", skip)
	// Output:
	// +1 212-555-1234      skip=true  listed         "+12125551234"
	// tel:+1-212-555-1234  skip=true  listed         "+12125551234"
	// (415) 555-2671       skip=false not_listed     "+14155552671"
	// 555-0100             skip=true  invalid_number ""
	// disabled, skip: false
}
