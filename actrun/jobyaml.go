package actrun

import (
	"sort"

	"github.com/pitstopci/pitstop/workflows"
)

// jobSpec is what pitstop act needs to know about where act runs a job.
type jobSpec struct {
	// Image is the job's container image (`container:`), "" for none.
	Image string
	// Services are the IDs of the job's service containers.
	Services []string
}

// parsedJob returns job (the only one when job is "") of a workflow, or
// nil. The workflow has been parsed by the injector already, so errors are
// the injector's to report; here they only leave what is read empty.
func parsedJob(src []byte, job string) *workflows.Job {
	wf, err := workflows.Parse("workflow", src)
	if err != nil {
		return nil
	}
	j, err := wf.Job(job)
	if err != nil {
		return nil
	}
	return j
}

// readJobSpec reads job's container and services from a workflow.
func readJobSpec(src []byte, job string) jobSpec {
	j := parsedJob(src, job)
	if j == nil {
		return jobSpec{}
	}
	var spec jobSpec
	if j.Container != nil {
		spec.Image = j.Container.Image
	}
	for _, s := range j.Services {
		spec.Services = append(spec.Services, s.ID)
	}
	sort.Strings(spec.Services)
	return spec
}
