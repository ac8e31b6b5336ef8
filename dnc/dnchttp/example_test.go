package dnchttp_test

import (
	"fmt"
	"log"
	"net/http/httptest"
	"strings"

	"github.com/alicebob/miniredis/v2"
	"github.com/dncguard/dncguard/dnc"
	"github.com/dncguard/dncguard/dnc/dnchttp"
	"github.com/redis/go-redis/v9"
)

func Example() {
	mr, _ := miniredis.Run()
	defer mr.Close()
	enf, _ := dnc.New(redis.NewClient(&redis.Options{Addr: mr.Addr()}))

	auth, _ := dnchttp.NewStaticTokens(map[string]string{"s3cr3t": "acme"})
	orgs, _ := dnchttp.NewStaticOrgs("acme")
	h, err := dnchttp.New(enf, auth, orgs)
	if err != nil {
		log.Fatal(err)
	}
	// In a server: http.ListenAndServe("127.0.0.1:8080", h).

	req := httptest.NewRequest("POST", "/api/dnc/enable-disable", strings.NewReader(`{"enable": true}`))
	req.Header.Set("Authorization", "Bearer s3cr3t")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Print(rec.Code, " ", rec.Body)

	req = httptest.NewRequest("POST", "/api/dnc/enable-disable", strings.NewReader(`{"enable": "true"}`))
	req.Header.Set("Authorization", "Bearer s3cr3t")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Print(rec.Code, " ", rec.Body)

	// Output:
	// 200 {"message":"DNC setting updated successfully","status":true,"code":200,"errorMessage":""}
	// 400 {"message":"enable must be a JSON boolean (true or false), got a string","status":false,"code":400,"errorMessage":"enable must be a JSON boolean (true or false), got a string"}
}
