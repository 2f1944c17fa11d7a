-- GET /schedule (the member's schedule page) as many different members, round robin.
local tokens = {}
for line in io.lines(os.getenv("BENCH_SESSIONS")) do
  tokens[#tokens + 1] = line:match("^([^\t]+)")
end
local i = 0
function init(args)
  i = math.random(#tokens)
end
function request()
  i = i % #tokens + 1
  return wrk.format("GET", "/schedule", { ["cookie"] = "tekkan_session=" .. tokens[i] })
end
