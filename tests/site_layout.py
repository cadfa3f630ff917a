"""Measuring a rendered page in headless Chromium: sideways scrolling, text that overlaps, images' widths.

The page is copied with a script that, once everything has loaded, measures in the browser's own
layout (element and text bounding boxes) and writes the result into the DOM, which Chromium's
--dump-dom prints.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
WIDTH = 1400

MEASURE = """
<script>
window.addEventListener('load', () => {
  const main = document.querySelector('main');
  const style = getComputedStyle(main);
  const column = main.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  const images = [...document.querySelectorAll('main img')].map(img => ({
    src: img.getAttribute('src'), natural: img.naturalWidth, shown: img.getBoundingClientRect().width}));
  // every line box of every text in the content, then each pair of different texts that share pixels
  const boxes = [];
  const walker = document.createTreeWalker(main, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.textContent.trim()) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    for (const r of range.getClientRects()) {
      if (r.width > 0 && r.height > 0) boxes.push({node, text: node.textContent.trim().slice(0, 40), r});
    }
  }
  const overlaps = [];
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i], b = boxes[j];
      if (a.node === b.node) continue;
      const dx = Math.min(a.r.right, b.r.right) - Math.max(a.r.left, b.r.left);
      const dy = Math.min(a.r.bottom, b.r.bottom) - Math.max(a.r.top, b.r.top);
      if (dx > 1 && dy > 1) overlaps.push([a.text, b.text]);
    }
  }
  // boxes that scroll sideways inside the page (a wide table in its scrolling frame), and by how much
  const scrollers = [...main.querySelectorAll('*')].filter(e => e.scrollWidth > e.clientWidth + 1 &&
    ['auto', 'scroll'].includes(getComputedStyle(e).overflowX)).map(e => ({
      id: (e.closest('[id]') || {}).id || '', hidden: e.scrollWidth - e.clientWidth}));
  const out = {sideways: document.documentElement.scrollWidth - window.innerWidth, scrollers, column, images,
               overlaps: overlaps.slice(0, 50), texts: boxes.length};
  document.body.setAttribute('data-measure', JSON.stringify(out));
});
</script>
"""


def measure(page: Path, tmp: Path, width: int = WIDTH) -> dict:
    """{sideways: px the page scrolls sideways, scrollers: [{id, hidden}] boxes inside it that scroll sideways
    (hidden: px out of view), column: the content column's width, images: [{src, natural, shown}], overlaps:
    [[text, text]], texts: how many text boxes were compared} of `page` at `width` px."""
    probe = page.with_name(f".measure-{page.name}")
    html = page.read_text(encoding="utf-8").replace(' loading="lazy"', "")
    probe.write_text(html.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    try:
        done = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                               f"--window-size={width},1200", "--virtual-time-budget=10000", "--dump-dom",
                               f"--user-data-dir={tmp / 'chromium'}", probe.as_uri()],
                              capture_output=True, text=True, timeout=180, check=True)
    finally:
        probe.unlink(missing_ok=True)
    found = re.search(r'data-measure="([^"]*)"', done.stdout)
    assert found, f"{page.name}: the measuring script did not run"
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<")
                      .replace("&gt;", ">"))
