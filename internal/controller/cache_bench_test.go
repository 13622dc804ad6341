package controller

import (
	"os"
	"runtime"
	"testing"

	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/test/harness"
)

// BenchmarkCachedSetBytes decodes a Ready set of three instances as the informer does (the
// API server's JSON, managedFields included, testdata/ready-set.json) and runs the cache's
// transform on it, then reports the heap the cached copies keep per set.
func BenchmarkCachedSetBytes(b *testing.B) {
	data, err := os.ReadFile("testdata/ready-set.json")
	if err != nil {
		b.Fatal(err)
	}
	s := k8sruntime.NewScheme()
	if err := infrav1.AddToScheme(s); err != nil {
		b.Fatal(err)
	}
	decoder := serializer.NewCodecFactory(s).UniversalDeserializer()
	opts := CacheOptions(nil)
	transform := opts.DefaultTransform
	for obj, by := range opts.ByObject {
		if _, ok := obj.(*infrav1.TalisInstanceSet); ok && by.Transform != nil {
			transform = by.Transform
		}
	}
	const sets = 2000
	for range b.N {
		before := harness.LiveHeapBytes()
		kept := make([]any, sets)
		for i := range kept {
			obj, _, err := decoder.Decode(data, nil, &infrav1.TalisInstanceSet{})
			if err != nil {
				b.Fatal(err)
			}
			if kept[i], err = transform(obj); err != nil {
				b.Fatal(err)
			}
		}
		after := harness.LiveHeapBytes()
		runtime.KeepAlive(kept)
		b.ReportMetric(float64(int64(after)-int64(before))/sets, "kept-B/set")
	}
}
