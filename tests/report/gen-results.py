#!/usr/bin/env python3
"""Writes a synthetic results.json (docs/results-schema.md) for report,
compare and export tests and for the rendering benchmark.

Test names depend only on their index, so two sets made with different seeds
line up metric for metric; --shift plants a change in chosen metrics.

  gen-results.py --out DIR [--tests N] [--samples N] [--seed S] [--noise CV]
                 [--env emulated|nested|bare-metal] [--hostname H]
                 [--shift 'GLOB=PCT']...

GLOB is matched (fnmatch) against TEST/METRIC; PCT multiplies that metric's
samples by 1 + PCT/100 (a positive PCT makes latencies slower).
"""
import argparse
import fnmatch
import json
import math
import os
import random

# exit kind -> (median ns on a fast host, where it is handled)
KINDS = [
    ("cpuid", 3000, "kernel"),
    ("pio-user", 6000, "userspace"),
    ("pio-kernel", 4100, "kernel"),
    ("mmio-user", 7500, "userspace"),
    ("mmio-kernel", 5200, "kernel"),
    ("hlt", 2700, "kernel"),
    ("rdmsr", 2500, "kernel"),
    ("wrmsr-user", 6600, "userspace"),
    ("vmcall", 2200, "kernel"),
    ("xsetbv", 2400, "kernel"),
]
TSC_GHZ = 2.0


def q7(s, p):
    """Quantile of type 7 (linear between closest ranks) of sorted s, p in [0, 1]."""
    n = len(s)
    h = (n - 1) * p
    lo = math.floor(h)
    if lo + 1 >= n:
        return s[-1]
    return s[lo] + (h - lo) * (s[lo + 1] - s[lo])


def stats(v):
    s = sorted(v)
    n = len(s)
    mean = sum(s) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in s) / (n - 1)) if n > 1 else 0.0
    return {"n": n, "min": s[0], "max": s[-1], "median": q7(s, 0.5), "mean": mean,
            "p99": q7(s, 0.99), "stddev": sd}


class Gen:
    def __init__(self, a):
        self.a = a
        self.rng = random.Random(a.seed)
        self.shifts = []
        for sh in a.shift:
            glob, _, pct = sh.rpartition("=")
            self.shifts.append((glob, float(pct)))

    def factor(self, test, metric):
        f = 1.0
        for glob, pct in self.shifts:
            if fnmatch.fnmatchcase(test + "/" + metric, glob):
                f *= 1 + pct / 100
        return f

    def samples(self, base, test, metric, n=None):
        n = n or self.a.samples
        f = self.factor(test, metric)
        cv = self.a.noise
        # per-batch means: log-normal around the base, a thin slow tail
        out = []
        for _ in range(n):
            x = base * math.exp(self.rng.gauss(0, cv))
            if self.rng.random() < 0.03:
                x *= 1 + abs(self.rng.gauss(0, 4 * cv))
            out.append(round(x * f, 2))
        return out

    def metric(self, test, name, unit, values, **labels):
        m = {"name": name, "unit": unit}
        if labels:
            m["labels"] = labels
        m["stats"] = stats(values)
        m["samples"] = values
        return m

    def value(self, test, name, unit, v, **labels):
        m = {"name": name, "unit": unit}
        if labels:
            m["labels"] = labels
        m["value"] = round(v * self.factor(test, name), 6)
        return m

    def test(self, i):
        slow = 12.0 if self.a.env == "emulated" else 1.0
        kind, base, handled = KINDS[i % len(KINDS)]
        base *= slow
        shape = (i // len(KINDS)) % 5
        t = {"workload": "exit", "status": "pass", "reason": "", "evidence": {},
             "diagnostics": [], "verdict": [],
             "config": {"vcpus": 1, "memory": 67108864, "backing": "anon", "page_size": "4K",
                        "params": {"kind": kind}}}
        if shape in (0, 1, 2):
            name = "exit.%s.%d" % (kind, i)
            ns = self.samples(base, name, kind + ".ns")
            cyc = [round(x * TSC_GHZ, 1) for x in ns]
            ref = self.samples(base * 0.93, name, "reference." + kind + ".ns")
            t.update(name=name, groups=["exits"], metrics=[
                self.metric(name, kind + ".cycles", "cycles", cyc, kind=kind, handled_in=handled),
                self.metric(name, kind + ".ns", "ns", ns, kind=kind, handled_in=handled),
                self.metric(name, "reference." + kind + ".ns", "ns", ref,
                            kind="reference." + kind, handled_in=handled),
                self.value(name, "ratio_vs_reference", "ratio",
                           stats(ns)["median"] / stats(ref)["median"], kind=kind)])
            limit = base * 1.5
            med = stats(ns)["median"]
            t["verdict"] = [{"metric": kind + ".ns", "stat": "median", "op": "<=",
                             "limit": limit, "observed": med, "ok": med <= limit}]
        elif shape == 3:
            name = "exit.%s.scaling.%d" % (kind, i)
            ms = []
            for vcpus in (1, 2, 4, 8):
                for v in range(vcpus):
                    ms.append(self.metric(name, kind + ".ns", "ns",
                                          self.samples(base * (1 + 0.04 * (vcpus - 1)), name,
                                                       kind + ".ns", max(4, self.a.samples // 4)),
                                          kind=kind, handled_in=handled, vcpus=vcpus, vcpu=v))
            t.update(name=name, groups=["exits", "scaling"], metrics=ms)
            t["config"]["vcpus"] = 8
        else:
            name = "memory.first-touch.%d" % i
            t.update(name=name, workload="memwalk", groups=["memory"], metrics=[
                self.metric(name, "first_touch.ns", "ns",
                            self.samples(5200 * slow, name, "first_touch.ns"),
                            backing="anon", page_size="4K"),
                self.value(name, "pages_touched", "pages", 16384)])
        t["duration_s"] = round(0.2 + self.rng.random(), 3)
        if i % 53 == 52:
            t.update(status="skip", reason="needs 1G hugepages (none reserved)", metrics=[],
                     verdict=[])
        elif i % 41 == 40:
            t["status"] = "fail"
            t["reason"] = "planted failure for the tests"
            t["diagnostics"] = ["a line of diagnostics", "and <another> & more"]
            if t["verdict"]:
                t["verdict"][0]["ok"] = False
        return t

    def doc(self):
        a = self.a
        tests = [self.test(i) for i in range(a.tests)]
        s = {"total": len(tests), "pass": 0, "fail": 0, "skip": 0}
        for t in tests:
            s[t["status"]] += 1
        brand = {"emulated": "QEMU TCG CPU version 2.5+",
                 "nested": "Intel(R) Xeon(R) Platinum 8480+",
                 "bare-metal": "AMD EPYC 9654 96-Core Processor"}[a.env]
        return {
            "schema_version": "1.0",
            "tool": {"name": "kvmqual", "version": "0.1.0"},
            "run": {"id": a.run_id, "started": "2026-11-26T16:00:00Z",
                    "finished": "2026-11-26T16:20:00Z",
                    "argv": ["kvmqual", "run"], "conf": "suite.conf", "quick": False,
                    "repeat": 1, "exit_code": 1 if s["fail"] else 0},
            "environment": a.env,
            "host": {"hostname": a.hostname, "kernel": {"release": a.kernel},
                     "cpu": {"vendor": "GenuineIntel" if a.env == "nested" else "AuthenticAMD",
                             "brand": brand, "cores": 16},
                     "synthetic": True, "seed": a.seed},
            "tests": tests,
            "summary": s,
        }


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="folder to write results.json into")
    p.add_argument("--tests", type=int, default=40)
    p.add_argument("--samples", type=int, default=40)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--noise", type=float, default=0.02, help="log-normal sigma of a sample")
    p.add_argument("--env", default="nested", choices=["emulated", "nested", "bare-metal"])
    p.add_argument("--hostname", default="synthetic-host")
    p.add_argument("--kernel", default="6.1.0-56-amd64")
    p.add_argument("--run-id", default="20261126T160000Z")
    p.add_argument("--shift", action="append", default=[], metavar="GLOB=PCT")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump(Gen(a).doc(), f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
