/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

package emulator

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Rendering happens outside the store lock from copied rows; specs are
// immutable so sharing their slices with the encoder is safe.

func renderInstance(id uint64, in *instance) Instance {
	sp := in.spec
	out := Instance{
		ID:                 uint(id),
		UpdatedAt:          ts(in.updatedAt),
		OwnerID:            uint(sp.ownerID),
		ProjectID:          uint(sp.projectID),
		Name:               in.name,
		ProviderID:         sp.provider,
		ProviderInstanceID: int(in.providerID),
		PublicIP:           ipString(in.ip),
		Region:             sp.region,
		Size:               sp.size,
		Image:              "", // never persisted upstream
		Tags:               sp.tags,
		Status:             instanceStatusNames[in.status],
		VolumeIDs:          []string{},
		VolumeDetails:      []VolumeDetail{},
		CreatedAtReal:      ts(in.createdAt),
		PayloadStatus:      payloadStatusNames[in.payload],
	}
	if in.volumes {
		out.VolumeIDs, out.VolumeDetails = volumesFor(id, sp)
	}
	return out
}

// volumesFor derives stable DO-style volume ids from the instance id, so
// nothing per volume needs to be stored.
func volumesFor(id uint64, sp *instSpec) ([]string, []VolumeDetail) {
	ids := make([]string, len(sp.volumes))
	det := make([]VolumeDetail, len(sp.volumes))
	for i, v := range sp.volumes {
		vid := fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", uint32(id), uint16(id>>32), i&0xfff, (id>>48)&0xfff, 0xe1a000000000+uint64(i))
		name := v.Name
		if name == "" {
			name = fmt.Sprintf("vol-%d-%d", id, i)
		}
		region := v.Region
		if region == "" {
			region = sp.region
		}
		ids[i] = vid
		det[i] = VolumeDetail{ID: vid, Name: name, Region: region, SizeGB: v.SizeGB, MountPoint: v.MountPoint}
	}
	return ids, det
}

// renderTask needs the task's instance (payload, log and error text) and the worker's lock
// duration (Config.LockDuration).
func renderTask(id uint64, t *task, in *instance, lock time.Duration) Task {
	out := Task{
		ID:            uint(id),
		UpdatedAt:     ts(t.updatedAt),
		ProjectID:     uint(t.projectID),
		InstanceID:    uint(t.instanceID),
		Action:        taskActionNames[t.action],
		Status:        taskStatusNames[t.status],
		Attempts:      uint(t.attempts),
		Logs:          renderLogs(id, t, in),
		CreatedAtReal: ts(t.createdAt),
		LockedAt:      tsPtr(t.lockedAt),
		Priority:      int(t.action), // create=1 (high), terminate=2 (low)
	}
	if t.lockedAt != 0 {
		out.LockExpiry = tsPtr(t.lockedAt + int64(lock))
	}
	if t.errCode != errNone {
		out.Error = "\n" + errMessage(t, in)
	}
	if t.action == actTerminate {
		out.Payload = json.RawMessage(`{"instance_id":` + strconv.FormatUint(t.instanceID, 10) + `}`)
	} else {
		out.Payload = createPayload(t.instanceID, in)
	}
	return out
}

// createPayload is the stored InstanceRequest as jsonb returns it: the
// request's name (not the instance's "-N" one), the instance id and, after
// the first instance of a request element, its index in the element;
// action forced to "create", everything else as requested.
func createPayload(id uint64, in *instance) json.RawMessage {
	sp := in.spec
	req := InstanceRequest{
		Name:              sp.name,
		OwnerID:           uint(sp.ownerID),
		Provider:          ProviderID(sp.provider),
		Region:            sp.region,
		Size:              sp.size,
		Memory:            sp.memory,
		CPU:               sp.cpu,
		Image:             sp.image,
		Tags:              sp.tags,
		InstanceID:        uint(id),
		InstanceIndex:     int(id - sp.firstID),
		ProjectName:       sp.projectName,
		NumberOfInstances: sp.count,
		Provision:         sp.provision,
		PayloadPath:       sp.payloadPath,
		ExecutePayload:    sp.executePayload,
		Volumes:           sp.volumes,
		SSHKeyType:        sp.sshKeyType,
		SSHKeyPath:        sp.sshKeyPath,
		Action:            "create",
	}
	b, _ := json.Marshal(req)
	return jsonbOrder(b)
}

func ipString(ip uint32) string {
	if ip == 0 {
		return ""
	}
	return strconv.Itoa(int(ip>>24)) + "." + strconv.Itoa(int(ip>>16&0xff)) + "." +
		strconv.Itoa(int(ip>>8&0xff)) + "." + strconv.Itoa(int(ip&0xff))
}

// ipRanges hands out addresses from the documentation ranges first, then
// from benchmarking and CGNAT space: 762 documentation addresses are not
// enough for 100k unique instances.
var ipRanges = []struct {
	base   uint32
	blocks uint64 // /24 blocks
}{
	{203<<24 | 0<<16 | 113<<8, 1},
	{198<<24 | 51<<16 | 100<<8, 1},
	{192<<24 | 0<<16 | 2<<8, 1},
	{198<<24 | 18<<16, 512},   // 198.18.0.0/15
	{100<<24 | 64<<16, 16384}, // 100.64.0.0/10
}

// allocIP returns the n-th host address (last octet 1..254) across ipRanges.
func allocIP(n uint64) uint32 {
	for {
		for _, r := range ipRanges {
			hosts := r.blocks * 254
			if n < hosts {
				return r.base + uint32(n/254)<<8 + uint32(n%254) + 1
			}
			n -= hosts
		}
	}
}
