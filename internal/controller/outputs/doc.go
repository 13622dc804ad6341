// Package outputs publishes each TalisInstanceSet's instances into the ConfigMap its
// spec.outputs names, from the set's status alone. It never writes the set: its verdicts reach
// the set's conditions through shared.OutputsVerdicts and the set reconciler.
//
//   - controller.go: the reconciler, its writes and its watches.
//   - render.go: the ConfigMap's data, one key per format.
package outputs
