[strict.smt]
workload = probe.smt
groups = probes strict
description = SMT is controllable (or absent), and off where the kernel says SMT is vulnerable
control = on off forceoff notsupported
smt_vulnerable = fail
on_unknown = fail
