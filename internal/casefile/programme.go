package casefile

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/org"
)

// Subject types of the intervention administration in the audit log.
const (
	SubjectProgramme = "programme"
	SubjectProvider  = "intervention_provider"
)

// ExecutorMode says where a programme's default executor (standaard uitvoerder) comes from.
type ExecutorMode string

// The executor modes.
const (
	ExecutorProvider ExecutorMode = "provider" // follow the provider's setting
	ExecutorOwn      ExecutorMode = "own"      // the programme's own user, or none
)

// ExecutorModes lists the modes in display order.
var ExecutorModes = []ExecutorMode{ExecutorProvider, ExecutorOwn}

// Messages of the programme rules.
const (
	MsgPriceInvalid       = "programme.error.price"
	MsgExecutorInvalid    = "programme.error.executor"
	MsgProgrammeDuplicate = "programme.error.duplicate"
)

// Programme is an intervention programme (interventieprogramma) of an intervention provider,
// with its price and its default-executor setting.
type Programme struct {
	ID             uuid.UUID
	ProviderID     uuid.UUID
	ProviderName   string // read only
	Name           string
	PriceCents     int64
	ExecutorMode   ExecutorMode
	ExecutorUserID *uuid.UUID // only with ExecutorOwn; nil: no default executor
	ExecutorName   string     // read only
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

func (p *Programme) validate() error {
	p.Name = strings.TrimSpace(p.Name)
	fields := map[string]string{}
	if p.ProviderID == uuid.Nil {
		fields["provider_id"] = "error.required"
	}
	if p.Name == "" {
		fields["name"] = "error.required"
	}
	if p.PriceCents < 0 {
		fields["price"] = MsgPriceInvalid
	}
	switch p.ExecutorMode {
	case "":
		p.ExecutorMode = ExecutorProvider
	case ExecutorProvider, ExecutorOwn:
	default:
		fields["executor_mode"] = "error.choose"
	}
	if p.ExecutorMode == ExecutorProvider && p.ExecutorUserID != nil {
		fields["executor_user_id"] = MsgExecutorInvalid
	}
	if len(fields) > 0 {
		return apperr.Invalid(fields)
	}
	return nil
}

func (p Programme) details() map[string]any {
	return map[string]any{"provider_id": p.ProviderID, "name": p.Name, "price_cents": p.PriceCents,
		"executor_mode": p.ExecutorMode, "executor_user_id": p.ExecutorUserID}
}

const programmeColumns = `g.id, g.provider_id, v.name, g.name, g.price_cents, g.executor_mode, g.executor_user_id,
	coalesce(u.name, ''), g.created_at, g.updated_at`

const programmeFrom = ` FROM programmes g JOIN intervention_providers v ON v.id = g.provider_id
	LEFT JOIN users u ON u.id = g.executor_user_id `

func scanProgramme(row pgx.CollectableRow) (Programme, error) {
	var p Programme
	err := row.Scan(&p.ID, &p.ProviderID, &p.ProviderName, &p.Name, &p.PriceCents, &p.ExecutorMode, &p.ExecutorUserID,
		&p.ExecutorName, &p.CreatedAt, &p.UpdatedAt)
	return p, err
}

// FindProgrammes lists the tenant's programmes by provider and name.
func FindProgrammes(ctx context.Context, tx pgx.Tx) ([]Programme, error) {
	rows, err := tx.Query(ctx, "SELECT "+programmeColumns+programmeFrom+" ORDER BY lower(v.name), lower(g.name), g.id")
	if err != nil {
		return nil, fmt.Errorf("find programmes: %w", err)
	}
	return pgx.CollectRows(rows, scanProgramme)
}

// FindProgrammeByID returns one programme, or ENOTFOUND.
func FindProgrammeByID(ctx context.Context, tx pgx.Tx, id uuid.UUID) (Programme, error) {
	rows, err := tx.Query(ctx, "SELECT "+programmeColumns+programmeFrom+" WHERE g.id = $1", id)
	if err != nil {
		return Programme{}, fmt.Errorf("find programme: %w", err)
	}
	return collectContract(rows, scanProgramme, "programme")
}

// Executor is a user who may be a programme's default executor: an active coach user of the
// programme's provider whose role holds delegations.receive.
type Executor struct {
	ID         uuid.UUID
	Name       string
	ProviderID uuid.UUID
}

const executorWhere = ` u.kind = 'coach' AND u.status = 'active' AND 'delegations.receive' = ANY (r.rights) `

// FindExecutors lists the users who may be default executors, by provider and name.
func FindExecutors(ctx context.Context, tx pgx.Tx) ([]Executor, error) {
	return database.FindAll[Executor](ctx, tx, "executors", `SELECT u.id, u.name, u.provider_id FROM users u JOIN roles r ON r.id = u.role_id
		WHERE`+executorWhere+`ORDER BY u.provider_id, lower(u.name), u.id`)
}

func checkProgramme(ctx context.Context, tx pgx.Tx, p Programme) error {
	var ok bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM intervention_providers WHERE id = $1)", p.ProviderID).Scan(&ok); err != nil {
		return fmt.Errorf("check provider: %w", err)
	}
	if !ok {
		return apperr.Invalid(map[string]string{"provider_id": "error.choose"})
	}
	if p.ExecutorUserID == nil {
		return nil
	}
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users u JOIN roles r ON r.id = u.role_id
		WHERE u.id = $1 AND u.provider_id = $2 AND`+executorWhere+`)`, *p.ExecutorUserID, p.ProviderID).Scan(&ok)
	if err != nil {
		return fmt.Errorf("check executor: %w", err)
	}
	if !ok {
		return apperr.Invalid(map[string]string{"executor_user_id": MsgExecutorInvalid})
	}
	return nil
}

// CreateProgramme stores a new programme and audits it (case.created, subject programme). ed
// must hold interventions.manage (EFORBIDDEN). EINVALID on a missing provider or name, a
// negative price, or an executor who is not an active coach of the provider able to receive
// delegations; ECONFLICT when the provider already has a programme of that name. Naming an
// executor also takes access.CanSetExecutor for the provider (EFORBIDDEN).
func CreateProgramme(ctx context.Context, tx pgx.Tx, ed access.Editor, p Programme) (Programme, error) {
	if err := mayManageInterventions(ed); err != nil {
		return Programme{}, err
	}
	if err := p.validate(); err != nil {
		return Programme{}, err
	}
	if p.ExecutorUserID != nil {
		if err := ed.Allow(access.CanSetExecutor(ed.Principal, p.ProviderID)); err != nil {
			return Programme{}, err
		}
	}
	if err := checkProgramme(ctx, tx, p); err != nil {
		return Programme{}, err
	}
	p.ID = uuid.Must(uuid.NewV7())
	_, err := tx.Exec(ctx, `INSERT INTO programmes (tenant_id, id, provider_id, name, price_cents, executor_mode, executor_user_id)
		VALUES (app_tenant(), $1, $2, $3, $4, $5, $6)`, p.ID, p.ProviderID, p.Name, p.PriceCents, p.ExecutorMode, p.ExecutorUserID)
	if err != nil {
		return Programme{}, contractConflict(fmt.Errorf("create programme: %w", err), "name", MsgProgrammeDuplicate)
	}
	if err := audit.Write(ctx, tx, ed.Actor, audit.Event{Action: audit.CaseCreated, SubjectType: SubjectProgramme,
		SubjectID: &p.ID, Details: p.details()}); err != nil {
		return Programme{}, err
	}
	return FindProgrammeByID(ctx, tx, p.ID)
}

// UpdateProgramme replaces a programme's provider, name, price and executor setting and audits
// the change (case.updated). ENOTFOUND; EFORBIDDEN, EINVALID, ECONFLICT as CreateProgramme; a
// change of the executor setting takes access.CanSetExecutor for the old and the new provider
// (EFORBIDDEN), so who cannot see the chosen user cannot replace him.
func UpdateProgramme(ctx context.Context, tx pgx.Tx, ed access.Editor, p Programme) (Programme, error) {
	if err := mayManageInterventions(ed); err != nil {
		return Programme{}, err
	}
	before, err := FindProgrammeByID(ctx, tx, p.ID)
	if err != nil {
		return Programme{}, err
	}
	if err := p.validate(); err != nil {
		return Programme{}, err
	}
	if executorChanged(before, p) {
		// Who may not see the executor of either provider may not change the setting.
		if err := ed.Allow(access.CanSetExecutor(ed.Principal, before.ProviderID)); err != nil {
			return Programme{}, err
		}
		if err := ed.Allow(access.CanSetExecutor(ed.Principal, p.ProviderID)); err != nil {
			return Programme{}, err
		}
	}
	if err := checkProgramme(ctx, tx, p); err != nil {
		return Programme{}, err
	}
	_, err = tx.Exec(ctx, `UPDATE programmes SET provider_id = $2, name = $3, price_cents = $4, executor_mode = $5,
		executor_user_id = $6, updated_at = now() WHERE id = $1`,
		p.ID, p.ProviderID, p.Name, p.PriceCents, p.ExecutorMode, p.ExecutorUserID)
	if err != nil {
		return Programme{}, contractConflict(fmt.Errorf("update programme: %w", err), "name", MsgProgrammeDuplicate)
	}
	if err := audit.Write(ctx, tx, ed.Actor, audit.Event{Action: audit.CaseUpdated, SubjectType: SubjectProgramme,
		SubjectID: &p.ID, Details: map[string]any{"before": before.details(), "after": p.details()}}); err != nil {
		return Programme{}, err
	}
	return FindProgrammeByID(ctx, tx, p.ID)
}

// executorChanged reports whether an update changes where a programme's default executor comes
// from: its mode, its own user, or (with a setting of its own) its provider.
func executorChanged(before, after Programme) bool {
	same := func(a, b *uuid.UUID) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
	return before.ExecutorMode != after.ExecutorMode || !same(before.ExecutorUserID, after.ExecutorUserID) ||
		(before.ProviderID != after.ProviderID && (before.ExecutorMode == ExecutorOwn || after.ExecutorMode == ExecutorOwn))
}

// CreateProvider stores a new intervention provider (org.CreateProvider) and audits it
// (case.created, subject intervention_provider). EFORBIDDEN as CreateProgramme; EINVALID on an
// empty name; ECONFLICT on a taken one.
func CreateProvider(ctx context.Context, tx pgx.Tx, ed access.Editor, name string) (org.Provider, error) {
	if err := mayManageInterventions(ed); err != nil {
		return org.Provider{}, err
	}
	p := org.Provider{ID: uuid.Must(uuid.NewV7()), Name: strings.TrimSpace(name)}
	if p.Name == "" {
		return org.Provider{}, apperr.Invalid(map[string]string{"name": "error.required"})
	}
	_, err := tx.Exec(ctx, "INSERT INTO intervention_providers (tenant_id, id, name) VALUES (app_tenant(), $1, $2)", p.ID, p.Name)
	if err != nil {
		return org.Provider{}, contractConflict(err, "name", "programme.error.provider_duplicate")
	}
	return p, audit.Write(ctx, tx, ed.Actor, audit.Event{Action: audit.CaseCreated, SubjectType: SubjectProvider,
		SubjectID: &p.ID, Details: map[string]any{"name": p.Name}})
}

// ParsePrice reads a price in euros as typed in a form — "1250", "1.250,50", "1250,5", "€ 12,00"
// or "1250.50" — into cents. An empty string is zero. A comma is the decimal separator when
// present (dots are then thousands separators); otherwise a single dot followed by one or two
// digits is. EINVALID (field price) on anything else or a negative amount.
func ParsePrice(s string) (int64, error) {
	bad := apperr.Invalid(map[string]string{"price": MsgPriceInvalid})
	s = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), "€"))
	s = strings.ReplaceAll(s, " ", "")
	if s == "" {
		return 0, nil
	}
	whole, frac, decimals := s, "", false
	if i := strings.LastIndex(s, ","); i >= 0 {
		whole, frac, decimals = strings.ReplaceAll(s[:i], ".", ""), s[i+1:], true
	} else if i := strings.LastIndex(s, "."); i >= 0 && len(s)-i-1 <= 2 && strings.Count(s, ".") == 1 {
		whole, frac, decimals = s[:i], s[i+1:], true
	} else {
		whole = strings.ReplaceAll(s, ".", "")
	}
	if whole == "" || (decimals && frac == "") || len(frac) > 2 || strings.ContainsAny(whole+frac, "+-,") {
		return 0, bad
	}
	for len(frac) < 2 {
		frac += "0"
	}
	euros, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || euros > math.MaxInt64/100-1 {
		return 0, bad
	}
	cents, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return 0, bad
	}
	return euros*100 + cents, nil
}

// FormatPrice writes cents as a Dutch amount without the currency sign: 1.250,50.
func FormatPrice(cents int64) string {
	neg := cents < 0
	if neg {
		cents = -cents
	}
	euros := strconv.FormatInt(cents/100, 10)
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range euros {
		if i > 0 && (len(euros)-i)%3 == 0 {
			b.WriteByte('.')
		}
		b.WriteRune(c)
	}
	fmt.Fprintf(&b, ",%02d", cents%100)
	return b.String()
}
