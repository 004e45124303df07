# The memory section of bench.md from the memory bench's results.json (dirty-log rows: informative).
# Input: results.json of ci/bench-memory.conf; $quick_s: seconds of
# `kvmqual run --quick --group memory`.
def row($what; $v; $target; $ok): "| \($what) | \($v) | \($target) | \($ok) |";
"\n## Memory\n",
"paging mode: \(([.tests[].evidence.paging.mode // empty] | first) // "unknown")\n",
"| measurement | value | target | met |",
"| --- | --- | --- | --- |",
(.tests[] | select(.status == "pass") | .name as $t | .metrics[]
  | select(.name | test("^chase\\.native\\..*\\.median_cv$"))
  | row("\($t) \(.name)"; "\((.value * 1000 | round) / 10)%"; "< 2%";
        if .value < 0.02 then "yes" else "no" end)),
(.tests[] | select(.status == "pass") | .name as $t | .metrics[]
  | select(.name | test("^ratio\\.chase\\."))
  | row("\($t) \(.name)"; "\((.value * 1000 | round) / 1000)"; "<= 1.05 (hardware paging)";
        if .value <= 1.05 then "yes" else "no" end)),
(.tests[] | select(.status == "pass") | .name as $t | .metrics as $m | $m[]
  | select(.name | test("^(write|get|clear)\\.[0-9]+vcpu$"))
  | .name as $n
  | ([$m[] | select(.name == "\($n).median_cv") | .value] | first) as $cv
  | row("\($t) \($n)"; "\(((.stats.median // .value) * 10 | round) / 10) ms/GiB, CV of medians \(if $cv then "\(($cv * 1000 | round) / 10)%" else "n/a" end)";
        "informative"; "-")),
(.tests[] | select(.status == "skip") | "| \(.name) | skipped: \(.reason) | | |"),
row("`kvmqual run --quick --group memory`"; "\($quick_s) s"; "< 60 s";
    if ($quick_s | tonumber) < 60 then "yes" else "no" end)
