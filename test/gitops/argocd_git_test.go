package gitops

import (
	"fmt"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// gitServer serves bare repositories over git's smart HTTP protocol, as a git host does: `git
// http-backend` behind net/http/cgi. Argo CD's repo-server fetches from it with the git CLI.
type gitServer struct {
	root string
	srv  *httptest.Server
}

func newGitServer(root string) (*gitServer, error) {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, err
	}
	gitBin, err := exec.LookPath("git")
	if err != nil {
		return nil, fmt.Errorf("git is needed to serve Argo CD its repositories: %w", err)
	}
	h := &cgi.Handler{Path: gitBin, Args: []string{"http-backend"}, Root: "/git",
		Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1", "HOME=" + root}}
	mux := http.NewServeMux()
	mux.Handle("/git/", h)
	return &gitServer{root: root, srv: httptest.NewServer(mux)}, nil
}

func (g *gitServer) Close() { g.srv.Close() }

// repo is a bare repository of the test's own, created empty on first use, and its URL.
type repo struct {
	t        *testing.T
	g        *gitServer
	bare, wt string
	URL      string
}

func (g *gitServer) repo(t *testing.T, name string) *repo {
	t.Helper()
	r := &repo{t: t, g: g, bare: filepath.Join(g.root, name+".git"), wt: filepath.Join(g.root, name+".wt"),
		URL: g.srv.URL + "/git/" + name + ".git"}
	if err := os.MkdirAll(r.bare, 0o700); err != nil {
		t.Fatal(err)
	}
	r.git("init", "--quiet", "--initial-branch=main")
	if err := os.MkdirAll(r.wt, 0o700); err != nil {
		t.Fatal(err)
	}
	return r
}

// git runs git with the bare repository and the work tree, and returns what it printed.
func (r *repo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", append([]string{"--git-dir=" + r.bare, "--work-tree=" + r.wt}, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + r.g.root, "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=test", "GIT_AUTHOR_EMAIL=test@example.com", "GIT_COMMITTER_NAME=test", "GIT_COMMITTER_EMAIL=test@example.com"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit makes files (path → content) the whole tree of the next commit on main, and returns its hash.
func (r *repo) commit(files map[string]string, msg string) string {
	r.t.Helper()
	entries, err := os.ReadDir(r.wt)
	if err != nil {
		r.t.Fatal(err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(r.wt, e.Name())); err != nil {
			r.t.Fatal(err)
		}
	}
	for name, content := range files {
		path := filepath.Join(r.wt, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			r.t.Fatal(err)
		}
	}
	r.git("add", "--all")
	r.git("commit", "--quiet", "--allow-empty", "-m", msg)
	return r.git("rev-parse", "HEAD")
}
