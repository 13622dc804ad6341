-- Argo CD health check for talis-operator's TalisInstanceSet and TalisProject.
-- Healthy when Ready; Degraded when Stalled or Degraded; Suspended when paused (annotation "true");
-- Progressing while the operator has not yet seen the latest spec or is converging.
local hs = {status = "Progressing", message = "Waiting for talis-operator"}
if obj.metadata ~= nil and obj.metadata.annotations ~= nil and obj.metadata.annotations["infra.talis.io/paused"] == "true" then
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
for _, t in ipairs({"Stalled", "Degraded"}) do
  local c = byType[t]
  if c ~= nil and c.status == "True" then
    hs.status = "Degraded"
    hs.message = c.reason .. ": " .. (c.message or "")
    return hs
  end
end
local ready = byType["Ready"]
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message or ""
  return hs
end
if ready ~= nil then
  hs.message = ready.reason .. ": " .. (ready.message or "")
end
return hs
