[probe.smt]
workload = probe.smt
groups = probes
description = SMT control and state
