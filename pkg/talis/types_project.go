package talis

import "time"

// Project is the server's project. Names are unique across all owners and
// stay reserved after deletion.
type Project struct {
	ID             uint       `json:"ID"`
	ModelCreatedAt time.Time  `json:"CreatedAt"` // always zero on the wire
	UpdatedAt      time.Time  `json:"UpdatedAt"`
	DeletedAt      *time.Time `json:"DeletedAt"`

	Name        string `json:"name"`
	Description string `json:"description"`
	// Config is the raw JSON text given at creation ("" if none).
	Config string `json:"config"`
	// Tasks is never preloaded by the server: always null.
	Tasks     []Task    `json:"tasks"`
	CreatedAt time.Time `json:"created_at"`

	// OwnerID is never serialised by the server; the client fills it from the
	// request that returned the project.
	OwnerID uint `json:"-"`
}
