package server

import (
	"net/http"

	"github.com/dossierkast/dossierkast/internal/access"
)

// caseEditor is the request's user as the editor of case data: the capability checks his right
// and signs its audit event with him.
func caseEditor(r *http.Request) access.Editor {
	return access.Editor{Principal: mustCurrent(r).Principal, Actor: actor(r)}
}
