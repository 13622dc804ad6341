// Package reliability holds the reliability and security suites that fit `make test`:
//
//   - admission_test.go: invalid objects rejected by the apiserver with clear messages, and
//     dangling references reported as conditions;
//   - responses_test.go: malformed Talis answers give clear errors, not panics (pkg/talis);
//   - api_key_test.go: the API key never appears in logs (most verbose level), events, status or
//     metrics;
//   - rbac_test.go: the generated RBAC is least privilege (and sufficient: every suite runs the
//     manager bound to it only);
//   - metrics_auth_test.go: the metrics endpoint needs authentication and authorization;
//   - talis_tls_test.go: TLS to Talis is verified unless a CA bundle is given, and a redirect
//     carries no API key elsewhere;
//   - teardown_test.go: uninstalling (CRDs deleted) with the manager running or stopped, and
//     namespace deletion, terminate every instance and leave no finalizer behind;
//   - leader_test.go: two managers with --leader-elect; the leader killed mid-scale-up, the next
//     one stopped mid-scale-down; no duplicate, no leak, never two acting at once;
//   - observation_test.go: no instance is declared late (and replaced) on a stale snapshot;
//   - bounds_test.go: the largest status the CRD allows fits in one object; specs past the bounds
//     are refused, through create and the scale subresource;
//   - immutable_test.go: fields Talis cannot change stay unchanged through any sequence of patches;
//   - upgrade_bounds_test.go: objects the unbounded CRDs allowed still work after the upgrade;
//   - tenancy_test.go: API keys stay with their endpoints when every URL is allowed;
//   - tenant_roles_test.go: the shipped editor and viewer roles, bound directly and aggregated
//     into admin, edit and view: no tenant writes status;
//   - forged_status_test.go: status written by a tenant who may (a broad Role) steers no call
//     into another tenant's Talis project or instances, nor adopts (and sweeps) the Talis project
//     another namespace's Orphan deletion left, and a forged identity creates nothing;
//   - rename_test.go: a rename never deletes a Talis project with live instances;
//   - handover_test.go: a create is judged by the window its sender promised, across managers
//     with other --talis-timeout and clocks;
//   - printed_test.go: what kubectl get prints for stalled, re-applied, refused and misconfigured
//     objects and for a revoked key;
//   - kstatus_test.go: what kubectl wait and kstatus read for new and paused objects;
//   - events_test.go: events.k8s.io events for misused annotations, each change of reason and
//     what a deletion waits for;
//   - user_view_test.go: the helper these three read through (printed rows, events);
//   - readme_example_test.go: the README's "What you write" applies and converges as printed.
//
// The manager runs as a real process (built from ./cmd/manager by TestMain) against envtest's
// kube-apiserver, as a user bound to the generated RBAC only; Talis is the in-process emulator.
// Each manager watches only its test's namespaces (--watch-namespaces). The long suites (random
// kills, Talis faults) are in test/chaos.
package reliability
