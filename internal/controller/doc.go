// Package controller wires the reconcilers into a manager. Each kind has a package of its own,
// and the kind packages never import each other:
//
//   - instanceset/ keeps a TalisInstanceSet's instances alive in Talis (the create protocol's
//     Kubernetes side included; internal/creates holds the rest).
//   - project/ keeps a Talis project in step with a TalisProject.
//   - outputs/ publishes a set's instances into the ConfigMap spec.outputs names.
//   - shared/ is what they have in common: the health model and its conditions, events, pause,
//     Timing, field indexes and the outputs verdicts the set reconciler folds into conditions.
//
// Files here:
//
//   - setup.go: Config and Setup, which builds the three reconcilers.
//   - cache.go: the manager's cache options (which Secrets and ConfigMaps it may hold).
//   - indexes.go: the field indexes the reconcilers list by.
//
// The envtest suites here (suite_test.go starts one apiserver and one Talis emulator) run the
// whole manager through Setup; unit tests sit beside the code in each package.
package controller
