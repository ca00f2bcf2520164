// Package component holds widgets shared by pages: form fields with their errors, paging,
// status badges.
package component

import (
	"context"
	"net/url"
	"strconv"
	"time"

	"github.com/dossierkast/dossierkast/internal/i18n"
)

// Field is one labelled form input.
type Field struct {
	Name     string
	Label    string // message key
	Type     string // input type; "" means text
	Value    string
	Error    string // message key, "" when valid
	Required bool
	Hint     string // message key, optional
}

// Option is one choice of a select or a checkbox group.
type Option struct {
	Value    string
	Label    string // shown as is
	Selected bool
}

// Choices returns the options of a list fixed in code: each value labelled by the message key(value),
// the one equal to chosen selected.
func Choices[T ~string](ctx context.Context, values []T, key func(T) string, chosen T) []Option {
	opts := make([]Option, 0, len(values))
	for _, v := range values {
		opts = append(opts, Option{Value: string(v), Label: i18n.T(ctx, key(v)), Selected: v == chosen})
	}
	return opts
}

// DateValue formats t for a date input: "" for none or the zero time.
func DateValue(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.Format("2006-01-02")
}

// DateTimeValue formats t for a datetime-local input, in Europe/Amsterdam; "" for the zero time.
func DateTimeValue(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(i18n.Amsterdam).Format("2006-01-02T15:04")
}

// Pager is the paging bar under a list.
type Pager struct {
	Path   string
	Query  url.Values // the list's filters, kept on every page link
	Offset int
	Limit  int
	Total  int
	// More says that more than Total match: Total is as far as the list counted.
	More bool
	// OffsetParam names the offset in the query string: "offset" when empty. A page with
	// several paged lists gives each its own.
	OffsetParam string
	// Anchor, when set, is the id of the element page links scroll to.
	Anchor string
}

// HasPrev reports whether there is a previous page.
func (p Pager) HasPrev() bool { return p.Offset > 0 }

// HasNext reports whether there is a next page.
func (p Pager) HasNext() bool { return p.Offset+p.Limit < p.Total || p.More }

// From is the 1-based number of the first row shown.
func (p Pager) From() int {
	if p.Total == 0 {
		return 0
	}
	return p.Offset + 1
}

// To is the number of the last row shown.
func (p Pager) To() int { return min(p.Offset+p.Limit, p.Total) }

// Link returns the URL of the page starting at offset.
func (p Pager) Link(offset int) string {
	q := url.Values{}
	for k, v := range p.Query {
		q[k] = v
	}
	name := p.OffsetParam
	if name == "" {
		name = "offset"
	}
	q.Set(name, strconv.Itoa(max(offset, 0)))
	link := p.Path + "?" + q.Encode()
	if p.Anchor != "" {
		link += "#" + p.Anchor
	}
	return link
}
