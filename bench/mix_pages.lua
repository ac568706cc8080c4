-- wrk script for bench/bench_memory.py: distinct list and search pages of 100 (no URL twice,
-- so the page cache never answers): offsets across the library, three sorts, twelve search words
local words = {"girl","style","armor","neon","portrait","cat","forest","pixel","city","anime","dark","light"}
local sorts = {"name", "-modified", "size"}
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
local i = 0
request = function()
  i = i + 1
  local n = i * 2 + tid
  local path
  if n % 4 == 0 then
    path = "/lora-manager/v1/loras?limit=100&query=" .. words[math.floor(n / 4) % #words + 1] .. "&offset=" .. (math.floor(n / 48) % 20)
  else
    path = "/lora-manager/v1/loras?limit=100&sort=" .. sorts[n % 3 + 1] .. "&offset=" .. ((n * 7) % 9900)
  end
  return wrk.format("GET", path)
end
