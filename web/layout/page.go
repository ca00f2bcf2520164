// Package layout holds the page shell every screen is rendered in: head, navigation per user
// kind, language switch, flash messages.
package layout

import (
	"github.com/google/uuid"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/org"
)

// Page is what the shell needs; every page's data embeds it.
type Page struct {
	Title      string // message key
	TitleArgs  []any
	User       *org.User // nil when nobody is logged in
	TenantName string
	Path       string // the request path, to mark the current menu item
	Return     string // where to come back to after switching language: this page, with its query
	Flash      string // message key of a one-time notice
}

// Has reports whether the logged-in user holds right r.
func (p Page) Has(r access.Right) bool {
	return p.User != nil && p.User.Principal(uuid.Nil).Has(r)
}

// IsKind reports whether the logged-in user is of kind k.
func (p Page) IsKind(k access.Kind) bool { return p.User != nil && p.User.Kind == k }

// Admin reports whether the user sees the administration menu.
func (p Page) Admin() bool {
	return p.Has(access.UsersManage) || p.Has(access.RolesManage) || p.Has(access.AuditView)
}
