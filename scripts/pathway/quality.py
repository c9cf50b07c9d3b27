#!/usr/bin/env python3
"""quality.py - the duplicate + per-user rolling-average checks on Pathway (trustflow's streaming peer).

Reads the JSON lines that `trustflow generate --jsonl` writes (and `trustflow batch` reads) and
computes, with Pathway's incremental engine (differential dataflow underneath), the part of
../shared/QUALITY_SEMANTICS.md (docs/quality-semantics.md) that needs state across rows:

  uniqueness              rule 9: DUPLICATE iff transactionId is non-null and occurs more than once
  avg_transaction_amount  rules 6-7: per userId (nulls one partition), ordered by timestamp,
                          transactionId, amount, currency, metadata (ascending, nulls first),
                          ROWS 5 PRECEDING..CURRENT ROW, avg of the non-null amounts, decimal(22,6)
                          HALF_UP; exact integers (cents, then micro-units, written as decimal text)
  consistency_check       rule 8: INCONSISTENT iff amount non-null, avg > 0 and 2*|amount-avg| > avg

Writes one JSON line per output change (Pathway's update stream: the columns below plus
`time` and `diff`) to OUTPUT_DIR/part-0.jsonl. In static mode every row is written once with
diff 1; in streaming mode a row whose frame changes later is retracted (diff -1) and written
again, so the consolidated output (sum of diffs per row) is the answer. Columns:
transactionId, userId, amount_cents (the amount in cents, an integer), currency, timestamp,
metadata (the JSON value as read), avg_transaction_amount (decimal text at scale 6, or null),
consistency_check, uniqueness.
scripts/pathway/compare.py consolidates it and compares it with `trustflow batch` output.
Prints ONE JSON line of timings on stdout at the end; Pathway's logs go to stderr.

Usage:
  PY=$(bash scripts/pyenv.sh pathway | tail -1)
  "$PY" scripts/pathway/quality.py INPUT.jsonl OUTPUT_DIR --now MS [--mode static|streaming]
        [--frame pointers|chain|reduce] [--batch-rows N] [--threads N]

  --now MS        accepted for symmetry with the other peers; the checks computed here do not
                  depend on "now" (only timestamp validity does, which is not computed here).
  --mode          static (default): pw.io.jsonlines.read(mode="static"), the whole file as one
                  commit (one timestamp), Pathway's batch-style run.
                  streaming: the file fed by a Python ConnectorSubject in commits of
                  --batch-rows rows (default 100000), each commit one Pathway timestamp, so every
                  later commit updates the sorts, frames and counts incrementally (late rows
                  included); the subject ends at EOF and so does the run. Pathway's own
                  streaming file reader never ends, so it cannot be timed to completion.
  --frame         how the 6-row frame is expressed (Pathway has no ROWS frame):
                  pointers (default): Table.sort(key, instance=userId) gives prev pointers; the
                    5 preceding amounts come from 3 pointer-doubling lookups (ix): prev, then
                    prev-of-prev (2 amounts at once), then the row 4 back (2 more).
                  chain: the same sort, then 5 lookups one step back each.
                  reduce: groupby(userId) with reducers.sorted_tuple of (order key, amount, id),
                    a Python UDF walking each user's sorted rows, flatten, and a join back by id.
                    Re-reduces a user's whole history on every change of that user.
  --threads N     Pathway worker threads (PATHWAY_THREADS; default 2). Without a license key
                  Pathway caps this at 8 ("greater than the maximum allowed number of workers
                  (8), reducing").

Order key and metadata: Pathway orders tuples element by element, None first, strings by
UTF-8 bytes, which is rule 6 for timestamp, transactionId, amount (cents) and currency. It has
no order on JSON objects that rule 6 allows (Json values compare in an unrelated order), so the
metadata tie-breaker is a string key built by a Python UDF (entries sorted, each key and value
escaped and terminated so that byte order equals rule 6's lexicographic order, a null value
before any string, a null map None), computed only for rows whose transactionId occurs more than
once (the uniqueness count, already there): rows that tie on (timestamp, transactionId, amount,
currency) share a transactionId, so no tie is missed (a null transactionId counts in one group).

Amounts: read as a JSON value. A JSON string `-?digits.dd` (what the generator writes) is
parsed natively (its JSON text with the quotes and the dot removed, parse_int); anything else
(other strings, JSON numbers) goes through a Python UDF with Spark's reading (see
scripts/spark/reference.py: HALF_UP to 2 decimals, "," removed, more than 16 integer digits or
unreadable: null). Pathway's reader holds a fractional JSON number as a double, so such a number
is exact only up to 15 significant digits (the generator writes strings). Frames whose sums would
not fit the native 64-bit path go through UDFs too (avg and consistency in Python integers).
A line that Pathway's reader cannot parse (malformed JSON, a non-string transactionId, a
timestamp that is not an integer) is logged and skipped, and the streaming subject skips the same
lines (counted as skipped_lines); trustflow rejects them too. One difference between the modes on
such input: Pathway's static reader turns a line holding a JSON array (`[1,2]`) into one all-null
row per element, the subject skips it. The generator writes none of these lines.

Output line: {"output_lines", "import_s", "build_s", "run_s", "total_s", "mode", "frame", "threads",
  "commits", "pathway"}: import_s is `import pathway`, build_s the graph construction, run_s
  pw.run (read + compute + write), total_s Python start to the end of pw.run; output_lines
  counts the update stream written (inserts and retractions).
"""
import argparse
import json
import os
import sys
import time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

T0 = time.perf_counter()


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input", help="JSON lines file of transactions")
    ap.add_argument("output_dir", help="output directory (part-0.jsonl is replaced)")
    ap.add_argument("--now", type=int, default=None, help="now, epoch ms (unused by these checks)")
    ap.add_argument("--mode", choices=["static", "streaming"], default="static")
    ap.add_argument("--frame", choices=["pointers", "chain", "reduce"], default="pointers")
    ap.add_argument("--batch-rows", type=int, default=100_000,
                    help="streaming mode: rows per commit")
    ap.add_argument("--threads", type=int, default=int(os.environ.get("PATHWAY_THREADS", "2")))
    return ap.parse_args()


ARGS = parse_args()
# Read by the engine when pw.run starts; set before the import so nothing sees another value.
os.environ["PATHWAY_THREADS"] = str(ARGS.threads)

T_IMPORT = time.perf_counter()
import pathway as pw  # noqa: E402

IMPORT_S = time.perf_counter() - T_IMPORT

CENT = Decimal("0.01")
AMOUNT_LIMIT_CENTS = 10**18  # decimal(18,2): |amount| < 10^16, i.e. |cents| < 10^18
# Sums of up to 6 amounts whose scaled forms stay far inside i64 take the native path.
NATIVE_SUM_LIMIT = 10**14


def _optional():
    return pw.column_definition(default_value=None)  # an absent field reads as null


class InputSchema(pw.Schema):
    transactionId: str | None = _optional()
    userId: str | None = _optional()
    amount: pw.Json | None = _optional()  # a JSON string ("12.34") or number (12.34)
    currency: str | None = _optional()
    timestamp: int | None = _optional()
    metadata: pw.Json | None = _optional()


# ---- exact helpers (Python UDFs, used only off the fast path) ---------------------------------

@pw.udf(deterministic=True)
def amount_cents_slow(a: pw.Json | None) -> int | None:
    """An amount as cents the way Spark reads it under decimal(18,2) (see reference.py).

    JSON strings exactly; JSON numbers come from Pathway's reader as i64 or f64, so a
    fractional number is exact only up to 15 significant digits (repr of the double).
    """
    v = None if a is None else a.value
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, str):
        if not v or v != v.strip():
            return None
        v = v.replace(",", "")
    elif isinstance(v, float):
        v = repr(v)
    elif not isinstance(v, int):
        return None
    try:
        d = Decimal(v)
    except InvalidOperation:
        return None
    if not d.is_finite():
        return None
    cents = int(d.quantize(CENT, rounding=ROUND_HALF_UP).scaleb(2))
    return cents if abs(cents) < AMOUNT_LIMIT_CENTS else None


def _escaped(s: str) -> str:
    # NUL doubles as escape: "\0" -> "\0\2", end of string "\0\1"; byte order is then the
    # order of the original strings, shorter prefix first.
    return s.replace("\x00", "\x00\x02") + "\x00\x01"


@pw.udf(deterministic=True)
def metadata_order_key(m: pw.Json | None) -> str | None:
    """A string whose UTF-8 byte order is rule 6's metadata order (None for a null map)."""
    if m is None or m.value is None:
        return None
    value = m.value
    if not isinstance(value, dict):
        return None
    entries = []
    for k, v in value.items():
        if v is not None and not isinstance(v, str):
            v = json.dumps(v, separators=(",", ":"))
        entries.append((k.encode(), None if v is None else v.encode(), k, v))
    entries.sort(key=lambda e: (e[0], e[1] is not None, e[1] or b""))
    return "".join(_escaped(k) + ("\x01" if v is None else "\x02" + _escaped(v))
                   for _, _, k, v in entries)


def half_up_div(num: int, den: int) -> int:
    """round(num / den) with ties away from zero, den > 0, exact."""
    q = (2 * abs(num) + den) // (2 * den)
    return q if num >= 0 else -q


def decimal_text(units: int, scale: int) -> str:
    return str(Decimal(units).scaleb(-scale))


@pw.udf(deterministic=True)
def avg_text_slow(total_cents: int, count: int) -> str | None:
    """The frame's avg as decimal(22,6) text, for sums too large for the native i64 path."""
    return None if count == 0 else decimal_text(half_up_div(total_cents * 10_000, count), 6)


@pw.udf(deterministic=True)
def inconsistent_slow(cents: int, total_cents: int, count: int) -> bool:
    """Rule 8 with the rounded avg, in Python integers (no overflow)."""
    if count == 0:
        return False
    avg = half_up_div(total_cents * 10_000, count)
    return avg > 0 and 2 * abs(cents * 10_000 - avg) > avg


@pw.udf(deterministic=True)
def user_frames(rows: tuple) -> list[tuple[pw.Pointer, str | None, bool]]:
    """(id, avg text, inconsistent) per row of one user, rows sorted by order key (reduce frame)."""
    out, window = [], []
    for _key, cents, rid in rows:
        window.append(cents)
        if len(window) > 6:
            window.pop(0)
        present = [c for c in window if c is not None]
        if not present:
            out.append((rid, None, False))
            continue
        avg = half_up_div(sum(present) * 10_000, len(present))
        bad = cents is not None and avg > 0 and 2 * abs(cents * 10_000 - avg) > avg
        out.append((rid, decimal_text(avg, 6), bad))
    return out


# ---- the graph --------------------------------------------------------------------------------

def read_input():
    if ARGS.mode == "static":
        return pw.io.jsonlines.read(ARGS.input, schema=InputSchema, mode="static",
                                    name="transactions")
    return pw.io.python.read(FileSubject(ARGS.input, ARGS.batch_rows), schema=InputSchema,
                             autocommit_duration_ms=None, name="transactions")


STRING_FIELDS = ("transactionId", "userId", "currency")


def record(line):
    """One JSON line as the subject's row, or None where Pathway's own reader skips the line
    (not a JSON object, a string field that is not a string, a timestamp that is not an int)."""
    try:
        o = json.loads(line)
    except ValueError:
        return None
    if not isinstance(o, dict):
        return None
    if any(not isinstance(o.get(f), (str, type(None))) for f in STRING_FIELDS):
        return None
    ts = o.get("timestamp")
    if ts is not None and (isinstance(ts, bool) or not isinstance(ts, int)):
        return None
    amount, meta = o.get("amount"), o.get("metadata")
    return {"transactionId": o.get("transactionId"), "userId": o.get("userId"),
            "amount": None if amount is None else pw.Json(amount), "currency": o.get("currency"),
            "timestamp": ts, "metadata": None if meta is None else pw.Json(meta)}


class FileSubject(pw.io.python.ConnectorSubject):
    """The JSON lines file in commits of `batch` rows; finite: the run ends after the last."""

    commits = 0
    skipped = 0

    def __init__(self, path, batch):
        super().__init__(datasource_name="transactions-file")
        self.path, self.batch = path, batch

    @property
    def _deletions_enabled(self) -> bool:
        return False  # insert-only: lets the engine skip retraction bookkeeping

    def run(self):
        n = 0
        with open(self.path, "rb") as f:
            for line in f:
                if not line.strip():
                    continue
                row = record(line)
                if row is None:
                    FileSubject.skipped += 1
                    continue
                self.next(**row)
                n += 1
                if n % self.batch == 0:
                    self.commit()
                    FileSubject.commits += 1
        self.commit()
        FileSubject.commits += 1


def with_amount_cents(t):
    """cents: natively for a JSON string -?digits.dd, else through amount_cents_slow."""
    s = t.amount.to_string()  # a JSON string keeps its quotes: "12.34" -> '"12.34"'
    digits = s.str.replace('"', "").str.replace(".", "")
    fast = digits.str.parse_int(optional=True)
    canonical = (s.str.startswith('"') & (s.str.count('"') == 2) & (s.str.count(".") == 1)
                 & (s.str.len() - s.str.find(".") == 4) & fast.is_not_none())
    fast_ok = pw.coalesce(fast, 0)
    small = (fast_ok < AMOUNT_LIMIT_CENTS) & (fast_ok > -AMOUNT_LIMIT_CENTS)
    cents = pw.if_else(t.amount.is_none(), None,
                       pw.if_else(canonical & small, fast, amount_cents_slow(t.amount)))
    return t.with_columns(cents=cents)


def with_order_key(t):
    """Rule 6's order as one tuple; the metadata part only for rows that may tie.

    Two rows of a user that are equal on (timestamp, transactionId, amount, currency) share a
    transactionId, so both have tx_n > 1 (a null transactionId counts in the null group): the
    metadata key is computed for those rows only, and rows with tx_n == 1 never need it.
    """
    mkey = pw.if_else(t.tx_n > 1, metadata_order_key(t.metadata), None)
    return t.with_columns(
        order_key=pw.make_tuple(t.timestamp, t.transactionId, t.cents, t.currency, mkey))


def frame_pointers(t):
    """a0..a5 by pointer doubling over the per-user sort: 3 lookups."""
    t = t + t.sort(key=t.order_key, instance=t.userId)
    t = t.select(*pw.this, a0=pw.this.cents, p1=pw.this.prev)
    b = t.ix(t.p1, optional=True)
    t = t.with_columns(a1=b.a0, p2=b.p1)
    c = t.ix(t.p2, optional=True)
    t = t.with_columns(a2=c.a0, a3=c.a1, p4=c.p2)
    d = t.ix(t.p4, optional=True)
    return t.with_columns(a4=d.a0, a5=d.a1)


def frame_chain(t):
    """a0..a5 by 5 lookups, one step back each."""
    t = t + t.sort(key=t.order_key, instance=t.userId)
    t = t.select(*pw.this, a0=pw.this.cents, p0=pw.this.id)
    for k in range(1, 6):
        prev = t.ix(t[f"p{k - 1}"], optional=True).prev
        t = t.with_columns(**{f"p{k}": prev})
        t = t.with_columns(**{f"a{k}": t.ix(t[f"p{k}"], optional=True).cents})
    return t


def avg_from_frame(t):
    """avg (decimal text) and the consistency flag from the frame's amounts a0..a5."""
    amounts = [t[f"a{k}"] for k in range(6)]
    count = sum((pw.if_else(a.is_none(), 0, 1) for a in amounts[1:]),
                pw.if_else(amounts[0].is_none(), 0, 1))
    total = sum((pw.coalesce(a, 0) for a in amounts[1:]), pw.coalesce(amounts[0], 0))
    t = t.with_columns(f_count=count, f_total=total)
    # Native i64 path while sum * 10^4 and amount * 10^4 stay far from overflow.
    cents = pw.coalesce(t.cents, 0)
    small = ((t.f_total < NATIVE_SUM_LIMIT) & (t.f_total > -NATIVE_SUM_LIMIT)
             & (cents < NATIVE_SUM_LIMIT) & (cents > -NATIVE_SUM_LIMIT))
    num = t.f_total * 10_000
    den = pw.if_else(t.f_count == 0, 1, t.f_count)
    micros = pw.if_else(num >= 0, (2 * num + den) // (2 * den), -((-2 * num + den) // (2 * den)))
    t = t.with_columns(f_small=small, f_micros=micros)
    m = t.f_micros.num.abs()
    native_text = (pw.if_else(t.f_micros < 0, "-", "") + (m // 1_000_000).to_string() + "."
                   + (m % 1_000_000 + 1_000_000).to_string().str.slice(1, 7))
    native_bad = (t.f_micros > 0) & (2 * (cents * 10_000 - t.f_micros).num.abs() > t.f_micros)
    return t.with_columns(
        avg_text=pw.if_else(t.f_count == 0, None,
                            pw.if_else(t.f_small, native_text,
                                       avg_text_slow(t.f_total, t.f_count))),
        inconsistent=pw.if_else(t.cents.is_none() | (t.f_count == 0), False,
                                pw.if_else(t.f_small, native_bad,
                                           inconsistent_slow(cents, t.f_total, t.f_count))),
    )


def frame_reduce(t):
    per_user = t.groupby(t.userId).reduce(
        rows=pw.reducers.sorted_tuple(pw.make_tuple(t.order_key, t.cents, t.id)))
    flat = per_user.select(fr=user_frames(pw.this.rows)).flatten(pw.this.fr)
    flat = flat.select(rid=pw.declare_type(pw.Pointer, pw.this.fr[0]),
                       avg_text=pw.declare_type(str | None, pw.this.fr[1]),
                       inconsistent=pw.declare_type(bool, pw.this.fr[2]))
    flat = flat.with_id(flat.rid)
    r = flat.ix(t.id)
    return t.with_columns(avg_text=r.avg_text, inconsistent=r.inconsistent)


def quality(t):
    t = with_amount_cents(t)
    counts = t.groupby(t.transactionId).reduce(n=pw.reducers.count())
    t = t.with_columns(tx_n=counts.ix_ref(t.transactionId).n)
    t = with_order_key(t)
    if ARGS.frame == "reduce":
        t = frame_reduce(t)
    else:
        t = avg_from_frame(frame_pointers(t) if ARGS.frame == "pointers" else frame_chain(t))
    return t.select(
        t.transactionId, t.userId, amount_cents=t.cents, currency=t.currency,
        timestamp=t.timestamp, metadata=t.metadata, avg_transaction_amount=t.avg_text,
        consistency_check=pw.if_else(t.inconsistent, "INCONSISTENT", "CONSISTENT"),
        uniqueness=pw.if_else(t.transactionId.is_not_none() & (t.tx_n > 1), "DUPLICATE", "UNIQUE"),
    )


def main():
    os.makedirs(ARGS.output_dir, exist_ok=True)
    out_path = os.path.join(ARGS.output_dir, "part-0.jsonl")
    if os.path.exists(out_path):
        os.remove(out_path)
    t = time.perf_counter()
    result = quality(read_input())
    pw.io.jsonlines.write(result, out_path, name="quality-out")
    build_s = time.perf_counter() - t

    t = time.perf_counter()
    pw.run(monitoring_level=pw.MonitoringLevel.NONE)
    run_s = time.perf_counter() - t
    total_s = time.perf_counter() - T0

    rows = 0
    with open(out_path, "rb") as f:
        for _ in f:
            rows += 1
    print(json.dumps({
        "output_lines": rows,
        "import_s": round(IMPORT_S, 3),
        "build_s": round(build_s, 3),
        "run_s": round(run_s, 3),
        "total_s": round(total_s, 3),
        "mode": ARGS.mode,
        "frame": ARGS.frame,
        "threads": ARGS.threads,
        "commits": FileSubject.commits if ARGS.mode == "streaming" else 1,
        **({"skipped_lines": FileSubject.skipped} if ARGS.mode == "streaming" else {}),
        "pathway": pw.__version__,
    }), flush=True)


if __name__ == "__main__":
    sys.exit(main())
