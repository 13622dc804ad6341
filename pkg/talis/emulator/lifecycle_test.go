/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

package emulator

import (
	"strings"
	"testing"
	"time"
)

func TestLifecycleCreateTerminate(t *testing.T) {
	s, base := start(t, Config{Delays: fast})
	mkProject(t, base, admin, "p1")
	ins := create(t, base,
		instReq(admin, "p1", "m", 2, ""),
		instReq(admin, "p1", "d", 1, `"provider":"do","volumes":[{"name":"data","size_gb":20,"mount_point":"/mnt/data"}]`),
		instReq(admin, "p1", "prov", 1, `"provision":true`),
	)
	ips := map[string]bool{}
	for _, in := range ins {
		got := waitStatus(t, base, in.ID, "ready")
		if got.PublicIP == "" || ips[got.PublicIP] || got.ProviderInstanceID == 0 {
			t.Fatalf("instance %+v: want unique ip and provider id", got)
		}
		ips[got.PublicIP] = true
	}
	if ins[0].Status != "pending" || !strings.HasPrefix(getInst(t, base, 1).PublicIP, "203.0.113.") {
		t.Fatalf("%+v", ins[0])
	}
	d := getInst(t, base, 3)
	if len(d.VolumeIDs) != 1 || len(d.VolumeDetails) != 1 || d.VolumeDetails[0].ID != d.VolumeIDs[0] ||
		d.VolumeDetails[0].SizeGB != 20 || d.VolumeDetails[0].Region != "nyc1" || d.VolumeDetails[0].MountPoint != "/mnt/data" {
		t.Fatalf("do volumes: %+v", d)
	}
	tk := waitTask(t, base, 1, "create_instances", "completed")
	if tk.Attempts != 1 || tk.Logs != "\nCreating instance ID 1\nInstance ID 1 created, determining if provisioning is needed\nInstance ID 1 is ready" {
		t.Fatalf("%+v", tk)
	}
	if tk := waitTask(t, base, 4, "create_instances", "completed"); !strings.Contains(tk.Logs, "Ansible provisioning completed") {
		t.Fatalf("%+v", tk)
	}

	do(t, "DELETE", base+"/api/v1/instances", `{"owner_id":4294967295,"project_name":"p1","instance_ids":[1,3]}`)
	waitStatus(t, base, 1, "terminated")
	waitStatus(t, base, 3, "terminated")
	if tk := waitTask(t, base, 1, "terminate_instances", "completed"); tk.Logs != "" {
		t.Fatalf("terminate task logs %q; upstream's are empty", tk.Logs)
	}
	// Terminated rows stay forever and keep their IP.
	if in := getInst(t, base, 1); in.PublicIP == "" {
		t.Fatal("ip cleared")
	}
	// Terminating again yields a no-op task.
	do(t, "DELETE", base+"/api/v1/instances", `{"owner_id":4294967295,"project_name":"p1","instance_ids":[1]}`)
	if tk := waitTask(t, base, 1, "terminate_instances", "completed"); tk.Logs != "" || len(instTasks(t, base, 1, "?action=terminate_instances")) != 2 {
		t.Fatalf("%+v", tk)
	}
	led := s.Ledger()
	if len(led) != 4 || led[0].Status != "terminated" || led[0].TerminatedAt == nil || led[1].TerminatedAt != nil || led[0].Project != "p1" {
		t.Fatalf("%+v", led)
	}
	st := s.Stats()
	if st.InstancesCreated != 4 || st.InstancesTerminated != 2 || st.InstancesByStatus["ready"] != 2 || st.InstancesByStatus["terminated"] != 2 {
		t.Fatalf("%+v", st)
	}
}

// Upstream's built-in mocks report no IP and no provider id, so
// provisioning fails its task and leaves the instance provisioning.
func TestMockProvidersHaveNoPublicIP(t *testing.T) {
	_, base := start(t, Config{Delays: fast})
	mkProject(t, base, admin, "p1")
	ins := create(t, base,
		instReq(admin, "p1", "a", 1, `"provider":"do-mock"`),
		instReq(admin, "p1", "b", 1, `"provider":"digitalocean-mock","provision":true`),
	)
	if got := waitStatus(t, base, ins[0].ID, "ready"); got.PublicIP != "" || got.ProviderInstanceID != 0 {
		t.Fatalf("do-mock reported ip/id: %+v", got)
	}
	tk := waitTask(t, base, ins[1].ID, "create_instances", "failed")
	wantErr := "worker: instance ID 2 has no public IP, can't provision"
	line := "\n❌ high priority worker 3 failed to process create instance task 2: " + wantErr
	if tk.Error != "\n"+wantErr || tk.Logs != line+line {
		t.Fatalf("%+v", tk)
	}
	if got := getInst(t, base, ins[1].ID); got.Status != "provisioning" || got.PublicIP != "" || got.ProviderInstanceID != 0 {
		t.Fatalf("%+v", got)
	}
}

func TestLifecycleProvisioningSteps(t *testing.T) {
	_, base := start(t, Config{Delays: Delays{Pickup: time.Millisecond, Create: time.Millisecond, Ready: time.Millisecond, Provision: 300 * time.Millisecond, Terminate: time.Millisecond}})
	mkProject(t, base, admin, "p1")
	ins := create(t, base, instReq(admin, "p1", "pv", 1, `"provision":true`))
	in := waitStatus(t, base, ins[0].ID, "provisioning")
	if in.PublicIP == "" {
		t.Fatal("no ip while provisioning")
	}
	if tk := instTasks(t, base, ins[0].ID, ""); tk[0].Status != "running" {
		t.Fatalf("%+v", tk)
	}
	waitStatus(t, base, ins[0].ID, "ready")
}

func TestUnsupportedProviders(t *testing.T) {
	_, base := start(t, Config{Delays: fast})
	mkProject(t, base, admin, "p1")
	ins := create(t, base, instReq(admin, "p1", "m", 1, `"provider":"mock"`), instReq(admin, "p1", "a", 1, `"provider":"aws"`))
	for _, in := range ins {
		tk := waitTask(t, base, in.ID, "create_instances", "failed")
		if !strings.Contains(tk.Error, "unsupported provider: ") || !strings.HasPrefix(tk.Error, "\n") || !strings.Contains(tk.Logs, "❌ high priority worker") {
			t.Fatalf("%+v", tk)
		}
		if got := getInst(t, base, in.ID); got.Status != "pending" || got.PublicIP != "" {
			t.Fatalf("%+v", got)
		}
	}
}

// raceDelays make a terminate land while the create task is running.
var raceDelays = Delays{Pickup: 10 * time.Millisecond, Create: 500 * time.Millisecond, Ready: 10 * time.Millisecond, Provision: 10 * time.Millisecond, Terminate: 10 * time.Millisecond}

func TestTerminateRaceQuirk(t *testing.T) {
	for _, disable := range []bool{false, true} {
		_, base := start(t, Config{Delays: raceDelays, DisableRaceQuirk: disable})
		mkProject(t, base, admin, "p1")
		ins := create(t, base, instReq(admin, "p1", "r", 1, ""))
		do(t, "DELETE", base+"/api/v1/instances", `{"owner_id":4294967295,"project_name":"p1","instance_ids":[1]}`)
		waitTask(t, base, ins[0].ID, "terminate_instances", "completed")
		waitTask(t, base, ins[0].ID, "create_instances", "completed")
		want := "ready" // the create worker overwrote the termination
		if disable {
			want = "terminated"
		}
		if got := getInst(t, base, ins[0].ID); got.Status != want {
			t.Fatalf("disable=%v: status %s, want %s", disable, got.Status, want)
		}
	}
}

func TestTaskTerminateBeforePickup(t *testing.T) {
	_, base := start(t, Config{Delays: Delays{Pickup: 200 * time.Millisecond, Create: time.Millisecond, Ready: time.Millisecond, Provision: time.Millisecond, Terminate: time.Millisecond}})
	mkProject(t, base, admin, "p1")
	ins := create(t, base, instReq(admin, "p1", "t", 1, ""))
	rpc(t, base, "task.terminate", map[string]any{"task_id": 1, "owner_id": 1})
	time.Sleep(400 * time.Millisecond)
	// The dispatcher only picks pending/running tasks: nothing happens.
	if got := getInst(t, base, ins[0].ID); got.Status != "pending" {
		t.Fatal(got.Status)
	}
}

func TestSetDelaysAtRuntime(t *testing.T) {
	s, base := start(t, Config{Delays: frozen})
	mkProject(t, base, admin, "p1")
	s.SetDelays(fast)
	if s.Delays() != fast {
		t.Fatal(s.Delays())
	}
	ins := create(t, base, instReq(admin, "p1", "x", 1, ""))
	waitStatus(t, base, ins[0].ID, "ready")
}
