/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

package emulator

import (
	"bytes"
	"cmp"
	"encoding/json"
	"slices"
)

// jsonbOrder re-encodes a document as upstream hands back a jsonb column:
// PostgreSQL keeps object keys shortest first, then bytewise, at every
// level, and Go's encoder compacts jsonb's spaces away again.
func jsonbOrder(doc []byte) json.RawMessage {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return doc
	}
	var b bytes.Buffer
	writeJSONB(&b, v)
	return b.Bytes()
}

func writeJSONB(b *bytes.Buffer, v any) {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(x, y string) int {
			return cmp.Or(cmp.Compare(len(x), len(y)), cmp.Compare(x, y))
		})
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			kb, _ := json.Marshal(k)
			b.Write(kb)
			b.WriteByte(':')
			writeJSONB(b, v[k])
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONB(b, e)
		}
		b.WriteByte(']')
	default: // strings, json.Number, bools, null
		eb, _ := json.Marshal(v)
		b.Write(eb)
	}
}
