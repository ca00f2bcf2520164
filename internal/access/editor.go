package access

import "github.com/dossierkast/dossierkast/internal/audit"

// Editor is the acting user of a change: every capability function that changes data takes
// one, asks the rule for the change of Principal itself and writes its audit event, signed by
// Actor, in the transaction of the change. The links and blacklist functions bound what an
// editor hands out, and sees, by his own reach (Principal.Facts.Reach).
//
// The zero Editor is nobody: it holds no right, so every change refuses it. A change no user
// makes takes System: jobs, the demo loader and the operator's commands, whose events then show
// in the log without a user.
type Editor struct {
	Principal Principal
	Actor     audit.Actor
	system    bool
}

// System returns the editor of changes no user makes: its Principal is the zero Principal (the
// system), the audit events it writes carry actor, and Allow lets it make any change.
func System(actor audit.Actor) Editor { return Editor{Actor: actor, system: true} }

// Allow returns nil when ed may make a change whose rule answered rule for ed.Principal: the
// system may make any change, a user those the rule allows. A capability function writes
//
//	if err := ed.Allow(access.ManageOrganisation(ed.Principal)); err != nil { … }
//
// before it changes anything.
func (ed Editor) Allow(rule error) error {
	if ed.system {
		return nil
	}
	return rule
}
