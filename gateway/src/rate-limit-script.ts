/**
 * The one Redis round trip behind every rate-limit decision.
 *
 * Why a Lua script: the check and the increment must be one atomic step, or
 * two gateway processes reading "99 used" at once would both admit the 100th
 * request. Redis runs a script alone, so across any number of gateways no
 * more than the limit is admitted per window.
 *
 * Why the limits live in Redis too: a live change (admin API) writes the hash
 * KEYS[1]; the script reads it on every decision, so the very next request on
 * every gateway process sees the new limit — no pub/sub race, no restart.
 * The limits from gateway.yaml arrive as ARGV and apply when no override is set.
 *
 * Time comes from Redis (TIME) so every gateway agrees on window edges.
 *
 * fixed:   clock-aligned windows (start = now - now mod w): one counter per
 *          window, exactly Kong's open-source rate-limiting plugin.
 * sliding: GCRA (generic cell rate algorithm). Emission interval T = w / q;
 *          a request is admitted when TAT - w + T <= now, i.e. never more
 *          than q requests in any interval of length w. One stored number
 *          (the theoretical arrival time) per key.
 *
 * A request must pass every window of the policy; only when it does is any
 * window charged (a refused request costs nothing, as in Kong).
 *
 * KEYS: [1] overrides hash, [2..n+1] counter base key per window
 * ARGV: mode, n, then per window: name, seconds, configured limit
 * Reply: allowed (1|0), then per window: limit, remaining, reset ms, blocking (1|0)
 */
export const RATE_LIMIT_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local mode = ARGV[1]
local n = tonumber(ARGV[2])
local ov = redis.call('HGETALL', KEYS[1])
local overrides = {}
for i = 1, #ov, 2 do overrides[ov[i]] = tonumber(ov[i + 1]) end
local allowed = 1
local limit, wms, key, cur, reset, blocking = {}, {}, {}, {}, {}, {}
for i = 1, n do
  local name = ARGV[3 + (i - 1) * 3]
  wms[i] = tonumber(ARGV[4 + (i - 1) * 3]) * 1000
  limit[i] = overrides[name] or tonumber(ARGV[5 + (i - 1) * 3])
  blocking[i] = 0
  if mode == 'fixed' then
    local start = now - (now % wms[i])
    key[i] = KEYS[i + 1] .. ':' .. start
    cur[i] = tonumber(redis.call('GET', key[i]) or '0')
    reset[i] = start + wms[i] - now
    if cur[i] + 1 > limit[i] then allowed = 0; blocking[i] = 1 end
  else
    key[i] = KEYS[i + 1]
    local tat = tonumber(redis.call('GET', key[i]) or '0')
    if tat < now then tat = now end
    cur[i] = tat
    local interval = wms[i] / limit[i]
    local allow_at = tat + interval - wms[i]
    if allow_at > now then allowed = 0; blocking[i] = 1; reset[i] = allow_at - now end
  end
end
local out = { allowed }
for i = 1, n do
  local remaining
  if mode == 'fixed' then
    if allowed == 1 then
      redis.call('INCR', key[i])
      redis.call('PEXPIRE', key[i], reset[i] + 1000)
      remaining = limit[i] - cur[i] - 1
    else
      remaining = limit[i] - cur[i]
    end
  else
    local interval = wms[i] / limit[i]
    local tat = cur[i]
    if allowed == 1 then
      tat = tat + interval
      redis.call('SET', key[i], string.format('%.3f', tat), 'PX', math.ceil(tat - now) + 1000)
    end
    remaining = math.floor((now + wms[i] - tat) / interval)
    if blocking[i] == 0 then reset[i] = tat - now end
  end
  if remaining < 0 then remaining = 0 end
  out[#out + 1] = limit[i]
  out[#out + 1] = remaining
  out[#out + 1] = math.ceil(reset[i])
  out[#out + 1] = blocking[i]
end
return out
`;
