"""Which CPU this process runs on: kernels, and therefore the last bits of a float32 result, differ
between CPU families. A module of its own so that :mod:`weakness_lib.core.numerics` (is a stored
table comparable here?) and :mod:`weakness_lib.core.provenance` (what produced a result) do not
import each other.

Two witnesses name the CPU. The kernel's ``/proc/cpuinfo`` says what the machine is; the ``CPUID``
instruction says what *this process* is told, and that is what MKL, oneDNN and ATen dispatch on.
On real hardware, virtual machines included, the kernel copies its ``model name`` from CPUID, so the
two agree. They disagree only under a user-mode CPU emulator (QEMU's ``qemu-x86_64 -cpu MODEL``):
then the process runs on the emulated CPU, and :func:`cpu_model` says so instead of naming the host.
"""

from __future__ import annotations

import ctypes
import functools
import mmap
import platform
import re

#: x86-64 (System V ABI) machine code for ``void cpuid(uint32 leaf, uint32 subleaf, uint32 out[4])``
_CPUID_CODE = bytes([
    0x53,                    # push rbx            (callee-saved, CPUID clobbers it)
    0x49, 0x89, 0xD0,        # mov  r8, rdx        out
    0x89, 0xF8,              # mov  eax, edi       leaf
    0x89, 0xF1,              # mov  ecx, esi       subleaf
    0x0F, 0xA2,              # cpuid
    0x41, 0x89, 0x00,        # mov  [r8], eax
    0x41, 0x89, 0x58, 0x04,  # mov  [r8+4], ebx
    0x41, 0x89, 0x48, 0x08,  # mov  [r8+8], ecx
    0x41, 0x89, 0x50, 0x0C,  # mov  [r8+12], edx
    0x5B,                    # pop  rbx
    0xC3,                    # ret
])


@functools.lru_cache(maxsize=1)
def _cpuid_function() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    """The CPUID instruction as a callable, or ``None`` off x86-64 or where executable memory is
    refused (a hardened kernel); callers then fall back to ``/proc/cpuinfo``."""
    if platform.machine() != "x86_64":  # the code follows the System V calling convention
        return None
    try:
        page = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    except (OSError, ValueError, AttributeError):
        return None
    page.write(_CPUID_CODE)
    address = ctypes.addressof(ctypes.c_char.from_buffer(page))
    func = ctypes.CFUNCTYPE(None, ctypes.c_uint32, ctypes.c_uint32,
                            ctypes.POINTER(ctypes.c_uint32))(address)
    func._page = page  # type: ignore[attr-defined]  # keep the code mapped while func lives
    return func


def cpuid(leaf: int, subleaf: int = 0) -> tuple[int, int, int, int] | None:
    """``(eax, ebx, ecx, edx)`` of ``CPUID(leaf, subleaf)`` as this process sees it, or ``None``."""
    func = _cpuid_function()
    if func is None:
        return None
    out = (ctypes.c_uint32 * 4)()
    func(leaf, subleaf, out)
    return out[0], out[1], out[2], out[3]


def _text(*registers: int) -> str:
    return b"".join(r.to_bytes(4, "little") for r in registers).decode("ascii", "replace")


@functools.lru_cache(maxsize=1)
def cpuid_identity() -> tuple[str, str] | None:
    """``(vendor, brand)`` from CPUID: leaf 0 gives the vendor (``GenuineIntel``,
    ``AuthenticAMD``), leaves 0x80000002–4 the 48-byte brand string. ``None`` without CPUID."""
    leaf0, ext = cpuid(0), cpuid(0x80000000)
    if leaf0 is None or ext is None:
        return None
    vendor = _text(leaf0[1], leaf0[3], leaf0[2])
    if ext[0] < 0x80000004:
        return vendor, ""
    brand = "".join(_text(*cpuid(leaf)) for leaf in range(0x80000002, 0x80000005))  # type: ignore[misc]
    return vendor, " ".join(brand.split("\x00", 1)[0].split())


def _proc_cpuinfo(key: str) -> str | None:
    """The first ``key`` line of ``/proc/cpuinfo`` (stripped, as provenance has always stored it),
    or ``None``."""
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.split(":", 1)[0].strip() == key:
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def _signature() -> tuple[int, int] | None:
    """(family, model) from CPUID leaf 1, extended fields folded in as the kernel prints them."""
    leaf1 = cpuid(1)
    if leaf1 is None:
        return None
    eax = leaf1[0]
    family, model = (eax >> 8) & 0xF, (eax >> 4) & 0xF
    if family == 0xF:
        family += (eax >> 20) & 0xFF
    if family >= 6:
        model += ((eax >> 16) & 0xF) << 4
    return family, model


#: the vector instruction sets MKL, oneDNN and ATen choose kernels by, as CPUID reports them:
#: (leaf, register 0–3 for eax–edx, bit, name)
_FEATURES = ((1, 2, 12, "FMA"), (7, 1, 5, "AVX2"), (7, 1, 16, "AVX-512F"), (7, 3, 24, "AMX"))


@functools.lru_cache(maxsize=1)
def signature() -> str | None:
    """What CPUID tells this process beyond the brand string, e.g. ``AuthenticAMD family 26 model 2
    stepping 1; FMA AVX2 AVX-512F``: the vendor, family, model and stepping as ``/proc/cpuinfo``
    prints them (the brand ``AMD EPYC`` of a virtual machine hides which generation it is), and
    which of the instruction sets in :data:`_FEATURES` it reports. ``None`` without CPUID."""
    ident, sig, leaf0, leaf1 = cpuid_identity(), _signature(), cpuid(0), cpuid(1)
    if ident is None or sig is None or leaf0 is None or leaf1 is None:
        return None
    leaves = {1: leaf1, 7: cpuid(7) if leaf0[0] >= 7 else None}
    have = [name for leaf, reg, bit, name in _FEATURES
            if leaves[leaf] is not None and leaves[leaf][reg] >> bit & 1]  # type: ignore[index]
    return (f"{ident[0]} family {sig[0]} model {sig[1]} stepping {leaf1[0] & 0xF}; "
            + (" ".join(have) or "none of " + " ".join(f[3] for f in _FEATURES)))


def _told_of_another_cpu(vendor: str, brand: str, host: str | None) -> bool:
    """Whether CPUID describes another CPU than the kernel does: another vendor, family or model,
    or another brand string where the kernel gives one (gVisor, for one, writes ``unknown``)."""
    proc_vendor = _proc_cpuinfo("vendor_id")
    if proc_vendor is None:  # an x86-64 process on a kernel that knows no x86 CPU: emulated
        return True
    if vendor != proc_vendor:
        return True
    sig, fam, mod = _signature(), _proc_cpuinfo("cpu family"), _proc_cpuinfo("model")
    if sig is not None and fam is not None and mod is not None and (str(sig[0]), str(sig[1])) != (fam, mod):
        return True
    return bool(brand) and host not in (None, "", "unknown") and brand != " ".join(host.split())


@functools.lru_cache(maxsize=1)
def cpu_model() -> str:
    """The CPU model this process computes on, e.g. ``AMD EPYC``: the kernel's ``model name``
    (unchanged from earlier provenance), or, where CPUID tells the process of another CPU (a
    user-mode emulator), ``<CPUID brand> (emulated on <host model>)``."""
    host = _proc_cpuinfo("model name")
    ident = cpuid_identity()
    if ident is not None and _told_of_another_cpu(*ident, host):
        vendor, brand = ident
        return f"{brand or vendor} (emulated on {host or 'an unknown host'})"
    return host or (ident[1] if ident else "") or platform.processor() or "unknown"


def emulated() -> bool:
    """Whether this process runs on an emulated CPU (see :func:`cpu_model`)."""
    return names_emulated(cpu_model())


def names_emulated(model: str) -> bool:
    """Whether a CPU name as :func:`cpu_model` writes it (a log's, a table's provenance) is an
    emulated CPU's."""
    return "(emulated on " in model


def cpu_family() -> str:
    """A folder-safe name of this CPU model, e.g. ``amd-epyc`` or ``intel-r-xeon-r-platinum-8481c``
    (frequency suffixes dropped): the unit of "a CPU family" for verify logs. An emulated CPU is
    ``emulated-<model>``, e.g. ``emulated-intel-xeon-processor-icelake``, never the host's name."""
    model = re.sub(r"\s*\(emulated on .*\)$", "", cpu_model())
    model = re.sub(r"\s*(CPU\s*)?@.*$", "", model)
    slug = re.sub(r"[^a-z0-9]+", "-", model.lower()).strip("-") or "unknown-cpu"
    return f"emulated-{slug}" if emulated() else slug
