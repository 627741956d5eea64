"""Where the committed store has been re-computed bit for bit, and on which CPUs.

Reads what ``weakness-repro verify --log`` wrote (``results/full/verify/<CPU family>/<study>.txt``,
one folder per CPU the process ran on; ``native-before-pinning/`` holds the logs of the tables
computed before numerics were pinned and is not read) and the emulator's calibration
(``benchmarks/results/emulated_cpu.json``, :mod:`benchmarks.record_emulated_cpu`).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from weakness_lib.core.cpu import names_emulated
from weakness_lib.core.numerics import PROFILE
from weakness_lib.core.paths import results_root
from weakness_lib.engine import base
from weakness_lib.engine.registry import STUDIES

#: the folder of logs written before numerics were pinned (other numerics, not read here)
BEFORE_PINNING = "native-before-pinning"
_HEADER = re.compile(r"^verify (?P<study>\S+) \(.*?numerics (?P<profile>\S+) on (?P<cpu>.+?); ")
_CPUID = re.compile(r"^  CPUID: (?P<signature>.+)$")
_UNIT = re.compile(r"^  (?P<unit>\S+)\s+\d+\s+(?P<result>PASS|FAIL)\s+(?P<how>.*?)\s+\((?P<s>[\d.]+) s\)$")


@dataclass(frozen=True)
class Log:
    """One verify log: the study, the CPU its process ran on, and each unit's outcome."""

    study: str
    cpu: str
    profile: str
    units: tuple[tuple[str, str], ...]  # (unit, "bit for bit" | "within tolerance" | "differs")
    cpuid: str | None = None  # core.cpu.signature() of the process (logs since 2026-12-05)
    seconds: tuple[float, ...] = ()  # each unit's wall time, in the order of ``units``


def parse_log(text: str) -> Log | None:
    """A log's header and unit lines (``None`` if it has no header, e.g. a truncated file)."""
    lines = text.splitlines()
    head = _HEADER.match(lines[0]) if lines else None
    if head is None:
        return None
    units, seconds, sig = [], [], None
    for line in lines[1:]:
        sig = sig or (m["signature"] if (m := _CPUID.match(line)) else None)
        m = _UNIT.match(line)
        if m:
            outcome = ("differs" if m["result"] == "FAIL" else
                       "bit for bit" if m["how"] == "bit for bit" else "within tolerance")
            units.append((m["unit"], outcome))
            seconds.append(float(m["s"]))
    return Log(head["study"], head["cpu"], head["profile"], tuple(units), sig, tuple(seconds))


def read_logs(root: Path | None = None) -> dict[str, list[Log]]:
    """Every pinned-numerics log by CPU family folder, folders and files in name order."""
    root = root or results_root("full") / "verify"
    out: dict[str, list[Log]] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name != BEFORE_PINNING) \
            if root.is_dir() else []:
        logs = [parse_log(f.read_text(encoding="utf-8")) for f in sorted(folder.glob("*.txt"))]
        out[folder.name] = [log for log in logs if log is not None and log.profile == PROFILE]
    return out


def short_cpu(cpu: str) -> str:
    """A CPU name short enough for a table column: ``Intel Xeon Processor (SapphireRapids)
    (emulated on AMD EPYC)`` → ``Intel Xeon (SapphireRapids), emulated``."""
    m = re.match(r"^(?P<name>.*?) \(emulated on .*\)$", cpu)
    return f"{m['name'].replace(' Processor', '')}, emulated" if m else cpu


def _hash(h: str | None) -> str:
    return f"{h[:8]}…" if h else "—"


def _chapter(study: str) -> str:
    """The chapter number of a study (``04``, ``05b``) from its notebook's name."""
    spec = STUDIES.get(study)
    return spec.notebook.split("_", 1)[0] if spec else study


def _outcome(logs: list[Log]) -> str:
    units = [o for log in logs for _, o in log.units]
    if not units:
        return "no unit re-computed"
    if "differs" in units:
        return f"{units.count('differs')} of {len(units)} differ"
    tol = units.count("within tolerance")
    return ("all bit for bit" if not tol else
            f"{len(units) - tol} bit for bit, {tol} within λ_max's solver tolerance")


def _generation(logs: list[Log]) -> str:
    """`` (CPUID family 26, model 2)``: which generation the logs' processes ran on, where their
    logs record it (a virtual machine's brand, ``AMD EPYC``, does not say), else ``""``."""
    seen = [m.groups() for log in logs if log.cpuid
            and (m := re.search(r"family (\d+) model (\d+)", log.cpuid))]
    if not seen:
        return ""
    numeric = sorted({(int(f), int(m)) for f, m in seen})
    which = "; ".join(f"family {f}, model {m}" for f, m in numeric)
    return f" (CPUID {which}" + ("" if len(seen) == len(logs) else
                                 f", recorded in {len(seen)} of {len(logs)} logs") + ")"


def stored_studies() -> list[str]:
    """The studies with units in the full store, trained networks or (theory) exact enumerations:
    verify's subject. IV has none: it only re-reads two of those tables."""
    return [s.name for s in STUDIES.values() if len(base.table(s.name, "full"))]


def checkable_on(cpu: str) -> list[str]:
    """The stored studies whose tables ``cpu`` can re-compute bit for bit: all but the CPU-bound
    ones (``CPU_BOUND``) that another CPU computed."""
    return [name for name in stored_studies()
            if not base.cpu_bound(STUDIES[name].load())
            or base.table(name, "full").provenance.get("cpu") == cpu]


def family_table(by_family: dict[str, list[Log]]) -> pd.DataFrame:
    """One row per CPU: what the process was told it ran on, how many of the tables it can check
    it re-computed (and in which chapters), how many units, and the outcome."""
    rows, checkable = [], functools.cache(lambda cpu: len(checkable_on(cpu)))
    for logs in by_family.values():
        if not logs:
            continue
        chapters = sorted({_chapter(log.study) for log in logs})
        rows.append({"CPU the process ran on": short_cpu(logs[0].cpu) + _generation(logs),
                     "Result": _outcome(logs),
                     "Tables re-computed": f"{len(logs)} of the {checkable(logs[0].cpu)} "
                                           "it can check",
                     "Chapters": ", ".join(chapters),
                     "Units": sum(len(log.units) for log in logs)})
    return pd.DataFrame(rows)


def _logs(by_family: dict[str, list[Log]], emulated: bool) -> list[Log]:
    """Every log whose process ran on an emulated CPU (``emulated``), or on a real one."""
    return [log for logs in by_family.values() for log in logs if names_emulated(log.cpu) == emulated]


def slowdown(by_family: dict[str, list[Log]]) -> tuple[float, float] | None:
    """(least, most) of emulated ÷ native seconds over the units that an emulated and a native log
    of the same table both hold; ``None`` where no unit is in both."""
    native = {(log.study, u): t for log in _logs(by_family, False)
              for (u, _), t in zip(log.units, log.seconds)}
    ratios = [t / native[(log.study, u)] for log in _logs(by_family, True)
              for (u, _), t in zip(log.units, log.seconds) if native.get((log.study, u), 0) > 0]
    return (min(ratios), max(ratios)) if ratios else None


def not_yet(by_family: dict[str, list[Log]]) -> str:
    """Markdown, one sentence per CPU that lacks some of the tables it can check: which (by claim
    and chapter), how long a unit of theirs took natively, and what the emulator's slowdown
    makes of that; ``""`` where every CPU has them all."""
    native, ratio, parts = _logs(by_family, False), slowdown(by_family), []
    for logs in (v for v in by_family.values() if v):
        absent = [n for n in checkable_on(logs[0].cpu) if n not in {log.study for log in logs}]
        if not absent:
            continue
        tables = ", ".join(f"{' and '.join(STUDIES[n].claims)} (chapter {_chapter(n)})" for n in absent)
        secs = [t for log in native if log.study in absent for t in log.seconds]
        text = f"**Not yet re-computed on the {short_cpu(logs[0].cpu)}:** the tables of {tables}."
        if secs:
            lo, hi = round(min(secs)), round(max(secs))
            took = f"{lo}" + (f" to {hi}" if hi > lo else "")
            text += f" A unit of theirs took {took} s natively"
            text += (f"; the emulator has taken {ratio[0]:.0f} to {ratio[1]:.0f} times as long as "
                     f"natively for the same unit, so about {min(secs) * ratio[0] / 3600:.1f} to "
                     f"{max(secs) * ratio[1] / 3600:.0f} h each." if ratio and names_emulated(logs[0].cpu) else ".")
        parts.append(text)
    return " ".join(parts)


#: the calibration's settings in a reader's words
SETTINGS = {"intel_only_mkl_branch": "MKL's Intel-only AVX2 branch",
            "pinned": "pinned numerics"}
#: the row label of the real Xeon's hashes, which come from the reference notes
REAL_XEON = "Intel Xeon, real (reference notes, not run here)"


def _rows(record: dict[str, Any], probe: str) -> list[dict[str, Any]]:
    return [r for r in record["results"]["rows"] if r.get("probe", "isa") == probe]


def _where(r: dict[str, Any]) -> str:
    return short_cpu(r["cpu"]) if r["qemu_model"] else f"{r['cpu']} (this machine)"


def calibration_table(record: dict[str, Any]) -> pd.DataFrame:
    """Training-probe hash per CPU (rows) and setting (columns), the real Intel Xeon's from the
    reference notes first, labelled as not run here."""
    rows: dict[str, dict[str, str]] = {}
    for r in _rows(record, "isa"):
        rows.setdefault(REAL_XEON, {})[SETTINGS[r["settings"]]] = _hash(r["real_xeon_hash"])
        rows.setdefault(_where(r), {})[SETTINGS[r["settings"]]] = _hash(r["hash"])
    return pd.DataFrame([{"CPU the probe was told of": cpu, **hashes} for cpu, hashes in rows.items()])


def calibration_finding(record: dict[str, Any]) -> str:
    """What the calibration shows, in one or two sentences, from its rows (never assumed)."""
    rows = _rows(record, "isa")
    branch = [r for r in rows if r["settings"] == "intel_only_mkl_branch"]
    host = next((r["hash"] for r in branch if not r["qemu_model"]), None)
    intel = [r for r in branch if r["qemu_model"] and r["cpu"].startswith("Intel")]
    amd = [r for r in branch if r["qemu_model"] and r["cpu"].startswith("AMD")]
    faithful = (bool(intel) and all(r["hash"] == r["real_xeon_hash"] for r in intel)
                and host not in (None, intel[0]["real_xeon_hash"])
                and all(r["hash"] == host for r in amd))
    pinned = {r["hash"] for r in rows if r["settings"] == "pinned"}
    same = len(pinned) == 1 and pinned == {r["real_xeon_hash"] for r in rows if r["settings"] == "pinned"}
    first = ("Under MKL's Intel-only branch, whose bits depend on the vendor, the emulated Intel Xeon "
             "gives the real Xeon's hash and the emulated AMD EPYC gives this AMD machine's: the "
             "emulator makes the libraries choose the kernels a real CPU of each vendor gets."
             if faithful else
             "The emulator does **not** reproduce the real CPUs' hashes under MKL's Intel-only "
             "branch, so its verify logs are no evidence for a real Intel Xeon.")
    return first + (" Under pinned numerics every CPU gives the same hash." if same else
                    " Under pinned numerics the hashes **differ** between CPUs.")


#: the leftover probes' columns, in a reader's words
LEFTOVER = {"adam": "Adam, torch's default kernel", "adam_fused": "Adam, torch's fused kernel (the large-batch studies' since 2026-12-05)"}
#: the square-root probe's column
ROOTS = "Square roots not correctly rounded (of 100,003)"


def leftover_table(record: dict[str, Any]) -> pd.DataFrame:
    """Per CPU: the weights' hash after Adam by torch's default kernel and by its fused one, and how
    many float32 square roots are not the correctly rounded one."""
    rows: dict[str, dict[str, Any]] = {}
    for probe, col in LEFTOVER.items():
        for r in _rows(record, probe):
            rows.setdefault(_where(r), {})[col] = _hash(r["hash"])
    for r in _rows(record, "sqrt"):
        rows.setdefault(_where(r), {})[ROOTS] = r["not_correctly_rounded"]
    return pd.DataFrame([{"CPU the probe was told of": cpu, **v} for cpu, v in rows.items()])


def leftover_finding(record: dict[str, Any]) -> str:
    """Whether Adam, plain and fused, keeps its bits across the host and the emulated CPUs: said
    from the rows alone (the mechanism is the page's to explain)."""
    if not _rows(record, "adam"):
        return ""

    def hashes(probe: str) -> tuple[str | None, set[str]]:
        rows = _rows(record, probe)
        return (next((r["hash"] for r in rows if not r["qemu_model"]), None),
                {r["hash"] for r in rows if r["qemu_model"]})

    (adam_host, adam_emu), (fused_host, fused_emu) = hashes("adam"), hashes("adam_fused")
    if adam_emu == {adam_host} and fused_emu == {fused_host}:
        return "Adam gives this machine's bits on every emulated CPU, in both implementations."
    parts = []
    if adam_emu != {adam_host}:
        parts.append("Torch's default Adam kernel gives "
                     + ("the same bits on every emulated CPU, but not this machine's."
                        if len(adam_emu) == 1 and adam_host not in adam_emu else
                        "different bits on different CPUs."))
    else:
        parts.append("Torch's default Adam kernel gives this machine's bits on every emulated CPU.")
    parts.append("Torch's fused Adam gives the same bits on every CPU." if fused_emu == {fused_host}
                 else "Torch's fused Adam gives different bits on different CPUs too.")
    return " ".join(parts)
