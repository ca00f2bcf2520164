package server

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/i18n"
	"github.com/dossierkast/dossierkast/web/component"
)

// form reads typed values from a parsed form and collects field errors on the way.
type form struct {
	r      *http.Request
	errors map[string]string
}

func newForm(r *http.Request) *form { return &form{r: r, errors: map[string]string{}} }

func (f *form) str(name string) string { return strings.TrimSpace(f.r.PostForm.Get(name)) }

// optUUID reads an optional id; a malformed one is a field error.
func (f *form) optUUID(name string) *uuid.UUID {
	v := f.str(name)
	if v == "" {
		return nil
	}
	id, err := uuid.Parse(v)
	if err != nil {
		f.errors[name] = "error.choose"
		return nil
	}
	return &id
}

func (f *form) uuids(name string) []uuid.UUID {
	var ids []uuid.UUID
	for _, v := range f.r.PostForm[name] {
		id, err := uuid.Parse(v)
		if err != nil {
			f.errors[name] = "error.choose"
			continue
		}
		ids = append(ids, id)
	}
	return ids
}

// optDate reads an optional date (2-1-2006 or 2006-01-02).
func (f *form) optDate(name string) *time.Time {
	v := f.str(name)
	if v == "" {
		return nil
	}
	t, err := i18n.ParseDate(v)
	if err != nil {
		f.errors[name] = "error.date"
		return nil
	}
	return &t
}

// err returns the collected field errors as EINVALID, or nil.
func (f *form) err() error {
	if len(f.errors) == 0 {
		return nil
	}
	return apperr.Invalid(f.errors)
}

// formErrors returns what a refused form shows again: the message key per field ("" for the
// form as a whole) and the status, 422 for input that breaks a rule and 409 for a clash with
// existing data; the refusal is logged at info level with its cause, as renderError logs the
// others. ok is false for any other error, which the caller returns to the error page.
func formErrors(r *http.Request, err error) (errs map[string]string, status int, ok bool) {
	e, ok := apperr.As(err)
	if !ok || (e.Code != apperr.EINVALID && e.Code != apperr.ECONFLICT) {
		return nil, 0, false
	}
	status = statusOf[e.Code]
	logger(r).Info("form refused", "status", status, "err", err, "fields", e.Fields)
	if e.Fields == nil {
		return map[string]string{"": e.Message}, status, true
	}
	return e.Fields, status, true
}

// offsetOf reads a list's offset from the query string.
func offsetOf(r *http.Request) int {
	offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
	return max(offset, 0)
}

func option(value, label string, selected bool) component.Option {
	return component.Option{Value: value, Label: label, Selected: selected}
}
