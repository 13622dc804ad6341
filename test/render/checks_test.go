package render

import "testing"

// checkAll runs every structural check that holds for any rendering.
func checkAll(t *testing.T, objs objects) {
	t.Helper()
	checkPodSecurity(t, objs)
	checkRBAC(t, objs)
	checkStatusWrites(t, objs)
	checkBindings(t, objs)
	checkServices(t, objs)
	checkServiceMonitors(t, objs)
	checkNetworkPolicies(t, objs)
	checkManagerContainer(t, objs)
	checkGoMemLimit(t, objs)
}
