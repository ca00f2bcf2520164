package delivery

import (
	"context"
	"errors"

	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/datastream"
	"github.com/dossierkast/dossierkast/internal/i18n"
)

// Failure says why a delivery failed as a message key (datastream.failure.*) and its
// parameters, so that the run's page and its log report each say it in their reader's
// language. Step, when set, is the transport step that failed (datastream.delivery_step.*,
// translated too); Args are shown as they are: a path, a host key's fingerprint, the system's own error.
type Failure struct {
	Key  string   `json:"key"`
	Step string   `json:"step,omitempty"`
	Args []string `json:"args,omitempty"`
}

// Failure keys.
const (
	FailureHostKey        = "datastream.failure.host_key"
	FailureStep           = "datastream.failure.step"
	FailureStepPath       = "datastream.failure.step_path"
	FailureConfigArchived = "datastream.failure.config_archived"
	FailureArchived       = "datastream.failure.account_archived"
	FailureTimeout        = "datastream.failure.timeout"
	FailureCancelled      = "datastream.failure.cancelled"
	FailureInterrupted    = "datastream.failure.interrupted"
	FailureOther          = "datastream.failure.other"
)

// FailureOf says why err stopped a delivery, with the step and file concerned.
func FailureOf(err error) Failure {
	var mismatch *datastream.HostKeyMismatchError
	var step *datastream.StepError
	var ae *apperr.Error
	switch {
	case errors.As(err, &mismatch):
		return Failure{Key: FailureHostKey, Args: []string{mismatch.Presented, mismatch.Pinned}}
	case errors.As(err, &step):
		if step.Path != "" {
			return Failure{Key: FailureStepPath, Step: step.Step, Args: []string{step.Path, errorText(step.Err)}}
		}
		return Failure{Key: FailureStep, Step: step.Step, Args: []string{errorText(step.Err)}}
	case errors.As(err, &ae) && ae.Code == apperr.EINVALID && ae.Message == "datastream.error.config_archived":
		return Failure{Key: FailureConfigArchived}
	case errors.As(err, &ae) && ae.Code == apperr.EINVALID && ae.Message == "datastream.error.archived":
		return Failure{Key: FailureArchived}
	case errors.Is(err, context.DeadlineExceeded):
		return Failure{Key: FailureTimeout}
	}
	return Failure{Key: FailureOther, Args: []string{err.Error()}}
}

func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// Text is the failure in language lang.
func (f Failure) Text(lang string) string {
	args := make([]any, 0, len(f.Args)+1)
	if f.Step != "" {
		key := "datastream.delivery_step." + f.Step
		name := i18n.Translate(lang, key)
		if name == key {
			name = f.Step
		}
		args = append(args, name)
	}
	for _, a := range f.Args {
		args = append(args, a)
	}
	return i18n.Translate(lang, f.Key, args...)
}
