-- The Redis feature store's one script (fraudcli/features/redis_store.py): each call is one
-- transaction, or one label, applied atomically (no other client runs in between).
--
-- Every bound is computed in Python and passed as its repr, so Redis compares the doubles the
-- embedded store compares; the only arithmetic here is what needs a stored value (N - W of
-- the id rule, a merchant's late floor, ts + d of a label), in Lua's IEEE doubles and the
-- embedded store's order of operations (a floor sent to Redis as %.17g text: exact). The
-- user's entries go back to the client, which counts and sums them (fraudcli/features/
-- redis_features.py): parsing them here cost the one server thread more than all the rest.
--
-- Layout (P = the prefix; tags are prefix-free; strings of values are "\31"-separated, each
-- value "" for none or "=" then its text with "\" as "\\" and "\31" as "\u"):
--   P u:<user>   zset  score ts, member "<seq>\31<amount>\31<ts>\31<merchant>\31<country>\31
--                      <device>" (the ts again, as text: reading scores costs a formatting)
--   P uh:<user>  hash  newest (ts), prev (ts, previous in input order), lat lon lts (previous
--                      located), m<merchant> c<country> d<device>: the newest ts each value
--                      was seen with (as the embedded store's `last_seen`)
--   P m:<merch>  zset  score ts, member <seq>      P mf:<merch>  the same, those labelled fraud
--   P mc:<merch> zset  score arrival, member "<seq>\31<entry ts>\31<new - old>": label changes
--                      that arrived after their entry's ts + d (fraudcli.features.labels)
--   P tx         hash  transaction_id -> "<ts>\31<seq>\31<merchant>\31<label>\31<arrival>"
--   P ids        zset  score ts, member transaction_id (to drop ids past the dedupe window)
--   P meta       hash  newest (the store's), ids_newest (the id registry's N), seq
-- <seq> is 16 hex digits from meta's counter: ties of a user's times stay in input order.

local function fmt(x) return string.format('%.17g', x) end
local NONE = -math.huge

-- drop the newest-seen times at or before the cutoff (they can never count as seen again),
-- once the hash holds more of them than the user has entries
local function forget_seen(uz, uh, cutoff)
  if redis.call('HLEN', uh) <= 8 + redis.call('ZCARD', uz) then return end
  local all, gone = redis.call('HGETALL', uh), {}
  for i = 1, #all, 2 do
    local kind = string.sub(all[i], 1, 2)
    if (kind == 'm=' or kind == 'c=' or kind == 'd=') and tonumber(all[i + 1]) <= cutoff then
      gone[#gone + 1] = all[i]
    end
  end
  if #gone > 0 then redis.call('HDEL', uh, unpack(gone)) end
end

-- KEYS: uz uh mz mf mc tx ids meta
-- ARGV: 1 mode: o (duplicate check, lookup, update), r (duplicate check, update), l (lookup),
--         u (update; no id registry); 2 transaction id; 3 ts; 4 member's tail (amount, ts,
--         merchant, country, device); 5 6 7 merchant country device (encoded); 8 label ("",
--         "0", "1"); 9 10 lat lon ("" when none); 11-14 t-1h t-24h t-7d t-30d; 15 end = t-d;
--         16-18 end-1d end-7d end-30d; 19 20 21 t - user horizon, t - merchant horizon,
--         t - id window (what may be dropped); 22 lateness 23 d 24 30 days 25 id window;
--         26 idle ttl in ms ("0": none)
-- Reply: {1} for a duplicate; else {0, user known, user's newest, prev, lat, lon, lts, newest
--   times its merchant, country, device were seen, its entries in (t-30d, t], merchant counts
--   in (end-1d, end], (end-7d, end], (end-30d, end], frauds in them} (after its late floor)
local function observe(a)
  local uz, uh, mz, mf, mc, tx, ids, meta = unpack(KEYS)
  local mode, tid, ts = a[1], a[2], a[3]
  local t = tonumber(ts)
  local em, ec, ed = a[5], a[6], a[7]
  local registering = mode == 'o' or mode == 'r'
  local meta_now = redis.call('HMGET', meta, 'newest', 'ids_newest')
  local ids_newest = meta_now[2] and tonumber(meta_now[2]) or NONE
  if registering then
    local seen = redis.call('HGET', tx, tid)
    if seen and tonumber(string.match(seen, '^[^\31]*')) > ids_newest - tonumber(a[25]) then
      return {1}
    end
  end
  local lateness = tonumber(a[22])
  local user = redis.call('HMGET', uh, 'newest', 'prev', 'lat', 'lon', 'lts',
    'm' .. em, 'c' .. ec, 'd' .. ed)
  local user_newest = user[1] and tonumber(user[1])
  local reply = {0}
  if mode == 'o' or mode == 'l' then
    -- the user's state and its 30 days' members, oldest first: the client counts and sums
    local window = {}
    if user[1] then window = redis.call('ZRANGEBYSCORE', uz, '(' .. a[14], ts) end
    reply = {0, (user[1] or user[2]) and 1 or 0, user[1], user[2], user[3], user[4], user[5],
      user[6], user[7], user[8], window, 0, 0, 0, 0, 0, 0}
    if em ~= '' then
      local last = redis.call('ZRANGE', mz, -1, -1, 'WITHSCORES')
      if #last > 0 then
        local e, e1, e7, e30 = a[15], a[16], a[17], a[18]
        local newest, delay = tonumber(last[2]), tonumber(a[23])
        local floor = NONE
        if t < newest - lateness then  -- late: the horizon's floor
          floor = newest - delay - tonumber(a[24]) - lateness
          local low = fmt(floor)
          if floor > tonumber(e1) then e1 = low end
          if floor > tonumber(e7) then e7 = low end
          if floor > tonumber(e30) then e30 = low end
        end
        -- counts: a shorter window is empty when a longer one is
        reply[14] = redis.call('ZCOUNT', mz, '(' .. e30, e)
        if reply[14] > 0 then reply[13] = redis.call('ZCOUNT', mz, '(' .. e7, e) end
        if reply[13] > 0 then reply[12] = redis.call('ZCOUNT', mz, '(' .. e1, e) end
        if reply[14] > 0 then  -- frauds (few): fetched once, counted here
          local lo1, lo7 = tonumber(e1), tonumber(e7)
          local frauds = redis.call('ZRANGEBYSCORE', mf, '(' .. e30, e, 'WITHSCORES')
          for i = 2, #frauds, 2 do
            local s = tonumber(frauds[i])
            reply[17] = reply[17] + 1
            if s > lo7 then reply[16] = reply[16] + 1 end
            if s > lo1 then reply[15] = reply[15] + 1 end
          end
        end
        -- labels changed after t: counted as they were at t
        local stop = tonumber(e)
        for _, change in ipairs(redis.call('ZRANGEBYSCORE', mc, '(' .. ts, '+inf')) do
          local at_ts, delta = string.match(change, '^[^\31]*\31([^\31]*)\31([^\31]*)$')
          local x = tonumber(at_ts)
          delta = tonumber(delta)
          if floor < x and x <= stop then
            if x > tonumber(a[16]) then reply[15] = reply[15] - delta end
            if x > tonumber(a[17]) then reply[16] = reply[16] - delta end
            if x > tonumber(a[18]) then reply[17] = reply[17] - delta end
          end
        end
      end
    end
  end
  if mode == 'l' then return reply end

  local seq = redis.call('HINCRBY', meta, 'seq', 1)
  local tag = string.format('%016x', seq)
  local trim = seq % 8 == 0  -- expiry in chunks: one transaction in eight trims its keys
  redis.call('ZADD', uz, ts, tag .. '\31' .. a[4])
  local fields = {'prev', ts}
  if a[9] ~= '' then
    for _, v in ipairs({'lat', a[9], 'lon', a[10], 'lts', ts}) do fields[#fields + 1] = v end
  end
  if not user_newest or t > user_newest then
    fields[#fields + 1] = 'newest'
    fields[#fields + 1] = ts
  end
  for i, value in ipairs({em, ec, ed}) do  -- the newest time each value was seen
    local seen = user[5 + i]
    if value ~= '' and (not seen or tonumber(seen) < t) then
      fields[#fields + 1] = string.sub('mcd', i, i) .. value
      fields[#fields + 1] = ts
    end
  end
  redis.call('HSET', uh, unpack(fields))
  if trim then
    redis.call('ZREMRANGEBYSCORE', uz, '-inf', a[19])
    forget_seen(uz, uh, tonumber(a[19]))
  end
  if em ~= '' then
    redis.call('ZADD', mz, ts, tag)
    if a[8] == '1' then redis.call('ZADD', mf, ts, tag) end
    if trim then
      redis.call('ZREMRANGEBYSCORE', mz, '-inf', a[20])
      redis.call('ZREMRANGEBYSCORE', mf, '-inf', a[20])
    end
  end
  local newest_fields = {}
  if registering then
    redis.call('HSET', tx, tid, ts .. '\31' .. tag .. '\31' .. em .. '\31' .. a[8] .. '\31')
    redis.call('ZADD', ids, ts, tid)
    if trim then  -- ids past the dedupe window (ts <= t - W <= N - W) can never match again
      local dead = redis.call('ZRANGEBYSCORE', ids, '-inf', a[21], 'LIMIT', 0, 128)
      if #dead > 0 then
        redis.call('HDEL', tx, unpack(dead))
        redis.call('ZREM', ids, unpack(dead))
      end
    end
    if t > ids_newest then newest_fields = {'ids_newest', ts} end
  end
  if not meta_now[1] or t > tonumber(meta_now[1]) then
    newest_fields[#newest_fields + 1] = 'newest'
    newest_fields[#newest_fields + 1] = ts
  end
  if #newest_fields > 0 then redis.call('HSET', meta, unpack(newest_fields)) end
  if a[26] ~= '0' then
    for _, key in ipairs(em ~= '' and {uz, uh, mz, mf, mc} or {uz, uh}) do
      redis.call('PEXPIRE', key, a[26])
    end
  end
  return reply
end

local function decoded(value)  -- an encoded value's text
  return (string.gsub(string.sub(value, 2), '\\(.)', function(c)
    if c == 'u' then return '\31' end
    return c
  end))
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
return observe(ARGV)
