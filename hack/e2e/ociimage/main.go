/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

// Command ociimage writes a one-layer OCI image archive (what `ctr images import` reads) from local
// files, without a container engine. The e2e builds the operator's, the emulator's and the pause
// image with it; the layout mirrors distroless static:nonroot, which the Dockerfile uses.
package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"runtime"
	"strings"
	"time"
)

type fileList []string

func (f *fileList) String() string     { return strings.Join(*f, ",") }
func (f *fileList) Set(v string) error { *f = append(*f, v); return nil }

func main() {
	var adds fileList
	out := flag.String("o", "", "output archive")
	name := flag.String("name", "", "image reference, e.g. localhost/talis-operator:e2e")
	user := flag.String("user", "65532:65532", "image user (uid:gid)")
	entrypoint := flag.String("entrypoint", "", "entrypoint, comma-separated")
	flag.Var(&adds, "add", "SRC=DST: copy a local executable into the image (repeatable)")
	flag.Parse()
	if *out == "" || *name == "" || *entrypoint == "" || len(adds) == 0 {
		log.Fatal("ociimage: -o, -name, -entrypoint and -add are required")
	}
	if err := build(*out, *name, *user, strings.Split(*entrypoint, ","), adds); err != nil {
		log.Fatalf("ociimage: %v", err)
	}
}

func build(out, name, user string, entrypoint []string, adds []string) error {
	layer, err := rootfs(adds)
	if err != nil {
		return err
	}
	cfg, err := json.Marshal(map[string]any{
		"architecture": runtime.GOARCH,
		"os":           "linux",
		"created":      time.Unix(0, 0).UTC(),
		"config": map[string]any{
			"User":       user,
			"Entrypoint": entrypoint,
			"Env":        []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
			"WorkingDir": "/",
		},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{digest(layer)}},
	})
	if err != nil {
		return err
	}
	manifest, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        descriptor("application/vnd.oci.image.config.v1+json", cfg, nil),
		"layers":        []any{descriptor("application/vnd.oci.image.layer.v1.tar", layer, nil)},
	})
	if err != nil {
		return err
	}
	tag := name[strings.LastIndex(name, ":")+1:]
	index, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.index.v1+json",
		"manifests": []any{descriptor("application/vnd.oci.image.manifest.v1+json", manifest, map[string]string{
			"io.containerd.image.name":          name,
			"org.opencontainers.image.ref.name": tag,
		})},
	})
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	entries := []struct {
		path string
		data []byte
	}{
		{"oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)},
		{"index.json", index},
		{blob(cfg), cfg},
		{blob(layer), layer},
		{blob(manifest), manifest},
	}
	for _, e := range []string{"blobs/", "blobs/sha256/"} {
		if err := tw.WriteHeader(&tar.Header{Name: e, Typeflag: tar.TypeDir, Mode: 0o755, ModTime: time.Unix(0, 0)}); err != nil {
			return err
		}
	}
	for _, e := range entries {
		if err := writeFile(tw, e.path, e.data, 0o644, 0); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return os.WriteFile(out, buf.Bytes(), 0o644)
}

// rootfs is the image's only layer: distroless static:nonroot's users and directories plus the files.
func rootfs(adds []string) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := []struct {
		name     string
		mode     int64
		uid, gid int
	}{{"etc/", 0o755, 0, 0}, {"home/", 0o755, 0, 0}, {"home/nonroot/", 0o700, 65532, 65532}, {"tmp/", 0o1777, 0, 0}}
	for _, d := range dirs {
		if err := tw.WriteHeader(&tar.Header{Name: d.name, Typeflag: tar.TypeDir, Mode: d.mode, Uid: d.uid, Gid: d.gid, ModTime: time.Unix(0, 0)}); err != nil {
			return nil, err
		}
	}
	passwd := "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
	group := "root:x:0:\nnonroot:x:65532:\n"
	if err := writeFile(tw, "etc/passwd", []byte(passwd), 0o644, 0); err != nil {
		return nil, err
	}
	if err := writeFile(tw, "etc/group", []byte(group), 0o644, 0); err != nil {
		return nil, err
	}
	for _, a := range adds {
		src, dst, ok := strings.Cut(a, "=")
		if !ok {
			return nil, fmt.Errorf("-add %q: want SRC=DST", a)
		}
		b, err := os.ReadFile(src)
		if err != nil {
			return nil, err
		}
		if err := writeFile(tw, strings.TrimPrefix(dst, "/"), b, 0o755, 0); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeFile(tw *tar.Writer, name string, data []byte, mode int64, uid int) error {
	h := &tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: mode, Size: int64(len(data)), Uid: uid, Gid: uid, ModTime: time.Unix(0, 0)}
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	_, err := tw.Write(data)
	return err
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func blob(b []byte) string { return "blobs/sha256/" + strings.TrimPrefix(digest(b), "sha256:") }

func descriptor(mediaType string, b []byte, annotations map[string]string) map[string]any {
	d := map[string]any{"mediaType": mediaType, "digest": digest(b), "size": len(b)}
	if annotations != nil {
		d["annotations"] = annotations
	}
	return d
}
