package talis

import (
	"testing"
	"time"
)

func TestNewClientDefaults(t *testing.T) {
	c, err := NewClient(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.origin != DefaultBaseURL || c.root != "" || c.timeout != DefaultTimeout || c.limiter != nil {
		t.Errorf("defaults: %+v", c)
	}
	if c.retry != (RetryPolicy{DefaultMaxAttempts, DefaultInitialBackoff, DefaultMaxBackoff}) {
		t.Errorf("retry defaults: %+v", c.retry)
	}
	d := DefaultOptions()
	if d.BaseURL != DefaultBaseURL || d.Timeout != DefaultTimeout || d.APIKey != "" {
		t.Errorf("DefaultOptions: %v", d)
	}

	// Zero fields of explicit options take defaults too.
	c, err = NewClient(&Options{BaseURL: "https://api.example.com/talis/", RateLimit: 2.5})
	if err != nil {
		t.Fatal(err)
	}
	if c.origin != "https://api.example.com" || c.root != "/talis" || c.timeout != DefaultTimeout ||
		c.retry.MaxAttempts != DefaultMaxAttempts || c.limiter == nil || c.limiter.Burst() != 3 {
		t.Errorf("explicit: origin=%q root=%q timeout=%v retry=%+v", c.origin, c.root, c.timeout, c.retry)
	}
}

func TestNewClientRejectsBadOptions(t *testing.T) {
	for name, o := range map[string]Options{
		"scheme":          {BaseURL: "ftp://h"},
		"no scheme":       {BaseURL: "localhost:8080"},
		"no host":         {BaseURL: "http://"},
		"garbage":         {BaseURL: "http://[::1"},
		"credentials":     {BaseURL: "http://user:pw@h"},
		"query":           {BaseURL: "http://h/?a=1"},
		"fragment":        {BaseURL: "http://h/#x"},
		"prefix with url": {BaseURL: "http://h", PathPrefix: "http://other/x"},
		"timeout":         {BaseURL: "http://h", Timeout: -time.Second},
		"retry":           {BaseURL: "http://h", Retry: RetryPolicy{MaxAttempts: -1}},
		"rate":            {BaseURL: "http://h", RateLimit: -1},
	} {
		if _, err := NewClient(&o); err == nil {
			t.Errorf("%s: accepted %v", name, o)
		}
	}
}

func TestInstanceStatusValid(t *testing.T) {
	for _, s := range []InstanceStatus{"unknown", "pending", "created", "provisioning", "ready", "terminated"} {
		if !s.Valid() {
			t.Errorf("%q should be valid", s)
		}
	}
	if InstanceStatus("running").Valid() || InstanceStatus("failed").Valid() {
		t.Error("running/failed are not instance statuses")
	}
}
