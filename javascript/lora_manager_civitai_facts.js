/* LoRA Manager: Civitai's metadata in the tab (docs/civitai.md) — "Fetch from Civitai" for one LoRA (its
 * detail), the selection (the bulk bar) or every LoRA lacking a record (the Civitai panel), with progress in
 * the status line; Civitai's facts and links in a LoRA's detail, beside (never instead of) the user's own
 * fields; and the blur of previews rated above the user's NSFW level, revealed by a click.
 * Text from Civitai is set as text, never parsed as HTML. */
(() => {
  'use strict';

  const LM = (window.LoraManager = window.LoraManager || {});
  if (LM.civitaiFactsLoaded) return;
  LM.civitaiFactsLoaded = true;

  // Civitai's browsing levels (one bit each); "never" blurs nothing.
  const LEVELS = [[1, 'PG'], [2, 'PG-13'], [4, 'R'], [8, 'X'], [16, 'XXX']];
  const BLUR_KEY = 'lora-manager-nsfw-blur-above';
  const DEFAULT_BLUR_ABOVE = 2; // PG-13 and below shown; R, X and XXX blurred until clicked
  const levelName = (n) => (LEVELS.find(([v]) => v === n) || [0, `level ${n}`])[1];

  function blurAbove() {
    let saved = null;
    try { saved = window.localStorage.getItem(BLUR_KEY); } catch (err) { /* storage off: the default */ }
    const n = saved === null ? DEFAULT_BLUR_ABOVE : Number(saved);
    return Number.isFinite(n) ? n : DEFAULT_BLUR_ABOVE;
  }

  // previewImage (lora_manager_tab.js) asks this for every preview it draws.
  LM.nsfwRevealed = LM.nsfwRevealed || new Set();
  LM.nsfwBlur = (entry) => {
    const level = entry && entry.nsfw_level;
    if (!level || LM.nsfwRevealed.has(entry.id)) return null;
    return level > blurAbove() ? `rated ${levelName(level)}: click to show` : null;
  };

  // ----- fetching -----
  class Fetching {
    constructor(app) {
      this.app = app;
      this.api = app.api;
      this.timer = null;
      this.line = LM.h('span', { class: 'lm-civitai-progress', hidden: true, role: 'status' });
      if (app.status) app.status.after(this.line);
    }

    async start(body, what) {
      try {
        await this.api.post('/civitai/fetch', body);
      } catch (err) {
        this.app.toast(err.status === 409 ? 'A Civitai fetch is already running' : `Not fetched: ${err.message}`,
          err.status === 409 ? 'info' : 'error');
        return;
      }
      this.app.toast(`Fetching ${what} from Civitai…`, 'info');
      this.poll(body.keys && body.keys.length === 1 ? body.keys[0] : null);
    }

    async poll(single) {
      clearTimeout(this.timer);
      let s;
      try { s = await this.api.get('/civitai/status'); } catch (err) { this.show(`Civitai: ${err.message}`); return; }
      if (LM.civitaiFactsPanel) LM.civitaiFactsPanel.render(s);
      if (s.running) {
        const p = s.progress || {};
        this.show(`Civitai: ${p.done || 0}${p.total != null ? `/${p.total}` : ''} · ${p.found || 0} found`);
        this.timer = setTimeout(() => this.poll(single), 1000);
        return;
      }
      this.show(null);
      const run = s.last_run || {};
      if (run.status === 'failed') this.app.toast(`Civitai fetch failed: ${run.error || 'unknown error'}`, 'error');
      else this.app.toast(`Civitai: ${run.found || 0} found, ${run.not_found || 0} not on Civitai${run.failed ? `, ${run.failed} failed` : ''}`, run.failed ? 'error' : 'info');
      await this.app.reload('keep');
      if (single !== null && this.app.current && String(this.app.current.id) === String(single)) this.app.openDetail(single);
    }

    show(text) {
      this.line.hidden = !text;
      this.line.textContent = text ? ` · ${text}` : '';
    }
  }

  // ----- the facts in a LoRA's detail -----
  function factsSection(entry) {
    const { h } = LM;
    const c = entry.civitai || { status: 'not_asked' };
    const box = h('div', { class: 'lm-section lm-civitai-facts' }, h('h4', { text: 'Civitai' }));
    if (c.status === 'not_asked') {
      box.append(h('div', { class: 'lm-muted', text: 'Not looked up yet.' }));
      return box;
    }
    const checked = c.checked_at ? ` (checked ${c.checked_at.slice(0, 10)})` : '';
    if (c.status !== 'found') {
      box.append(h('div', { class: 'lm-muted', text: `Not on Civitai${checked}.` }));
      return box;
    }
    const link = (href, text) => h('a', { href, text, target: '_blank', rel: 'noopener noreferrer' });
    const rows = [
      ['Model', c.page_url ? link(c.page_url, c.model_name || String(c.model_id)) : (c.model_name || '')],
      ['Version', c.version_name || String(c.version_id || '')],
      ['Creator', c.creator || ''],
      ['Base model', [c.base_model, c.base_family ? `(${c.base_family})` : ''].filter(Boolean).join(' ')],
      ['Type', c.type || ''],
      ['Published', (c.published_at || '').slice(0, 10)],
      ['Updated', (c.updated_at || '').slice(0, 10)],
      ['Rating', c.nsfw ? `NSFW${c.nsfw_level ? ` (levels ${c.nsfw_level})` : ''}` : 'SFW'],
      ['Matched by', `${c.matched_by || ''}${checked}`],
    ].filter(([, v]) => v);
    box.append(h('table', { class: 'lm-kv' }, h('tbody', {}, rows.map(([k, v]) => h('tr', {}, h('th', { text: k }), h('td', {}, v))))));
    if (c.trained_words && c.trained_words.length) {
      box.append(h('div', { class: 'lm-field' }, h('span', { class: 'lm-label', text: 'Trained words (Civitai)' }),
        h('div', { class: 'lm-chips' }, c.trained_words.map((w) => h('button', {
          class: 'lm-chip', type: 'button', text: w, title: 'copy',
          onclick: () => { if (navigator.clipboard) navigator.clipboard.writeText(w).catch(() => {}); },
        })))));
    }
    if (c.tags && c.tags.length) box.append(h('div', { class: 'lm-muted', text: `Tags: ${c.tags.join(', ')}` }));
    if (c.description) {
      box.append(h('details', { class: 'lm-civitai-description' }, h('summary', { text: 'Description' }),
        h('div', { class: 'lm-pre', text: c.description })));
    }
    if (c.download_url) box.append(h('div', { class: 'lm-muted' }, link(c.download_url, 'Download link on Civitai')));
    return box;
  }

  // ----- the panel's part: all missing, the NSFW level -----
  class FactsPanel {
    constructor(app, fetching) {
      const { h } = LM;
      this.state = h('div', { class: 'lm-muted lm-civitai-library' });
      const select = h('select', { class: 'lm-select', 'aria-label': 'blur previews above' },
        LEVELS.map(([v, name]) => h('option', { value: String(v), text: name })), h('option', { value: '32', text: 'never blur' }));
      select.value = String(blurAbove());
      select.addEventListener('change', () => {
        try { window.localStorage.setItem(BLUR_KEY, select.value); } catch (err) { /* kept for this page only */ }
        LM.nsfwRevealed.clear();
        app.render(true);
      });
      const btn = (text, fn) => h('button', { class: 'lm-btn', type: 'button', text, onclick: fn });
      this.element = h('div', { class: 'lm-civitai-metadata' },
        h('h4', { text: 'Metadata from Civitai' }),
        this.state,
        h('div', { class: 'lm-actions' },
          btn('Fetch all missing', () => fetching.start({ all_missing: true }, 'every LoRA lacking a record')),
          btn('Refresh all', () => fetching.start({ all_missing: true, refresh: true }, 'every LoRA again'))),
        h('label', { class: 'lm-field' }, h('span', { class: 'lm-label', text: 'Blur previews rated above' }), select));
    }

    render(s) {
      const lib = s.library;
      this.state.textContent = lib ? `${lib.found} found · ${lib.not_found} not on Civitai · ${lib.lacking} not looked up${s.running ? ' · fetching…' : ''}` : '';
    }
  }

  (LM.panelFactories = LM.panelFactories || []).push((app) => {
    const { h } = LM;
    const fetching = new Fetching(app);
    const panel = new FactsPanel(app, fetching);
    LM.civitaiFactsPanel = panel;
    const form = LM.civitai && LM.civitai.element.querySelector('.lm-jobform');
    if (form) form.prepend(panel.element);
    app.api.get('/civitai/status').then((s) => { panel.render(s); if (s.running) fetching.poll(null); }).catch(() => {});
    if (app.bulkBar) {
      app.bulkBar.append(h('button', { class: 'lm-btn', type: 'button', text: 'Fetch from Civitai',
        onclick: () => fetching.start({ keys: [...app.selected].map(String), refresh: true }, `${app.selected.size} LoRA(s)`) }));
    }
    LM.detailActions.push((view, entry, bar) => {
      if (!bar) return;
      bar.append(h('button', { class: 'lm-btn lm-civitai-fetch', type: 'button', text: 'Fetch from Civitai',
        disabled: entry.state !== 'ok', title: 'look this file up on Civitai by its hash',
        onclick: () => fetching.start({ keys: [String(entry.id)], refresh: true }, 'this LoRA') }));
      bar.after(factsSection(entry));
    });
  });
})();
