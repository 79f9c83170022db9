"""The check report as a CI job reads it: Markdown for a summary page, JUnit XML for a
test tab."""

from __future__ import annotations

from smgrad.render.words import LABEL, SHOWN, number, run_label, verdict
from smgrad.repeat import command_line
from smgrad.report import Report


def markdown(report: Report) -> str:
    """A Markdown summary, for a CI job's summary page."""
    lines = [
        f"### smgrad: {'passed' if report.passed else 'FAILED'}",
        "",
        "| check | scenario | method | error | allowed | result |",
        "|---|---|---|---:|---:|---|",
    ]
    several = len(report.runs) > 1
    if several:
        lines[2:4] = [
            "| run | check | scenario | method | error | allowed | result |",
            "|---|---|---|---|---:|---:|---|",
        ]
    for r in report:
        run = f"| {run_label(r)} " if several else ""
        lines.append(
            f"{run}| {r.name} | {r.case} | {r.method or '-'} | {number(r.deviation)} | {number(r.allowed)} | "
            f"{LABEL[r.status]} |"
        )
    for r in report:
        if r.status in SHOWN:
            lines += ["", f"**{r.name} / {r.case}** ({r.method or '-'}): {r.message or LABEL[r.status]}"]
            if r.diagnosis:
                lines += ["", f"Probable cause: {r.diagnosis}"]
            if r.worst and r.status == "failed":
                lines += ["", "| index | analytic | numerical | error | allowed |", "|---|---:|---:|---:|---:|"]
                for e in r.worst:
                    lines.append(
                        f"| {tuple(e.index)} | {e.analytic:.10g} | {e.numerical:.10g} | {number(e.deviation)} | "
                        f"{number(e.allowed)} |"
                    )
    lines += ["", f"{verdict(report)} · `{command_line(report.runs, report.implementation, bool(report.covered))}`", ""]
    return "\n".join(lines)


def junit_xml(report: Report) -> str:
    """JUnit XML: one testcase per check, scenario and method; failures carry the worst
    entries and the diagnosis, skipped checks are skipped."""
    import xml.etree.ElementTree as ET

    s = report.summary
    suite = ET.Element(
        "testsuite",
        name="smgrad",
        tests=str(s["total"]),
        failures=str(s["failed"] + s["inconclusive"]),
        errors=str(s["error"]),
        skipped=str(s["skipped"]),
    )
    for r in report:
        method = f" [{r.method}]" if r.method else ""
        run = f" {run_label(r)}" if len(report.runs) > 1 else ""
        case = ET.SubElement(suite, "testcase", classname=f"smgrad.{r.name}", name=f"{r.case}{method}{run}")
        if r.status == "failed":
            summary = f"error {number(r.deviation)} > allowed {number(r.allowed)}"
            if r.diagnosis:
                summary += f"; probable cause: {r.diagnosis}"
            element = ET.SubElement(case, "failure", message=summary, type="GradientMismatch")
            lines = [r.message] if r.message else []
            lines += [
                f"{e.index}: analytic {e.analytic!r}, numerical {e.numerical!r}, error {e.deviation:.3g}, "
                f"allowed {e.allowed:.3g}"
                for e in r.worst
            ]
            element.text = "\n".join(lines)
        elif r.status == "error":
            ET.SubElement(case, "error", message=r.message, type="ImplementationError")
        elif r.status == "inconclusive":
            ET.SubElement(case, "failure", message=r.message, type="NoPower")
        elif r.status == "skipped":
            ET.SubElement(case, "skipped", message=r.message)
    suites = ET.Element("testsuites")
    suites.append(suite)
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"
