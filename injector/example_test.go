package injector_test

import (
	"fmt"

	"github.com/pitstopci/pitstop/injector"
)

func ExampleInsert() {
	src := []byte(`on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4   # comments stay

      - run: make
`)
	res, err := injector.Insert("ci.yml", src, injector.Options{Job: "build", After: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(string(res.Out))
	// Output:
	// on: push
	// jobs:
	//   build:
	//     runs-on: ubuntu-latest
	//     steps:
	//       - uses: actions/checkout@v4   # comments stay
	//       - name: Pause for SSH debugging (pitstop)
	//         id: pitstop-pause
	//         if: ${{ !cancelled() }}
	//         uses: pitstopci/pitstop/agent@v1
	//         with:
	//           step-run: "make"
	//           step-number: "2"
	//
	//       - run: make
}

func ExampleInsert_outOfRange() {
	src := []byte("on: push\njobs:\n  build:\n    steps:\n      - run: make\n")
	_, err := injector.Insert("ci.yml", src, injector.Options{After: 2})
	fmt.Println(err)
	// Output:
	// ci.yml:5:7: job "build" has 1 step; --ssh-after-step 2 is out of range (0..1)
}

func ExampleRemove() {
	src := []byte("on: push\njobs:\n  build:\n    steps: [{run: make}]\n")
	paused, _ := injector.Insert("ci.yml", src, injector.Options{After: 1})
	fmt.Print(string(paused.Out))
	res, _ := injector.Remove("ci.yml", paused.Out)
	fmt.Print(string(res.Out))
	fmt.Println(res.Removed, string(res.Out) == string(src))
	// Output:
	// on: push
	// jobs:
	//   build:
	//     steps: [{run: make}, {name: Pause for SSH debugging (pitstop), id: pitstop-pause, if: "${{ !cancelled() }}", uses: pitstopci/pitstop/agent@v1}]
	// on: push
	// jobs:
	//   build:
	//     steps: [{run: make}]
	// 1 true
}
