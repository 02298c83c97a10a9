"""axe-core in a Playwright page: its serious and critical findings, and a readable report."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page

from tests.live_server import ROOT

AXE = ROOT / "tests/vendor/axe-core/axe.min.js"
BLOCKING = ("serious", "critical")


def axe_version() -> str:
    """The vendored axe-core's version, from the banner at the top of axe.min.js."""
    with AXE.open(encoding="utf-8") as script:
        found = re.search(r"axe v(\d+\.\d+\.\d+)", script.read(200))
    assert found, f"no version banner in {AXE}"
    return found.group(1)


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical findings on the page as it is now. The script is given
    to the page through DevTools, which the page's `script-src 'self'` does not govern."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    found: list[dict[str, Any]] = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    return [v for v in found if v.get("impact") in BLOCKING]


def readable(where: str, violations: list[dict[str, Any]]) -> str:
    """One line per problem and up to eight of the elements it was found on."""
    lines = [f"{where}: {len(violations)} serious or critical accessibility problem(s)"]
    for v in violations:
        lines.append(f"- [{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:8]:
            summary = " ".join(node.get("failureSummary", "").split())
            lines.append(f"    {' '.join(map(str, node['target']))}: {summary}")
        if len(v["nodes"]) > 8:
            lines.append(f"    … and {len(v['nodes']) - 8} more")
    return "\n".join(lines)


# axe cannot tell the background behind SVG text, so it leaves chart labels "incomplete".
# This measures each label against the shade it is drawn on (a heatmap cell) or else the
# section's background, with WCAG's formula; chart text is small, so 4.5:1 is the bar.
_SVG_CONTRAST = """() => {
  const rgb = (text) => text.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = (c) => {
    const [r, g, b] = c.map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const background = (text) => {
    const cell = text.previousElementSibling;
    if (text.classList.contains("heat-text") && cell && cell.tagName === "rect") {
      return getComputedStyle(cell).fill;
    }
    for (let el = text.closest("svg").parentElement; el; el = el.parentElement) {
      const colour = getComputedStyle(el).backgroundColor;
      if (colour !== "rgba(0, 0, 0, 0)" && colour !== "transparent") return colour;
    }
    return "rgb(255, 255, 255)";
  };
  const poor = [];
  for (const text of document.querySelectorAll("figure.chart svg text")) {
    const fg = lum(rgb(getComputedStyle(text).fill));
    const bg = lum(rgb(background(text)));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    if (ratio < 4.5) {
      poor.push(`${text.getAttribute("class")} "${text.textContent}": ${ratio.toFixed(2)}:1`);
    }
  }
  return poor;
}"""


def poor_chart_text(page: Page) -> list[str]:
    """Chart labels (SVG text, which axe leaves unchecked) below 4.5:1 contrast."""
    poor: list[str] = page.evaluate(_SVG_CONTRAST)
    return poor
