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
  const t = (key, vars) => LM.t(key, vars);

  // Civitai's browsing levels (one bit each); "never" blurs nothing.
  const LEVELS = [[1, 'PG'], [2, 'PG-13'], [4, 'R'], [8, 'X'], [16, 'XXX']];
  const BLUR_KEY = 'lora-manager-nsfw-blur-above';
  const DEFAULT_BLUR_ABOVE = 2; // PG-13 and below shown; R, X and XXX blurred until clicked
  const levelName = (n) => (LEVELS.find(([v]) => v === n) || [0, t('cf.level', { n })])[1];

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
    return level > blurAbove() ? t('cf.rated', { level: levelName(level) }) : null;
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
        this.app.toast(err.status === 409 ? t('cf.running') : t('cf.not_fetched', { why: err.message }),
          err.status === 409 ? 'info' : 'error');
        return;
      }
      this.app.toast(t('cf.fetching', { what }), 'info');
      this.poll(body.keys && body.keys.length === 1 ? body.keys[0] : null);
    }

    async poll(single) {
      clearTimeout(this.timer);
      let s;
      try { s = await this.api.get('/civitai/status'); } catch (err) { this.show(t('cf.line', { text: err.message })); return; }
      if (LM.civitaiFactsPanel) LM.civitaiFactsPanel.render(s);
      if (s.running) {
        const p = s.progress || {};
        this.show(t('cf.progress', { done: `${p.done || 0}${p.total != null ? `/${p.total}` : ''}`, found: p.found || 0 }));
        this.timer = setTimeout(() => this.poll(single), 1000);
        return;
      }
      this.show(null);
      const run = s.last_run || {};
      if (run.status === 'failed') this.app.toast(t('cf.failed', { why: run.error || t('common.unknown') }), 'error');
      else this.app.toast(`${t('cf.done', { found: run.found || 0, missing: run.not_found || 0 })}${run.failed ? t('cf.n_failed', { n: run.failed }) : ''}`, run.failed ? 'error' : 'info');
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
    const box = h('div', { class: 'lm-section lm-civitai-facts' }, h('h4', { text: t('cv.tab') }));
    if (c.status === 'not_asked') {
      box.append(h('div', { class: 'lm-muted', text: t('cf.not_asked') }));
      return box;
    }
    const checked = c.checked_at ? ` ${t('cf.checked', { when: c.checked_at.slice(0, 10) })}` : '';
    if (c.status !== 'found') {
      box.append(h('div', { class: 'lm-muted', text: `${t('cf.not_on')}${checked}` }));
      return box;
    }
    const link = (href, text) => h('a', { href, text, target: '_blank', rel: 'noopener noreferrer' });
    const rows = [
      [t('cf.model'), c.page_url ? link(c.page_url, c.model_name || String(c.model_id)) : (c.model_name || '')],
      [t('cf.version'), c.version_name || String(c.version_id || '')],
      [t('cf.creator'), c.creator || ''],
      [t('file.base'), [c.base_model, c.base_family ? `(${c.base_family})` : ''].filter(Boolean).join(' ')],
      [t('col.type'), c.type || ''],
      [t('cf.published'), (c.published_at || '').slice(0, 10)],
      [t('cf.updated'), (c.updated_at || '').slice(0, 10)],
      [t('form.rating'), c.nsfw ? `NSFW${c.nsfw_level ? ` ${t('cf.levels', { n: c.nsfw_level })}` : ''}` : 'SFW'],
      [t('cf.matched_by'), `${c.matched_by || ''}${checked}`],
    ].filter(([, v]) => v);
    box.append(h('table', { class: 'lm-kv' }, h('tbody', {}, rows.map(([k, v]) => h('tr', {}, h('th', { text: k }), h('td', {}, v))))));
    if (c.trained_words && c.trained_words.length) {
      box.append(h('div', { class: 'lm-field' }, h('span', { class: 'lm-label', text: t('cf.trained_words') }),
        h('div', { class: 'lm-chips' }, c.trained_words.map((w) => h('button', {
          class: 'lm-chip', type: 'button', text: w, title: t('cf.copy'),
          onclick: () => { if (navigator.clipboard) navigator.clipboard.writeText(w).catch(() => {}); },
        })))));
    }
    if (c.tags && c.tags.length) box.append(h('div', { class: 'lm-muted', text: t('cf.tags', { tags: c.tags.join(', ') }) }));
    if (c.description) {
      box.append(h('details', { class: 'lm-civitai-description' }, h('summary', { text: t('detail.description') }),
        h('div', { class: 'lm-pre', text: c.description })));
    }
    if (c.download_url) box.append(h('div', { class: 'lm-muted' }, link(c.download_url, t('cf.download_link'))));
    return box;
  }

  // ----- the panel's part: all missing, the NSFW level -----
  class FactsPanel {
    constructor(app, fetching) {
      const { h } = LM;
      this.state = h('div', { class: 'lm-muted lm-civitai-library' });
      const select = h('select', { class: 'lm-select', 'aria-label': t('cf.blur_label') },
        LEVELS.map(([v, name]) => h('option', { value: String(v), text: name })), h('option', { value: '32', text: t('cf.never_blur') }));
      select.value = String(blurAbove());
      select.addEventListener('change', () => {
        try { window.localStorage.setItem(BLUR_KEY, select.value); } catch (err) { /* kept for this page only */ }
        LM.nsfwRevealed.clear();
        app.render(true);
      });
      const btn = (text, fn) => h('button', { class: 'lm-btn', type: 'button', text, onclick: fn });
      this.element = h('div', { class: 'lm-civitai-metadata' },
        h('h4', { text: t('cf.metadata') }),
        this.state,
        h('div', { class: 'lm-actions' },
          btn(t('cf.fetch_missing'), () => fetching.start({ all_missing: true }, t('cf.what_missing'))),
          btn(t('cf.refresh_all'), () => fetching.start({ all_missing: true, refresh: true }, t('cf.what_again')))),
        h('label', { class: 'lm-field' }, h('span', { class: 'lm-label', text: t('cf.blur_field') }), select));
    }

    render(s) {
      const lib = s.library;
      this.state.textContent = lib ? `${t('cf.library', { found: lib.found, missing: lib.not_found, lacking: lib.lacking })}${s.running ? ` · ${t('cf.fetching_now')}` : ''}` : '';
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
      app.bulkBar.append(h('button', { class: 'lm-btn', type: 'button', text: t('cf.fetch'),
        onclick: () => fetching.start({ keys: [...app.selected].map(String), refresh: true }, t('cf.what_n', { n: app.selected.size })) }));
    }
    LM.detailActions.push((view, entry, bar) => {
      if (!bar) return;
      bar.append(h('button', { class: 'lm-btn lm-civitai-fetch', type: 'button', text: t('cf.fetch'),
        disabled: entry.state !== 'ok', title: t('cf.fetch_hint'),
        onclick: () => fetching.start({ keys: [String(entry.id)], refresh: true }, t('cf.what_one')) }));
      bar.after(factsSection(entry));
    });
  });
})();
