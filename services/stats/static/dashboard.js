// The stats dashboard: reads the stats API with the token the user typed (kept in sessionStorage only).
"use strict";

const DA = {
  category: {
    mental_health: "Psykisk sygdom", dementia_signs: "Tegn på demens", neglect_of_dwelling: "Mislighold",
    odour_nuisance: "Lugtgener", hoarding: "Samlermani", self_neglect: "Selvforsømmelse",
    neighbour_conflict: "Nabokonflikt", noise: "Støj", threats_or_violence: "Trusler eller vold",
    suspected_abuse: "Mistanke om overgreb", loneliness: "Ensomhed", rent_arrears: "Huslejerestance",
    eviction_risk: "Risiko for udsættelse", substance_abuse: "Misbrug", child_welfare: "Bekymring for et barn", other: "Andet",
  },
  severity: { low: "Lav", medium: "Middel", high: "Høj", acute: "Akut" },
  target: { municipality: "Kommune", consultant: "Boligsocial konsulent", association: "Forening" },
  status: {
    requested: "Sendt", received: "Modtaget", accepted: "Accepteret", rejected: "Afvist", in_progress: "I gang",
    on_hold: "På pause", completed: "Afsluttet", cancelled: "Annulleret", failed: "Mislykket",
  },
  outcome: {
    support_established: "Støtte etableret", eviction_avoided: "Udsættelse undgået", dwelling_restored: "Bolig genoprettet",
    moved_to_suitable_housing: "Flyttet til egnet bolig", resident_declined_help: "Beboer takkede nej",
    could_not_contact: "Ingen kontakt", no_action_needed: "Ingen handling nødvendig",
  },
  trend: { rising: "Stigende", falling: "Faldende", stable: "Stabil" },
  role: { ops: "Drift", admin: "Administrator", municipality: "Kommune", consultant: "Konsulent", association: "Forening" },
};
const COLOURS = ["#1f4e79", "#c0504d", "#9bbb59", "#8064a2", "#4bacc6", "#f79646", "#2c4d75", "#772c2a", "#5f7530"];
const TOKEN_KEY = "statsToken";
const charts = {};
const municipalityNames = {};
const $ = (id) => document.getElementById(id);
const number = (n) => (n === null || n === undefined ? "–" : Number(n).toLocaleString("da-DK"));
// A count the API withheld (null: too few to show, or it would give a small one back) reads "< 5".
let withheldAs = "< 5";
const count = (n) => (n === null ? withheldAs : number(n));
const label = (kind, key) => (DA[kind] && DA[kind][key]) || key;
// Danish formats: "kl. 21.11" for a time of day, "3. december 2026" for a date, "3. dec." on the day axis.
const clock = (date) => `kl. ${date.toLocaleTimeString("da-DK", { hour: "2-digit", minute: "2-digit" })}`;
const isoDate = (day) => new Date(`${day}T12:00:00`);
const longDate = (day) => isoDate(day).toLocaleDateString("da-DK", { day: "numeric", month: "long", year: "numeric" });
const shortDate = (day) => isoDate(day).toLocaleDateString("da-DK", { day: "numeric", month: "short" });

class Unauthorised extends Error {}
class Refused extends Error {}

async function api(path, params) {
  const query = new URLSearchParams(Object.entries(params || {}).filter(([, v]) => v)).toString();
  const response = await fetch(`/v1/stats/${path}${query ? "?" + query : ""}`, {
    // The API's refusals (problem+json) then say in Danish what is wrong, e.g. a period that is too long.
    headers: { Authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY)}`, "Accept-Language": "da" },
  });
  if (response.status === 401 || response.status === 403) throw new Unauthorised(response.status);
  if (response.status === 422) {
    const problem = await response.json().catch(() => ({}));
    throw new Refused(problem.detail || problem.title || String(response.status));
  }
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response.json();
}

function localDay(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

function filters() {
  const days = $("period").value;
  let from = $("from").value, to = $("to").value;
  if (days !== "custom") {
    const end = new Date();
    const start = new Date(end.getTime() - (Number(days) - 1) * 86400000);
    from = localDay(start);
    to = localDay(end);
    $("from").value = from;
    $("to").value = to;
  }
  return { from, to, municipality: $("municipality").value, department: $("department").value, category: $("category").value };
}

function setKpi(id, value, text) {
  const element = $(id);
  element.dataset.value = value === null || value === undefined ? "" : String(value);
  element.textContent = text === undefined ? number(value) : text;
}

// Every label of a category axis is drawn (Chart.js skips some when they crowd); bars with long names lie down,
// and their chart grows with the number of bars so the labels never overlap.
function categories(horizontal, count, extra) {
  const axis = horizontal ? "y" : "x";
  const scales = Object.assign({}, extra && extra.scales);
  scales[axis] = Object.assign({}, scales[axis], { ticks: { autoSkip: false } });
  const box = horizontal ? Math.max(300, 26 * count + 60) : 300;
  return Object.assign({}, extra, { indexAxis: axis, scales, box });
}

function draw(id, type, labels, datasets, options) {
  const box = options && options.box;
  if (options) delete options.box;
  if (box) $(id).parentElement.style.height = `${box}px`;
  const config = {
    type, data: { labels, datasets },
    options: Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, options || {}),
  };
  if (charts[id]) { charts[id].data = config.data; charts[id].options = config.options; charts[id].update(); return; }
  charts[id] = new Chart($(id), config);
}

function render(overview, times, hotspots) {
  const c = overview.concerns;
  withheldAs = overview.suppression.shown_as;
  $("suppression").textContent = `${withheldAs}: færre end ${overview.suppression.min_count}, eller skjult så en total ikke afslører et lille tal.`;
  setKpi("kpi-concerns", c.total, count(c.total));
  setKpi("kpi-referrals", overview.referrals.total, count(overview.referrals.total));
  setKpi("kpi-breaches", overview.referrals.sla.breaches, count(overview.referrals.sla.breaches));
  setKpi("kpi-repeats", overview.repeat_tenancies.tenancies, count(overview.repeat_tenancies.tenancies));
  const costs = overview.costs_avoided;
  setKpi("kpi-costs", costs.total_dkk, costs.total_dkk === null ? "Skjult (små tal)" : `${number(costs.total_dkk)} kr.`);
  $("costs-label").textContent = costs.label;
  const cmp = overview.comparison && overview.comparison.concerns_per_100_tenancies;
  let text = "";
  if (cmp) {
    text = cmp.other_municipalities.withheld
      ? `Jeres kommune: ${number(cmp.own)} henvendelser pr. 100 lejemål. Sammenligning skjult (for få andre kommuner).`
      : `Jeres kommune: ${number(cmp.own)} henvendelser pr. 100 lejemål; medianen for ${cmp.other_municipalities.municipalities} andre kommuner: ${number(cmp.other_municipalities.median)}.`;
    const own = times.groups[0];
    const others = times.comparison && times.comparison.all && times.comparison.all.median_hours_to_acknowledgement;
    if (own && others && !others.withheld) {
      text += ` Median timer til kvittering: ${number(own.hours_to_acknowledgement.median)}; de andre kommuners median: ${number(others.median)}.`;
    }
  }
  $("comparison").textContent = text;

  draw("chart-days", "line", c.by_day.map((d) => shortDate(d.day)), [{ label: "Henvendelser", data: c.by_day.map((d) => d.concerns), borderColor: COLOURS[0], backgroundColor: COLOURS[0], pointRadius: 0 }]);
  draw("chart-departments", "bar", c.by_department.map((d) => d.name), [{ label: "Pr. 100 lejemål", data: c.by_department.map((d) => d.rate_per_100_tenancies), backgroundColor: COLOURS[0] }], categories(true, c.by_department.length));
  draw("chart-categories", "bar", overview.categories.map((r) => label("category", r.category)), [{ label: "Henvendelser", data: overview.categories.map((r) => r.concerns), backgroundColor: COLOURS[4] }], categories(true, overview.categories.length));
  draw("chart-severity", "doughnut", c.by_severity.map((r) => label("severity", r.severity)), [{ data: c.by_severity.map((r) => r.concerns), backgroundColor: ["#9bbb59", "#4bacc6", "#f79646", "#c0504d"] }]);
  const rows = overview.referrals.by_target_and_status;
  const targets = [...new Set(rows.map((r) => r.target))];
  const statuses = [...new Set(rows.map((r) => r.status))];
  draw("chart-referrals", "bar", targets.map((t) => label("target", t)), statuses.map((s, i) => ({
    label: label("status", s), backgroundColor: COLOURS[i % COLOURS.length],
    data: targets.map((t) => (rows.find((r) => r.target === t && r.status === s) || { referrals: 0 }).referrals),
  })), categories(false, targets.length, { scales: { x: { stacked: true }, y: { stacked: true } } }));
  const groups = times.groups;
  draw("chart-response", "bar", groups.map((g) => municipalityNames[g.municipality] || g.municipality), [
    { label: "Median", data: groups.map((g) => g.hours_to_acknowledgement.median), backgroundColor: COLOURS[0] },
    { label: "90 %-fraktil", data: groups.map((g) => g.hours_to_acknowledgement.p90), backgroundColor: COLOURS[5] },
  ], categories(false, groups.length));
  draw("chart-outcomes", "bar", overview.outcomes.map((o) => label("outcome", o.outcome)), [{ label: "Sager", data: overview.outcomes.map((o) => o.concerns), backgroundColor: COLOURS[2] }], categories(true, overview.outcomes.length));

  $("hotspot-method").textContent = hotspots.method_da;
  const body = $("hotspots").querySelector("tbody");
  body.replaceChildren(...hotspots.departments.map((d) => {
    const row = document.createElement("tr");
    if (d.hotspot) row.className = "hot";
    const interval = d.rate_ratio_interval ? ` (${number(d.rate_ratio_interval[0])}–${number(d.rate_ratio_interval[1])})` : "";
    for (const text of [d.name, municipalityNames[d.municipality_code] || d.municipality_code, count(d.concerns), number(d.rate_per_100_tenancies),
      `${number(d.rate_ratio)}${interval}`, d.hotspot ? "Ja" : "Nej", label("trend", d.trend.direction)]) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.append(cell);
    }
    return row;
  }));
}

async function load() {
  const params = filters();
  $("status").textContent = "Henter tal …";
  try {
    const [overview, times, hotspots] = await Promise.all([
      api("overview", params), api("response-times", params), api("hotspots", params),
    ]);
    render(overview, times, hotspots);
    $("status").textContent = `Opdateret ${clock(new Date())} · ${longDate(params.from)} – ${longDate(params.to)}`;
    document.body.dataset.loaded = String(Number(document.body.dataset.loaded || 0) + 1);
  } catch (error) {
    if (error instanceof Unauthorised) return logout("Nøglen blev afvist, eller den giver ikke adgang til statistik.");
    $("status").textContent = error instanceof Refused
      ? `Tallene kunne ikke hentes: ${error.message}`
      : "Tallene kunne ikke hentes. Prøv igen om lidt.";
  }
}

function option(select, value, text) {
  const element = document.createElement("option");
  element.value = value;
  element.textContent = text;
  select.append(element);
}

async function start() {
  const scope = await api("scope");
  $("who").textContent = `Rolle: ${label("role", scope.role)}`;
  // A new login (perhaps with another scope) starts from empty filters.
  for (const id of ["municipality", "department", "category"]) {
    $(id).replaceChildren();
    option($(id), "", "Alle");
  }
  for (const code of Object.keys(municipalityNames)) delete municipalityNames[code];
  for (const m of scope.municipalities) {
    municipalityNames[m.code] = m.name;
    option($("municipality"), m.code, `${m.name} (${m.code})`);
  }
  for (const d of scope.departments) option($("department"), d.id, d.name);
  // Only the categories the caller may see (associations never get health categories).
  for (const key of scope.categories) option($("category"), key, label("category", key));
  $("login").hidden = true;
  $("dashboard").hidden = false;
  await load();
}

function logout(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  $("dashboard").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message || "";
}

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
    $("token").value = "";
    try { await start(); } catch (error) {
      logout(error instanceof Unauthorised ? "Nøglen blev afvist." : "Statistikken svarer ikke lige nu.");
    }
  });
  $("logout").addEventListener("click", () => logout());
  for (const id of ["period", "municipality", "department", "category"]) $(id).addEventListener("change", load);
  for (const id of ["from", "to"]) $(id).addEventListener("change", () => { $("period").value = "custom"; load(); });
  if (sessionStorage.getItem(TOKEN_KEY)) start().catch(() => logout());
});
