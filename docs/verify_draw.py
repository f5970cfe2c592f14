#!/usr/bin/env python3
"""Check a spotcheck draw proof against its published population.

An implementation of DRAW-SPEC.md (algorithm "spotcheck-draw-v1"), written
apart from spotcheck's own Go code and using nothing but Python's standard
library, so that anyone can recompute a draw without trusting spotcheck:

    python3 verify_draw.py --proof draw-proof.json --population population.tsv
    python3 verify_draw.py \
        --proof https://example.gov.cn/public/batches/2026-ZR-001/draw-proof \
        --population https://example.gov.cn/public/batches/2026-ZR-001/population.tsv

It prints MATCH and exits 0 when the proof's drawn list is exactly what the
algorithm gives, and MISMATCH with the first difference and exits 1
otherwise; it exits 2 when a file or address cannot be read.
"""

import argparse
import hashlib
import hmac
import json
import re
import sys
import urllib.request
from datetime import datetime, timezone

ALGORITHM = "spotcheck-draw-v1"


class Mismatch(Exception):
    def __init__(self, field, detail):
        super().__init__(f"{field}: {detail}")


def read(source, timeout):
    """The bytes of a file or of an http(s) address."""
    if source.startswith(("http://", "https://")):
        with urllib.request.urlopen(source, timeout=timeout) as resp:
            return resp.read()
    with open(source, "rb") as f:
        return f.read()


def text_problem(s):
    """What makes s unusable as a key, label, batch ID or beacon, if anything."""
    for c in "\t\r\n\0":
        if c in s:
            return f"contains {c!r}"
    return None


def parse_ratio(s):
    """A ratio written as a plain decimal in [0, 1], as (numerator, denominator)."""
    m = re.fullmatch(r"(0|1)(?:\.([0-9]{1,18}))?", s)
    if not m:
        raise Mismatch("rule.ratio", f"{s!r} is not a decimal from 0 to 1 such as \"0.05\"")
    frac = m.group(2) or ""
    den = 10 ** len(frac)
    num = int(frac or "0")
    if m.group(1) == "1":
        if num != 0:
            raise Mismatch("rule.ratio", f"{s!r} is above 1")
        num = den
    return num, den


def quota(rule, n):
    """The quota of a stratum of n entries under rule (DRAW-SPEC, Quotas)."""
    if rule.get("count") is not None:
        if rule.get("ratio") or rule.get("min"):
            raise Mismatch("rule", "a count cannot go with a ratio or a min")
        if rule["count"] < 0:
            raise Mismatch("rule.count", "is negative")
        return min(rule["count"], n)
    num, den = parse_ratio(rule.get("ratio", ""))
    q = min(n, -(-num * n // den))  # ceil(num × n / den), exactly
    m = rule.get("min", 0)
    if m < 0:
        raise Mismatch("rule.min", "is negative")
    if m > q:
        q = min(m, n)
    return q


def parse_time(s, field):
    # RFC 3339; Python before 3.11 reads neither "Z" nor more than six
    # digits of a second.
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", s or "")
    if not m:
        raise Mismatch(field, f"{s!r} is not an RFC 3339 time")
    zone = "+00:00" if m.group(3) == "Z" else m.group(3)
    t = datetime.fromisoformat(m.group(1) + zone).astimezone(timezone.utc)
    nanos = int((m.group(2) or "").ljust(9, "0"))
    return (t, nanos)


def read_population(data):
    """The entries of a canonical population, checked line by line."""
    if data and not data.endswith(b"\n"):
        raise Mismatch("population", "the last line does not end with LF")
    entries = []
    previous = None
    for number, line in enumerate(data.split(b"\n")[:-1], start=1):
        parts = line.split(b"\t")
        if len(parts) != 2 or not parts[0] or not parts[1] or b"\r" in line or b"\0" in line:
            raise Mismatch(f"population line {number}", "is not object_key TAB stratum")
        key, label = parts
        if previous is not None and key <= previous:
            raise Mismatch(f"population line {number}", "object keys are not in strictly ascending byte order")
        previous = key
        try:
            entries.append((key, label.decode("utf-8")))
            key.decode("utf-8")
        except UnicodeDecodeError:
            raise Mismatch(f"population line {number}", "is not valid UTF-8")
    return entries


def verify(proof, population):
    if proof.get("algorithm") != ALGORITHM:
        raise Mismatch("algorithm", f"{proof.get('algorithm')!r} is not {ALGORITHM!r}")
    batch_id, beacon = proof.get("batch_id", ""), proof.get("beacon", "")
    for field, value in (("batch_id", batch_id), ("beacon", beacon)):
        if text_problem(value):
            raise Mismatch(field, text_problem(value))
    nonce_hex = proof.get("nonce", "")
    if not re.fullmatch(r"[0-9a-f]{64}", nonce_hex):
        raise Mismatch("nonce", "is not 32 bytes in lowercase hex")
    nonce = bytes.fromhex(nonce_hex)
    if hashlib.sha256(nonce).hexdigest() != proof.get("commitment"):
        raise Mismatch("nonce", "its SHA-256 is not the commitment published when the batch was created")
    seed = hashlib.sha256(
        ALGORITHM.encode() + b"\0" + batch_id.encode() + b"\0" + nonce + b"\0" + beacon.encode()
    ).digest()
    if proof.get("seed") and proof["seed"] != seed.hex():
        raise Mismatch("seed", f"proof says {proof['seed']}, recomputed {seed.hex()}")
    times = [(f, parse_time(proof.get(f), f)) for f in ("committed_at", "frozen_at", "drawn_at")]
    for (f0, t0), (f1, t1) in zip(times, times[1:]):
        if t1 < t0:
            raise Mismatch(f1, f"is before {f0}")

    digest = hashlib.sha256(population).hexdigest()
    if digest != proof.get("population_hash"):
        raise Mismatch("population_hash", f"proof says {proof.get('population_hash')}, the population hashes to {digest}")
    entries = read_population(population)
    if not entries:
        raise Mismatch("population", "is empty")

    # Strata, sorted by label bytewise.
    members = {}
    for key, label in entries:
        members.setdefault(label, []).append(key)
    labels = sorted(members, key=lambda s: s.encode("utf-8"))
    strata = proof.get("strata") or []
    if len(strata) != len(labels):
        raise Mismatch("strata", f"proof lists {len(strata)} strata, the population has {len(labels)}")
    quotas = {}
    for k, (st, label) in enumerate(zip(strata, labels)):
        n = len(members[label])
        if st.get("label") != label:
            raise Mismatch(f"strata[{k}].label", f"proof says {st.get('label')!r}, recomputed {label!r}")
        if st.get("population") != n:
            raise Mismatch(f"strata[{k}].population", f"proof says {st.get('population')}, recomputed {n}")
        q = st.get("quota")
        if st.get("rule") is not None:
            want = quota(st["rule"], n)
            if q != want:
                raise Mismatch(f"strata[{k}].quota", f"proof says {q}, the stratum's rule gives {want}")
        elif not isinstance(q, int) or not 0 <= q <= n:
            raise Mismatch(f"strata[{k}].quota", f"{q} is not between 0 and {n}")
        quotas[label] = q

    # Selection: the quota entries of each stratum with the smallest
    # (u64(HMAC-SHA256(seed, object_key)), object_key).
    drawn = []
    for label in labels:
        ranked = sorted(
            (int.from_bytes(hmac.new(seed, key, hashlib.sha256).digest()[:8], "big"), key)
            for key in members[label]
        )
        drawn.extend((key.decode("utf-8"), label) for _, key in ranked[: quotas[label]])

    published = proof.get("drawn") or []
    for k in range(max(len(drawn), len(published))):
        if k >= len(published):
            raise Mismatch(f"drawn[{k}]", f"missing: recomputed {drawn[k][0]} in stratum {drawn[k][1]}")
        if k >= len(drawn):
            raise Mismatch(f"drawn[{k}]", f"{published[k].get('object_key')} is one more than the {len(drawn)} recomputed")
        got = (published[k].get("object_key"), published[k].get("stratum"))
        if got != drawn[k]:
            raise Mismatch(f"drawn[{k}]", f"proof says {got[0]} in {got[1]}, recomputed {drawn[k][0]} in {drawn[k][1]}")


def main():
    ap = argparse.ArgumentParser(description="Check a spotcheck draw proof (DRAW-SPEC v1) against its population.")
    ap.add_argument("--proof", required=True, help="file or http(s) address of the draw proof (JSON)")
    ap.add_argument("--population", required=True, help="file or http(s) address of the population (TSV)")
    ap.add_argument("--timeout", type=float, default=60, help="seconds to wait for an address (default 60)")
    args = ap.parse_args()
    try:
        proof = json.loads(read(args.proof, args.timeout))
        population = read(args.population, args.timeout)
    except (OSError, ValueError) as e:
        print(f"cannot read the proof or the population: {e}", file=sys.stderr)
        return 2
    try:
        verify(proof, population)
    except Mismatch as m:
        print(f"MISMATCH: {m}")
        return 1
    print("MATCH")
    return 0


if __name__ == "__main__":
    sys.exit(main())
