// Package talis is a client for the Talis API server (celestiaorg/talis).
//
// It reproduces the interface of the upstream Go client (see Client) but is
// written against the server's real wire protocol, which differs from the
// upstream client and docs in several places:
//
//   - the instance status filter is sent as `status=` (the only name the
//     server reads), and `include_deleted`, `limit` and `offset` are sent only
//     when they mean something (see ListOptions for the limit semantics);
//   - every non-2xx answer becomes an *APIError whatever body shape the server
//     or the gateway in front of it used, and helpers (IsNotFound,
//     IsAlreadyExists, ...) map the server's odd status codes (a missing
//     instance is a 500, a duplicate project on PostgreSQL is a 500) back to
//     what they mean;
//   - read calls are retried with backoff, writes that are not idempotent
//     (CreateInstance, project/user/SSH key creation) never are, and
//     IsAmbiguous tells a caller whether a failed create may still have been
//     applied;
//   - list iterators (AllInstances, AllProjects, ...) page until every row has
//     been seen, since the server's pagination totals only count the page.
//
// The package has no Kubernetes dependencies.
package talis
