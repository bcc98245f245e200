package actrun

// runsOn returns the literal runs-on labels of job in a workflow (see
// workflows.Job.RunsOn).
func runsOn(src []byte, job string) []string {
	if j := parsedJob(src, job); j != nil {
		return j.RunsOn
	}
	return nil
}

// jobIf returns the job's own if: condition as written, or "".
func jobIf(src []byte, job string) string {
	if j := parsedJob(src, job); j != nil {
		return j.If
	}
	return ""
}
