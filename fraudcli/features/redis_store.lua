-- The Redis feature store's one script (fraudcli/features/redis_store.py): each transaction, or
-- label, is applied atomically (no other client runs in between); one call applies a batch of
-- transactions in order, each as if alone.
--
-- Every bound is the embedded store's expression on the same IEEE doubles (t - d - 1 day is
-- the same double in Lua as in Python; a number read here from its repr is the number the
-- client holds, and one sent back to Redis as %.17g text is exact), so Redis compares the
-- doubles the embedded store compares. The user's window goes back to the client, which
-- counts and sums it (fraudcli/features/redis_features.py), as one packed string: returning
-- its entries one by one cost the one server thread more than all the rest of a transaction.
--
-- Layout (P = the prefix; tags are prefix-free; strings of values are "\31"-separated, each
-- value "" for none or "=" then its text with "\" as "\\" and "\31" as "\u"):
--   P ua:<user>  string the user's entries' (ts, amount) as little-endian doubles, 16 bytes
--                      an entry, in time order, ties in input order: what a lookup in order
--                      needs, in one reply; those at or before t - the user's horizon go
--   P ut:<user>  string the same entries, "<seq>\31<amount>\31<ts>\31<merchant>\31<country>
--                      \31<device>\31" each, in input order (for novelty among them and for
--                      snapshots), a leading run of those past the horizon dropped: a few
--                      old ones behind a later record may stay (who reads them filters by t)
--   P uh:<user>  hash  newest (ts), prev (ts, previous in input order), lat lon lts (previous
--                      located), m<merchant> c<country> d<device>: the newest ts each value
--                      was seen with (as the embedded store's `last_seen`)
--   P m:<merch>  zset  score ts, member <seq> and PAD  P mf:<merch>  the same, labelled fraud
--   P mc:<merch> zset  score arrival, member "<seq>\31<entry ts>\31<new - old>": label changes
--                      that arrived after their entry's ts + d (fraudcli.features.labels)
--   P tx         hash  transaction_id -> "<ts>\31<seq>\31<merchant>\31<label>\31<arrival>";
--                      swept 16 fields at a time, one transaction in eight, for those past
--                      the dedupe window (which never match again): at most about twice
--                      the live ones are held
--   P meta       hash  newest (the store's), ids_newest (the id registry's N), seq, changes
--                      (there when a label change was ever kept in some P mc), sweep (the
--                      cursor of P tx's sweep)
-- <seq> is 16 hex digits from meta's counter: ties of a user's times stay in input order.
-- Keys are named here from the prefix and the ids (not declared): one server, not a cluster.

local function fmt(x) return string.format('%.17g', x) end
local NONE = -math.huge
-- merchant members padded past Redis's zset-max-ziplist-value (64): a merchant's sets stay
-- skiplists, whose ZCOUNT is O(log n); the compact encoding scans and parses every score
local PAD = string.rep('.', 49)
local DAY, WEEK = 86400, 604800

local function unescaped(text)  -- "\\" as "\", "\u" as "\31"
  if not string.find(text, '\\', 1, true) then return text end
  return (string.gsub(text, '\\(.)', function(c)
    if c == 'u' then return '\31' end
    return c
  end))
end

local function decoded(value) return unescaped(string.sub(value, 2)) end  -- an encoded value's text

local function split(text)  -- the "\31"-separated fields of `text`
  local out, pos = {}, 1
  while true do
    local stop = string.find(text, '\31', pos, true)
    if not stop then
      out[#out + 1] = string.sub(text, pos)
      return out
    end
    out[#out + 1] = string.sub(text, pos, stop - 1)
    pos = stop + 1
  end
end

-- where the entries of `text` (P ut:<user>) after a leading run of those at or before
-- `cutoff` start
local function past(text, cutoff)
  local pos = 1
  while pos <= #text do
    local stop = pos
    for _ = 1, 2 do stop = string.find(text, '\31', stop, true) + 1 end
    local ends = string.find(text, '\31', stop, true)
    if tonumber(string.sub(text, stop, ends - 1)) > cutoff then return pos end
    for _ = 1, 3 do ends = string.find(text, '\31', ends + 1, true) end
    pos = ends + 1
  end
  return pos
end

-- how many entries of a packed window have ts <= x (they come first: it is in time order)
local function upto(packed, x)
  local lo, hi = 0, #packed / 16
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if struct.unpack('<d', packed, 16 * mid + 1) <= x then lo = mid + 1 else hi = mid end
  end
  return lo
end

-- drop the newest-seen times at or before the cutoff (they can never count as seen again),
-- once the hash holds more of them than the user has entries
local function forget_seen(uh, entries, cutoff)
  if redis.call('HLEN', uh) <= 8 + entries then return end
  local all, gone = redis.call('HGETALL', uh), {}
  for i = 1, #all, 2 do
    local kind = string.sub(all[i], 1, 2)
    if (kind == 'm=' or kind == 'c=' or kind == 'd=') and tonumber(all[i + 1]) <= cutoff then
      gone[#gone + 1] = all[i]
    end
  end
  if #gone > 0 then redis.call('HDEL', uh, unpack(gone)) end
end

-- The store's settings (c) and one transaction (f: mode, id, ts, user, amount, merchant,
-- country, device, label, lat, lon, then t - d and t - d - 1, 7, 30 days (the client's
-- doubles, as text); ids escaped, values encoded, "" for none; mode o:
-- duplicate check, lookup, update; r: duplicate check, update; l: lookup; u: update, no id
-- registry), with the store's newest times and counter (s), which the batch keeps.
-- Reply: {1} for a duplicate; else {0} without a lookup, or {0, user known, user's newest,
--   prev, lat, lon, lts, newest times its merchant, country, device were seen, its packed
--   entries, merchant counts in (end-1d, end], (end-7d, end], (end-30d, end], frauds in them
--   (after its late floor), and when t is before the user's newest: its P ut:<user>}
local function observe(c, f, s)
  local mode, tid, ts = f[1], unescaped(f[2]), f[3]
  local t, amount = tonumber(ts), f[5]
  local em, ec, ed, label = f[6], f[7], f[8], f[9]
  local user = unescaped(f[4])
  local ut, uh, ua = c.p .. 'ut:' .. user, c.p .. 'uh:' .. user, c.p .. 'ua:' .. user
  local merchant = em ~= '' and decoded(em) or ''
  local mz, mf, mc = c.p .. 'm:' .. merchant, c.p .. 'mf:' .. merchant, c.p .. 'mc:' .. merchant
  local registering = mode == 'o' or mode == 'r'
  if registering then  -- the id, with the tag its entries will have: set if new (one call)
    local info = ts .. '\31' .. string.format('%016x', s.seq + 1) .. '\31' .. em .. '\31' ..
      label .. '\31'
    if redis.call('HSETNX', c.tx, tid, info) == 0 then
      local seen = redis.call('HGET', c.tx, tid)
      if tonumber(string.match(seen, '^[^\31]*')) > s.ids_newest - c.window then
        return {1}
      end
      redis.call('HSET', c.tx, tid, info)  -- past the dedupe window: new again
    end
  end
  local state = redis.call('HMGET', uh, 'newest', 'prev', 'lat', 'lon', 'lts',
    'm' .. em, 'c' .. ec, 'd' .. ed)
  local user_newest = state[1] and tonumber(state[1])
  local late = user_newest and t < user_newest
  local packed = nil
  local reply = {0}
  if mode == 'o' or mode == 'l' then
    if state[1] then packed = redis.call('GET', ua) or '' end
    reply = {0, (state[1] or state[2]) and 1 or 0, state[1], state[2], state[3], state[4],
      state[5], state[6], state[7], state[8], packed or '', 0, 0, 0, 0, 0, 0}
    if late then  -- novelty among the window's own entries
      reply[18] = redis.call('GET', ut) or ''
    end
    if em ~= '' then
      local newest = NONE  -- the merchant's newest, needed only when t may be late for it
      if t < s.newest - c.lateness then  -- (it is never newer than the store's)
        local last = redis.call('ZRANGE', mz, -1, -1, 'WITHSCORES')
        if #last > 0 then newest = tonumber(last[2]) end
      end
      do
        -- the bounds (end = t - d; end - 1, 7, 30 days), as the client computed them
        local e, t1, t7, t30 = f[12], f[13], f[14], f[15]
        local stop, e1, e7, e30 = tonumber(e), tonumber(t1), tonumber(t7), tonumber(t30)
        local lo1, lo7, lo30 = e1, e7, e30
        local floor = NONE
        if t < newest - c.lateness then  -- late: the horizon's floor
          floor = newest - c.delay - c.month - c.lateness
          local low = fmt(floor)
          if floor > e1 then lo1, t1 = floor, low end
          if floor > e7 then lo7, t7 = floor, low end
          if floor > e30 then lo30, t30 = floor, low end
        end
        -- counts: a shorter window is empty when a longer one is
        reply[14] = redis.call('ZCOUNT', mz, '(' .. t30, e)
        if reply[14] > 0 then reply[13] = redis.call('ZCOUNT', mz, '(' .. t7, e) end
        if reply[13] > 0 then reply[12] = redis.call('ZCOUNT', mz, '(' .. t1, e) end
        if reply[14] > 0 then  -- frauds (few): fetched once, counted here
          local frauds = redis.call('ZRANGEBYSCORE', mf, '(' .. t30, e, 'WITHSCORES')
          for i = 2, #frauds, 2 do
            local x = tonumber(frauds[i])
            reply[17] = reply[17] + 1
            if x > lo7 then reply[16] = reply[16] + 1 end
            if x > lo1 then reply[15] = reply[15] + 1 end
          end
        end
        -- labels changed after t: counted as they were at t (none unless a label came late)
        local changes = {}
        if s.changes then changes = redis.call('ZRANGEBYSCORE', mc, '(' .. ts, '+inf') end
        for _, change in ipairs(changes) do
          local at_ts, delta = string.match(change, '^[^\31]*\31([^\31]*)\31([^\31]*)$')
          local x = tonumber(at_ts)
          delta = tonumber(delta)
          if floor < x and x <= stop then
            if x > e1 then reply[15] = reply[15] - delta end
            if x > e7 then reply[16] = reply[16] - delta end
            if x > e30 then reply[17] = reply[17] - delta end
          end
        end
      end
    end
  end
  if mode == 'l' then return reply end

  s.seq = s.seq + 1
  local tag = string.format('%016x', s.seq)
  local trim = s.seq % 8 == 0  -- expiry in chunks: one transaction in eight trims its keys
  redis.call('APPEND', ut, tag .. '\31' .. amount .. '\31' .. ts .. '\31' .. em .. '\31' ..
    ec .. '\31' .. ed .. '\31')
  local entry = struct.pack('<dd', t, tonumber(amount))
  local cutoff = t - c.user_horizon
  if trim then packed = packed or redis.call('GET', ua) or '' end
  -- entries past the horizon (the oldest come first): only then is anything trimmed
  local old = trim and #packed > 0 and struct.unpack('<d', packed, 1) <= cutoff
  if late or old then
    packed = packed or redis.call('GET', ua) or ''
    if late then  -- after the entries at or before t: time, then input order
      local at = 16 * upto(packed, t)
      packed = string.sub(packed, 1, at) .. entry .. string.sub(packed, at + 1)
    else
      packed = packed .. entry
    end
    if old then packed = string.sub(packed, 16 * upto(packed, cutoff) + 1) end
    redis.call('SET', ua, packed)
  else
    redis.call('APPEND', ua, entry)
  end
  local fields = {'prev', ts}
  if f[10] ~= '' then
    for _, v in ipairs({'lat', f[10], 'lon', f[11], 'lts', ts}) do fields[#fields + 1] = v end
  end
  if not user_newest or t > user_newest then
    fields[#fields + 1] = 'newest'
    fields[#fields + 1] = ts
  end
  for i, value in ipairs({em, ec, ed}) do  -- the newest time each value was seen
    local seen = state[5 + i]
    if value ~= '' and (not seen or tonumber(seen) < t) then
      fields[#fields + 1] = string.sub('mcd', i, i) .. value
      fields[#fields + 1] = ts
    end
  end
  redis.call('HSET', uh, unpack(fields))
  if old then  -- the same entries from the text; then newest-seen times as old as they
    local text = redis.call('GET', ut)
    local from = past(text, cutoff)
    if from > 1 then redis.call('SET', ut, string.sub(text, from)) end
    forget_seen(uh, #packed / 16, cutoff)
  end
  if em ~= '' then
    redis.call('ZADD', mz, ts, tag .. PAD)
    if label == '1' then redis.call('ZADD', mf, ts, tag .. PAD) end
    if trim then
      local low = fmt(t - c.merchant_horizon)
      redis.call('ZREMRANGEBYSCORE', mz, '-inf', low)
      redis.call('ZREMRANGEBYSCORE', mf, '-inf', low)
    end
  end
  if registering then
    if t > s.ids_newest then s.ids_newest, s.ids_text = t, ts end
    if trim then  -- ids past the dedupe window (ts <= N - W) can never match again
      local swept = redis.call('HSCAN', c.tx, s.sweep, 'COUNT', 16)
      local dead, fields, dead_at = {}, swept[2], s.ids_newest - c.window
      s.sweep = swept[1]
      for i = 1, #fields, 2 do
        if tonumber(string.match(fields[i + 1], '^[^\31]*')) <= dead_at then
          dead[#dead + 1] = fields[i]
        end
      end
      if #dead > 0 then redis.call('HDEL', c.tx, unpack(dead)) end
    end
  end
  if t > s.newest then s.newest, s.newest_text = t, ts end
  if c.ttl ~= '0' then
    for _, key in ipairs(em ~= '' and {ut, uh, ua, mz, mf, mc} or {ut, uh, ua}) do
      redis.call('PEXPIRE', key, c.ttl)
    end
  end
  return reply
end

-- ARGV: 1 "B" 2 prefix 3 lateness 4 d 5 30 days 6 id window 7 user horizon 8 merchant
--   horizon 9 idle ttl in ms ("0": none), then one transaction an argument (see `observe`).
-- Reply: each transaction's, in order; {2, message} for one that failed.
local function batch(a)
  local p = a[2]
  local c = {p = p, tx = p .. 'tx', lateness = tonumber(a[3]),
    delay = tonumber(a[4]), month = tonumber(a[5]), window = tonumber(a[6]),
    user_horizon = tonumber(a[7]), merchant_horizon = tonumber(a[8]), ttl = a[9]}
  local meta = p .. 'meta'
  local now = redis.call('HMGET', meta, 'newest', 'ids_newest', 'seq', 'changes', 'sweep')
  local s = {newest = now[1] and tonumber(now[1]) or NONE,
    ids_newest = now[2] and tonumber(now[2]) or NONE, seq = tonumber(now[3] or '0'),
    changes = now[4] and true or false, sweep = now[5] or '0'}
  local seq0 = s.seq
  local replies = {}
  for i = 10, #a do
    local ok, reply = pcall(observe, c, split(a[i]), s)
    if not ok then reply = {2, type(reply) == 'table' and reply.err or tostring(reply)} end
    replies[#replies + 1] = reply
  end
  local fields = {}
  if s.seq ~= seq0 then fields = {'seq', string.format('%d', s.seq), 'sweep', s.sweep} end
  if s.newest_text then fields[#fields + 1] = 'newest'; fields[#fields + 1] = s.newest_text end
  if s.ids_text then fields[#fields + 1] = 'ids_newest'; fields[#fields + 1] = s.ids_text end
  if #fields > 0 then redis.call('HSET', meta, unpack(fields)) end
  return replies
end

-- drop the label changes of entries past the merchant's horizon (out of every window now)
local function forget_changes(mz, mc, horizon)
  local last = redis.call('ZRANGE', mz, -1, -1, 'WITHSCORES')
  if #last == 0 then return end
  local cutoff = tonumber(last[2]) - horizon
  local gone = {}
  for _, change in ipairs(redis.call('ZRANGE', mc, 0, -1)) do
    if tonumber(string.match(change, '^[^\31]*\31([^\31]*)')) <= cutoff then
      gone[#gone + 1] = change
    end
  end
  if #gone > 0 then redis.call('ZREM', mc, unpack(gone)) end
end

-- KEYS: tx meta. ARGV: 1 "L" 2 transaction id 3 label ("0"/"1") 4 label_time ("" none)
--   5 d 6 id window 7 prefix 8 idle ttl in ms ("0": none) 9 the merchant horizon.
-- Returns the outcome.
local function label(a)
  local tx, meta = KEYS[1], KEYS[2]
  local tid, new = a[2], a[3]
  local info = redis.call('HGET', tx, tid)
  if not info then return 'unknown' end
  local ts, tag, em, old, before = string.match(info,
    '^([^\31]*)\31([^\31]*)\31([^\31]*)\31([^\31]*)\31([^\31]*)$')
  local now = redis.call('HMGET', meta, 'newest', 'ids_newest')
  local x = tonumber(ts)
  if not (now[2] and x > tonumber(now[2]) - tonumber(a[6])) then return 'unknown' end
  if old == new then return 'unchanged' end
  local when = a[4] ~= '' and a[4] or now[1]
  if before ~= '' and tonumber(when) < tonumber(before) then when = before end
  redis.call('HSET', tx, tid, ts .. '\31' .. tag .. '\31' .. em .. '\31' .. new .. '\31' .. when)
  local was, is = old == '1' and 1 or 0, tonumber(new)
  if em ~= '' and was ~= is then
    local merchant = decoded(em)
    local mz, mf = a[7] .. 'm:' .. merchant, a[7] .. 'mf:' .. merchant
    local mc = a[7] .. 'mc:' .. merchant
    local entries = redis.call('ZRANGEBYSCORE', mz, ts, ts)
    for i = #entries, 1, -1 do  -- the latest entry at ts that holds the old label
      local fraud = redis.call('ZSCORE', mf, entries[i]) and 1 or 0
      if fraud == was then
        if is == 1 then redis.call('ZADD', mf, ts, entries[i])
        else redis.call('ZREM', mf, entries[i]) end
        if tonumber(when) > x + tonumber(a[5]) then
          local seq = string.format('%016x', redis.call('HINCRBY', meta, 'seq', 1))
          redis.call('ZADD', mc, when, seq .. '\31' .. ts .. '\31' .. (is - was))
          redis.call('HSET', meta, 'changes', '1')  -- (lookups read changes from now on)
        end
        forget_changes(mz, mc, tonumber(a[9]))
        if a[8] ~= '0' then
          for _, key in ipairs({mz, mf, mc}) do redis.call('PEXPIRE', key, a[8]) end
        end
        break
      end
    end
  end
  if old == '' then return 'applied' end
  return 'changed'
end

if ARGV[1] == 'L' then return label(ARGV) end
return batch(ARGV)
