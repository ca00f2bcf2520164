// Package layout holds the page shell every screen is rendered in: head, navigation per user
// kind, language switch, flash messages.
package layout

import (
	"strings"

	"github.com/dossierkast/dossierkast/internal/org"
)

// Page is what the shell needs; every page's data embeds it.
type Page struct {
	Title      string // message key
	TitleArgs  []any
	User       *org.User // nil when nobody is logged in
	TenantName string
	May        May
	Path       string // the request path, to mark the current menu item
	Return     string // where to come back to after switching language: this page, with its query
	Flash      string // message key of a one-time notice
}

// May is what the interface offers the logged-in user: each field is true when the rule of the
// route behind the link lets him through. The server fills it from the access engine; views
// show what it allows and decide nothing.
type May struct {
	MyClients    bool // the coach's start: his clients, instead of the employer and employee lists
	Employees    bool // the employee list and the start page's count of it
	Users        bool // user administration
	ManageAccess bool // a user's links and "Geen toegang tot" list
	Roles        bool // roles, their matrix and the document categories
	Programmes   bool // intervention providers and programmes
	Audit        bool // the audit log
	Jobs         bool // background jobs
	Outbox       bool // the mail outbox
	Datastreams  bool // datastream accounts
}

// NavItem is one entry of a menu: where it leads and the message key of its label.
type NavItem struct {
	Href string
	Key  string
}

// Admin lists the administration screens m offers, in the order of the "Beheer" menu. A new
// screen is one line here, with the May field that guards it.
func (m May) Admin() []NavItem {
	var items []NavItem
	add := func(ok bool, href, key string) {
		if ok {
			items = append(items, NavItem{Href: href, Key: key})
		}
	}
	add(m.Users, "/admin/users", "nav.users")
	add(m.Roles, "/admin/roles", "nav.roles")
	add(m.Roles, "/admin/categories", "nav.categories")
	add(m.Programmes, "/admin/interventions", "nav.programmes")
	add(m.Datastreams, "/admin/datastreams", "nav.datastreams")
	add(m.Audit, "/admin/audit", "nav.audit")
	add(m.Jobs, "/admin/jobs", "nav.jobs")
	add(m.Outbox, "/admin/outbox", "nav.outbox")
	return items
}

// current reports whether href is the menu item of the page at path.
func current(path, href string) bool {
	return path == href || (href != "/" && strings.HasPrefix(path, href))
}

// adminCurrent reports whether the page at path is one of items.
func adminCurrent(path string, items []NavItem) bool {
	for _, it := range items {
		if current(path, it.Href) {
			return true
		}
	}
	return false
}
