package talis

import (
	"context"
	"errors"
	"iter"
)

// No server list has a usable total, and only instance tasks are ordered, so
// the iterators page until a short page and de-duplicate by id. Rows that
// move between pages while iterating (other writers; PostgreSQL returns
// updated rows in a new place) can still be missed: when completeness
// matters, prefer AllInstances with Limit NoLimit, a single unpaged request.

// errPagingStalled reports a full page with nothing new, i.e. a server that
// ignores the page or offset; stopping beats looping forever.
var errPagingStalled = errors.New("talis: a full page contained only rows already seen; the server is not paging")

// pages yields rows of successive pages until one is shorter than size.
// fetch receives the 0-based page index.
func pages[T any](fetch func(i int) ([]*T, error), id func(*T) uint, size int) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) {
		seen := map[uint]struct{}{}
		for i := 0; ; i++ {
			rows, err := fetch(i)
			if err != nil {
				yield(nil, err)
				return
			}
			fresh := 0
			for _, r := range rows {
				if _, dup := seen[id(r)]; dup {
					continue
				}
				seen[id(r)] = struct{}{}
				fresh++
				if !yield(r, nil) {
					return
				}
			}
			if size <= 0 || len(rows) < size {
				return
			}
			if fresh == 0 {
				yield(nil, errPagingStalled)
				return
			}
		}
	}
}

// AllInstances iterates over instances with limit/offset paging. opts.Limit
// is the page size (0 → DefaultPageSize); NoLimit fetches everything in one
// request, which is the only consistent snapshot. opts.Offset is where to
// start. StatusFilter "not_equal" is applied client-side.
func (c *APIClient) AllInstances(ctx context.Context, opts ListOptions) iter.Seq2[*Instance, error] {
	switch opts.StatusFilter {
	case StatusFilterNotEqual:
		if opts.InstanceStatus == nil {
			opts.StatusFilter = ""
			return c.AllInstances(ctx, opts)
		}
		// The server cannot exclude a status: list unfiltered, filter here.
		exclude := *opts.InstanceStatus
		opts.StatusFilter, opts.InstanceStatus = "", nil
		return filterSeq(c.AllInstances(ctx, opts), func(in *Instance) bool { return in.Status != exclude })
	case "", StatusFilterEqual:
	default:
		return errSeq[*Instance](invalidArgf("unknown status filter %q", opts.StatusFilter))
	}
	size := opts.Limit
	if size == 0 {
		size = DefaultPageSize
	}
	start := opts.Offset
	return pages(func(i int) ([]*Instance, error) {
		page := opts
		page.Limit = size
		if size > 0 {
			page.Offset = start + i*size
		}
		return c.GetInstances(ctx, &page)
	}, func(in *Instance) uint { return in.ID }, size)
}

func filterSeq[T any](seq iter.Seq2[T, error], keep func(T) bool) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for v, err := range seq {
			if (err != nil || keep(v)) && !yield(v, err) {
				return
			}
		}
	}
}

// AllProjects iterates over every project of the owner.
func (c *APIClient) AllProjects(ctx context.Context, ownerID uint) iter.Seq2[*Project, error] {
	return pages(func(i int) ([]*Project, error) {
		return c.ListProjects(ctx, ProjectListParams{Page: i + 1, OwnerID: ownerID})
	}, func(p *Project) uint { return p.ID }, RPCPageSize)
}

// AllProjectInstances iterates over every instance of a project, terminated
// ones included.
func (c *APIClient) AllProjectInstances(ctx context.Context, name string, ownerID uint) iter.Seq2[*Instance, error] {
	return pages(func(i int) ([]*Instance, error) {
		return c.ListProjectInstances(ctx, ProjectListInstancesParams{Name: name, Page: i + 1, OwnerID: ownerID})
	}, func(in *Instance) uint { return in.ID }, RPCPageSize)
}

// AllTasks iterates over every task of a project (visible only when the
// project belongs to AdminOwnerID).
func (c *APIClient) AllTasks(ctx context.Context, projectName string, ownerID uint) iter.Seq2[*Task, error] {
	return pages(func(i int) ([]*Task, error) {
		return c.ListTasks(ctx, TaskListParams{ProjectName: projectName, OwnerID: ownerID, Page: i + 1})
	}, func(t *Task) uint { return t.ID }, RPCPageSize)
}

// AllUsers iterates over every live user.
func (c *APIClient) AllUsers(ctx context.Context) iter.Seq2[*User, error] {
	return pages(func(i int) ([]*User, error) {
		r, err := c.GetUsers(ctx, UserGetParams{Page: i + 1})
		if err != nil {
			return nil, err
		}
		out := make([]*User, len(r.Users))
		for j := range r.Users {
			out[j] = &r.Users[j]
		}
		return out, nil
	}, func(u *User) uint { return u.ID }, RPCPageSize)
}

// ListAllInstances collects AllInstances.
func (c *APIClient) ListAllInstances(ctx context.Context, opts ListOptions) ([]*Instance, error) {
	return collect(c.AllInstances(ctx, opts))
}

// ListAllProjects collects AllProjects.
func (c *APIClient) ListAllProjects(ctx context.Context, ownerID uint) ([]*Project, error) {
	return collect(c.AllProjects(ctx, ownerID))
}

// ListAllProjectInstances collects AllProjectInstances.
func (c *APIClient) ListAllProjectInstances(ctx context.Context, name string, ownerID uint) ([]*Instance, error) {
	return collect(c.AllProjectInstances(ctx, name, ownerID))
}

// ListAllTasks collects AllTasks.
func (c *APIClient) ListAllTasks(ctx context.Context, projectName string, ownerID uint) ([]*Task, error) {
	return collect(c.AllTasks(ctx, projectName, ownerID))
}

// ListAllUsers collects AllUsers.
func (c *APIClient) ListAllUsers(ctx context.Context) ([]*User, error) {
	return collect(c.AllUsers(ctx))
}

func collect[T any](seq iter.Seq2[T, error]) ([]T, error) {
	var out []T
	for v, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, v)
	}
	return out, nil
}

func errSeq[T any](err error) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		yield(zero, err)
	}
}
