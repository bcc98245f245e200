package wire

import (
	"encoding/json"
	"testing"
)

// TestHoldRequestRoundTrip: a request encoded by the hold step decodes
// in the agent as the same value, under the names the protocol uses.
func TestHoldRequestRoundTrip(t *testing.T) {
	want := HoldRequest{Hold: HoldFailure, JobStatus: "failure"}
	data, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != `{"hold":"failure","job_status":"failure"}` {
		t.Errorf("encoded as %s", data)
	}
	var got HoldRequest
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestHoldRequestCheck(t *testing.T) {
	for _, tt := range []struct {
		r    HoldRequest
		want string
	}{
		{HoldRequest{Hold: HoldAlways, JobStatus: "success"}, ""},
		{HoldRequest{Hold: HoldFailure, JobStatus: "failure"}, ""},
		{HoldRequest{Hold: HoldNever, JobStatus: "cancelled"}, ""},
		{HoldRequest{Hold: "sometimes", JobStatus: "success"}, `hold "sometimes" is not one of always, failure, never`},
		{HoldRequest{Hold: "", JobStatus: "success"}, `hold "" is not one of always, failure, never`},
		{HoldRequest{Hold: HoldAlways, JobStatus: ""}, `job status "" is not one of success, failure, cancelled`},
		{HoldRequest{Hold: HoldAlways, JobStatus: "skipped"}, `job status "skipped" is not one of success, failure, cancelled`},
	} {
		err := tt.r.Check()
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("%+v.Check() = %q, want %q", tt.r, got, tt.want)
		}
	}
}
