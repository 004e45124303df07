# ci/bench.sh: the bench.md table from a bench run's results.json.
# Input: results.json; --argjson repeat K. Targets hold for real KVM.
  def metric($t; $m): (.tests[] | select(.name == $t) | .metrics[] | select(.name == $m));
  def verdict($ok): if $ok then "met" else "missed" end;
  def pct($x): if $x == null then "n/a" else "\($x * 10000 | round / 100) %" end;
  def first_of(f): [f] | .[0];
  # A target whose measurement is absent (the test failed or skipped) is missed.
  def ratio_row($kind):
    first_of(metric("bench.\($kind)"; "ratio_vs_reference").value) as $r
    | first_of(metric("bench.\($kind)"; "\($kind).ns").stats.median) as $ours
    | first_of(metric("bench.\($kind)"; "reference.\($kind).ns").stats.median) as $ref
    | "| \($kind) exit, micro-VMM / bare reference loop (medians) | " +
      (if $r == null then "not measured | <= 1.02 | missed |"
       else "\($r * 1000 | round / 1000) (\($ours | round) ns vs \($ref | round) ns) | <= 1.02 | \(verdict($r <= 1.02)) |" end);
  def cv_row($test; $m):
    first_of(metric($test; "\($m).median_cv").value) as $cv
    | "| run-to-run CV of the \($m) median | \(pct($cv)) | < 2 % | \(if $cv == null then "not measured (one run)" else verdict($cv < 0.02) end) |";
  ([.tests[] | .metrics[] | select(.name == "startup.us") | .value] | min) as $startup
  | first_of(metric("bench.cpuid"; "cpuid.ns").stats.median) as $cpuid
  | "# kvmqual bench\n",
    "Host: \(.host.cpu.brand // .host.cpu.value.brand // "unknown CPU"), kernel \(.host.kernel.release // .host.kernel.value.release // "?"); environment: **\(.environment)**" +
      (if .environment == "bare-metal" then "" else " (targets are for real KVM: informative here)" end),
    "Run: \(.run.id), \($repeat) repeats of each test; figures are from the first repeat.\n",
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
