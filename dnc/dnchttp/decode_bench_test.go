package dnchttp

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/dncguard/dncguard/dnc"
)

// checkBody returns a POST /api/dnc/check body of n numbers in national formats, and
// the numbers.
func checkBody(n int) ([]byte, []string) {
	formats := []string{"(%d) %03d-%04d", "%d.%03d.%04d", "1-%d-%03d-%04d", "%d %03d %04d"}
	numbers := make([]string, n)
	for i := range numbers {
		numbers[i] = fmt.Sprintf(formats[i%len(formats)], 212+i%700, 201+(i/10)%700, i%10000)
	}
	body, _ := json.Marshal(map[string]any{"phoneNumbers": numbers, "region": "US"})
	return body, numbers
}

// BenchmarkDecodeCheckBody: reading a body of 10,000 numbers, as POST /api/dnc/check
// reads it, beside json.Valid alone on the same body.
func BenchmarkDecodeCheckBody(b *testing.B) {
	body, _ := checkBody(MaxCheckNumbers)
	b.Run("decodeObject", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			var numbers []string
			var region string
			if err := decodeObject(body, stringsField("phoneNumbers", true, &numbers), stringField("region", false, &region)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json.Valid", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if !json.Valid(body) {
				b.Fatal("invalid")
			}
		}
	})
}

// BenchmarkEncodeCheckData: writing the reply of 10,000 results.
func BenchmarkEncodeCheckData(b *testing.B) {
	_, numbers := checkBody(MaxCheckNumbers)
	d := checkData{numbers: numbers, decisions: make([]dnc.Decision, len(numbers))}
	for i := range d.decisions {
		d.decisions[i] = dnc.Decision{Number: "+12125551234", Reason: dnc.ReasonNotListed}
	}
	env := envelope{Message: MsgChecked, Status: true, Code: 200, Data: d}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = appendEnvelope(buf[:0], env); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}
