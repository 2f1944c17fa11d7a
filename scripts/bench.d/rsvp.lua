-- PUT an answer (出席/欠席, alternating so every write changes the row) for an
-- upcoming occurrence, as many different members, through the JSON API.
local rows = {}
for line in io.lines(os.getenv("BENCH_SESSIONS")) do
  local t, club, member, occ = line:match("^([^\t]+)\t([^\t]+)\t([^\t]+)\t([^\t]+)")
  rows[#rows + 1] = { t, "/api/v1/clubs/" .. club .. "/occurrences/" .. occ .. "/answers/" .. member }
end
local i, n = 0, 0
function init(args)
  i = math.random(#rows)
end
function request()
  i = i % #rows + 1
  n = n + 1
  local body = (n % 2 == 0) and '{"status":"yes"}' or '{"status":"no","comment":"遅刻します"}'
  return wrk.format("PUT", rows[i][2], {
    ["authorization"] = "Bearer " .. rows[i][1],
    ["content-type"] = "application/json",
  }, body)
end
