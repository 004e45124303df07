# ci/bench.sh: the bench.md table from a bench run's results.json.
# Input: results.json; --argjson repeat K. Targets hold for real KVM.
  def metric($t; $m): (.tests[] | select(.name == $t) | .metrics[] | select(.name == $m));
  def verdict($ok): if $ok then "met" else "missed" end;
  def pct($x): if $x == null then "n/a" else "\($x * 10000 | round / 100) %" end;
  def first_of(f): [f] | .[0];
  # Two-sided 95% Student t quantile (df 1..30, then the normal's 1.96).
  def t975($df): [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                  2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                  2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]
                 | if $df >= 1 and $df <= 30 then .[$df - 1] else 1.96 end;
  def r3($x): $x * 1000 | round / 1000;
  # The VMM and the bare loop run interleaved (A B B A ...) inside each test;
  # every round gives a ratio of medians. Pooled over every round of every
  # repeat present in the file: the geometric mean and its 95% t interval.
  # The 2% target is met when the whole interval is <= 1.02, missed when it
  # is all above, and undecided when it spans 1.02 (the host is too noisy).
  # A target whose measurement is absent (the test failed or skipped) is missed.
  def ratio_row($kind):
    [metric("bench.\($kind)"; "ratio_vs_reference.rounds").samples[]] as $rs
    | ($rs | length) as $n
    | ($rs | map(log)) as $l
    | (if $n > 1 then ($l | add / $n) else null end) as $m
    | (if $n > 1 then ($l | map(. - $m | . * .) | add / ($n - 1) | sqrt) * t975($n - 1) / ($n | sqrt) else null end) as $h
    | "| \($kind) exit, micro-VMM / bare reference loop, interleaved (A B B A ...) | " +
      (if $n < 2 then "not measured | <= 1.02 | missed |"
       else "\(r3($m | exp)), 95% CI [\(r3($m - $h | exp)), \(r3($m + $h | exp))] over \($n) rounds | <= 1.02 | " +
         (if ($m + $h | exp) <= 1.02 then "met"
          elif ($m - $h | exp) > 1.02 then "missed"
          else "undecided (the interval spans 1.02)" end) + " |" end);
  def cv_row($test; $m):
    first_of(metric($test; "\($m).median_cv").value) as $cv
    | "| run-to-run CV of the \($m) median | \(pct($cv)) | < 2 % | \(if $cv == null then "not measured (one run)" else verdict($cv < 0.02) end) |";
  ([.tests[] | .metrics[] | select(.name == "startup.us") | .value] | min) as $startup
  | first_of(metric("bench.cpuid"; "cpuid.ns").stats.median) as $cpuid
  | "# kvmqual bench\n",
    "Host: \(.host.cpu.brand // .host.cpu.value.brand // "unknown CPU"), kernel \(.host.kernel.release // .host.kernel.value.release // "?"); environment: **\(.environment)**" +
      (if .environment == "bare-metal" then "" else " (targets are for real KVM: informative here)" end),
    "Run: \(.run.id), \($repeat) repeats of each test; the ratios pool every interleaved round in results.json, other figures are from the first repeat.\n",
    "| measure | value | target | verdict |", "|---|---|---|---|",
    ratio_row("pio-user"),
    ratio_row("mmio-user"),
    "| VM creation to first guest exit (best of runs) | " +
      (if $startup == null then "not measured | < 1000 us | missed |"
       else "\($startup | round) us | < 1000 us | \(verdict($startup < 1000)) |" end),
    cv_row("bench.pio-user"; "pio-user.ns"),
    cv_row("bench.mmio-user"; "mmio-user.ns"),
    cv_row("bench.cpuid"; "cpuid.ns"),
    "| cpuid exit median | \(if $cpuid == null then "not measured" else "\($cpuid | round) ns" end) | - | measurement |"
