"""The report as one self-contained HTML page: styles and SVG charts inline, every chart beside its data table."""

from __future__ import annotations

from collections import Counter
from html import escape
from typing import Any

from fhirconv.report import charts
from fhirconv.report.data import Content
from fhirconv.report.posted import Measure

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#16324f;color:#fff;padding:18px 28px}header h1{margin:0 0 6px;font-size:22px}
header p{margin:0;opacity:.85}main{padding:8px 28px 40px;max-width:1400px}
section{background:#fff;border:1px solid #e3e3e3;border-radius:6px;padding:10px 18px;margin:16px 0}
h2{font-size:18px;margin:6px 0 10px;color:#16324f}h3{font-size:15px;margin:12px 0 6px}
table{border-collapse:collapse;margin:4px 0 10px;font-size:13px}th,td{border:1px solid #ddd;padding:3px 8px;
text-align:left;vertical-align:top}th{background:#f0f3f7}td.n{text-align:right;font-variant-numeric:tabular-nums}
.pair{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start}.pair figure{margin:0;max-width:640px}
figure svg{max-width:100%;height:auto}.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));
gap:12px}.grid .pair{border-top:1px solid #eee;padding-top:6px}.flow{display:flex;gap:14px;align-items:center;
flex-wrap:wrap}.box{border:2px solid #16324f;border-radius:6px;padding:6px 12px;background:#f6f9fc;min-width:120px}
.box b{display:block;font-size:18px}.arrow{font-size:22px;color:#16324f}.muted{color:#777}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:0}dt{font-weight:600}dd{margin:0}
nav a{color:#cfe3ff;margin-right:12px}
"""

SECTIONS = [("study", "Study"), ("enrolment", "Enrolment"), ("flow", "Participant flow"),
            ("adverse-events", "Adverse events"), ("results", "Labs and vital signs"),
            ("posted-results", "Posted results"), ("conversion", "Conversion")]


def table(name: str, head: list[str], rows: list[list[Any]]) -> str:
    """A data table; numbers right-aligned; `data-table` names it for readers and the browser tests."""
    cells = "".join(f"<th scope='col'>{escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows
    ) or f"<tr><td colspan='{len(head)}' class='muted'>none</td></tr>"
    return f"<table data-table='{escape(name)}'><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


class Exact(str):
    """A number shown as given (right-aligned, not rounded): a registry's posted value keeps its digits."""


def _cell(value: Any) -> str:
    if isinstance(value, Exact):
        return f"<td class='n'>{escape(value)}</td>"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"<td>{escape(str(value))}</td>"
    text = f"{value:,}" if isinstance(value, int) else f"{value:,.3g}"
    return f"<td class='n'>{text}</td>"


def figure(name: str, svg: str, caption: str, data: str) -> str:
    return (f"<div class='pair'><figure class='chart' data-chart='{escape(name)}' role='img' "
            f"aria-label='{escape(caption)}'>{svg}<figcaption>{escape(caption)}</figcaption></figure>"
            f"<div>{data}</div></div>")


def pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "–"


def render(content: Content, *, not_carried: list[tuple[str, str, str]], source: str) -> str:
    study = content.study
    title = study.title if study else "FHIR content"
    ids = ", ".join(v for _, v in study.identifiers[:2]) if study else ""
    shown = [(k, v) for k, v in SECTIONS if k != "posted-results" or content.posted]  # absent: no link
    nav = "".join(f"<a href='#{k}'>{escape(v)}</a>" for k, v in shown)
    body = [
        _study(content), _enrolment(content), _flow(content), _adverse_events(content), _results(content),
        _posted(content), _conversion(content, not_carried, source),
    ]
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{escape(title)}</h1><p>{escape(ids)}</p><nav>{nav}</nav></header>"
        f"<main>{''.join(body)}</main></body></html>"
    )


def _section(key: str, inner: str) -> str:
    return f"<section id='{key}'><h2>{escape(dict(SECTIONS)[key])}</h2>{inner}</section>"


def _study(content: Content) -> str:
    s = content.study
    if s is None:
        return _section("study", "<p class='muted'>No ResearchStudy in this content.</p>")
    facts = [("Identifiers", "; ".join(f"{v} ({k})" if k else v for k, v in s.identifiers)),
             ("Status", s.status), ("Phase", s.phase), ("Design", "; ".join(d for d in s.design if d)),
             ("Conditions", ", ".join(s.conditions)), ("Sponsor", s.sponsor),
             ("Dates", f"{s.start or '?'} → {s.end or '?'}")]
    dl = "<dl>" + "".join(f"<dt>{escape(k)}</dt><dd>{escape(v or '–')}</dd>" for k, v in facts) + "</dl>"
    dates = [("study", s.start, s.end)] if s.start else []
    starts = sorted(x["start"].isoformat() for x in content.subjects if x["start"])
    if starts:
        dates.append(("participants enrolled", starts[0], starts[-1]))
    timeline = ""
    if dates:
        timeline = figure("timeline", charts.timeline(dates), "Study dates",
                          table("timeline", ["what", "start", "end"], [list(d) for d in dates]))
    arms = table("arms", ["arm", "type", "description", "interventions"],
                 [[a["name"], a["type"], a["description"], a["interventions"]] for a in s.arms])
    eligibility = table("eligibility", ["criterion", "value"], [list(e) for e in s.eligibility])
    outcomes = table("outcomes", ["type", "measure", "description"],
                     [[o["kind"], o["name"], o["description"]] for o in s.outcomes])
    by_country = Counter(site["country"] for site in s.sites)
    countries = table("sites-by-country", ["country", "sites"], [[c, n] for c, n in by_country.most_common()])
    sites = table("sites", ["site", "city", "country"], [[x["name"], x["city"], x["country"]] for x in s.sites])
    return _section("study", f"{dl}{timeline}<h3>Arms and interventions</h3>{arms}<h3>Eligibility</h3>"
                    f"{eligibility}<h3>Outcome measures</h3>{outcomes}<h3>Sites</h3>"
                    f"<div class='pair'>{countries}{sites}</div>")


def _enrolment(content: Content) -> str:
    per_arm = content.participants_by_arm()
    total = sum(per_arm.values())
    if not total:
        return _section("enrolment", "<p class='muted'>No participant data (ResearchSubject) in this content.</p>")
    arms = content.arms()
    rows = [[arm, per_arm[arm], pct(per_arm[arm], total)] for arm in arms] + [["all", total, "100.0%"]]
    chart = charts.bars(arms, {"participants": [float(per_arm[a]) for a in arms]}, xlabel="participants",
                        title="Participants by arm")
    return _section("enrolment", figure("enrolment", chart, "Participants by arm",
                                        table("enrolment", ["arm", "participants", "share"], rows)))


def _flow(content: Content) -> str:
    """CONSORT-style: enrolled → each arm → its final states (with the disposition reasons when present)."""
    if not content.subjects:
        return _section("flow", "<p class='muted'>No participant data.</p>")
    per_arm = content.participants_by_arm()
    columns = []
    rows = []
    for arm in content.arms():
        states = Counter((s["status"], s["reason"]) for s in content.subjects if s["arm"] == arm)
        lines = "".join(f"<div>{escape(st)}{' — ' + escape(r) if r else ''}: <b style='display:inline'>{n}"
                        f"</b></div>" for (st, r), n in sorted(states.items()))
        columns.append(f"<div class='box'><span>{escape(arm)}</span><b>{per_arm[arm]}</b>{lines}</div>")
        rows += [[arm, st, r or "–", n] for (st, r), n in sorted(states.items())]
    diagram = (f"<div class='flow' data-chart='flow'><div class='box'><span>enrolled</span>"
               f"<b>{len(content.subjects)}</b></div><span class='arrow'>→</span>"
               f"<div class='flow'>{''.join(columns)}</div></div>")
    return _section("flow", diagram + table("flow", ["arm", "final state", "reason", "participants"], rows))


def _adverse_events(content: Content) -> str:
    events = content.events
    if not events:
        return _section("adverse-events", "<p class='muted'>No AdverseEvent in this content.</p>")
    arms = content.arms() or sorted({e["arm"] for e in events})
    per_arm = content.participants_by_arm()
    parts = []
    for field, label in (("soc", "organ system"), ("term", "term"), ("grade", "grade"),
                         ("serious", "seriousness"), ("related", "relatedness")):
        values = [v for v, _ in Counter(e[field] for e in events).most_common()]
        shown = values[:25] if field == "term" else values
        rows: list[list[Any]] = []
        participants: dict[str, list[float]] = {a: [] for a in arms}
        for v in shown:
            row: list[Any] = [v]
            for arm in arms:
                hit = [e for e in events if e[field] == v and e["arm"] == arm]
                people = len({e["subject"] for e in hit})
                participants[arm].append(float(people))
                row += [len(hit), people, pct(people, per_arm[arm])]
            rows.append(row)
        head = [label] + [f"{h} ({a})" for a in arms for h in ("events", "participants", "% of arm")]
        data = table(f"ae-{field}", head, rows)
        if len(values) > len(shown):
            data += f"<p class='muted'>{len(values) - len(shown)} more terms not shown</p>"
        chart = charts.bars(shown, participants, xlabel="participants with the event",
                            title=f"Adverse events by {label}")
        parts.append(f"<h3>By {escape(label)}</h3>" + figure(f"ae-{field}", chart, f"Participants by {label}", data))
    summary = f"<p>{len(events)} adverse events in {len({e['subject'] for e in events})} participants.</p>"
    return _section("adverse-events", summary + "".join(parts))


def _results(content: Content) -> str:
    if not content.tests:
        return _section("results", "<p class='muted'>No laboratory or vital-sign results in this content.</p>")
    arms = content.arms()
    out = []
    for kind, label in (("laboratory", "Laboratory"), ("vital-signs", "Vital signs")):
        tests = {k: v for k, v in content.tests.items() if k[0] == kind}
        if not tests:
            continue
        overview = table(f"{kind}-overview", ["test", "unit", "results", "out of range", "share out of range"],
                         [[t, v["unit"], v["n"], v["out"], pct(v["out"], v["n"])] for (_, t), v in tests.items()])
        cells = []
        for (_, test), summary in tests.items():
            when = "visit" if summary["by_visit"] else "study day (week)"
            data = table(f"{kind}:{test}", ["arm", when, "n", "median", "Q1", "Q3"],
                         [[p["arm"], p["visit"], p["n"], p["median"], p["q1"], p["q3"]] for p in summary["series"]])
            band = (f"<p class='muted'>reference range {summary['low']}–{summary['high']} {escape(summary['unit'])}"
                    "</p>" if summary["low"] is not None else "")
            cells.append(figure(f"{kind}:{test}", charts.over_time(test, summary["unit"], summary, arms),
                                f"{test} by visit", band + data))
        out.append(f"<h3>{label}</h3>{overview}<div class='grid'>{''.join(cells)}</div>")
    note = ("<p class='muted'>Median and interquartile range per arm, by visit (SDTM VISIT, in VISITNUM order; "
            "results without a visit by study day from each participant's start, in weeks); shaded band: the "
            "median reference range.</p>")
    return _section("results", note + "".join(out))


def _posted(content: Content) -> str:
    """The registry's posted results: an overview of the outcome measures, then per measure its values by
    group. Absent (no section, no link) when the content has none."""
    if not content.posted:
        return ""
    overview = table("posted-results", ["#", "type", "outcome measure", "time frame", "unit", "measure type"],
                     [[m.number, m.facts.get("Outcome type", ""), m.title, m.facts.get("Time frame", ""),
                       m.facts.get("Unit of measure", ""), m.facts.get("Measure type", "")] for m in content.posted])
    note = ("<p class='muted'>The registry's posted results as converted (one Evidence per outcome measure and "
            "results group; mappings/README.md, \"Posted results\"): the value per group with its dispersion and "
            "n, the participants analysed.</p>")
    return _section("posted-results", note + overview + "".join(_posted_measure(m) for m in content.posted))


def _posted_measure(m: Measure) -> str:
    """One measure: its facts, the table of values by group (and category), and bars when every value is a
    number (a bound such as "<0.001" or a value kept as text cannot be drawn; the table shows it)."""
    facts = [(k, m.facts[k]) for k in ("Outcome type", "Time frame", "Unit of measure", "Measure type",
                                       "Dispersion", "Population") if m.facts.get(k)]
    dl = "<dl>" + "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in facts) + "</dl>"
    name = f"posted:{m.number}"
    categories = list(dict.fromkeys(r["category"] for r in m.rows))
    split = any(categories)
    head = ["group"] + (["category"] if split else []) + ["value", "dispersion", "n"]
    rows = [[r["group"]] + ([r["category"]] if split else []) + [_exact(r["value"]), r["dispersion"] or "–", r["n"]]
            for r in m.rows]
    data = table(name, head, rows)
    data += "".join(f"<p class='muted'>{escape(n)}</p>" for n in sorted({r["note"] for r in m.rows if r["note"]}))
    block = f"<h3>{escape(m.facts.get('Outcome type', 'Outcome'))}: {escape(m.title)}</h3>{dl}"
    numeric = bool(m.rows) and all(isinstance(r["value"], int | float) and not isinstance(r["value"], bool)
                                   for r in m.rows)
    if not numeric or len(categories) > 8:  # too many categories to draw legibly: the table alone
        return block + data
    groups = list(dict.fromkeys(r["group"] for r in m.rows))
    value = {(r["group"], r["category"]): float(r["value"]) for r in m.rows}
    series = {c or m.facts.get("Measure type", "value"): [value.get((g, c), 0.0) for g in groups] for c in categories}
    chart = charts.bars(groups, series, xlabel=m.facts.get("Unit of measure", ""), title=charts.short(m.title, 60))
    return block + figure(name, chart, f"{m.title} by group", data)


def _exact(value: Any) -> Any:
    # repr of a JSON number is the number as written (19.63, not the table's usual 3 significant digits)
    return Exact(repr(value)) if isinstance(value, int | float) and not isinstance(value, bool) else value


def _conversion(content: Content, not_carried: list[tuple[str, str, str]], source: str) -> str:
    counts = table("resources", ["resource type", "resources"],
                   [[t, n] for t, n in sorted(content.counts.items())] + [["all", sum(content.counts.values())]])
    skipped = table("not-carried", ["source field", "where it would go", "why it is not carried over"],
                    [list(x) for x in not_carried])
    return _section("conversion", f"<p>Read from {escape(source)}.</p>{counts}<h3>Not carried over</h3>"
                    f"<p class='muted'>Registry fields fhirconv reads but does not write, and why (from "
                    f"mappings/README.md).</p>{skipped}")
