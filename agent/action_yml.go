package agent

import _ "embed" // for ActionYAML

// ActionYAML is agent/action.yml, the action that installs and runs the
// agent, as bytes. The agent does not read it; it is here because embed
// reaches only files in the package's own directory, and it lets the
// command line check --with inputs against the very inputs this build's
// action declares (see package agent/inputs).
//
//go:embed action.yml
var ActionYAML []byte
