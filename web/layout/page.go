// Package layout holds the page shell every screen is rendered in: head, navigation per user
// kind, language switch, flash messages.
package layout

import "github.com/dossierkast/dossierkast/internal/org"

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
