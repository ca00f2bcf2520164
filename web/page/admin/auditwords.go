package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/document"
	"github.com/dossierkast/dossierkast/internal/i18n"
)

// AuditLine is one fact of an event's details in words: a label with a value, or, for a change,
// with what it was (Before) and what it became (After).
type AuditLine struct {
	Label  string
	Value  string
	Before string
	After  string
	Change bool
}

// auditLines puts the details of e into words: changes (details "before" and "after") first, as
// before → after per field that changed, a role's rights also as granted and withdrawn; then the
// other facts. Identifiers are left to the detail view's technical part.
func auditLines(ctx context.Context, e audit.Event) []AuditLine {
	d := e.Details
	var lines []AuditLine
	categories, _ := d["categories"].(map[string]any) // the matrix: category id → name
	switch before := d["before"].(type) {
	case map[string]any:
		after, _ := d["after"].(map[string]any)
		for _, k := range unionKeys(before, after) {
			b, a := before[k], after[k]
			if reflect.DeepEqual(b, a) {
				continue
			}
			label, valueKey := detailLabel(ctx, k), k
			if name, ok := categories[k].(string); ok {
				label, valueKey = name, "level"
			}
			lines = append(lines, AuditLine{Label: label, Change: true,
				Before: detailValue(ctx, valueKey, b), After: detailValue(ctx, valueKey, a)})
			if k == "rights" {
				lines = append(lines, rightsChange(ctx, b, a)...)
			}
		}
	case string:
		after, _ := d["after"].(string)
		lines = append(lines, AuditLine{Label: detailLabel(ctx, "access"), Change: true,
			Before: detailValue(ctx, "access", before), After: detailValue(ctx, "access", after)})
	}
	for _, k := range sortedKeys(d) {
		switch {
		case k == "before" || k == "after" || k == "categories" || k == "id" || strings.HasSuffix(k, "_id") || k == "sha256" || k == "requested_by":
			continue
		}
		lines = append(lines, AuditLine{Label: detailLabel(ctx, k), Value: detailValue(ctx, k, d[k])})
	}
	return lines
}

// auditSummary is the details of e in one line, for the list.
func auditSummary(ctx context.Context, e audit.Event) string {
	var parts []string
	for _, l := range auditLines(ctx, e) {
		if l.Change {
			parts = append(parts, l.Label+": "+l.Before+" → "+l.After)
		} else {
			parts = append(parts, l.Label+": "+l.Value)
		}
	}
	return strings.Join(parts, "; ")
}

// rightsChange lists the rights a change granted and withdrew.
func rightsChange(ctx context.Context, before, after any) []AuditLine {
	b, a := stringList(before), stringList(after)
	var granted, withdrawn []string
	for _, r := range a {
		if !slices.Contains(b, r) {
			granted = append(granted, r)
		}
	}
	for _, r := range b {
		if !slices.Contains(a, r) {
			withdrawn = append(withdrawn, r)
		}
	}
	var lines []AuditLine
	if len(granted) > 0 {
		lines = append(lines, AuditLine{Label: i18n.T(ctx, "audit.detail.granted"), Value: rightLabels(ctx, granted)})
	}
	if len(withdrawn) > 0 {
		lines = append(lines, AuditLine{Label: i18n.T(ctx, "audit.detail.withdrawn"), Value: rightLabels(ctx, withdrawn)})
	}
	return lines
}

// rightLabels names rights in the order of the catalogue, as the roles page lists them.
func rightLabels(ctx context.Context, rights []string) string {
	rights = slices.Clone(rights)
	slices.SortStableFunc(rights, func(a, b string) int {
		return slices.Index(access.Catalogue, access.Right(a)) - slices.Index(access.Catalogue, access.Right(b))
	})
	labels := make([]string, len(rights))
	for i, r := range rights {
		labels[i] = i18n.T(ctx, "right."+r)
	}
	return strings.Join(labels, ", ")
}

// detailLabel is the label of a details key: from the catalogue when it has one.
func detailLabel(ctx context.Context, key string) string {
	if i18n.Has("audit.detail." + key) {
		return i18n.T(ctx, "audit.detail."+key)
	}
	return strings.ReplaceAll(key, "_", " ")
}

// detailValue is a details value in words; key says what it is.
func detailValue(ctx context.Context, key string, v any) string {
	switch v := v.(type) {
	case nil:
		return i18n.T(ctx, "audit.detail.empty")
	case bool:
		if v {
			return i18n.T(ctx, "audit.detail.yes")
		}
		return i18n.T(ctx, "audit.detail.no")
	case float64:
		if key == "bytes" || key == "size" {
			return document.FormatSize(int64(v))
		}
		return i18n.Number(int(v))
	case string:
		for _, prefix := range valueKeys[key] {
			if i18n.Has(prefix + v) {
				return i18n.T(ctx, prefix+v)
			}
		}
		if v == "" {
			return i18n.T(ctx, "audit.detail.empty")
		}
		return v
	case []any:
		if key == "rights" {
			if len(v) == 0 {
				return i18n.T(ctx, "audit.detail.none")
			}
			return rightLabels(ctx, stringList(v))
		}
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = detailValue(ctx, key, x)
		}
		if len(parts) == 0 {
			return i18n.T(ctx, "audit.detail.none")
		}
		return strings.Join(parts, ", ")
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// valueKeys are the catalogue prefixes that put a details value into words, by its key: the
// first that has the value wins.
var valueKeys = map[string][]string{
	"access": {"audit.detail.access."},
	"level":  {"matrix.level."},
	"kind":   {"kind.", "jobkind."},
	"status": {"user.status."},
	"reason": {"audit.detail.reason."},
}

// stringList is a JSON array of strings as a slice; other values are left out.
func stringList(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func unionKeys(a, b map[string]any) []string {
	m := map[string]any{}
	for k := range a {
		m[k] = nil
	}
	for k := range b {
		m[k] = nil
	}
	return sortedKeys(m)
}

// detailsJSON is e's details as stored, indented, for the technical part of the detail view.
func detailsJSON(e audit.Event) string {
	b, err := json.MarshalIndent(e.Details, "", "  ")
	if err != nil {
		return ""
	}
	return string(b)
}

// subjectKind is the kind of thing an event is about, in words.
func subjectKind(ctx context.Context, subjectType string) string {
	if i18n.Has("audit.subject." + subjectType) {
		return i18n.T(ctx, "audit.subject."+subjectType)
	}
	return strings.ReplaceAll(subjectType, "_", " ")
}
