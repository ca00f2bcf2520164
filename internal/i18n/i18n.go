// Package i18n holds the message catalogues (Dutch by default, English per user) and formats
// dates and numbers the Dutch way, in Europe/Amsterdam.
package i18n

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // Europe/Amsterdam must resolve on machines without zoneinfo
)

// Languages the interface is translated into; the first is the default.
var Languages = []string{"nl", "en"}

//go:embed nl.json en.json
var files embed.FS

var catalogues = map[string]map[string]string{}

func init() {
	for _, lang := range Languages {
		b, err := files.ReadFile(lang + ".json")
		if err != nil {
			panic(err)
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			panic(fmt.Sprintf("i18n: %s.json: %v", lang, err))
		}
		catalogues[lang] = m
	}
}

// Amsterdam is the time zone every date is shown in.
var Amsterdam = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		panic(err)
	}
	return loc
}()

type langKey struct{}

// WithLang returns ctx carrying the user's language.
func WithLang(ctx context.Context, lang string) context.Context {
	return context.WithValue(ctx, langKey{}, lang)
}

// Lang returns the language in ctx, Dutch by default.
func Lang(ctx context.Context) string {
	if l, ok := ctx.Value(langKey{}).(string); ok && catalogues[l] != nil {
		return l
	}
	return Languages[0]
}

// T returns the message for key in ctx's language, formatted with args. A key missing from the
// catalogue is returned as is, so it shows up in tests and on screen.
func T(ctx context.Context, key string, args ...any) string {
	return Translate(Lang(ctx), key, args...)
}

// Translate is T for an explicit language. A message with plural forms is in the catalogue as
// key.one and key.other; when key itself is not, the first argument, an int, chooses the form.
func Translate(lang, key string, args ...any) string {
	if _, ok := catalogues[Languages[0]][key]; !ok && isPlural(key) {
		if n, ok := firstInt(args); ok {
			return Plural(lang, key, n, args...)
		}
	}
	return format(lang, key, args)
}

// Plural is the message key in lang in the plural form for the count n (key.one for 1,
// key.other otherwise: the rule of both Dutch and English), formatted with args, which need
// not hold n itself (a count may be passed formatted, as Number makes it).
func Plural(lang, key string, n int, args ...any) string {
	return format(lang, key+"."+pluralForm(n), args)
}

// TN is Plural in ctx's language.
func TN(ctx context.Context, key string, n int, args ...any) string {
	return Plural(Lang(ctx), key, n, args...)
}

// PluralForms are the forms a message with plural forms has in every catalogue.
var PluralForms = []string{"one", "other"}

func pluralForm(n int) string {
	if n == 1 || n == -1 {
		return "one"
	}
	return "other"
}

// isPlural reports whether key is a message with plural forms: its form "one" marks it (keys
// such as "absence.cause.other" are choices of their own, not plural forms).
func isPlural(key string) bool {
	_, ok := catalogues[Languages[0]][key+".one"]
	return ok
}

func firstInt(args []any) (int, bool) {
	if len(args) == 0 {
		return 0, false
	}
	switch n := args[0].(type) {
	case int:
		return n, true
	case int64:
		return int(n), true
	}
	return 0, false
}

func format(lang, key string, args []any) string {
	msg, ok := catalogues[lang][key]
	if !ok {
		msg, ok = catalogues[Languages[0]][key]
	}
	if !ok {
		return key
	}
	if len(args) > 0 {
		return fmt.Sprintf(msg, args...)
	}
	return msg
}

// Has reports whether key is in the Dutch catalogue, as a message or as one with plural forms.
func Has(key string) bool {
	_, ok := catalogues[Languages[0]][key]
	return ok || isPlural(key)
}

// Keys returns the keys of a language's catalogue.
func Keys(lang string) []string {
	var keys []string
	for k := range catalogues[lang] {
		keys = append(keys, k)
	}
	return keys
}

// DateTime formats t as 2-1-2027 14:05 in Europe/Amsterdam; the zero time as "".
func DateTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(Amsterdam).Format("2-1-2006 15:04")
}

// Date formats a calendar date as 2-1-2027; nil as "".
func Date(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.Format("2-1-2006")
}

// Number formats n with a dot between thousands: 100.000.
func Number(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte('.')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// ParseDate reads a date as typed in a form: 2-1-2027, 02-01-2027 or the ISO 2027-01-02 that
// date inputs send.
func ParseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-01-02", "2-1-2006", "02-01-2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("not a date: %q", s)
}
