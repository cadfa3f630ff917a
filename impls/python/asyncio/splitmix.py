"""splitmix64 on Python integers, wrapped to 64 bits by masking."""

MASK64 = 0xFFFF_FFFF_FFFF_FFFF


def splitmix64(x: int) -> int:
    """One splitmix64 step on an unsigned 64-bit integer."""
    x = (x + 0x9E3779B97F4A7C15) & MASK64
    z = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def splitmix64_rounds(x: int, rounds: int) -> int:
    """splitmix64 applied `rounds` times, inlined: a call per round would dominate."""
    for _ in range(rounds):
        x = (x + 0x9E3779B97F4A7C15) & 0xFFFF_FFFF_FFFF_FFFF
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFF_FFFF_FFFF_FFFF
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & 0xFFFF_FFFF_FFFF_FFFF
        x ^= x >> 31
    return x
