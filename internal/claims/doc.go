// Package claims decides whether a TalisProject's status may steer Talis calls.
//
// Status is the operator's record, but anyone granted the status subresource (a tenant Role
// with resources ["*"] grants it) can write it too. So the Talis project a TalisProject's
// status names is used only once Talis's side says it is this object's: its config carries
// this object's creator marker, or the object adopts it (annotation), neither its creator nor
// an older adopter holds it, and its name is not another namespace's default name. Both
// reconcilers ask before any call that uses it.
//
//   - marker.go: the creator marker in a Talis project's config.
//   - names.go: which namespace a default Talis project name belongs to.
//   - claims.go: checking a claim, and remembering in memory the claims seen to hold.
package claims
