// Unsigned 64-bit arithmetic on pairs of 32-bit halves, without BigInt.
//
// A BigInt operation allocates a heap object and is tens of times slower than arithmetic on
// small integers, so the hot loops keep each 64-bit value as two unsigned 32-bit numbers
// (hi, lo). The low 64 bits of a product need the full 64-bit product of the two low halves,
// which does not fit a double's 53-bit mantissa, so each low half is split into 16-bit
// quarters: every partial product is below 2^32, exact, and stays in V8's integer fast paths.
// The cross terms (hi * lo) only contribute their low 32 bits, which Math.imul gives directly.
// Results come back in `out.hi` / `out.lo` (no allocation per call).

export const out = { hi: 0, lo: 0 };

const TWO32 = 4294967296;

// (ah:al) * (bh:bl) mod 2^64 -> out
export function mul(ah, al, bh, bl) {
  const a0 = al & 0xffff;
  const a1 = al >>> 16;
  const b0 = bl & 0xffff;
  const b1 = bl >>> 16;
  const p = a0 * b1; // < 2^32
  const q = a1 * b0; // < 2^32
  const low = a0 * b0 + (p & 0xffff) * 65536 + (q & 0xffff) * 65536; // < 2^34, exact
  const lo = low >>> 0;
  const carry = (low - lo) / TWO32;
  out.hi = (a1 * b1 + (p >>> 16) + (q >>> 16) + carry + Math.imul(ah, bl) + Math.imul(al, bh)) >>> 0;
  out.lo = lo;
}

// splitmix64 applied `rounds` times to the 64-bit value (hi:lo) -> out.
// The two multiplications are mul() with its constant factor's quarters written out.
export function splitmixRounds(hi, lo, rounds) {
  for (let r = 0; r < rounds; r++) {
    // x += 0x9E3779B97F4A7C15
    let l = lo + 0x7f4a7c15;
    hi = (hi + 0x9e3779b9 + (l >= TWO32 ? 1 : 0)) >>> 0;
    lo = l >>> 0;
    // z = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9
    let zl = (lo ^ ((lo >>> 30) | (hi << 2))) >>> 0;
    let zh = (hi ^ (hi >>> 30)) >>> 0;
    let a0 = zl & 0xffff;
    let a1 = zl >>> 16;
    let p = a0 * 0x1ce4;
    let q = a1 * 0xe5b9;
    let low = a0 * 0xe5b9 + (p & 0xffff) * 65536 + (q & 0xffff) * 65536;
    l = low >>> 0;
    zh = (a1 * 0x1ce4 + (p >>> 16) + (q >>> 16) + (low - l) / TWO32 + Math.imul(zh, 0x1ce4e5b9)
      + Math.imul(zl, 0xbf58476d)) >>> 0;
    zl = l;
    // z = (z ^ (z >> 27)) * 0x94D049BB133111EB
    const yl = (zl ^ ((zl >>> 27) | (zh << 5))) >>> 0;
    const yh = (zh ^ (zh >>> 27)) >>> 0;
    a0 = yl & 0xffff;
    a1 = yl >>> 16;
    p = a0 * 0x1331;
    q = a1 * 0x11eb;
    low = a0 * 0x11eb + (p & 0xffff) * 65536 + (q & 0xffff) * 65536;
    zl = low >>> 0;
    zh = (a1 * 0x1331 + (p >>> 16) + (q >>> 16) + (low - zl) / TWO32 + Math.imul(yh, 0x133111eb)
      + Math.imul(yl, 0x94d049bb)) >>> 0;
    // z ^ (z >> 31); the next round starts from it
    lo = (zl ^ ((zl >>> 31) | (zh << 1))) >>> 0;
    hi = (zh ^ (zh >>> 31)) >>> 0;
  }
  out.hi = hi;
  out.lo = lo;
}

// (ah:al) + (bh:bl) mod 2^64 -> out
export function add(ah, al, bh, bl) {
  const l = al + bl;
  out.hi = (ah + bh + (l >= TWO32 ? 1 : 0)) >>> 0;
  out.lo = l >>> 0;
}

// The unsigned decimal text of (hi:lo), for the JSON line (outside the timed region).
export function decimal(hi, lo) {
  return ((BigInt(hi) << 32n) | BigInt(lo)).toString();
}
