package dnchttp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/dncguard/dncguard/dnc"
	"github.com/dncguard/dncguard/dnc/dnchttp"
	"github.com/dncguard/dncguard/internal/redistest"
	"github.com/dncguard/dncguard/phone"
)

// BenchmarkCheckEndpoint: POST /api/dnc/check of 10,000 US numbers in national
// formats (served in process, response recorded) against the library's own
// CheckManyIn on the same batch, over a real redis-server. benchratio prints the
// endpoint's time over CheckManyIn's (1.25x is 0.8 of its throughput):
//
//	go test ./dnc/dnchttp -run '^$' -bench '^BenchmarkCheckEndpoint$' -count 6 | go run ./internal/benchratio
func BenchmarkCheckEndpoint(b *testing.B) {
	rdb := redistest.Start(b).Client(b)
	enf, err := dnc.New(rdb)
	if err != nil {
		b.Fatal(err)
	}
	auth, _ := dnchttp.NewStaticTokens(map[string]string{tokA: orgA})
	orgs, _ := dnchttp.NewStaticOrgs(orgA)
	h, err := dnchttp.New(enf, auth, orgs, dnchttp.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		b.Fatal(err)
	}
	formats := []string{"(%d) %03d-%04d", "%d.%03d.%04d", "1-%d-%03d-%04d", "%d %03d %04d"}
	areas := []int{212, 415, 312, 646, 617, 202, 305, 713, 206, 404}
	var numbers []string
	for i := 0; len(numbers) < dnchttp.MaxCheckNumbers; i++ {
		n := fmt.Sprintf(formats[i%len(formats)], areas[i%len(areas)], 201+(i/10)%700, i%10000)
		if _, err := phone.Normalize(n, "US"); err == nil {
			numbers = append(numbers, n)
		}
	}
	ctx := context.Background()
	if _, err := enf.Add(ctx, orgA, numbers[:1000]...); err != nil {
		b.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"phoneNumbers": numbers, "region": "US"})
	b.Run("ReferenceCheckManyIn", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := enf.CheckManyIn(ctx, orgA, "US", numbers); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Endpoint", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			req := httptest.NewRequest(http.MethodPost, "/api/dnc/check", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+tokA)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
		}
	})
}
