/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// JSON forms of Faults, RouteFault and Delays (control endpoints, flags):
// snake_case keys, durations as Go strings ("250ms") or numbers of
// milliseconds; unknown keys are rejected to catch typos.

type jsonDuration time.Duration

func (d jsonDuration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

func (d *jsonDuration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		*d = jsonDuration(v)
		return err
	}
	var ms float64
	if err := json.Unmarshal(b, &ms); err != nil {
		return fmt.Errorf("duration must be a string like \"250ms\" or milliseconds: %s", b)
	}
	*d = jsonDuration(ms * float64(time.Millisecond))
	return nil
}

func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

type routeFaultJSON struct {
	ErrorRate          float64      `json:"error_rate,omitempty"`
	GatewayErrorRate   float64      `json:"gateway_error_rate,omitempty"`
	GatewayStatus      int          `json:"gateway_status,omitempty"`
	Latency            jsonDuration `json:"latency,omitempty"`
	Jitter             jsonDuration `json:"jitter,omitempty"`
	TimeoutRate        float64      `json:"timeout_rate,omitempty"`
	CommitThenDropRate float64      `json:"commit_then_drop_rate,omitempty"`
	Hang               jsonDuration `json:"hang,omitempty"`
}

// MarshalJSON implements json.Marshaler.
func (r RouteFault) MarshalJSON() ([]byte, error) {
	return json.Marshal(routeFaultJSON{
		r.ErrorRate, r.GatewayErrorRate, r.GatewayStatus, jsonDuration(r.Latency), jsonDuration(r.Jitter),
		r.TimeoutRate, r.CommitThenDropRate, jsonDuration(r.Hang),
	})
}

// UnmarshalJSON implements json.Unmarshaler.
func (r *RouteFault) UnmarshalJSON(b []byte) error {
	var j routeFaultJSON
	if err := strictUnmarshal(b, &j); err != nil {
		return err
	}
	*r = RouteFault{
		j.ErrorRate, j.GatewayErrorRate, j.GatewayStatus, time.Duration(j.Latency), time.Duration(j.Jitter),
		j.TimeoutRate, j.CommitThenDropRate, time.Duration(j.Hang),
	}
	return nil
}

type faultsJSON struct {
	Routes            map[string]RouteFault `json:"routes,omitempty"`
	Next429           int                   `json:"next_429,omitempty"`
	RateLimit         float64               `json:"rate_limit,omitempty"`
	RateBurst         int                   `json:"rate_burst,omitempty"`
	RetryAfter        jsonDuration          `json:"retry_after,omitempty"`
	CreateFailRate    float64               `json:"create_fail_rate,omitempty"`
	ProvisionFailRate float64               `json:"provision_fail_rate,omitempty"`
	TerminateFailRate float64               `json:"terminate_fail_rate,omitempty"`
	NeverReadyRate    float64               `json:"never_ready_rate,omitempty"`
	NeverReadyStage   string                `json:"never_ready_stage,omitempty"`
}

// MarshalJSON implements json.Marshaler.
func (f Faults) MarshalJSON() ([]byte, error) {
	return json.Marshal(faultsJSON{
		f.Routes, f.Next429, f.RateLimit, f.RateBurst, jsonDuration(f.RetryAfter),
		f.CreateFailRate, f.ProvisionFailRate, f.TerminateFailRate, f.NeverReadyRate, f.NeverReadyStage,
	})
}

// UnmarshalJSON implements json.Unmarshaler.
func (f *Faults) UnmarshalJSON(b []byte) error {
	var j faultsJSON
	if err := strictUnmarshal(b, &j); err != nil {
		return err
	}
	switch j.NeverReadyStage {
	case "", "pending", "created", "provisioning":
	default:
		return fmt.Errorf("never_ready_stage must be pending, created or provisioning, not %q", j.NeverReadyStage)
	}
	*f = Faults{
		j.Routes, j.Next429, j.RateLimit, j.RateBurst, time.Duration(j.RetryAfter),
		j.CreateFailRate, j.ProvisionFailRate, j.TerminateFailRate, j.NeverReadyRate, j.NeverReadyStage,
	}
	return nil
}

type delaysJSON struct {
	Pickup    jsonDuration `json:"pickup"`
	Create    jsonDuration `json:"create"`
	Ready     jsonDuration `json:"ready"`
	Provision jsonDuration `json:"provision"`
	Terminate jsonDuration `json:"terminate"`
	Spread    float64      `json:"spread"`
}

// MarshalJSON implements json.Marshaler.
func (d Delays) MarshalJSON() ([]byte, error) {
	return json.Marshal(delaysJSON{
		jsonDuration(d.Pickup), jsonDuration(d.Create), jsonDuration(d.Ready), jsonDuration(d.Provision), jsonDuration(d.Terminate), d.Spread,
	})
}

// UnmarshalJSON implements json.Unmarshaler; absent keys keep their value,
// so a partial object updates only the named phases.
func (d *Delays) UnmarshalJSON(b []byte) error {
	j := delaysJSON{
		jsonDuration(d.Pickup), jsonDuration(d.Create), jsonDuration(d.Ready), jsonDuration(d.Provision), jsonDuration(d.Terminate), d.Spread,
	}
	if err := strictUnmarshal(b, &j); err != nil {
		return err
	}
	if j.Spread < 0 || j.Spread > 1 {
		return fmt.Errorf("spread must be between 0 and 1, not %v", j.Spread)
	}
	*d = Delays{time.Duration(j.Pickup), time.Duration(j.Create), time.Duration(j.Ready), time.Duration(j.Provision), time.Duration(j.Terminate), j.Spread}
	return nil
}
