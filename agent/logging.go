package agent

import (
	"fmt"
	"io"
	"time"

	"github.com/rs/zerolog"
)

// Log formats accepted by NewLogger.
const (
	LogConsole = "console" // readable lines for the step log
	LogJSON    = "json"    // one JSON object per line, for machines
)

// NewLogger returns the job-log logger for format (LogConsole or
// LogJSON) writing to w. color adds ANSI colours to console output; the
// GitHub log viewer shows them, a file does not want them.
func NewLogger(w io.Writer, format string, color bool) (zerolog.Logger, error) {
	switch format {
	case "", LogConsole:
		cw := zerolog.ConsoleWriter{Out: w, NoColor: !color, TimeFormat: time.TimeOnly}
		return zerolog.New(cw).With().Timestamp().Logger(), nil
	case LogJSON:
		return zerolog.New(w).With().Timestamp().Logger(), nil
	default:
		return zerolog.Nop(), fmt.Errorf("log format %q is not one of %q, %q", format, LogConsole, LogJSON)
	}
}
