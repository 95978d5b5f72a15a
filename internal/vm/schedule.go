package vm

import (
	"runtime"
	"sync"
)

// Job is one guest to boot: Arch orders it, Run boots it and keeps the
// result where its caller wants it.
type Job struct {
	Arch string
	Run  func()
}

// BootOrder puts guests of a foreign architecture first, keeping the
// order otherwise: they are emulated and take longest, and starting them
// last would leave CPUs idle at the end.
func BootOrder(jobs []Job) []Job {
	var order []Job
	for _, foreign := range []bool{true, false} {
		for _, j := range jobs {
			if (j.Arch != HostArch) == foreign {
				order = append(order, j)
			}
		}
	}
	return order
}

// BootAll runs the jobs in BootOrder, parallel at a time (0: one per host
// CPU: each guest has one virtual CPU, and TCG gains nothing from more).
// It returns when all have run.
func BootAll(jobs []Job, parallel int) {
	if parallel <= 0 {
		parallel = runtime.NumCPU()
	}
	queue := make(chan Job, len(jobs))
	for _, j := range BootOrder(jobs) {
		queue <- j
	}
	close(queue)
	var wg sync.WaitGroup
	for range min(parallel, len(jobs)) {
		wg.Go(func() {
			for j := range queue {
				j.Run()
			}
		})
	}
	wg.Wait()
}
