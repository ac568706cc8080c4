"""The stand-in host's page, written from docs/host.md: the extension's `javascript/*.js` as deferred scripts and
`style.css` as a stylesheet, our tab (mode "host"), and the host's own tabs txt2img, img2img and control, each
with its prompt box (`#<tab>_prompt textarea`), negative prompt box, a few parameter fields and its paste button
(`#<tab>_paste`, SDNext's Restore), which reads generation parameters from the prompt box into the tab's fields.
`HostPage(host)` serves the stand-in host's FastAPI app (our API routes included) on 127.0.0.1 in a thread."""

from __future__ import annotations

import json

from fastapi.responses import FileResponse, HTMLResponse

from lora_manager.standalone.app import extension_assets
from lora_manager.ui.tab import root_html

from .browser import ThreadServer

TABS = ("txt2img", "img2img", "control")
FIELDS = ("steps", "sampler", "cfg_scale", "seed", "width", "height")

# The paste button: the first line(s) are the prompt, "Negative prompt:" the negative, and the last line's
# "Key: value" pairs set the fields ("Size: WxH" the width and height).
PASTE = """
const LABELS = {Steps: 'steps', Sampler: 'sampler', 'CFG scale': 'cfg_scale', Seed: 'seed'};
function paste(tab) {
  const box = document.querySelector(`#${tab}_prompt textarea`);
  const lines = box.value.split('\\n');
  const last = lines[lines.length - 1];
  const params = /^[A-Za-z][A-Za-z ]*: /.test(last) && lines.length > 1 ? lines.pop() : '';
  const neg = lines.findIndex((l) => l.startsWith('Negative prompt: '));
  const field = (name) => document.getElementById(`${tab}_${name}`);
  document.querySelector(`#${tab}_neg_prompt textarea`).value = neg < 0 ? '' : lines.splice(neg).join('\\n')
    .slice('Negative prompt: '.length);
  box.value = lines.join('\\n');
  for (const m of params.matchAll(/([A-Za-z][A-Za-z ]*): ("(?:[^"\\\\]|\\\\.)*"|[^,]*)(?:, |$)/g)) {
    const value = m[2].startsWith('"') ? JSON.parse(m[2]) : m[2];
    if (m[1] === 'Size') [field('width').value, field('height').value] = value.split('x');
    else if (LABELS[m[1]]) field(LABELS[m[1]]).value = value;
  }
}
for (const tab of TABS) {
  document.getElementById(`${tab}_paste`).addEventListener('click', () => paste(tab));
  window[`switch_to_${tab}`] = () => { window.hostTab = tab; };
}
"""


def page_html() -> str:
    assets = extension_assets()
    head = "".join(f'<link rel="stylesheet" href="/file/{n}">' for n in assets if n.endswith(".css"))
    head += "".join(f'<script defer src="/file/{n}"></script>' for n in sorted(assets) if n.endswith(".js"))
    tabs = []
    for tab in TABS:
        fields = "".join(f'<label>{f}<input id="{tab}_{f}"></label>' for f in FIELDS)
        tabs.append(f'<div id="tab_{tab}"><div id="{tab}_prompt"><textarea></textarea></div>'
                    f'<div id="{tab}_neg_prompt"><textarea></textarea></div>{fields}'
                    f'<button id="{tab}_paste" type="button">Restore</button></div>')
    script = "const TABS = " + json.dumps(TABS) + ";" + PASTE
    return (f"<!doctype html><html><head><title>stand-in host</title>{head}</head><body>{''.join(tabs)}"
            f'<div id="tab_lora_manager">{root_html(mode="host")}</div><script>{script}</script></body></html>')


class HostPage(ThreadServer):
    """The stand-in host's app with its page at "/" and the extension's files at /file/NAME, served in a thread."""

    def __init__(self, host):
        assets = extension_assets()

        def page():
            return HTMLResponse(page_html())

        def asset(name: str):
            path, mime = assets[name]
            return FileResponse(path, media_type=mime)

        host.app.add_api_route("/", page, methods=["GET"])
        host.app.add_api_route("/file/{name}", asset, methods=["GET"])
        super().__init__(None, app=host.app)

    def fields(self, page, tab: str) -> dict[str, str]:
        """What the host's tab holds now: its prompt, negative prompt and fields."""
        return page.evaluate("""(tab) => {
          const out = {prompt: document.querySelector(`#${tab}_prompt textarea`).value,
                       negative: document.querySelector(`#${tab}_neg_prompt textarea`).value};
          for (const el of document.querySelectorAll(`#tab_${tab} input`)) out[el.id.slice(tab.length + 1)] = el.value;
          return out;
        }""", tab)
