/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

package emulator

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Fiber's BodyParser hands an application/x-www-form-urlencoded body to
// its schema decoder (a gorilla/schema fork): only a struct can be filled,
// keys are the Go field names (upstream's structs have no form tags)
// matched case-insensitively, and unknown keys are ignored. Each handler
// then answers as for its other decode errors, or validates what the form
// set. Kinds the emulated structs lack (bool, float, nested structs) are
// not modelled.

const formType = "application/x-www-form-urlencoded"

var errFormNotStruct = errors.New("failed to decode: schema: interface must be a pointer to struct")

func decodeForm(ctype string, body []byte, out any) error {
	v := reflect.ValueOf(out)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return errFormNotStruct
	}
	var data map[string][]string
	// fasthttp parses the body only under the exact lower-case type.
	if strings.HasPrefix(ctype, formType) {
		data = formArgs(body)
	}
	v = v.Elem()
	var msgs []string
	// Upstream visits keys in map order; sorted keeps the emulator seeded.
	for _, key := range slices.Sorted(maps.Keys(data)) {
		f := formField(v, key)
		if !f.IsValid() {
			continue
		}
		if err := setFormField(f, key, data[key]); err != nil {
			msgs = append(msgs, err.Error())
		}
	}
	switch len(msgs) {
	case 0:
		return nil
	case 1:
		return errors.New("failed to decode: " + msgs[0])
	case 2:
		return errors.New("failed to decode: " + msgs[0] + " (and 1 other error)")
	}
	return fmt.Errorf("failed to decode: %s (and %d other errors)", msgs[0], len(msgs)-1)
}

// formArgs parses like fasthttp's Args, then maps Fiber's bracket keys
// ("a[b]" → "a.b", "a[]" → "a").
func formArgs(body []byte) map[string][]string {
	data := map[string][]string{}
	for _, kv := range strings.Split(string(body), "&") {
		k, v, _ := strings.Cut(kv, "=")
		k, v = unescapeArg(k), unescapeArg(v)
		if k == "" && v == "" {
			continue
		}
		if strings.Contains(k, "[") {
			var b strings.Builder
			for i := 0; i < len(k); i++ {
				switch {
				case k[i] == '[' && i+1 < len(k) && k[i+1] != ']':
					b.WriteByte('.')
				case k[i] == '[' || k[i] == ']':
				default:
					b.WriteByte(k[i])
				}
			}
			k = b.String()
		}
		data[k] = append(data[k], v)
	}
	return data
}

// unescapeArg is fasthttp's lenient decoding: "+" is a space, a bad
// escape stays as it is.
func unescapeArg(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b.WriteByte(' ')
		case c == '%' && i+2 >= len(s):
			b.WriteString(s[i:])
			return b.String()
		case c == '%':
			if n, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(n))
				i += 2
			} else {
				b.WriteByte('%')
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// formField finds the settable field a key names; a dotted key would name
// a nested struct, which the emulated structs do not have.
func formField(v reflect.Value, key string) reflect.Value {
	t := v.Type()
	for i := range t.NumField() {
		if sf := t.Field(i); sf.IsExported() && strings.EqualFold(sf.Name, key) {
			return v.Field(i)
		}
	}
	return reflect.Value{}
}

func setFormField(f reflect.Value, key string, values []string) error {
	if f.Kind() != reflect.Slice {
		val := values[len(values)-1] // the last value wins
		if val == "" {
			f.SetZero()
			return nil
		}
		x, ok := convertForm(f.Type(), val)
		if !ok {
			return fmt.Errorf("schema: error converting value for %q", key)
		}
		if x.IsValid() {
			f.Set(x)
		}
		return nil
	}
	et := f.Type().Elem()
	items := reflect.MakeSlice(f.Type(), 0, len(values))
	for i, val := range values {
		parts := []string{val}
		if _, ok := convertForm(et, val); !ok && strings.Contains(val, ",") {
			parts = strings.Split(val, ",")
		}
		for _, p := range parts {
			if p == "" {
				items = reflect.Append(items, reflect.Zero(et))
				continue
			}
			x, ok := convertForm(et, p)
			if !ok {
				return fmt.Errorf("schema: error converting value for index %d of %q", i, key)
			}
			if !x.IsValid() {
				return nil // unsupported element kind: left alone
			}
			items = reflect.Append(items, x)
		}
	}
	f.Set(items)
	return nil
}

// convertForm converts one value; an invalid Value with ok means a kind
// that is not modelled.
func convertForm(t reflect.Type, s string) (reflect.Value, bool) {
	x := reflect.New(t).Elem()
	switch t.Kind() {
	case reflect.String:
		x.SetString(s)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(s, 10, t.Bits())
		if err != nil {
			return x, false
		}
		x.SetUint(n)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, t.Bits())
		if err != nil {
			return x, false
		}
		x.SetInt(n)
	default:
		return reflect.Value{}, true
	}
	return x, true
}
