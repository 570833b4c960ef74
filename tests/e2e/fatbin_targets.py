"""Lists the GPU code embedded in ELF files, one line per kind and target
("elf sm_80", "ptx compute_90"): what cuobjdump --list-elf/--list-ptx
would say, for toolkits (like CUDA 13's runfile here) that lack cuobjdump.

The code lives in the .nv_fatbin section: fatbinary containers, each a
16-byte header {u32 magic 0xBA55ED50, u16 version, u16 header size, u64
size of the entries}, holding entries {u16 kind (1 PTX, 2 ELF), u16,
u32 header size, u64 payload size, ..., u32 target at byte 28}.

usage: python3 fatbin_targets.py FILE...
"""
import struct
import sys

FATBIN_MAGIC = 0xBA55ED50
KINDS = {1: "ptx compute_", 2: "elf sm_"}


def section(data, name):
    """The bytes of ELF64 section `name`, or b''."""
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    def header(i):
        return struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize)
    names_offset = header(shstrndx)[4]
    for i in range(shnum):
        name_at, _, _, _, offset, size = header(i)
        end = data.index(b"\0", names_offset + name_at)
        if data[names_offset + name_at:end].decode() == name:
            return data[offset:offset + size]
    return b""


def targets(fatbin):
    found, at = set(), 0
    while at + 16 <= len(fatbin):
        magic, _, header_size, size = struct.unpack_from("<IHHQ", fatbin, at)
        if magic != FATBIN_MAGIC:
            break
        entry, end = at + header_size, at + header_size + size
        while entry < end:
            kind, _, entry_header, payload = struct.unpack_from("<HHIQ", fatbin, entry)
            target, = struct.unpack_from("<I", fatbin, entry + 28)
            if kind in KINDS:
                found.add(KINDS[kind] + str(target))
            entry += entry_header + payload
        at = end
    return found


def main():
    for path in sys.argv[1:]:
        with open(path, "rb") as f:
            for line in sorted(targets(section(f.read(), ".nv_fatbin"))):
                print(line)


main()
