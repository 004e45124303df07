#!/usr/bin/env python3
"""Writes synthetic run folders from one results.json: run i gets its own run id,
start time (one day apart), kernel release and host name, and every sampled
metric's samples scaled by a factor (with seeded noise), its statistics
recomputed, so a planted step change is known exactly.

usage: make-runs.py SRC OUTDIR N [--host H] [--step AT:FACTOR] [--kernel AT:RELEASE]...
       [--noise PCT] [--seed S] [--start YYYY-MM-DD] [--microcode M] [--thp T]
  run AT (0-based) and later are scaled by FACTOR; the kernel changes at AT."""
import argparse, copy, datetime, json, os, random, statistics


def pct(v, p):
    s = sorted(v)
    if len(s) == 1:
        return s[0]
    h = (len(s) - 1) * p / 100.0
    lo = int(h)
    return s[lo] + (s[min(lo + 1, len(s) - 1)] - s[lo]) * (h - lo)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("src"); ap.add_argument("out"); ap.add_argument("n", type=int)
    ap.add_argument("--host"); ap.add_argument("--step", action="append", default=[])
    ap.add_argument("--kernel", action="append", default=[])
    ap.add_argument("--noise", type=float, default=1.0); ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--start", default="2026-11-01"); ap.add_argument("--microcode")
    ap.add_argument("--thp"); ap.add_argument("--scale", type=float, default=1.0)
    a = ap.parse_args()
    src = json.load(open(a.src if a.src.endswith(".json") else os.path.join(a.src, "results.json")))
    rnd = random.Random(a.seed)
    steps = [(int(s.split(":")[0]), float(s.split(":")[1])) for s in a.step]
    kernels = [(int(k.split(":")[0]), k.split(":", 1)[1]) for k in a.kernel]
    t0 = datetime.datetime.fromisoformat(a.start)
    for i in range(a.n):
        d = copy.deepcopy(src)
        t = t0 + datetime.timedelta(days=i)
        d["run"]["id"] = t.strftime("%Y%m%dT%H%M%SZ")
        d["run"]["started"] = t.strftime("%Y-%m-%dT%H:%M:%SZ")
        d["run"].pop("finished", None)
        if a.host:
            d["host"]["hostname"] = a.host
        kern = d["host"].setdefault("kernel", {}).get("release", "unknown")
        for at, rel in kernels:
            if i >= at:
                kern = rel
        d["host"]["kernel"]["release"] = kern
        if a.microcode:
            d["host"].setdefault("cpu", {})["microcode"] = a.microcode
        if a.thp:
            d["host"]["thp"] = a.thp
        f = a.scale
        for at, fac in steps:
            if i >= at:
                f *= fac
        run_noise = 1 + rnd.gauss(0, a.noise / 100.0)
        for test in d["tests"]:
            for m in test.get("metrics", []):
                if "samples" in m and m["samples"]:
                    m["samples"] = [x * f * run_noise * (1 + rnd.gauss(0, a.noise / 300.0))
                                    for x in m["samples"]]
                    s = m["samples"]
                    m["stats"] = {"n": len(s), "min": min(s), "max": max(s),
                                  "median": pct(s, 50), "mean": statistics.fmean(s),
                                  "p99": pct(s, 99),
                                  "stddev": statistics.stdev(s) if len(s) > 1 else 0.0}
                elif "value" in m and m.get("unit") != "ratio":
                    m["value"] = m["value"] * f * run_noise
        od = os.path.join(a.out, "run-%02d" % i)
        os.makedirs(od, exist_ok=True)
        with open(os.path.join(od, "results.json"), "w") as fh:
            json.dump(d, fh, indent=1)


main()
