package main

import (
	"os"
	"strconv"
	"time"
)

// A field is one named unsigned 64-bit value of an iteration's result.
type field struct {
	name  string
	value uint64
}

type result struct {
	elapsed time.Duration
	fields  []field
}

// reporter writes one compact JSON line per iteration to stdout.
type reporter struct {
	workload string
	buf      []byte
}

func newReporter(workload string) *reporter {
	return &reporter{workload: workload, buf: make([]byte, 0, 256)}
}

func (r *reporter) print(iteration int, warmup bool, res result) error {
	elapsed := res.elapsed.Nanoseconds()
	if elapsed < 1 {
		elapsed = 1
	}
	b := append(r.buf[:0], `{"workload": "`...)
	b = append(b, r.workload...)
	b = append(b, `", "iteration": `...)
	b = strconv.AppendInt(b, int64(iteration), 10)
	b = append(b, `, "warmup": `...)
	b = strconv.AppendBool(b, warmup)
	b = append(b, `, "elapsed_ns": `...)
	b = strconv.AppendInt(b, elapsed, 10)
	for _, f := range res.fields {
		b = append(b, `, "`...)
		b = append(b, f.name...)
		b = append(b, `": `...)
		b = strconv.AppendUint(b, f.value, 10)
	}
	b = append(b, "}\n"...)
	r.buf = b
	_, err := os.Stdout.Write(b)
	return err
}
