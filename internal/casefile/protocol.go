package casefile

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/apperr"
)

// ProtocolKind says what a protocol's trajectories are for.
type ProtocolKind string

// The protocol kinds. Labels live in the message catalogue as "protocol.kind.<kind>".
const (
	ProtocolAbsence                ProtocolKind = "absence"                 // verzuimbegeleiding
	ProtocolInterventionDeployment ProtocolKind = "intervention_deployment" // interventie inzet
	ProtocolInterventionGuidance   ProtocolKind = "intervention_guidance"   // inhoudelijke interventiebegeleiding
	ProtocolOther                  ProtocolKind = "other"
)

// ProtocolKinds lists the kinds in display order.
var ProtocolKinds = []ProtocolKind{ProtocolAbsence, ProtocolInterventionDeployment, ProtocolInterventionGuidance, ProtocolOther}

// Protocol is a trajectory type (protocol) with its ordered task templates.
type Protocol struct {
	ID    uuid.UUID
	Name  string
	Kind  ProtocolKind
	Tasks []TaskTemplate
}

// TaskTemplate is one task a protocol's trajectories start with. DueAfterDays counts from the
// trajectory's start date; nil means the task has no due date.
type TaskTemplate struct {
	ID           uuid.UUID
	Position     int
	Type         string
	Title        string
	DueAfterDays *int
}

func (p *Protocol) validate() error {
	p.Name = strings.TrimSpace(p.Name)
	fields := map[string]string{}
	if p.Name == "" {
		fields["name"] = "error.required"
	}
	if !slices.Contains(ProtocolKinds, p.Kind) {
		fields["kind"] = "error.choose"
	}
	for i := range p.Tasks {
		t := &p.Tasks[i]
		t.Position = i + 1
		t.Type, t.Title = strings.TrimSpace(t.Type), strings.TrimSpace(t.Title)
		if t.Type == "" || t.Title == "" {
			fields["tasks"] = "error.required"
		}
		if t.DueAfterDays != nil && *t.DueAfterDays < 0 {
			fields["tasks"] = "protocol.error.due_negative"
		}
	}
	if len(fields) > 0 {
		return apperr.Invalid(fields)
	}
	return nil
}

// createProtocol stores a protocol with its task templates, numbered in the order given.
// EINVALID on a missing name, an unknown kind or a template without type or title; ECONFLICT
// (through database.InTenant) when the name is taken.
func createProtocol(ctx context.Context, tx pgx.Tx, p Protocol) (Protocol, error) {
	if err := p.validate(); err != nil {
		return Protocol{}, err
	}
	p.ID = uuid.Must(uuid.NewV7())
	if _, err := tx.Exec(ctx, `INSERT INTO protocols (tenant_id, id, name, kind) VALUES (app_tenant(), $1, $2, $3)`,
		p.ID, p.Name, p.Kind); err != nil {
		return Protocol{}, fmt.Errorf("create protocol: %w", err)
	}
	for i := range p.Tasks {
		t := &p.Tasks[i]
		t.ID = uuid.Must(uuid.NewV7())
		if _, err := tx.Exec(ctx, `INSERT INTO protocol_tasks (tenant_id, id, protocol_id, position, type, title, due_after_days)
			VALUES (app_tenant(), $1, $2, $3, $4, $5, $6)`, t.ID, p.ID, t.Position, t.Type, t.Title, t.DueAfterDays); err != nil {
			return Protocol{}, fmt.Errorf("create protocol task: %w", err)
		}
	}
	return p, nil
}

// FindProtocols returns the tenant's protocols by name, each with its task templates in order.
func FindProtocols(ctx context.Context, tx pgx.Tx) ([]Protocol, error) {
	rows, err := tx.Query(ctx, `SELECT p.id, p.name, p.kind, t.id, t.position, t.type, t.title, t.due_after_days
		FROM protocols p LEFT JOIN protocol_tasks t ON t.protocol_id = p.id
		ORDER BY lower(p.name), p.id, t.position`)
	if err != nil {
		return nil, fmt.Errorf("find protocols: %w", err)
	}
	defer rows.Close()
	var list []Protocol
	for rows.Next() {
		var p Protocol
		var tid *uuid.UUID
		var pos *int
		var typ, title *string
		var due *int
		if err := rows.Scan(&p.ID, &p.Name, &p.Kind, &tid, &pos, &typ, &title, &due); err != nil {
			return nil, fmt.Errorf("find protocols: %w", err)
		}
		if n := len(list); n == 0 || list[n-1].ID != p.ID {
			list = append(list, p)
		}
		if tid != nil {
			last := &list[len(list)-1]
			last.Tasks = append(last.Tasks, TaskTemplate{ID: *tid, Position: *pos, Type: *typ, Title: *title, DueAfterDays: due})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find protocols: %w", err)
	}
	return list, nil
}

// FindProtocolByID returns one protocol with its task templates, or ENOTFOUND.
func FindProtocolByID(ctx context.Context, tx pgx.Tx, id uuid.UUID) (Protocol, error) {
	list, err := FindProtocols(ctx, tx)
	if err != nil {
		return Protocol{}, err
	}
	for _, p := range list {
		if p.ID == id {
			return p, nil
		}
	}
	return Protocol{}, apperr.New(apperr.ENOTFOUND, "error.not_found")
}

func days(n int) *int { return &n }

// DefaultProtocols are the protocols EnsureDefaultProtocols creates: absence guidance along
// the Wet verbetering poortwachter (due dates counted from the first day of sickness), and the
// two intervention protocols of seed 004 (deployment, then guidance by the provider).
func DefaultProtocols() []Protocol {
	tt := func(typ, title string, due *int) TaskTemplate {
		return TaskTemplate{Type: typ, Title: title, DueAfterDays: due}
	}
	return []Protocol{
		{Name: "Verzuimbegeleiding (Wet verbetering poortwachter)", Kind: ProtocolAbsence, Tasks: []TaskTemplate{
			tt("intake", "Verzuimintake met werknemer", days(7)),
			tt("problem_analysis", "Probleemanalyse bedrijfsarts (week 6)", days(42)),
			tt("action_plan", "Plan van aanpak opstellen (week 8)", days(56)),
			tt("action_plan_evaluation", "Evaluatie plan van aanpak", days(98)),
			tt("uwv_notification", "Ziekmelding bij UWV (uiterlijk week 42)", days(287)),
			tt("first_year_evaluation", "Eerstejaarsevaluatie (week 52)", days(364)),
			tt("wia_application", "Re-integratieverslag en WIA-aanvraag (week 91)", days(637)),
		}},
		{Name: "Interventie inzet", Kind: ProtocolInterventionDeployment, Tasks: []TaskTemplate{
			tt("choose_programme", "Interventie en programma kiezen", days(7)),
			tt("deploy_intervention", "Definitief inzetten interventie & starten begeleiding", days(14)),
		}},
		{Name: "Inhoudelijke interventiebegeleiding", Kind: ProtocolInterventionGuidance, Tasks: []TaskTemplate{
			tt("guidance_intake", "Intakegesprek met de coach", days(7)),
			tt("guidance_progress", "Tussenrapportage begeleiding", days(42)),
			tt("guidance_final_report", "Eindrapportage interventie", days(90)),
		}},
	}
}

// EnsureDefaultProtocols creates those of DefaultProtocols that the tenant lacks (found by
// name); existing protocols, changed or not, are left as they are. It is safe to call on every
// start or demo load.
func EnsureDefaultProtocols(ctx context.Context, tx pgx.Tx) error {
	for _, p := range DefaultProtocols() {
		var exists bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM protocols WHERE name = $1)", p.Name).Scan(&exists); err != nil {
			return fmt.Errorf("ensure default protocols: %w", err)
		}
		if exists {
			continue
		}
		if _, err := createProtocol(ctx, tx, p); err != nil {
			return fmt.Errorf("ensure default protocols: %w", err)
		}
	}
	return nil
}
