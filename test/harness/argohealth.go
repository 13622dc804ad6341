package harness

import (
	"fmt"
	"os"
	"path/filepath"

	lua "github.com/yuin/gopher-lua"
)

// ArgoHealth runs docs/health/argocd.lua the way Argo CD does: a global obj, a returned table.
func ArgoHealth(obj map[string]any) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	script, err := os.ReadFile(filepath.Join(root, "docs", "health", "argocd.lua"))
	if err != nil {
		return "", err
	}
	L := lua.NewState()
	defer L.Close()
	L.SetGlobal("obj", toLua(L, obj))
	if err := L.DoString(string(script)); err != nil {
		return "", err
	}
	hs, ok := L.Get(-1).(*lua.LTable)
	if !ok {
		return "", fmt.Errorf("the script returned %s, not a table", L.Get(-1).Type())
	}
	return hs.RawGetString("status").String(), nil
}

func toLua(L *lua.LState, v any) lua.LValue {
	switch x := v.(type) {
	case map[string]any:
		t := L.NewTable()
		for k, e := range x {
			t.RawSetString(k, toLua(L, e))
		}
		return t
	case []any:
		t := L.NewTable()
		for _, e := range x {
			t.Append(toLua(L, e))
		}
		return t
	case string:
		return lua.LString(x)
	case bool:
		return lua.LBool(x)
	case int64:
		return lua.LNumber(x)
	case float64:
		return lua.LNumber(x)
	case nil:
		return lua.LNil
	default:
		return lua.LString(fmt.Sprint(x))
	}
}
