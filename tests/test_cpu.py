"""Which CPU a process computes on: the kernel's ``/proc/cpuinfo`` and the CPUID instruction agree on
real hardware and disagree under a user-mode emulator, where the emulated CPU is what counts."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from weakness_lib.core import cpu


def _registers(text: str) -> list[int]:
    raw = text.encode().ljust(16, b"\x00")
    return [int.from_bytes(raw[i:i + 4], "little") for i in range(0, 16, 4)]


def _fake_cpuid(vendor: str, brand: str, family: int = 0x19, model: int = 0x11, stepping: int = 1,
                max_leaf: int = 0xD, fma: bool = True, avx2: bool = True, avx512: bool = False):
    """CPUID as a CPU with this vendor, brand string, family, model, stepping and these
    instruction sets would answer it (leaf 7 only where ``max_leaf`` reaches it)."""
    v = vendor.encode()
    leaf0 = (max_leaf, int.from_bytes(v[0:4], "little"), int.from_bytes(v[8:12], "little"),
             int.from_bytes(v[4:8], "little"))
    base_family = min(family, 0xF)
    eax = ((family - base_family) << 20) | ((model >> 4) << 16) | (base_family << 8) | ((model & 0xF) << 4) \
        | stepping
    chunks = [brand.ljust(48, "\x00")[i:i + 16] for i in range(0, 48, 16)]
    leaf7 = (0, avx2 << 5 | avx512 << 16, 0, 0) if max_leaf >= 7 else None
    leaves = {0: leaf0, 1: (eax, 0, fma << 12, 0), 7: leaf7, 0x80000000: (0x80000008, 0, 0, 0)}
    leaves.update({0x80000002 + i: tuple(_registers(c)) for i, c in enumerate(chunks)})
    return lambda leaf, subleaf=0: leaves[leaf]


@pytest.fixture
def machine(monkeypatch):
    """Set what CPUID and /proc/cpuinfo say; caches are cleared before and after."""
    def set_(vendor: str, brand: str, proc_vendor: str | None, proc_model: str | None,
             family: int = 0x19, model: int = 0x11, proc_family: str = "25", proc_mod: str = "17") -> None:
        for f in (cpu.cpuid_identity, cpu.cpu_model, cpu.signature):
            f.cache_clear()
        monkeypatch.setattr(cpu, "cpuid", _fake_cpuid(vendor, brand, family, model))
        proc = {"vendor_id": proc_vendor, "model name": proc_model, "cpu family": proc_family,
                "model": proc_mod}
        monkeypatch.setattr(cpu, "_proc_cpuinfo", proc.get)
    yield set_
    for f in (cpu.cpuid_identity, cpu.cpu_model, cpu.signature):
        f.cache_clear()


def test_real_hardware_is_named_as_the_kernel_names_it(machine):
    # the brand string is padded with spaces and NULs; the kernel's model name is trimmed
    machine("AuthenticAMD", "  AMD EPYC  ", "AuthenticAMD", "AMD EPYC")
    assert cpu.cpuid_identity() == ("AuthenticAMD", "AMD EPYC")
    assert (cpu.cpu_model(), cpu.cpu_family(), cpu.emulated()) == ("AMD EPYC", "amd-epyc", False)


def test_a_frequency_suffix_is_not_part_of_the_family(machine):
    model = "Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz"
    machine("GenuineIntel", model, "GenuineIntel", model)
    assert cpu.cpu_model() == model
    assert cpu.cpu_family() == "intel-r-xeon-r-platinum-8481c"


def test_an_emulated_cpu_is_named_with_its_host_and_never_as_the_host(machine):
    machine("GenuineIntel", "Intel Xeon Processor (Icelake)", "AuthenticAMD", "AMD EPYC")
    assert cpu.cpu_model() == "Intel Xeon Processor (Icelake) (emulated on AMD EPYC)"
    assert cpu.cpu_family() == "emulated-intel-xeon-processor-icelake"
    assert cpu.emulated()


def test_the_same_brand_from_another_vendor_is_still_emulation(machine):
    machine("GenuineIntel", "AMD EPYC", "AuthenticAMD", "AMD EPYC")
    assert cpu.emulated() and cpu.cpu_family() == "emulated-amd-epyc"


def test_an_emulated_cpu_of_the_same_vendor_and_brand_is_found_by_its_family_and_model(machine):
    machine("AuthenticAMD", "AMD EPYC", "AuthenticAMD", "AMD EPYC", family=0x19, model=0x11,
            proc_family="26", proc_mod="2")  # a Zen 4 model emulated on a Zen 5 host
    assert cpu.emulated() and cpu._signature() == (25, 17)


def test_a_kernel_that_hides_the_model_name_is_not_emulation(machine):
    """gVisor writes ``model name : unknown`` and passes CPUID through: real hardware."""
    machine("AuthenticAMD", "AMD EPYC 7B13", "AuthenticAMD", "unknown")
    assert cpu.cpu_model() == "unknown" and not cpu.emulated()


def test_an_x86_process_on_a_kernel_without_an_x86_cpu_is_emulated(machine):
    """qemu-user (or Rosetta) on an Arm host: /proc/cpuinfo has no vendor_id or model name."""
    machine("GenuineIntel", "Intel Xeon Processor (SapphireRapids)", None, None)
    assert cpu.cpu_model() == "Intel Xeon Processor (SapphireRapids) (emulated on an unknown host)"
    assert cpu.cpu_family() == "emulated-intel-xeon-processor-sapphirerapids"


def test_the_brand_ends_at_its_first_nul(machine):
    machine("AuthenticAMD", "AMD EPYC\x00junk", "AuthenticAMD", "AMD EPYC")
    assert cpu.cpuid_identity() == ("AuthenticAMD", "AMD EPYC") and not cpu.emulated()


def test_without_cpuid_the_kernel_names_the_cpu(machine, monkeypatch):
    machine("AuthenticAMD", "AMD EPYC", "AuthenticAMD", "AMD EPYC 9B14")
    monkeypatch.setattr(cpu, "cpuid", lambda leaf, subleaf=0: None)
    assert (cpu.cpu_model(), cpu.emulated()) == ("AMD EPYC 9B14", False)


@pytest.mark.parametrize(("fake", "says"), [
    (dict(family=0x1A, model=0x02, avx512=True), "AuthenticAMD family 26 model 2 stepping 1; FMA AVX2 AVX-512F"),
    (dict(family=0x17, model=0x31, stepping=0), "AuthenticAMD family 23 model 49 stepping 0; FMA AVX2"),
    # no leaf 7: AVX2 is not reported even where the bit would be set
    (dict(max_leaf=6, fma=False), "AuthenticAMD family 25 model 17 stepping 1; none of FMA AVX2 AVX-512F AMX"),
])
def test_the_signature_tells_generations_apart_that_the_brand_does_not(machine, monkeypatch, fake, says):
    """Every generation of a virtual machine's ``AMD EPYC`` has the same brand; CPUID tells them apart."""
    family, model = fake.get("family", 0x19), fake.get("model", 0x11)
    machine("AuthenticAMD", "AMD EPYC", "AuthenticAMD", "AMD EPYC", family, model, str(family), str(model))
    monkeypatch.setattr(cpu, "cpuid", _fake_cpuid("AuthenticAMD", "AMD EPYC", **fake))
    assert cpu.cpu_model() == "AMD EPYC" and cpu.signature() == says


def test_without_cpuid_there_is_no_signature(machine, monkeypatch):
    machine("AuthenticAMD", "AMD EPYC", "AuthenticAMD", "AMD EPYC")
    monkeypatch.setattr(cpu, "cpuid", lambda leaf, subleaf=0: None)
    assert cpu.signature() is None


def test_this_machine_cpuid_agrees_with_its_kernel():
    """Run for real: the executed CPUID instruction gives the kernel's vendor and model name."""
    if cpu.cpuid_identity() is None:
        pytest.skip("no CPUID here (not x86-64, or executable memory refused)")
    vendor, brand = cpu.cpuid_identity()
    model = cpu._proc_cpuinfo("model name")
    assert vendor == cpu._proc_cpuinfo("vendor_id")
    assert brand == " ".join(model.split()) and cpu.cpu_model() == model
    assert tuple(map(str, cpu._signature())) == (cpu._proc_cpuinfo("cpu family"), cpu._proc_cpuinfo("model"))
    assert not cpu.emulated()
    # the signature's stepping and instruction sets are the kernel's too
    head, sets = cpu.signature().split("; ")
    assert head.endswith(f"stepping {cpu._proc_cpuinfo('stepping')}")
    flags = set(cpu._proc_cpuinfo("flags").split())
    kernel = {"FMA": "fma", "AVX2": "avx2", "AVX-512F": "avx512f", "AMX": "amx_tile"}
    reported = set() if sets.startswith("none of ") else set(sets.split())
    assert {k for k, flag in kernel.items() if flag in flags} == reported


@pytest.mark.skipif(shutil.which("qemu-x86_64") is None, reason="QEMU user-mode emulator not installed")
def test_under_an_emulated_intel_xeon_a_process_names_that_cpu():
    """``qemu-x86_64 -cpu Icelake-Server-v6``: the process is told of an Intel Xeon; verify's logs
    then go to ``emulated-intel-xeon-processor-icelake/``, never to the host's folder."""
    code = ("from weakness_lib.core import cpu; from weakness_lib.engine.verify import log_path;"
            "print(cpu.cpu_model()); print(log_path('theory', 'full').parent.name);"
            "print(cpu.signature())")
    out = subprocess.run(["qemu-x86_64", "-cpu", "Icelake-Server-v6", sys.executable, "-c", code],  # QEMU ≥ 7.2
                         capture_output=True, text=True, timeout=300, env=dict(os.environ),
                         check=True).stdout.splitlines()
    assert out[:2] == [f"Intel Xeon Processor (Icelake) (emulated on {cpu._proc_cpuinfo('model name')})",
                       "emulated-intel-xeon-processor-icelake"]
    # Ice Lake server is family 6 model 106; QEMU's TCG emulates no AVX-512, so the emulated Xeon
    # reports none (its log says so: the README's "what the emulator cannot show")
    assert out[2].startswith("GenuineIntel family 6 model 106 ") and out[2].endswith("; FMA AVX2")


def test_the_kernels_spacing_is_kept_as_provenance_stored_it(machine):
    """Older Xeons pad their brand string inside; provenance compares the kernel's string as is."""
    padded = "Intel(R) Xeon(R) CPU    E5-2680 v4 @ 2.40GHz"  # 44 of the 48 brand bytes
    machine("GenuineIntel", padded, "GenuineIntel", padded)
    assert cpu.cpu_model() == padded and not cpu.emulated()
    assert cpu.cpu_family() == "intel-r-xeon-r-cpu-e5-2680-v4"
