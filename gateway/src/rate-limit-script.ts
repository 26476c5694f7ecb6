/**
 * The one Redis round trip behind the rate-limit decisions of a batch of
 * requests (every request a gateway process received in one turn of its
 * event loop: rate-limit.ts collects them).
 *
 * Why a Lua script: the check and the increment must be one atomic step, or
 * two gateway processes reading "99 used" at once would both admit the 100th
 * request. Redis runs a script alone, so across any number of gateways no
 * more than the limit is admitted per window. Within a batch the requests
 * are decided one after another, each seeing the counts the ones before it
 * left, exactly as if each had its own call.
 *
 * Why a batch: one script call per request cost a command object, a promise
 * chain and a socket write each (~15 % of the gateway's CPU per request in
 * a profile at peak); one call per event-loop turn costs one of each for all
 * the requests that arrived together.
 *
 * Why the limits live in Redis too: a live change (admin API) writes the
 * overrides hash of the policy; the script reads it (once per batch and
 * policy) on every decision, so the very next request on every gateway
 * process sees the new limit — no pub/sub race, no restart. The limits from
 * gateway.yaml arrive as ARGV and apply when no override is set.
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
 * A request must pass every window of its policy; only when it does is any
 * window charged (a refused request costs nothing, as in Kong).
 *
 * Per request r, in order: KEYS: overrides hash, then the counter base key of
 * each of its n windows; ARGV (after ARGV[1] = number of requests): mode, n,
 * then per window: name, seconds, configured limit.
 * Reply, per request in order: allowed (1|0), then per window: limit,
 * remaining, reset ms, blocking (1|0).
 */
export const RATE_LIMIT_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local requests = tonumber(ARGV[1])
local a = 2
local k = 1
local seen = {}
local out = {}
for r = 1, requests do
  local mode = ARGV[a]
  local n = tonumber(ARGV[a + 1])
  local okey = KEYS[k]
  local overrides = seen[okey]
  if not overrides then
    overrides = {}
    local ov = redis.call('HGETALL', okey)
    for i = 1, #ov, 2 do overrides[ov[i]] = tonumber(ov[i + 1]) end
    seen[okey] = overrides
  end
  local allowed = 1
  local limit, wms, key, cur, reset, blocking = {}, {}, {}, {}, {}, {}
  for i = 1, n do
    local name = ARGV[a + 2 + (i - 1) * 3]
    wms[i] = tonumber(ARGV[a + 3 + (i - 1) * 3]) * 1000
    limit[i] = overrides[name] or tonumber(ARGV[a + 4 + (i - 1) * 3])
    blocking[i] = 0
    if mode == 'fixed' then
      local start = now - (now % wms[i])
      key[i] = KEYS[k + i] .. ':' .. start
      cur[i] = tonumber(redis.call('GET', key[i]) or '0')
      reset[i] = start + wms[i] - now
      if cur[i] + 1 > limit[i] then allowed = 0; blocking[i] = 1 end
    else
      key[i] = KEYS[k + i]
      local tat = tonumber(redis.call('GET', key[i]) or '0')
      if tat < now then tat = now end
      cur[i] = tat
      local interval = wms[i] / limit[i]
      local allow_at = tat + interval - wms[i]
      if allow_at > now then allowed = 0; blocking[i] = 1; reset[i] = allow_at - now end
    end
  end
  out[#out + 1] = allowed
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
  k = k + 1 + n
  a = a + 2 + 3 * n
end
return out
`;
