-- Argo CD health check for talis-operator's TalisInstanceSet and TalisProject (docs/conditions.md).
-- It reads the same conditions kstatus (Flux, kubectl wait) reads, so both tools agree:
-- Suspended when paused (the annotation is set to anything but "false", as the operator reads it);
-- Progressing until the latest spec is observed;
-- Degraded when Stalled (a person must act); Progressing when Reconciling (converging, or
-- retrying passing trouble); Healthy when Ready; Progressing otherwise.
-- A Ready fleet whose Degraded is True (a warning) stays Healthy, with the warning as message.
local hs = {status = "Progressing", message = "Waiting for talis-operator"}
local paused = obj.metadata ~= nil and obj.metadata.annotations ~= nil and obj.metadata.annotations["infra.talis.io/paused"] or nil
if paused ~= nil and paused ~= "false" then
  hs.status = "Suspended"
  hs.message = "Paused by the infra.talis.io/paused annotation"
  return hs
end
if obj.status == nil or obj.status.conditions == nil then
  return hs
end
if obj.status.observedGeneration == nil or obj.metadata.generation == nil or obj.status.observedGeneration < obj.metadata.generation then
  hs.message = "Waiting for talis-operator to observe the latest spec"
  return hs
end
local byType = {}
for _, c in ipairs(obj.status.conditions) do
  byType[c.type] = c
end
local function say(c)
  return c.reason .. ": " .. (c.message or "")
end
local stalled = byType["Stalled"]
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = say(stalled)
  return hs
end
local reconciling = byType["Reconciling"]
if reconciling ~= nil and reconciling.status == "True" then
  hs.message = say(reconciling)
  return hs
end
local ready = byType["Ready"]
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message or ""
  local degraded = byType["Degraded"]
  if degraded ~= nil and degraded.status == "True" then
    hs.message = say(degraded)
  end
  return hs
end
if ready ~= nil then
  hs.message = say(ready)
end
return hs
