package contract

import (
	"testing"
	"time"

	"github.com/talis-operator/talis-operator/pkg/talis"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
)

// project.create and sshkey.create answer with Go's nanoseconds; later
// reads carry PostgreSQL's microseconds, so only truncated times compare.
func TestCreateAnswerTimestamps(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{}, nil)
	ctx := e.ctx
	subMicro := 0
	check := func(what string, answered, read time.Time) {
		t.Helper()
		if read.Nanosecond()%1000 != 0 || !answered.Truncate(time.Microsecond).Equal(read) {
			t.Errorf("%s answered %v, read back %v", what, answered, read)
		}
		if answered.Nanosecond()%1000 != 0 {
			subMicro++
		}
	}
	for i, name := range []string{"ts-a", "ts-b", "ts-c"} { // one in 1000 falls on a whole microsecond
		p := e.mkProject(t, name, 7)
		g := must(e.c.GetProject(ctx, talis.ProjectGetParams{Name: name, OwnerID: 7}))(t)
		check("project created_at", p.CreatedAt, g.CreatedAt)
		check("project UpdatedAt", p.UpdatedAt, g.UpdatedAt)

		k := must(e.c.CreateSSHKey(ctx, talis.SSHKeyCreateParams{Name: name, PublicKey: "ssh-ed25519 AAAA k", OwnerID: 7}))(t)
		keys := must(e.c.ListSSHKeys(ctx, talis.SSHKeyListParams{OwnerID: 7}))(t)
		check("ssh key CreatedAt", k.CreatedAt, keys[i].CreatedAt)
		check("ssh key UpdatedAt", k.UpdatedAt, keys[i].UpdatedAt)
	}
	if subMicro == 0 {
		t.Error("no create answer carried nanoseconds")
	}
}
