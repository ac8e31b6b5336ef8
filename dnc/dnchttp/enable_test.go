package dnchttp_test

import (
	"testing"

	"github.com/dncguard/dncguard/dnc/dnchttp"
)

func TestEnableDisable(t *testing.T) {
	f := newFixture(t)
	ctx := ctxT(t)
	set := func(body string, want bool) {
		t.Helper()
		expect(t, body, f.do(t, "POST", "/api/dnc/enable-disable", tokA, body), 200, ok(t, dnchttp.MsgSettingUpdated, nil))
		if on, err := f.enf.Enabled(ctx, orgA); err != nil || on != want {
			t.Errorf("after %s: Enabled = %v, %v; want %v", body, on, err, want)
		}
	}
	// The seed document's body, as its curl command sends it.
	set("{\n    \"enable\": true\n  }", true)
	set(`{"enable": false}`, false)
	// Unknown keys are ignored whatever they hold, "enable" nested in them included; a
	// key that differs from "enable" only in case is unknown.
	set(`{"other": {"enable": false, "x": [1, {"enable": false}, "}"]}, "enable": true, "more": null}`, true)
	set(`{"Enable": true, "enable": false, "ENABLE": true}`, false)
	set(`{"enable":true}`+"\n\t ", true) // trailing white space is not data
	set(`{"enable": false}`, false)

	// Every bad body tries to switch DNC back on: it must stay off, and nothing change.
	for _, tc := range []struct{ body, msg string }{
		{``, "request body is empty: want a JSON object"},
		{`   `, "request body is empty: want a JSON object"},
		{`{}`, "enable is required"},
		{`{"ENABLE": true}`, "enable is required"},
		{`{"Enable": true}`, "enable is required"},
		{`{"enable ": true}`, "enable is required"},
		{`{"enable": null}`, "enable must be a JSON boolean (true or false), got null"},
		{`{"enable": "true"}`, "enable must be a JSON boolean (true or false), got a string"},
		{`{"enable": 1}`, "enable must be a JSON boolean (true or false), got a number"},
		{`{"enable": 0}`, "enable must be a JSON boolean (true or false), got a number"},
		{`{"enable": [true]}`, "enable must be a JSON boolean (true or false), got an array"},
		{`{"enable": {"value": true}}`, "enable must be a JSON boolean (true or false), got an object"},
		{`{"enable": true, "enable": true}`, `request body: key "enable" is given more than once`},
		{`{"enable": false, "enable": true}`, `request body: key "enable" is given more than once`},
		{`{"en\u0061ble": false, "enable": true}`, `request body: key "enable" is given more than once`},
		{`{"x": 1, "x": 2, "enable": true}`, `request body: key "x" is given more than once`},
		{`{"enable": true} x`, "request body: trailing data after the JSON object"},
		{`{"enable": true}{}`, "request body: trailing data after the JSON object"},
		{`{"enable": true}}`, "request body: trailing data after the JSON object"},
		{`{"enable": true} {"enable": true}`, "request body: trailing data after the JSON object"},
		{`{"enable": tru}`, "request body: malformed JSON: invalid character '}' in literal true (expecting 'e')"},
		{`{"enable": true`, "request body: malformed JSON: unexpected end of input"},
		{`{"enable": true,}`, "request body: malformed JSON: invalid character '}' looking for beginning of object key string"},
		{`{"enable" true}`, "request body: malformed JSON: expected colon after object key"},
		{`{"x": 1 "enable": true}`, "request body: malformed JSON: invalid character '\"' after object key:value pair"},
		{`{'enable': true}`, "request body: malformed JSON: invalid character '\\''"},
		{`{"x": [1, 2}, "enable": true}`, "request body: malformed JSON: invalid character '}' after array element"},
		{`[{"enable": true}]`, "request body must be a JSON object"},
		{`true`, "request body must be a JSON object"},
		{`null`, "request body must be a JSON object"},
		{`"enable"`, "request body must be a JSON object"},
		{`enable=true`, "request body: malformed JSON: invalid character 'e' looking for beginning of value"},
	} {
		before := f.dump(t)
		expect(t, tc.body, f.do(t, "POST", "/api/dnc/enable-disable", tokA, tc.body), 400, failed(400, tc.msg))
		f.unchanged(t, tc.body, before)
		if on, err := f.enf.Enabled(ctx, orgA); err != nil || on {
			t.Errorf("after %s: Enabled = %v, %v; want false (unchanged)", tc.body, on, err)
		}
	}
}

func TestStatus(t *testing.T) {
	f := newFixture(t)
	status := func(want bool) {
		t.Helper()
		expect(t, "status", f.do(t, "GET", "/api/dnc/status", tokA, ""), 200,
			ok(t, dnchttp.MsgStatus, map[string]bool{"enabled": want}))
	}
	status(true) // an org that never set DNC is enforced
	f.do(t, "POST", "/api/dnc/enable-disable", tokA, `{"enable": false}`)
	status(false)
	if err := f.enf.SetEnabled(ctxT(t), orgA, true); err != nil {
		t.Fatal(err)
	}
	status(true)
}
