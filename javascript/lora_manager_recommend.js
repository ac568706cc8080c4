/* LoRA Manager: the Recommendations panel (LoRAs for a prompt, one click to add them to the
 * host's prompt, feedback) and "Similar LoRAs" in the detail panel.
 * Library text is set as text, never parsed as HTML. */
(() => {
  'use strict';

  const LM = (window.LoraManager = window.LoraManager || {});
  if (LM.recommendLoaded) return;
  LM.recommendLoaded = true;
  const t = (key, vars) => LM.t(key, vars);
  // The ranking's name (semantic, lexical) in the reader's words, the server's word when the table has none.
  function modeText(m) { const v = t(`rec.mode_${m}`); return v === `rec.mode_${m}` ? m : v; }
  // Why the ranking is lexical, from the server: its known reasons in the reader's words, any other as sent.
  const REASONS = [[/^the model is turned off/, 'rec.why_off'], [/^the model could not be loaded: (.*)$/, 'rec.why_failed'],
    [/^fetching the model/, 'rec.why_fetching'], [/^the model is loading/, 'rec.why_loading'], [/^not started yet/, 'rec.why_not_started'],
    [/^embedding the library/, 'rec.why_embedding']];
  function reasonText(reason) {
    for (const [re, key] of REASONS) { const m = re.exec(reason); if (m) return t(key, { why: m[1] || '' }); }
    return reason;
  }

  // A suggestion's reason in the reader's words, from its kind and values; any other kind as the server wrote it.
  const SOURCES = { given: 'rec.given', 'loaded checkpoint': 'rec.src_loaded', 'LoRAs in the prompt': 'rec.src_prompt' };
  function reasonLine(r) {
    const key = { trigger: 'rec.r_trigger', close_trigger: 'rec.r_close', similar_text: 'rec.r_similar', words: 'rec.r_words',
      co_usage: 'rec.r_co', popular: 'rec.r_popular' }[r.kind];
    if (key) return t(key, { trigger: r.trigger, value: r.kind === 'similar_text' ? Number(r.value).toFixed(2) : r.value, words: (r.words || []).join(', '), with: r.with });
    if (r.kind === 'feedback') return t(r.value > 0 ? 'rec.r_picked' : 'rec.r_down');
    return r.text;
  }
  LM.reasonLine = reasonLine;

  const PROMPTS = ['txt2img', 'img2img', 'control'];

  function hostPrompt(tab) {
    const app = typeof window.gradioApp === 'function' ? window.gradioApp() : document;
    return (app && app.querySelector && app.querySelector(`#${tab}_prompt textarea`)) || document.querySelector(`#${tab}_prompt textarea`);
  }

  class RecommendPanel {
    constructor(app) {
      const { h } = LM;
      this.app = app;
      this.api = app.api;
      this.prompt = h('textarea', { class: 'lm-input', rows: '3', placeholder: t('rec.prompt_ph'), 'aria-label': t('rec.prompt_label') });
      this.prompt.addEventListener('keydown', (e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); this.suggest(); } });
      this.base = h('select', { class: 'lm-select', 'aria-label': t('rec.base_label') },
        h('option', { value: '', text: t('rec.base_auto') }),
        LM.lib.FAMILIES.map((f) => h('option', { value: f, text: LM.familyLabel(f) }))); // the server's (GET /meta)
      this.mode = h('span', { class: 'lm-muted lm-mode' });
      const btn = (text, fn, title) => h('button', { class: 'lm-btn', type: 'button', text, title, onclick: fn });
      this.btn = btn;
      this.hostBtns = h('span', { class: 'lm-hostbtns' });
      this.results = h('div', { class: 'lm-recs' });
      this.element = h('div', { class: 'lm-rec-panel' },
        h('div', { class: 'lm-toolbar' }, this.base, this.hostBtns, btn(t('rec.suggest'), () => this.suggest()), this.mode),
        this.prompt, this.results);
      this.last = null;
    }

    onShow() {
      // the host's prompt boxes (or none, standalone) as they are now
      LM.clear(this.hostBtns).append(...PROMPTS.filter((tab) => this.app.hostMode || hostPrompt(tab))
        .map((tab) => this.btn(t('rec.from', { tab }), () => this.fromHost(tab), t('rec.from_hint', { tab }))));
      this.status();
    }

    async status() {
      try {
        const s = await this.api.get('/recommendations/status');
        const b = s.build || {};
        let text = s.mode === 'semantic' ? t('rec.semantic') : `${t('rec.lexical')}${s.reason ? ` (${reasonText(s.reason)})` : ''}`;
        const dl = (s.model || {}).download;
        const fetching = dl && dl.state === 'running';
        if (fetching) {
          const mb = (n) => (n / 1048576).toFixed(1);
          text += ` · ${t('rec.fetching_model', { mb: `${mb(dl.bytes || 0)}${dl.total_bytes ? ` / ${mb(dl.total_bytes)}` : ''}` })}`;
        }
        if (b.running) text += ` · ${t('rec.embedding', { done: b.done || 0, total: b.total || '?' })}`;
        this.mode.textContent = text;
        if ((b.running || fetching) && !this.element.closest('.lm-panel').hidden) {
          clearTimeout(this.timer);
          this.timer = setTimeout(() => this.status(), 3000);
        }
      } catch (err) { this.mode.textContent = t('rec.status_unavailable', { why: err.message }); }
    }

    fromHost(tab) {
      const box = hostPrompt(tab);
      if (!box) { this.app.toast(t('act.no_prompt', { tab }), 'error'); return; }
      this.target = tab;
      this.prompt.value = box.value;
      this.suggest();
    }

    async suggest() {
      const { h, clear } = LM;
      const prompt = this.prompt.value;
      if (!prompt.trim()) { this.app.toast(t('rec.need_prompt'), 'error'); return; }
      const body = { prompt, limit: 12, user: LM.user || '' };
      if (this.base.value) body.base = this.base.value;
      clear(this.results).append(h('div', { class: 'lm-muted', text: t('rec.thinking') }));
      const seq = (this.seq = (this.seq || 0) + 1);
      let res;
      try { res = await this.api.post('/recommendations/for-prompt', body); } catch (err) {
        if (seq !== this.seq) return;
        clear(this.results).append(h('div', { class: 'lm-message lm-error', text: err.message }));
        return;
      }
      if (seq !== this.seq) return; // a newer prompt was asked meanwhile
      this.last = res;
      this.status();
      this.render(res);
    }

    render(res) {
      const { h, clear } = LM;
      clear(this.results);
      const head = `${t(res.items.length === 1 ? 'rec.one' : 'rec.many', { n: res.items.length })} · ${modeText(res.mode)}`
        + `${res.base ? ` · ${t('rec.for_base', { base: LM.familyLabel(res.base), source: SOURCES[res.base_source] ? t(SOURCES[res.base_source]) : (res.base_source || t('rec.given')) })}` : ''}`;
      this.results.append(h('div', { class: 'lm-muted', text: head }));
      if (!res.items.length) { this.results.append(h('div', { class: 'lm-message lm-info', text: t('rec.nothing') })); return; }
      for (const item of res.items) this.results.append(this.row(item));
    }

    row(item) {
      const { h } = LM;
      const e = item.lora;
      const add = (tab) => h('button', { class: 'lm-btn', type: 'button', text: t('rec.add_to', { tab }), onclick: () => { this.feedback(item, 'accept'); this.app.sendToPrompt(tab, item.tag + (item.triggers && item.triggers.length ? `, ${item.triggers.join(', ')}` : '')); } });
      const targets = PROMPTS.filter((tab) => this.app.hostMode || hostPrompt(tab));
      const row = h('div', { class: 'lm-rec', dataset: { id: e.id } },
        h('div', { class: 'lm-rec-thumb' }, LM.previewImage(this.api, e, 'lm-img')),
        h('div', { class: 'lm-rec-body' },
          h('div', { class: 'lm-rec-title' },
            h('a', { href: '#', class: 'lm-rec-name', text: e.title || e.name, onclick: (ev) => { ev.preventDefault(); this.app.showPanel('library'); this.app.openDetail(e.id); } }),
            LM.badge(e.base_model), h('span', { class: 'lm-muted', text: ` ${Math.round(item.score * 100) / 100}` })),
          h('code', { class: 'lm-tagline', text: item.tag + (item.triggers && item.triggers.length ? `, ${item.triggers.join(', ')}` : '') }),
          h('ul', { class: 'lm-reasons' }, (item.reasons || []).map((r) => h('li', { class: `lm-reason lm-reason-${/^[a-z_]+$/.test(r.kind) ? r.kind : 'other'}`, text: reasonLine(r) }))),
          h('div', { class: 'lm-actions' },
            targets.map(add),
            h('button', { class: 'lm-btn', type: 'button', text: t('rec.copy'), onclick: () => { this.feedback(item, 'accept'); this.app.copy(item.tag + (item.triggers && item.triggers.length ? `, ${item.triggers.join(', ')}` : '')); } }),
            h('button', { class: 'lm-btn', type: 'button', text: t('rec.dismiss'), title: t('rec.dismiss_hint'), onclick: () => { this.feedback(item, 'dismiss'); row.remove(); } }),
            this.downButton(() => { this.feedback(item, 'down'); row.remove(); }))));
      return row;
    }

    // Thumbs down: an inline icon (no emoji font needed) with its words beside it and a label for screen readers.
    downButton(onclick) {
      const { h } = LM;
      const ns = 'http://www.w3.org/2000/svg';
      const svg = document.createElementNS(ns, 'svg');
      svg.setAttribute('viewBox', '0 0 24 24');
      svg.setAttribute('aria-hidden', 'true');
      svg.setAttribute('class', 'lm-icon');
      const path = document.createElementNS(ns, 'path');
      path.setAttribute('d', 'M10 15v4a3 3 0 0 0 3 3l4-9V2H5.7a2 2 0 0 0-2 1.7l-1.4 9A2 2 0 0 0 4.3 15H10zM17 2h2.7A2.3 2.3 0 0 1 22 4v7a2.3 2.3 0 0 1-2.3 2H17');
      svg.append(path);
      return h('button', { class: 'lm-btn lm-danger lm-down', type: 'button', title: t('rec.down_hint'), 'aria-label': t('rec.down'), onclick },
        svg, h('span', { text: t('rec.down_text') }));
    }

    async feedback(item, action) {
      try { await this.api.post('/recommendations/feedback', { key: String(item.lora.id), action, user: LM.user || '' }); } catch (err) { this.app.toast(t('rec.feedback_failed', { why: err.message }), 'error'); }
    }
  }

  // added when the tab mounts (lora_manager_tab.js)
  (LM.panelFactories = LM.panelFactories || []).push((app) => {
    const panel = new RecommendPanel(app);
    LM.recommend = panel;
    app.addPanel('recommend', t('rec.tab'), panel.element, () => panel.onShow());
    // "Similar LoRAs" in the detail panel, loaded after the rest is drawn.
    LM.detailActions.push((view, entry) => {
      if (entry.state !== 'ok') return;
      const { h } = LM;
      const list = h('ul', { class: 'lm-list-plain lm-similar' }, h('li', { class: 'lm-muted', text: t('preview.looking') }));
      view.detail.append(h('details', { class: 'lm-section', open: true }, h('summary', { text: t('rec.similar') }), list));
      view.api.get(`/recommendations/similar/${entry.id}?limit=8&user=${encodeURIComponent(LM.user || '')}`).then((res) => {
        LM.clear(list);
        if (!res.items.length) { list.append(h('li', { class: 'lm-muted', text: t('rec.none_found') })); return; }
        for (const item of res.items) {
          const e = item.lora;
          list.append(h('li', {}, h('a', { href: '#', text: e.title || e.name, onclick: (ev) => { ev.preventDefault(); view.openDetail(e.id); } }),
            ' ', LM.badge(e.base_model), h('span', { class: 'lm-muted', text: ` ${(item.reasons || []).map(reasonLine).join('; ')}` })));
        }
      }).catch((err) => { LM.clear(list).append(h('li', { class: 'lm-muted', text: t('an.unavailable', { why: err.message }) })); });
    });
  });
})();
