// Command cmbench-go runs the cmbench workloads with goroutines, channels,
// sync and sync/atomic, and serves the http_server workload with net/http.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
)

// A setup registers a workload's flags on fs and returns the function that
// runs one iteration with the parsed values.
type setup func(fs *flag.FlagSet) func() result

var batches = map[string]setup{
	"worker_pool":   workerPool,
	"pipeline":      pipeline,
	"mutex_counter": mutexCounter,
	"ping_pong":     pingPong,
	"spawn_idle":    spawnIdle,
	"preemption":    preemption,
}

// defaultProcs is GOMAXPROCS as the runtime chose it at start, before setMaxProcs sizes it
// from --cpus: the runtime's default (the CPUs the process may use).
var defaultProcs = runtime.GOMAXPROCS(0)

func main() {
	if len(os.Args) < 2 {
		workloadError("missing workload")
	}
	name, args := os.Args[1], os.Args[2:]
	if name == "http_server" {
		os.Exit(serveHTTP(args))
	}
	newIteration, ok := batches[name]
	if !ok {
		workloadError(fmt.Sprintf("unknown workload %q", name))
	}
	fs := newFlagSet(name)
	iteration := newIteration(fs)
	var warmups, iterations, cpus count
	fs.Var(&warmups, "warmups", "warm-up iterations W")
	fs.Var(&iterations, "iterations", "measured iterations N")
	fs.Var(&cpus, "cpus", "CPUs the process is pinned to")
	parseFlags(fs, args)
	if cpus < 1 {
		usageError("--cpus must be at least 1")
	}
	setMaxProcs(int(cpus))

	out := newReporter(name)
	total := int(warmups + iterations)
	for i := 0; i < total; i++ {
		if err := out.print(i, i < int(warmups), iteration()); err != nil {
			fmt.Fprintln(os.Stderr, "cmbench-go: writing result:", err)
			os.Exit(1)
		}
	}
}

// setMaxProcs sizes the scheduler from --cpus unless GOMAXPROCS is set in the
// environment, in which case the runtime has already applied it.
func setMaxProcs(cpus int) {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(cpus)
	}
}

func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: cmbench-go %s [flags]\n", name)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args into fs and exits with status 2 on an unknown or
// missing flag, a bad value or a stray argument.
func parseFlags(fs *flag.FlagSet, args []string) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(2)
	}
	if fs.NArg() > 0 {
		usageError(fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var missing []string
	fs.VisitAll(func(f *flag.Flag) {
		if !set[f.Name] {
			missing = append(missing, "--"+f.Name)
		}
	})
	if len(missing) > 0 {
		usageError(fs.Name() + ": missing " + strings.Join(missing, ", "))
	}
}

func usageError(msg string) {
	fmt.Fprintln(os.Stderr, "cmbench-go:", msg)
	os.Exit(2)
}

func workloadError(msg string) {
	names := make([]string, 0, len(batches)+1)
	for name := range batches {
		names = append(names, name)
	}
	names = append(names, "http_server")
	sort.Strings(names)
	usageError(msg + "\nworkloads: " + strings.Join(names, ", "))
}
