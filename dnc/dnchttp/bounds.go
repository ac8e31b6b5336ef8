package dnchttp

import (
	"errors"

	"github.com/dncguard/dncguard/dnc"
)

// checkMeta returns a 400 naming the first metadata field that the library would
// refuse (dnc.Meta.Validate: control and bidirectional formatting characters), by code
// point and byte offset, never quoting the text.
func checkMeta(m dnc.Meta) error {
	var me *dnc.MetaError
	if err := m.Validate(); errors.As(err, &me) {
		return badRequest(me.Error())
	}
	return nil
}
