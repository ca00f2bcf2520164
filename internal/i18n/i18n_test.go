package i18n_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/bundle"
	"github.com/dossierkast/dossierkast/internal/export"
	"github.com/dossierkast/dossierkast/internal/i18n"
)

func TestCataloguesHaveTheSameKeys(t *testing.T) {
	t.Parallel()
	nl, en := i18n.Keys("nl"), i18n.Keys("en")
	slices.Sort(nl)
	slices.Sort(en)
	if diff := cmp.Diff(nl, en); diff != "" {
		t.Errorf("nl and en catalogues differ (-nl +en):\n%s", diff)
	}
}

// keyRE matches string literals that look like catalogue keys.
var keyRE = regexp.MustCompile(`"((?:action|audit|bundle|category|delegation|department|document|employee|employer|error|flash|form|fulldossier|home|job|jobkind|jobstate|kind|language|login|mail|matrix|nav|outbox|pager|right|role|user)\.[a-z0-9_.]+)"`)

// TestEveryUsedKeyExists reads the views and Go code for message keys, and adds the keys built
// at run time, so a missing translation fails here rather than on screen.
func TestEveryUsedKeyExists(t *testing.T) {
	t.Parallel()
	used := map[string]bool{}
	for _, root := range []string{"../../web", "../../internal"} {
		err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			// Audit action keys and rights are not message keys: their labels ("action."+key,
			// "right."+key) are added below.
			if d != nil && d.IsDir() && (filepath.Base(path) == "audit" || filepath.Base(path) == "access") {
				return filepath.SkipDir
			}
			if err != nil || d.IsDir() || strings.HasSuffix(path, "_templ.go") || strings.HasSuffix(path, "_test.go") ||
				!(strings.HasSuffix(path, ".go") || strings.HasSuffix(path, ".templ")) {
				return err
			}
			b, err := os.ReadFile(path)
			for _, m := range keyRE.FindAllStringSubmatch(string(b), -1) {
				if !strings.HasSuffix(m[1], ".") {
					used[m[1]] = true
				}
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range access.Catalogue {
		used["right."+string(r)] = true
	}
	for _, k := range access.Kinds {
		used["kind."+string(k)] = true
	}
	for _, a := range audit.Actions {
		used["action."+a] = true
	}
	for _, s := range []string{"400", "403", "404", "409", "410", "413", "422", "429", "500"} {
		used["error.title."+s] = true
	}
	for _, s := range []string{"available", "scheduled", "running", "retryable", "completed", "cancelled", "discarded", "pending"} {
		used["jobstate."+s] = true
	}
	for _, l := range i18n.Languages {
		used["language."+l] = true
	}
	used["user.status.active"], used["user.status.blocked"], used["jobkind.cleanup_sessions"] = true, true, true
	for _, args := range []interface{ Kind() string }{bundle.GenerateBundleArgs{}, bundle.DeleteDossierArgs{}, bundle.ExpireBundlesArgs{},
		export.GenerateExportArgs{}, export.ExpireExportsArgs{}} {
		used["jobkind."+args.Kind()] = true
	}
	for key := range used {
		if !i18n.Has(key) {
			t.Errorf("message key %q is used but not in the catalogue", key)
		}
	}
}

func TestFormats(t *testing.T) {
	t.Parallel()
	winter := time.Date(2027, 1, 2, 13, 5, 0, 0, time.UTC)
	summer := time.Date(2027, 7, 2, 13, 5, 0, 0, time.UTC)
	day := time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct{ got, want string }{
		{i18n.DateTime(winter), "2-1-2027 14:05"},
		{i18n.DateTime(summer), "2-7-2027 15:05"},
		{i18n.Date(&day), "2-1-2027"},
		{i18n.Date(nil), ""},
		{i18n.Number(100000), "100.000"},
		{i18n.Number(999), "999"},
		{i18n.Number(-1234567), "-1.234.567"},
		{i18n.T(i18n.WithLang(context.Background(), "en"), "nav.employees"), "Employees"},
		{i18n.T(context.Background(), "nav.employees"), "Werknemers"},
		{i18n.T(i18n.WithLang(context.Background(), "fr"), "nav.employees"), "Werknemers"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	for _, s := range []string{"2-1-2027", "02-01-2027", "2027-01-02"} {
		if d, err := i18n.ParseDate(s); err != nil || !d.Equal(day) {
			t.Errorf("ParseDate(%q) = %v, %v", s, d, err)
		}
	}
	if _, err := i18n.ParseDate("31-2-2027"); err == nil {
		t.Error("ParseDate accepted 31 February")
	}
}

// A message with plural forms has every form in every language, and the count chooses it.
func TestPluralForms(t *testing.T) {
	t.Parallel()
	for _, lang := range i18n.Languages {
		keys := i18n.Keys(lang)
		for _, k := range keys {
			// The form "one" marks a message with plural forms.
			base, ok := strings.CutSuffix(k, "."+i18n.PluralForms[0])
			if !ok {
				continue
			}
			for _, form := range i18n.PluralForms {
				if !slices.Contains(keys, base+"."+form) {
					t.Errorf("%s: %s has no form %q", lang, base, form)
				}
			}
		}
	}
	nl, en := context.Background(), i18n.WithLang(context.Background(), "en")
	for _, tc := range []struct{ got, want string }{
		{i18n.T(nl, "login.error.throttled", 1), "Er is te vaak een verkeerd wachtwoord ingevuld. Wacht 1 seconde en probeer het dan opnieuw."},
		{i18n.T(nl, "login.error.throttled", 2), "Er is te vaak een verkeerd wachtwoord ingevuld. Wacht 2 seconden en probeer het dan opnieuw."},
		{i18n.T(en, "login.error.throttled", 1), "Too many wrong attempts. Wait 1 second, then try again."},
		{i18n.T(en, "login.error.throttled", 0), "Too many wrong attempts. Wait 0 seconds, then try again."},
		{i18n.TN(en, "fulldossier.bundle.contents", 1, "1", "2 kB"), "Holds 1 document, 2 kB in all."},
		{i18n.TN(nl, "fulldossier.bundle.contents", 1000, "1.000", "2 MB"), "Bevat 1.000 documenten, samen 2 MB."},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
