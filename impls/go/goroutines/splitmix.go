package main

// splitmix64 is the shared mixing step of the workloads (wrapping arithmetic).
func splitmix64(x uint64) uint64 {
	x += 0x9E3779B97F4A7C15
	z := (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// task applies splitmix64 rounds times to id.
func task(id uint64, rounds int) uint64 {
	v := id
	for range rounds {
		v = splitmix64(v)
	}
	return v
}
