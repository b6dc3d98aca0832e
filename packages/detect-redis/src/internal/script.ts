/**
 * The Lua script that applies one batch of ops inside Redis, atomically: a port of
 * `@authtrail/detect`'s memoryState, step for step (the equivalence test holds them to the same
 * answers), so a detector means one thing whichever state it runs on.
 *
 * KEYS[i]: the Redis key of op i. ARGV[1]: the ops as JSON arrays
 * `[kind, a, b, time, id, value, flag, when]` (see `encode` in redis-state.ts). A key holds one
 * MessagePack map (exact doubles: a bucket's level is fractional) and expires when its window does,
 * so Redis keeps nothing older than a window. Answers the results as one JSON string.
 */
export const SCRIPT = `
local ops = cjson.decode(ARGV[1])
local results = {}
local NOT_FIRED = { f = false, c = 0 }

local function load(k)
  local raw = redis.call('GET', k)
  if raw then return cmsgpack.unpack(raw) end
  return nil
end

local function save(k, e, ttl)
  redis.call('SET', k, cmsgpack.pack(e), 'PX', math.max(1, math.ceil(ttl)))
end

local function entry(k, op, create)
  local e = load(k)
  if e then
    e.now = math.max(e.now, op[4])
    return e
  end
  if not create then return nil end
  return { times = {}, values = {}, firing = false, now = op[4], level = 0, mark = op[4],
    firstId = op[5], firstTime = op[4] }
end

-- Drops the first n items of the entry's times (and values, when it has any).
local function drop(e, n)
  if n <= 0 then return end
  local times, values = {}, {}
  for i = n + 1, #e.times do times[#times + 1] = e.times[i] end
  if #e.values > 0 then
    for i = n + 1, #e.values do values[#values + 1] = e.values[i] end
  end
  e.times = times
  e.values = values
end

local function kept(e, since)
  local i = 0
  while i < #e.times and e.times[i + 1] <= since do i = i + 1 end
  return i
end

local function begin(e, op)
  if #e.times > 0 then return end
  e.firing = false
  e.firstId = op[5]
  e.firstTime = op[4]
end

local function episode(e, count, threshold)
  if count < threshold or e.firing then return { f = false, c = count } end
  e.firing = true
  return { f = true, c = count, i = e.firstId, t = e.firstTime }
end

-- surge: a = threshold, b = window (s), op[9] = factor, op[10] = baseline (s), op[11] = the
-- distinct share (0: none). A port of detect's internal/surge.ts. Its key holds up to 1,010
-- buckets, so it is read once per batch and written once at its end (see the loop below).
local surges, surgeTtls = {}, {}
local function surge(k, op)
  local threshold, window, time, id = op[2], op[3], op[4], op[5]
  local factor, baseline, share = op[9], op[10], op[11]
  local e = surges[k]
  if e then
    e.now = math.max(e.now, time)
  else
    e = entry(k, op, true)
    surges[k] = e
  end
  if not e.idx then e.idx, e.counts, e.ids, e.firsts = {}, {}, {}, {} end
  local width = window * 100
  local span = math.ceil(baseline * 10 / window)
  local start = math.floor(e.now / width) - 10 + 1
  local oldest = start - span
  surgeTtls[k] = (span + 10) * width
  local n = 0
  while n < #e.idx and e.idx[n + 1] < oldest do n = n + 1 end
  if n > 0 then
    local idx, counts, ids, firsts = {}, {}, {}, {}
    for i = n + 1, #e.idx do
      idx[#idx + 1] = e.idx[i]
      counts[#counts + 1] = e.counts[i]
      ids[#ids + 1] = e.ids[i]
      firsts[#firsts + 1] = e.firsts[i]
    end
    e.idx, e.counts, e.ids, e.firsts = idx, counts, ids, firsts
  end
  if #e.idx == 0 then
    e.values = {}
    e.firing = false
  end
  local at = math.floor(time / width)
  if at >= oldest then
    local j = #e.idx
    while j >= 1 and e.idx[j] > at do j = j - 1 end
    if j >= 1 and e.idx[j] == at then
      e.counts[j] = e.counts[j] + 1
      if at >= start and time < e.firsts[j] then
        e.ids[j] = id
        e.firsts[j] = time
      end
    else
      local inside = at >= start
      table.insert(e.idx, j + 1, at)
      table.insert(e.counts, j + 1, 1)
      table.insert(e.ids, j + 1, inside and id or '')
      table.insert(e.firsts, j + 1, inside and time or 0)
    end
  end
  if share > 0 then
    e.values[#e.values + 1] = op[6]
    if #e.values > math.min(threshold, 100) then table.remove(e.values, 1) end
  end
  local count, base, first, firstTime = 0, 0, '', 0
  for i = 1, #e.idx do
    if e.idx[i] >= start then
      count = count + e.counts[i]
      if first == '' then
        first = e.ids[i]
        firstTime = e.firsts[i]
      end
    else
      base = base + e.counts[i]
      e.ids[i] = ''
      e.firsts[i] = 0
    end
  end
  if e.firing and e.now - e.mark >= window * 1000 then e.firing = false end
  local need = math.max(threshold, math.ceil(factor * base * 10 / span))
  local holds = count >= need
  if holds and share > 0 then
    local seen, distinct = {}, 0
    for i = 1, #e.values do
      if not seen[e.values[i]] then
        seen[e.values[i]] = true
        distinct = distinct + 1
      end
    end
    holds = distinct >= share * #e.values
  end
  if not holds then return { f = false, c = count } end
  e.mark = e.now
  if e.firing then return { f = false, c = count } end
  e.firing = true
  return { f = true, c = count, i = first, t = firstTime, h = need }
end

local function apply(k, op, cause)
  local kind, a, b, time = op[1], op[2], op[3], op[4]
  if kind == 1 then
    -- count, consecutive: a = threshold, b = window (s); flag 1 = a reset.
    if op[7] == 1 then
      redis.call('DEL', k)
      return NOT_FIRED
    end
    local e = entry(k, op, true)
    drop(e, kept(e, e.now - b * 1000))
    begin(e, op)
    e.times[#e.times + 1] = time
    drop(e, #e.times - a)
    local r = episode(e, #e.times, a)
    save(k, e, b * 1000)
    return r
  elseif kind == 2 then
    -- distinct: a = threshold, b = window (s).
    local e = entry(k, op, true)
    drop(e, kept(e, e.now - b * 1000))
    begin(e, op)
    local value = op[6]
    for i = 1, #e.values do
      if e.values[i] == value then
        table.remove(e.times, i)
        table.remove(e.values, i)
        break
      end
    end
    e.times[#e.times + 1] = time
    e.values[#e.values + 1] = value
    drop(e, #e.times - a)
    local r = episode(e, #e.values, a)
    save(k, e, b * 1000)
    return r
  elseif kind == 5 then
    return surge(k, op)
  elseif kind == 3 then
    -- sequence: a = within (s), b = 1 to repeat; flag 2 = step a.
    if op[7] == 2 then
      local waiting = b == 1 and entry(k, op, false) or nil
      if waiting and time - waiting.mark <= a * 1000 then
        waiting.mark = math.max(waiting.mark, time)
        save(k, waiting, a * 1000 + 1)
        return { f = false, c = waiting.level }
      end
      local e = entry(k, op, true)
      e.mark = time
      e.level = 1
      e.firstId = (cause and cause.i) or op[5]
      e.firstTime = (cause and cause.t) or time
      -- Past within_s the step can no longer be followed: one ms more, as gap == within fires.
      save(k, e, a * 1000 + 1)
      return { f = false, c = 1 }
    end
    local e = entry(k, op, false)
    if not e then return NOT_FIRED end
    local gap = time - e.mark
    if b ~= 1 or gap > a * 1000 then redis.call('DEL', k) end
    if gap < 0 or gap > a * 1000 then return NOT_FIRED end
    if b ~= 1 then return { f = true, c = 2, i = e.firstId, t = e.firstTime } end
    e.level = e.level + 1
    -- Repeat: kept for what is left of within_s after its latest step a.
    save(k, e, a * 1000 - gap + 1)
    return { f = true, c = e.level, i = e.firstId, t = e.firstTime }
  else
    -- bucket: a = capacity, b = leak (s).
    local e = entry(k, op, true)
    e.level = math.max(0, e.level - math.max(0, time - e.mark) / (b * 1000))
    e.mark = math.max(e.mark, time)
    if e.level == 0 then
      e.firing = false
      e.firstId = op[5]
      e.firstTime = time
    end
    e.level = math.min(e.level + 1, a + 1)
    local count = math.ceil(e.level - 1e-9)
    -- Kept until it has drained empty, and no longer.
    local ttl = e.level * b * 1000 + 1
    if e.level <= a then
      save(k, e, ttl)
      return { f = false, c = count }
    end
    local fired = not e.firing
    e.firing = true
    save(k, e, ttl)
    if fired then return { f = true, c = count, i = e.firstId, t = e.firstTime } end
    return { f = false, c = count }
  end
end

for n = 1, #ops do
  local op = ops[n]
  local when = op[8]
  local cause = nil
  if when >= 0 then cause = results[when + 1] end
  if when >= 0 and not (cause and cause.f) then
    results[n] = NOT_FIRED
  else
    results[n] = apply(KEYS[n], op, cause)
  end
end
-- Each surge key once, as it stands after the batch: kept until its window and baseline have passed.
for k, e in pairs(surges) do save(k, e, surgeTtls[k]) end
return cjson.encode(results)
`;
