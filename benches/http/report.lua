-- wrk hook: one JSON line with the totals and the latency percentiles (µs).
done = function(summary, latency, requests)
  local e = summary.errors
  local errors = e.connect + e.read + e.write + e.status + e.timeout
  local ps = {}
  for p = 1, 99 do ps[#ps + 1] = p end
  ps[#ps + 1] = 99.5
  ps[#ps + 1] = 99.9
  ps[#ps + 1] = 99.99
  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"errors":%d,"percentiles":[',
    summary.requests, summary.duration, errors))
  for i, p in ipairs(ps) do
    io.write(string.format('[%g,%d]%s', p, latency:percentile(p), i < #ps and "," or ""))
  end
  io.write(']}\n')
end
