package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/alert"
	"github.com/hubtrack/hub/internal/store"
)

type alertsData struct {
	Open     []alertRow
	Recent   []alertRow
	Kinds    []alertKind
	Settings store.AlertSettings
	// Recipients is the recipients field as typed (or saved).
	Recipients string
	// Admins are the addresses alerts go to while Recipients is empty.
	Admins    []string
	AdminList string
	// Mail says whether the operator set up e-mail (HUB_SMTP_HOST).
	Mail bool
	// Notified is, for a reader who may not change the settings, how many people get the
	// alert e-mails, in words: the addresses are other people's contact data, so such a
	// reader's page holds none of them (Recipients, Admins and Settings.Recipients are empty).
	Notified string
}

type alertRow struct {
	Title      string
	Text       string
	RaisedAt   time.Time
	ResolvedAt *time.Time
}

type alertKind struct {
	Kind  string
	Title string
	On    bool
}

// alerts shows the tenant's open and recent alerts, in the reader's language and the tenant's
// zone, and (to admins) their settings; other readers see how many people get the e-mails, not
// who.
func (u *UI) alerts(w http.ResponseWriter, r *http.Request, p page) {
	set, err := u.cfg.Store.GetAlertSettings(r.Context(), p.Tenant.ID)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.renderAlerts(w, r, p, http.StatusOK, alertsData{Settings: set.WithDefaults(), Recipients: strings.Join(set.Recipients, ", ")})
}

func (u *UI) renderAlerts(w http.ResponseWriter, r *http.Request, p page, status int, d alertsData) {
	ctx := r.Context()
	saved, err := u.cfg.Store.GetAlertSettings(ctx, p.Tenant.ID)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	list, err := u.cfg.Store.ListAlerts(ctx, store.AlertFilter{TenantID: p.Tenant.ID, Limit: 100})
	if err != nil {
		u.fail(w, r, err)
		return
	}
	zone := tenantZone(p.Tenant, u.cfg.Location)
	for _, a := range list {
		row := alertRow{Title: alert.Title(p.Loc.Tag, a.Kind), Text: alert.Text(p.Loc.Tag, a, saved, zone), RaisedAt: a.RaisedAt, ResolvedAt: a.ResolvedAt}
		if a.ResolvedAt == nil {
			d.Open = append(d.Open, row)
		} else if len(d.Recent) < 30 {
			d.Recent = append(d.Recent, row)
		}
	}
	for _, k := range store.AlertKinds {
		d.Kinds = append(d.Kinds, alertKind{Kind: k, Title: alert.Title(p.Loc.Tag, k), On: d.Settings.On(k)})
	}
	users, err := u.cfg.Store.ListUsers(ctx, p.Tenant.ID)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	admins := alert.Admins(users)
	d.Mail = u.cfg.AlertMail
	if allows(p.User.Role, store.RoleAdmin) {
		d.Admins = admins
		d.AdminList = strings.Join(d.Admins, ", ")
		if d.AdminList == "" {
			d.AdminList = "–"
		}
	} else {
		// Only those who may change who gets the alerts see who does (docs/dashboard.md).
		d.Recipients, d.Settings.Recipients = "", nil
		switch {
		case !d.Mail:
		case len(saved.Recipients) > 0:
			d.Notified = p.Loc.N("alerts.notified_chosen", len(saved.Recipients))
		default:
			d.Notified = p.Loc.N("alerts.notified_admins", len(admins))
		}
	}
	p.Title, p.Nav, p.Data = p.Loc.T("title.alerts"), "alerts", d
	u.render(w, r, status, "alerts", p)
}

// saveAlerts saves the tenant's alert settings.
func (u *UI) saveAlerts(w http.ResponseWriter, r *http.Request, p page) {
	set := store.AlertSettings{}
	for _, k := range store.AlertKinds {
		if r.PostFormValue("on_"+k) != "on" {
			set.Off = append(set.Off, k)
		}
	}
	num := func(field string, lo, hi int, dst *int) bool {
		n, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue(field)))
		if err != nil || n < lo || n > hi {
			p.Error = p.Loc.T("err.alert_number", p.Loc.T("alerts."+field), strconv.Itoa(lo), strconv.Itoa(hi))
			return false
		}
		*dst = n
		return true
	}
	raw := r.PostFormValue("recipients")
	d := alertsData{Settings: set, Recipients: raw}
	ok := num("delivered_share_percent", 1, 100, &set.DeliveredSharePercent) &&
		num("window_hours", 2, 168, &set.WindowHours) &&
		num("gateway_silent_hours", 1, 720, &set.GatewaySilentHours) &&
		num("snippet_silent_hours", 1, 720, &set.SnippetSilentHours)
	if ok {
		rcpt, err := alert.ParseRecipients(raw)
		if err != nil {
			p.Error = p.Loc.T("err.alert_recipients", err.Error())
			ok = false
		}
		set.Recipients = rcpt
	}
	if !ok {
		d.Settings = set.WithDefaults()
		u.renderAlerts(w, r, p, http.StatusUnprocessableEntity, d)
		return
	}
	slices.Sort(set.Off)
	if err := u.cfg.Store.PutAlertSettings(r.Context(), p.Tenant.ID, set); err != nil {
		u.fail(w, r, err)
		return
	}
	u.audit(r, p, "alerts.settings", "alert settings saved")
	redirect(w, r, "/alerts", "flash.alerts_saved")
}
